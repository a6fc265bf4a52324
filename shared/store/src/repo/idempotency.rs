//! Idempotency records: the first response to an `Idempotency-Key` of an API key, kept 24 h.
//! Claimed with a conditional write, so concurrent retries on any number of Lambda instances
//! agree on which one executes.

use super::{RepoError, RepoResult, decode};
use crate::keys;
use crate::table::{Condition, StoreError};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Duration, Utc};
use iron_domain::Id;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a stored response is replayed.
pub const RETENTION: Duration = Duration::hours(24);
/// How long an execution holds its claim; after that (its process died), a retry may take over.
pub const LOCK: Duration = Duration::seconds(60);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredResponse {
    pub status: u16,
    /// The headers that matter to a client (content type, location).
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    state: String,
    fingerprint: String,
    locked_until: i64,
    /// Which execution holds the claim: only it may complete or release it.
    #[serde(default)]
    owner: String,
    created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<StoredResponse>,
}

/// The execution that holds a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub api_key: Id,
    pub idem: String,
    pub fingerprint: String,
    /// Only this owner may complete or release the claim.
    pub owner: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This request executes; call [`complete`] or [`release`] with this after.
    Acquired(Execution),
    /// Already answered: send this again.
    Replay(StoredResponse),
    /// Another request with this key is executing now.
    InProgress,
    /// The key was used with a different request.
    Mismatch,
}

fn item(scope: &TenantScope, key: &Id, idem: &str, record: &Record) -> crate::Item {
    let item = keys::item_of(
        "idempotency",
        serde_json::to_value(record).unwrap_or(Value::Null),
        keys::idempotency(scope, key, idem),
    );
    keys::with_ttl(item, (record.created_at + RETENTION).timestamp())
}

fn execution(api_key: &Id, idem: &str, fingerprint: &str, owner: String) -> Execution {
    Execution { api_key: api_key.clone(), idem: idem.into(), fingerprint: fingerprint.into(), owner }
}

pub async fn claim(
    db: TenantDb<'_>,
    api_key: &Id,
    idem: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> RepoResult<Claim> {
    let (store, scope) = (db.store(), db.scope());
    let owner = iron_domain::id::new_ulid(now.timestamp_millis());
    let fresh = Record {
        state: "in_progress".into(),
        fingerprint: fingerprint.into(),
        locked_until: (now + LOCK).timestamp(),
        owner: owner.clone(),
        created_at: now,
        response: None,
    };
    for _ in 0..3 {
        match store.put(item(scope, api_key, idem, &fresh), Condition::NotExists).await {
            Ok(()) => return Ok(Claim::Acquired(execution(api_key, idem, fingerprint, owner))),
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
        let Some(existing) = store.get(&keys::idempotency(scope, api_key, idem)).await? else { continue };
        let existing: Record = decode(existing)?;
        if existing.fingerprint != fingerprint {
            return Ok(Claim::Mismatch);
        }
        if let Some(response) = existing.response {
            return Ok(Claim::Replay(response));
        }
        if existing.locked_until > now.timestamp() {
            return Ok(Claim::InProgress);
        }
        // The execution that claimed it never finished: take over, if no one else just did.
        let takeover = Record { created_at: existing.created_at, ..fresh.clone() };
        let expected = Condition::AttrEquals("lockedUntil".into(), Value::from(existing.locked_until));
        return match store.put(item(scope, api_key, idem, &takeover), expected).await {
            Ok(()) => Ok(Claim::Acquired(execution(api_key, idem, fingerprint, owner))),
            Err(StoreError::ConditionFailed) => Ok(Claim::InProgress),
            Err(e) => Err(e.into()),
        };
    }
    Err(RepoError::Store(StoreError::Backend("idempotency record kept changing".into())))
}

/// Stores the response, if this execution still holds the claim (a takeover after a stall wins).
pub async fn complete(
    db: TenantDb<'_>,
    run: &Execution,
    response: StoredResponse,
    now: DateTime<Utc>,
) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let key = keys::idempotency(scope, &run.api_key, &run.idem);
    let created_at = match store.get(&key).await? {
        Some(existing) => decode::<Record>(existing)?.created_at,
        None => now,
    };
    let record = Record {
        state: "completed".into(),
        fingerprint: run.fingerprint.clone(),
        locked_until: 0,
        owner: run.owner.clone(),
        created_at,
        response: Some(response),
    };
    let mine = Condition::AttrEquals("owner".into(), Value::String(run.owner.clone()));
    match store.put(item(scope, &run.api_key, &run.idem, &record), mine).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Forgets the claim, if this execution still holds it, so the request may be retried (5xx, 409).
pub async fn release(db: TenantDb<'_>, run: &Execution) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mine = Condition::AttrEquals("owner".into(), Value::String(run.owner.clone()));
    match store.delete(&keys::idempotency(scope, &run.api_key, &run.idem), mine).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
