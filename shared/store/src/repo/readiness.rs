//! Readiness entries of a member, by time (health data).

use super::{RepoError, RepoResult, encode};
use crate::item::{Cursor, Index, Query};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::Id;
use iron_domain::readiness::ReadinessEntry;

/// The write that records an entry (without the member check).
pub fn create_op(scope: &TenantScope, entry: &ReadinessEntry) -> TxOp {
    let key = keys::readiness(scope, &entry.athlete_id, entry.recorded_at, &entry.id);
    TxOp::Put { item: keys::item_of("readiness", encode(entry), key), condition: Condition::NotExists }
}

/// Records an entry; the member must exist in this business.
pub async fn create(db: TenantDb<'_>, entry: &ReadinessEntry) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    store
        .transact(vec![
            TxOp::Check { key: keys::athlete(scope, &entry.athlete_id), condition: Condition::Exists },
            create_op(scope, entry),
        ])
        .await
        .map_err(|e| match e {
            StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
            other => other.into(),
        })
}

/// Entries of `from..=to` (either open), newest first.
pub async fn list(
    db: TenantDb<'_>,
    athlete_id: &Id,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<ReadinessEntry>, Option<Cursor>)> {
    let query = Query::new(Index::Table, keys::readiness_partition(db.scope(), athlete_id)).backward();
    super::time_page(db, query, from, to, limit, cursor).await
}
