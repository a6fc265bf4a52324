//! A member's injuries (health data): created with `injury.reported` in the same transaction.

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Index, Query};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use iron_domain::injury::Injury;
use iron_domain::{Event, Id};

/// The write that records an injury (without the member check).
pub fn create_op(scope: &TenantScope, injury: &Injury) -> TxOp {
    let item = keys::item_of("injury", encode(injury), keys::injury(scope, &injury.athlete_id, &injury.id));
    TxOp::Put { item, condition: Condition::NotExists }
}

pub async fn create(db: TenantDb<'_>, injury: &Injury, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = vec![
        TxOp::Check { key: keys::athlete(scope, &injury.athlete_id), condition: Condition::Exists },
        create_op(scope, injury),
    ];
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(|e| match e {
        StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
        other => other.into(),
    })
}

pub async fn get(db: TenantDb<'_>, athlete_id: &Id, id: &Id) -> RepoResult<Injury> {
    let (store, scope) = (db.store(), db.scope());
    let json = store.get_json(&keys::injury(scope, athlete_id, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// Replaces `before` with `after` unless it changed meanwhile.
pub async fn update(db: TenantDb<'_>, before: &Injury, after: &Injury) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of("injury", encode(after), keys::injury(scope, &after.athlete_id, &after.id));
    store.put(item, Condition::AttrEquals("updatedAt".into(), encode(&before.updated_at))).await.map_err(|e| match e {
        StoreError::ConditionFailed => RepoError::Conflict {
            field: "updatedAt".into(),
            message: "the injury changed while this update ran; read it again and retry".into(),
        },
        other => other.into(),
    })
}

/// A member's injuries, newest first.
pub async fn list(
    db: TenantDb<'_>,
    athlete_id: &Id,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Injury>, Option<Cursor>)> {
    let (store, scope) = (db.store(), db.scope());
    let query =
        Query::new(Index::Table, keys::injuries_partition(scope, athlete_id)).backward().limit(limit).after(cursor);
    super::decode_page(store.query_json(query).await?)
}

/// Every injury of a member (for the workout generator: a member has a handful).
pub async fn all(db: TenantDb<'_>, athlete_id: &Id) -> RepoResult<Vec<Injury>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = list(db, athlete_id, 100, cursor).await?;
        out.extend(page);
        match next {
            Some(c) if out.len() < 1000 => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}
