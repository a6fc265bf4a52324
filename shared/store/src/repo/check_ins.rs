//! Check-ins, by member (GSI1) and by location (GSI2), and each member's latest one (a copy, so a
//! repeated scan is answered in one read). The location's listing is of small entries, the
//! check-in without its workout of the day: the door reads every check-in of the last 8 hours at
//! the location for its capacity check, and a workout is most of a check-in's bytes. Recording a check-in moves the latest pointer with a
//! condition on the one it replaces: two scans at once record one check-in.

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Duration, Utc};
use iron_domain::check_in::CheckIn;
use iron_domain::{Event, Id};

/// The member's latest check-in, if any.
pub async fn latest(db: TenantDb<'_>, athlete_id: &Id) -> RepoResult<Option<CheckIn>> {
    let (store, scope) = (db.store(), db.scope());
    match store.get_json(&keys::latest_check_in(scope, athlete_id)).await? {
        Some(json) => Ok(Some(decode_json(&json)?)),
        None => Ok(None),
    }
}

/// Records `c`, replacing `previous` as the member's latest. `Conflict` when another check-in of
/// the member was recorded since `previous` was read (read the latest again).
pub async fn create(db: TenantDb<'_>, c: &CheckIn, previous: Option<&Id>, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let condition = match previous {
        Some(id) => Condition::AttrEquals("id".into(), serde_json::Value::String(id.to_string())),
        None => Condition::NotExists,
    };
    let [record, entry] = record_ops(scope, c);
    let mut ops = vec![record, latest_op(scope, c, condition), entry];
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(|e| match e {
        StoreError::TransactionCanceled { failed } if failed.contains(&1) => RepoError::Conflict {
            field: "checkIn".into(),
            message: "another check-in of this member was recorded meanwhile".into(),
        },
        other => other.into(),
    })
}

/// The writes that record a check-in in its listings: the check-in (with its workout, in the
/// member's listing) and its entry in the location's listing (without it).
pub fn record_ops(scope: &TenantScope, c: &CheckIn) -> [TxOp; 2] {
    let item = keys::with_gsi1(
        keys::item_of("checkIn", encode(c), keys::check_in(scope, &c.id)),
        keys::check_in_of_athlete(scope, &c.athlete_id, c.checked_in_at, &c.id),
    );
    let light = CheckIn { wod: None, ..c.clone() };
    let entry = keys::with_gsi2(
        keys::item_of("checkInAtLocation", encode(&light), keys::check_in_location_entry(scope, &c.id)),
        keys::check_in_of_location(scope, &c.location_id, c.checked_in_at, &c.id),
    );
    [TxOp::Put { item, condition: Condition::NotExists }, TxOp::Put { item: entry, condition: Condition::NotExists }]
}

/// The write that makes `c` the member's latest check-in, if `condition` holds.
pub fn latest_op(scope: &TenantScope, c: &CheckIn, condition: Condition) -> TxOp {
    let pointer = keys::item_of("latestCheckIn", encode(c), keys::latest_check_in(scope, &c.athlete_id));
    TxOp::Put { item: pointer, condition }
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<CheckIn> {
    let (store, scope) = (db.store(), db.scope());
    let json = store.get_json(&keys::check_in(scope, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

/// A member's check-ins in `from..=to`, newest first.
pub async fn of_athlete(
    db: TenantDb<'_>,
    athlete_id: &Id,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<CheckIn>, Option<Cursor>)> {
    let query = Query::new(Index::Gsi1, keys::check_ins_of_athlete_partition(db.scope(), athlete_id)).backward();
    super::time_page(db, query, from, to, limit, cursor).await
}

/// A location's check-ins in `from..=to`, oldest first (a day's door log), without their
/// workouts of the day.
pub async fn of_location(
    db: TenantDb<'_>,
    location_id: &Id,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<CheckIn>, Option<Cursor>)> {
    let query = Query::new(Index::Gsi2, keys::check_ins_of_location_partition(db.scope(), location_id));
    super::time_page(db, query, from, to, limit, cursor).await
}

/// The longest visit occupancy counts (a check-in's expected stay is capped at this).
pub const MAX_VISIT_HOURS: i64 = 8;

/// What occupancy needs of a check-in: decoded without its workout of the day (most of the
/// item's bytes), which serde skips without building it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Presence {
    athlete_id: Id,
    checked_in_at: DateTime<Utc>,
    expected_until: DateTime<Utc>,
    access: Granted,
}

#[derive(serde::Deserialize)]
struct Granted {
    granted: bool,
}

/// How many members other than `except` are in at `at` (the door's capacity check): the same
/// rule as [`present`], reading only the fields it needs.
pub async fn present_count(db: TenantDb<'_>, location_id: &Id, at: DateTime<Utc>, except: &Id) -> RepoResult<usize> {
    let (store, scope) = (db.store(), db.scope());
    let (lo, hi) = keys::time_bounds(Some(at - Duration::hours(MAX_VISIT_HOURS)), Some(at));
    let mut inside: std::collections::HashSet<Id> = std::collections::HashSet::new();
    let mut cursor = None;
    loop {
        let query = Query::new(Index::Gsi2, keys::check_ins_of_location_partition(scope, location_id))
            .sk(SkCondition::Between(lo.clone(), hi.clone()))
            .limit(500)
            .after(cursor);
        let page = store.query_json(query).await?;
        for json in &page.items {
            let p: Presence = decode_json(json)?;
            if p.access.granted && p.checked_in_at <= at && at < p.expected_until {
                inside.insert(p.athlete_id);
            }
        }
        match page.next {
            Some(c) if inside.len() < 20_000 => cursor = Some(c),
            _ => break,
        }
    }
    inside.remove(except);
    Ok(inside.len())
}

/// Who is in at `at`: granted check-ins of the last [`MAX_VISIT_HOURS`] whose stay has not ended.
pub async fn present(db: TenantDb<'_>, location_id: &Id, at: DateTime<Utc>) -> RepoResult<Vec<CheckIn>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (items, next) =
            of_location(db, location_id, Some(at - Duration::hours(MAX_VISIT_HOURS)), Some(at), 500, cursor).await?;
        out.extend(items.into_iter().filter(|c| c.is_in_at(at)));
        match next {
            Some(c) if out.len() < 20_000 => cursor = Some(c),
            _ => break,
        }
    }
    // One entry per member: the latest check-in counts.
    out.sort_by_key(|c| std::cmp::Reverse(c.checked_in_at));
    let mut seen = std::collections::HashSet::new();
    out.retain(|c| seen.insert(c.athlete_id.clone()));
    Ok(out)
}
