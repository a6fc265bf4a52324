//! Idempotency records: the first response to an `Idempotency-Key` of an API key, kept 24 h.
//! Claimed with a conditional write, so concurrent retries on any number of Lambda instances
//! agree on which one executes.

use super::{RepoError, RepoResult, decode};
use crate::keys;
use crate::table::{Condition, StoreError, TableStore};
use crate::tenant::TenantScope;
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
    created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response: Option<StoredResponse>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// This request executes; call [`complete`] or [`release`] after.
    Acquired,
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

pub async fn claim(
    store: &dyn TableStore,
    scope: &TenantScope,
    api_key: &Id,
    idem: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
) -> RepoResult<Claim> {
    let fresh = Record {
        state: "in_progress".into(),
        fingerprint: fingerprint.into(),
        locked_until: (now + LOCK).timestamp(),
        created_at: now,
        response: None,
    };
    for _ in 0..3 {
        match store.put(item(scope, api_key, idem, &fresh), Condition::NotExists).await {
            Ok(()) => return Ok(Claim::Acquired),
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
            Ok(()) => Ok(Claim::Acquired),
            Err(StoreError::ConditionFailed) => Ok(Claim::InProgress),
            Err(e) => Err(e.into()),
        };
    }
    Err(RepoError::Store(StoreError::Backend("idempotency record kept changing".into())))
}

/// Stores the response of the execution that holds the claim.
pub async fn complete(
    store: &dyn TableStore,
    scope: &TenantScope,
    api_key: &Id,
    idem: &str,
    fingerprint: &str,
    response: StoredResponse,
    now: DateTime<Utc>,
) -> RepoResult<()> {
    let key = keys::idempotency(scope, api_key, idem);
    let created_at = match store.get(&key).await? {
        Some(existing) => decode::<Record>(existing)?.created_at,
        None => now,
    };
    let record = Record {
        state: "completed".into(),
        fingerprint: fingerprint.into(),
        locked_until: 0,
        created_at,
        response: Some(response),
    };
    store.put(item(scope, api_key, idem, &record), Condition::None).await?;
    Ok(())
}

/// Forgets a claim whose execution failed in a way worth retrying (5xx).
pub async fn release(store: &dyn TableStore, scope: &TenantScope, api_key: &Id, idem: &str) -> RepoResult<()> {
    store.delete(&keys::idempotency(scope, api_key, idem), Condition::None).await?;
    Ok(())
}
