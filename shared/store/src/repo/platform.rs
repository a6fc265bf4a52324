//! Platform-level records: businesses, their locations and API keys, and the key lookup that
//! authentication starts from.

use super::{RepoError, RepoResult, decode, decode_json, encode};
use crate::item::{Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, TableStore, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::{ApiKey, ApiKeySecret, ApiKeyStatus, Business, Id, IdKind, KeyHash, Location, RateTier, Scope};
use serde_json::Value;

/// Creates a business (operator action): returns it and the operator's scope over it.
#[cfg(feature = "operator")]
pub async fn create_business(
    store: &dyn TableStore,
    name: &str,
    timezone: &str,
    now: DateTime<Utc>,
) -> RepoResult<(Business, crate::OperatorScope)> {
    let business = Business {
        id: Id::generate(IdKind::Business, now.timestamp_millis()),
        name: name.to_owned(),
        timezone: timezone.to_owned(),
        created_at: now,
    };
    let scope = put_business(store, &business).await?;
    Ok((business, scope))
}

/// Writes a new business record (its id chosen by the caller: the demo seed's are
/// deterministic) and lists it for the operator.
#[cfg(feature = "operator")]
pub async fn put_business(store: &dyn TableStore, business: &Business) -> RepoResult<crate::OperatorScope> {
    let scope = crate::OperatorScope::new(business.id.clone());
    let item = keys::with_gsi1(
        keys::item_of("business", encode(business), keys::business_profile(&scope)),
        keys::business_listing(&business.id),
    );
    store.put(item, Condition::NotExists).await?;
    Ok(scope)
}

/// Writes a new location of the business (its id chosen by the caller).
pub async fn put_location(db: TenantDb<'_>, location: &Location) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of("location", encode(location), keys::location(scope, &location.id));
    store.put(item, Condition::NotExists).await?;
    Ok(())
}

pub async fn get_business(db: TenantDb<'_>) -> RepoResult<Business> {
    let (store, scope) = (db.store(), db.scope());
    let item = store.get(&keys::business_profile(scope)).await?.ok_or(RepoError::NotFound)?;
    decode(item)
}

#[cfg(feature = "operator")]
pub async fn list_businesses(store: &dyn TableStore) -> RepoResult<Vec<Business>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.query(Query::new(Index::Gsi1, keys::BUSINESS_LIST_GSI1PK).limit(1000).after(cursor)).await?;
        for item in page.items {
            out.push(decode(item)?);
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

pub async fn add_location(db: TenantDb<'_>, name: &str, timezone: &str, now: DateTime<Utc>) -> RepoResult<Location> {
    let (store, scope) = (db.store(), db.scope());
    let location = Location::new(Id::generate(IdKind::Location, now.timestamp_millis()), name, timezone, Some(now));
    let item = keys::item_of("location", encode(&location), keys::location(scope, &location.id));
    store
        .transact(vec![
            TxOp::Check { key: keys::business_profile(scope), condition: Condition::Exists },
            TxOp::Put { item, condition: Condition::NotExists },
        ])
        .await
        .map_err(|e| match e {
            crate::StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
            other => other.into(),
        })?;
    Ok(location)
}

pub async fn list_locations(db: TenantDb<'_>) -> RepoResult<Vec<Location>> {
    let (store, scope) = (db.store(), db.scope());
    let page = store
        .query(
            Query::new(Index::Table, keys::business_partition(scope))
                .sk(SkCondition::BeginsWith(keys::LOCATION_SK_PREFIX.into()))
                .limit(1000),
        )
        .await?;
    page.items.into_iter().map(decode).collect()
}

pub struct NewKey<'a> {
    pub name: &'a str,
    pub scopes: Vec<Scope>,
    pub tier: RateTier,
    pub expires_at: Option<DateTime<Utc>>,
    pub allowed_ips: Vec<ipnet::IpNet>,
    pub replaces: Option<Id>,
}

impl<'a> NewKey<'a> {
    pub fn new(name: &'a str, scopes: Vec<Scope>, tier: RateTier) -> NewKey<'a> {
        NewKey { name, scopes, tier, expires_at: None, allowed_ips: Vec::new(), replaces: None }
    }
}

/// Mints a key: returns its record and the secret, which exists nowhere else after this call.
/// The business must exist. The record and the hash lookup are written in one transaction.
pub async fn mint_key(db: TenantDb<'_>, new: NewKey<'_>, now: DateTime<Utc>) -> RepoResult<(ApiKey, ApiKeySecret)> {
    let (store, scope) = (db.store(), db.scope());
    let secret = ApiKeySecret::generate();
    let mut scopes = new.scopes;
    scopes.sort();
    scopes.dedup();
    let key = ApiKey {
        id: Id::generate(IdKind::ApiKey, now.timestamp_millis()),
        business_id: scope.business_id().clone(),
        name: new.name.to_owned(),
        prefix: secret.display_prefix(),
        scopes,
        tier: new.tier,
        status: ApiKeyStatus::Active,
        created_at: now,
        expires_at: new.expires_at,
        revoked_at: None,
        allowed_ips: new.allowed_ips,
        replaces: new.replaces,
        revision: 0,
    };
    store
        .transact(vec![
            TxOp::Check { key: keys::business_profile(scope), condition: Condition::Exists },
            TxOp::Put { item: record_item(scope, &key, &secret.hash().0), condition: Condition::NotExists },
            TxOp::Put { item: lookup_item(&key, &secret.hash()), condition: Condition::NotExists },
        ])
        .await
        .map_err(|e| match e {
            crate::StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
            other => other.into(),
        })?;
    Ok((key, secret))
}

fn lookup_item(key: &ApiKey, hash: &KeyHash) -> crate::Item {
    let mut item = keys::item_of("apiKeyLookup", encode(key), keys::api_key_lookup(&hash.0));
    item.insert("keyHash".into(), Value::String(hash.0.clone()));
    item
}

pub async fn list_keys(db: TenantDb<'_>) -> RepoResult<Vec<ApiKey>> {
    let (store, scope) = (db.store(), db.scope());
    let page = store
        .query(
            Query::new(Index::Table, keys::business_partition(scope))
                .sk(SkCondition::BeginsWith(keys::API_KEY_SK_PREFIX.into()))
                .limit(1000),
        )
        .await?;
    page.items.into_iter().map(decode).collect()
}

/// The key's record; it carries the hash so revocation and tier changes can reach the lookup.
fn record_item(scope: &TenantScope, key: &ApiKey, hash: &str) -> crate::Item {
    let mut item = keys::item_of("apiKey", encode(key), keys::api_key(scope, &key.id));
    item.insert("keyHash".into(), Value::String(hash.to_owned()));
    item
}

/// Reads a key record with its hash.
async fn load_record(store: &dyn TableStore, scope: &TenantScope, key_id: &Id) -> RepoResult<(ApiKey, String)> {
    let item = store.get(&keys::api_key(scope, key_id)).await?.ok_or(RepoError::NotFound)?;
    let hash = item
        .get("keyHash")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| RepoError::Corrupt("key record without hash".into()))?;
    Ok((decode(item)?, hash))
}

/// Rewrites the record and the lookup of a key in one transaction.
/// Writes a changed key over the revision it was read at (`key.revision` is that revision; the
/// stored one becomes `revision + 1`). A concurrent change makes this a `Conflict`, so an
/// operator's tier change can't resurrect a key revoked meanwhile.
async fn save_key(store: &dyn TableStore, scope: &TenantScope, key: &ApiKey, hash: &str) -> RepoResult<ApiKey> {
    let read_at = Condition::AttrEquals("revision".into(), Value::from(key.revision));
    let mut next = key.clone();
    next.revision += 1;
    store
        .transact(vec![
            TxOp::Put { item: record_item(scope, &next, hash), condition: read_at },
            TxOp::Put { item: lookup_item(&next, &KeyHash(hash.to_owned())), condition: Condition::Exists },
        ])
        .await
        .map_err(|e| match e {
            crate::StoreError::TransactionCanceled { failed } if !failed.is_empty() => RepoError::Conflict {
                field: "revision".into(),
                message: "the key changed meanwhile; read it again and retry".into(),
            },
            other => other.into(),
        })?;
    Ok(next)
}

/// Revokes at once: the record and the lookup item both say revoked.
pub async fn revoke_key(db: TenantDb<'_>, key_id: &Id, now: DateTime<Utc>) -> RepoResult<ApiKey> {
    let (store, scope) = (db.store(), db.scope());
    // A revocation that loses a race to another change reads again and revokes anyway.
    for _ in 0..3 {
        let (mut key, hash) = load_record(store, scope, key_id).await?;
        if key.status == ApiKeyStatus::Revoked {
            return Ok(key);
        }
        key.status = ApiKeyStatus::Revoked;
        key.revoked_at = Some(now);
        match save_key(store, scope, &key, &hash).await {
            Err(RepoError::Conflict { .. }) => continue,
            other => return other,
        }
    }
    Err(RepoError::Conflict { field: "revision".into(), message: "the key keeps changing; retry".into() })
}

/// Resolves a presented key's hash to its key and the scope of the key's business, if the key
/// exists (usable or not): the one way request code gets a [`TenantScope`].
pub async fn authenticate(store: &dyn TableStore, hash: &KeyHash) -> RepoResult<Option<(ApiKey, TenantScope)>> {
    Ok(lookup_key(store, hash).await?.map(|key| {
        let scope = TenantScope::of_key(&key);
        (key, scope)
    }))
}

/// Resolves a presented key's hash to its key, if it exists (usable or not).
pub async fn lookup_key(store: &dyn TableStore, hash: &KeyHash) -> RepoResult<Option<ApiKey>> {
    match store.get_json(&keys::api_key_lookup(&hash.0)).await? {
        Some(json) => Ok(Some(decode_json(&json)?)),
        None => Ok(None),
    }
}

/// Changes a key's tier (operator action); the next request sees it.
pub async fn set_tier(db: TenantDb<'_>, key_id: &Id, tier: RateTier) -> RepoResult<ApiKey> {
    let (store, scope) = (db.store(), db.scope());
    let (mut key, hash) = load_record(store, scope, key_id).await?;
    key.tier = tier;
    save_key(store, scope, &key, &hash).await
}

/// One key of the business.
pub async fn get_key(db: TenantDb<'_>, key_id: &Id) -> RepoResult<ApiKey> {
    let (store, scope) = (db.store(), db.scope());
    Ok(load_record(store, scope, key_id).await?.0)
}

/// Rotates a key: a new key with the same name, scopes, tier and allowlist is issued, and the old
/// one keeps working until `now + grace` (or its own earlier expiry), then stops. One transaction.
pub async fn rotate_key(
    db: TenantDb<'_>,
    key_id: &Id,
    grace: chrono::Duration,
    now: DateTime<Utc>,
) -> RepoResult<(ApiKey, ApiKeySecret, ApiKey)> {
    let (store, scope) = (db.store(), db.scope());
    let (mut old, old_hash) = load_record(store, scope, key_id).await?;
    if !old.is_usable(now) {
        return Err(RepoError::Conflict {
            field: "id".into(),
            message: format!("key {} is {} and cannot be rotated", old.id, old.state_at(now)),
        });
    }
    let deadline = now + grace;
    // The replacement keeps the old key's own expiry: rotation never extends a key's life.
    let inherited_expiry = old.expires_at;
    old.expires_at = Some(old.expires_at.map_or(deadline, |at| at.min(deadline)));
    let secret = ApiKeySecret::generate();
    let new = ApiKey {
        id: Id::generate(IdKind::ApiKey, now.timestamp_millis()),
        business_id: old.business_id.clone(),
        name: old.name.clone(),
        prefix: secret.display_prefix(),
        scopes: old.scopes.clone(),
        tier: old.tier,
        status: ApiKeyStatus::Active,
        created_at: now,
        expires_at: inherited_expiry,
        revoked_at: None,
        allowed_ips: old.allowed_ips.clone(),
        replaces: Some(old.id.clone()),
        revision: 0,
    };
    let read_at = Condition::AttrEquals("revision".into(), Value::from(old.revision));
    old.revision += 1;
    store
        .transact(vec![
            TxOp::Put { item: record_item(scope, &old, &old_hash), condition: read_at },
            TxOp::Put { item: lookup_item(&old, &KeyHash(old_hash.clone())), condition: Condition::Exists },
            TxOp::Put { item: record_item(scope, &new, &secret.hash().0), condition: Condition::NotExists },
            TxOp::Put { item: lookup_item(&new, &secret.hash()), condition: Condition::NotExists },
        ])
        .await
        .map_err(|e| match e {
            crate::StoreError::TransactionCanceled { failed } if failed.contains(&0) => {
                RepoError::Conflict { field: "id".into(), message: "the key changed while rotating; retry".into() }
            }
            other => other.into(),
        })?;
    Ok((new, secret, old))
}

/// Notes that a key was used (callers throttle this; see `iron_http::auth`).
pub async fn record_key_use(db: TenantDb<'_>, key_id: &Id, now: DateTime<Utc>) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of(
        "apiKeyUse",
        serde_json::json!({ "keyId": key_id, "lastUsedAt": now }),
        keys::api_key_use(scope, key_id),
    );
    store.put(item, Condition::None).await?;
    Ok(())
}

/// When each key of the business was last used.
pub async fn last_used(db: TenantDb<'_>) -> RepoResult<std::collections::HashMap<Id, DateTime<Utc>>> {
    let (store, scope) = (db.store(), db.scope());
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Use {
        key_id: Id,
        last_used_at: DateTime<Utc>,
    }
    let page = store
        .query(
            Query::new(Index::Table, keys::business_partition(scope))
                .sk(SkCondition::BeginsWith(keys::API_KEY_USE_SK_PREFIX.into()))
                .limit(1000),
        )
        .await?;
    let uses: Vec<Use> = page.items.into_iter().map(decode).collect::<RepoResult<_>>()?;
    Ok(uses.into_iter().map(|u| (u.key_id, u.last_used_at)).collect())
}
