//! Repositories: typed, tenant-scoped access to the single table. Each takes a
//! [`TenantScope`](crate::TenantScope) for every call on a business's data.

pub mod analytics;
pub mod athletes;
pub mod audit;
pub mod bulk;
pub mod challenges;
pub mod check_ins;
pub mod deliveries;
pub mod events;
pub mod fitness_tests;
pub mod idempotency;
pub mod injuries;
pub mod jobs;
pub mod locations;
pub mod platform;
pub mod rate_limit;
pub mod readiness;
pub mod referrals;
pub mod sync;
pub mod tasks;
pub mod webhook_health;
pub mod webhooks;
pub mod workouts;

use crate::item::Item;
use crate::keys::strip_keys;
use crate::table::StoreError;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; names the field.
    #[error("conflict on {field}: {message}")]
    Conflict { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
    /// The request is well formed but the data refuses it (a 422 naming the field).
    #[error("{field}: {message}")]
    Refused { field: String, message: String },
}

pub type RepoResult<T> = Result<T, RepoError>;

pub(crate) fn decode<T: DeserializeOwned>(item: Item) -> RepoResult<T> {
    serde_json::from_value(serde_json::Value::Object(strip_keys(item))).map_err(|e| RepoError::Corrupt(e.to_string()))
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A pause before retrying a write that lost a race (a version or a transaction cancelled):
/// 5 ms doubling per attempt (capped at 320 ms), half of it jittered.
pub(crate) async fn conflict_backoff(attempt: u32) {
    let base = 5u64 * 2u64.pow(attempt.min(6));
    let jitter = rand::random::<u64>() % base.max(1);
    tokio::time::sleep(std::time::Duration::from_millis(base / 2 + jitter)).await;
}

/// One page of `query`'s partition between two times (`from..=to`, either open) on sort keys
/// that start with the time (`<time>#<id>`), decoded.
pub(crate) async fn time_page<T: DeserializeOwned>(
    db: crate::TenantDb<'_>,
    query: crate::item::Query,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    limit: usize,
    cursor: Option<crate::item::Cursor>,
) -> RepoResult<(Vec<T>, Option<crate::item::Cursor>)> {
    let (lo, hi) = crate::keys::time_bounds(from, to);
    let query = query.sk(crate::item::SkCondition::Between(lo, hi)).limit(limit).after(cursor);
    decode_page(db.store().query_json(query).await?)
}

/// Decodes a page of items' JSON text into entities, with the page's cursor.
pub(crate) fn decode_page<T: DeserializeOwned>(
    page: crate::table::JsonPage,
) -> RepoResult<(Vec<T>, Option<crate::item::Cursor>)> {
    Ok((page.items.iter().map(|j| decode_json(j)).collect::<RepoResult<_>>()?, page.next))
}

/// Decodes an item's JSON text straight into the entity; storage attributes (keys, TTL,
/// `entityType`, `searchText`) are ignored as unknown fields.
pub(crate) fn decode_json<T: DeserializeOwned>(json: &str) -> RepoResult<T> {
    serde_json::from_str(json).map_err(|e| RepoError::Corrupt(e.to_string()))
}
