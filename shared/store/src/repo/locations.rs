//! Locations of a business (hours, capacity, equipment inventory), in the business partition.

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::TenantDb;
use iron_domain::{Id, Location};

/// Creates a location; the business must exist.
pub async fn create(db: TenantDb<'_>, location: &Location) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of("location", encode(location), keys::location(scope, &location.id));
    store
        .transact(vec![
            TxOp::Check { key: keys::business_profile(scope), condition: Condition::Exists },
            TxOp::Put { item, condition: Condition::NotExists },
        ])
        .await
        .map_err(|e| match e {
            StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
            other => other.into(),
        })
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<Location> {
    let (store, scope) = (db.store(), db.scope());
    let json = store.get_json(&keys::location(scope, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// Replaces `before` with `after` unless it changed meanwhile (`updatedAt` must still match).
pub async fn update(db: TenantDb<'_>, before: &Location, after: &Location) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of("location", encode(after), keys::location(scope, &after.id));
    let condition = match &before.updated_at {
        Some(t) => Condition::AttrEquals("updatedAt".into(), encode(t)),
        None => Condition::Exists,
    };
    store.put(item, condition).await.map_err(|e| match e {
        StoreError::ConditionFailed => RepoError::Conflict {
            field: "updatedAt".into(),
            message: "the location changed while this update ran; read it again and retry".into(),
        },
        other => other.into(),
    })
}

/// Locations in creation order.
pub async fn list(
    db: TenantDb<'_>,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Location>, Option<Cursor>)> {
    let (store, scope) = (db.store(), db.scope());
    let query = Query::new(Index::Table, keys::business_partition(scope))
        .sk(SkCondition::BeginsWith(keys::LOCATION_SK_PREFIX.into()))
        .limit(limit)
        .after(cursor);
    super::decode_page(store.query_json(query).await?)
}

pub fn cursor_fits(cursor: &Cursor) -> bool {
    cursor.fits(Index::Table)
}
