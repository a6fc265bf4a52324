//! Workouts, by member and start time (GSI1). A workout with a source id is recorded once: a
//! guard item per (source, source id) makes the second post of the same record find the first.

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Index, Query};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::workout::Workout;
use iron_domain::{Event, Id};

/// What recording a workout did.
#[derive(Debug)]
pub enum Recorded {
    Created,
    /// The same source record was posted before: this is that workout.
    Existing(Box<Workout>),
}

/// The writes that record a workout and its source guard (without the member check).
pub fn create_ops(scope: &TenantScope, w: &Workout) -> Vec<TxOp> {
    let item = keys::with_gsi1(
        keys::item_of("workout", encode(w), keys::workout(scope, &w.id)),
        keys::workout_of_athlete(scope, &w.athlete_id, w.started_at, &w.id),
    );
    let mut ops = vec![TxOp::Put { item, condition: Condition::NotExists }];
    if let Some(sid) = &w.source_id {
        let key = keys::workout_source_guard(scope, w.source.as_str(), sid);
        let item = keys::item_of("guard", serde_json::json!({ "workoutId": w.id }), key);
        ops.push(TxOp::Put { item, condition: Condition::NotExists });
    }
    ops
}

/// Records the workout with its events; the member must exist.
pub async fn create(db: TenantDb<'_>, w: &Workout, events: &[Event]) -> RepoResult<Recorded> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = vec![TxOp::Check { key: keys::athlete(scope, &w.athlete_id), condition: Condition::Exists }];
    ops.extend(create_ops(scope, w));
    let guard = w.source_id.as_ref().map(|sid| keys::workout_source_guard(scope, w.source.as_str(), sid));
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    match store.transact(ops).await {
        Ok(()) => Ok(Recorded::Created),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => Err(RepoError::NotFound),
        Err(StoreError::TransactionCanceled { failed }) if failed.contains(&2) && guard.is_some() => {
            let key = guard.unwrap_or_else(|| keys::workout_source_guard(scope, "", ""));
            let item = store.get(&key).await?.ok_or(RepoError::Conflict {
                field: "sourceId".into(),
                message: "the same source record is being recorded right now; retry".into(),
            })?;
            let id = item
                .get("workoutId")
                .and_then(|v| v.as_str())
                .and_then(Id::parse)
                .ok_or_else(|| RepoError::Corrupt("a workout source guard without its workout id".into()))?;
            Ok(Recorded::Existing(Box::new(get(db, &id).await?)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<Workout> {
    let (store, scope) = (db.store(), db.scope());
    let json = store.get_json(&keys::workout(scope, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// A member's workouts started in `from..=to` (either open), newest first.
pub async fn list(
    db: TenantDb<'_>,
    athlete_id: &Id,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Workout>, Option<Cursor>)> {
    let query = Query::new(Index::Gsi1, keys::workouts_of_athlete_partition(db.scope(), athlete_id)).backward();
    super::time_page(db, query, from, to, limit, cursor).await
}

/// Every workout of a member since `from` (the generator's history: at most a few hundred).
pub async fn since(db: TenantDb<'_>, athlete_id: &Id, from: DateTime<Utc>) -> RepoResult<Vec<Workout>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = list(db, athlete_id, Some(from), None, 500, cursor).await?;
        out.extend(page);
        match next {
            Some(c) if out.len() < 2000 => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

/// Saves a corrected workout (its time may move it in the member's listing), with its events.
pub async fn update(db: TenantDb<'_>, w: &Workout, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::with_gsi1(
        keys::item_of("workout", encode(w), keys::workout(scope, &w.id)),
        keys::workout_of_athlete(scope, &w.athlete_id, w.started_at, &w.id),
    );
    let mut ops = vec![TxOp::Put { item, condition: Condition::Exists }];
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(|e| match e {
        StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
        other => other.into(),
    })
}

/// Deletes a workout and its source guard (the same source record may be posted again), with
/// its events.
pub async fn delete(db: TenantDb<'_>, w: &Workout, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = vec![TxOp::Delete { key: keys::workout(scope, &w.id), condition: Condition::Exists }];
    if let Some(sid) = &w.source_id {
        ops.push(TxOp::Delete {
            key: keys::workout_source_guard(scope, w.source.as_str(), sid),
            condition: Condition::None,
        });
    }
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(|e| match e {
        StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
        other => other.into(),
    })
}
