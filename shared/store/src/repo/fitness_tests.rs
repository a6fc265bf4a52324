//! Fitness tests, indexed by performed time for the business (GSI1) and per athlete (GSI2).

use super::{RepoError, RepoResult, decode_json, encode};
use crate::item::{Cursor, Filter, Index, Item, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::NaiveDate;
use iron_domain::{Event, FitnessTest, Id, TestType};
use serde_json::Value;

fn test_item(scope: &TenantScope, t: &FitnessTest) -> Item {
    let item = keys::item_of("fitnessTest", encode(t), keys::test(scope, &t.id));
    let item = keys::with_gsi1(item, keys::test_by_time(scope, t.performed_at, &t.id));
    keys::with_gsi2(item, keys::test_of_athlete(scope, &t.athlete_id, t.performed_at, &t.id))
}

/// The guard that makes (athlete, type, performed time) unique.
pub fn guard_key(scope: &TenantScope, t: &FitnessTest) -> crate::Key {
    keys::test_guard(scope, &t.athlete_id, t.test_type.as_str(), t.performed_at)
}

/// The writes that record a test: the athlete must exist in this business (operation 0), and no
/// test of that athlete, type and time may be recorded (operation 2, the natural-key guard).
pub fn create_ops(scope: &TenantScope, t: &FitnessTest) -> Vec<TxOp> {
    vec![
        TxOp::Check { key: keys::athlete(scope, &t.athlete_id), condition: Condition::Exists },
        TxOp::Put { item: test_item(scope, t), condition: Condition::NotExists },
        TxOp::Put {
            item: keys::item_of("guard", serde_json::json!({ "testId": t.id }), guard_key(scope, t)),
            condition: Condition::NotExists,
        },
    ]
}

/// Records the test with its events (the outbox). `NotFound` when the athlete isn't this
/// business's; a `Conflict` on `performedAt` when the same test is already recorded, or on
/// `locationId` when that location doesn't exist.
pub async fn create(db: TenantDb<'_>, t: &FitnessTest, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = create_ops(scope, t);
    if let Some(loc) = &t.location_id {
        ops.push(TxOp::Check { key: keys::location(scope, loc), condition: Condition::Exists });
    }
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(|e| match e {
        StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
        StoreError::TransactionCanceled { failed } if failed.contains(&1) => {
            RepoError::Conflict { field: "id".into(), message: "a test with this id exists".into() }
        }
        StoreError::TransactionCanceled { failed } if failed.contains(&2) => RepoError::Conflict {
            field: "performedAt".into(),
            message: "this athlete already has a test of this type at this time".into(),
        },
        StoreError::TransactionCanceled { failed } if failed.contains(&3) && t.location_id.is_some() => {
            RepoError::Conflict { field: "locationId".into(), message: "no such location in this business".into() }
        }
        other => other.into(),
    })
}

/// Whether the same test (athlete, type, performed time) is already recorded.
pub async fn exists(db: TenantDb<'_>, t: &FitnessTest) -> RepoResult<bool> {
    Ok(db.store().get(&guard_key(db.scope(), t)).await?.is_some())
}

/// Whether the same test (athlete, type, time) is recorded, and by which import if one:
/// `None` when not, `Some(None)` when recorded outside an import.
pub async fn guard_import(db: TenantDb<'_>, t: &FitnessTest) -> RepoResult<Option<Option<String>>> {
    Ok(db
        .store()
        .get(&guard_key(db.scope(), t))
        .await?
        .map(|g| g.get("importId").and_then(serde_json::Value::as_str).map(str::to_owned)))
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<FitnessTest> {
    let (store, scope) = (db.store(), db.scope());
    let json = store.get_json(&keys::test(scope, id)).await?.ok_or(RepoError::NotFound)?;
    decode_json(&json)
}

#[derive(Debug, Clone, Default)]
pub struct TestFilter {
    pub athlete_id: Option<Id>,
    pub test_type: Option<TestType>,
    pub date_from: Option<NaiveDate>,
    pub date_to: Option<NaiveDate>,
}

impl TestFilter {
    fn index(&self) -> Index {
        if self.athlete_id.is_some() { Index::Gsi2 } else { Index::Gsi1 }
    }
}

/// Tests newest first.
pub async fn list(
    db: TenantDb<'_>,
    filter: &TestFilter,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<FitnessTest>, Option<Cursor>)> {
    let (store, scope) = (db.store(), db.scope());
    let partition = match &filter.athlete_id {
        Some(a) => keys::tests_of_athlete_partition(scope, a),
        None => keys::tests_by_time_partition(scope),
    };
    let mut query = Query::new(filter.index(), partition).backward().limit(limit).after(cursor);
    if filter.date_from.is_some() || filter.date_to.is_some() {
        let (lo, hi) = keys::day_bounds(filter.date_from, filter.date_to);
        query = query.sk(SkCondition::Between(lo, hi));
    }
    if let Some(t) = filter.test_type {
        query = query.filter(Filter::Equals("testType".into(), Value::String(t.as_str().into())));
    }
    super::decode_page(store.query_json(query).await?)
}

pub fn cursor_fits(filter: &TestFilter, cursor: &Cursor) -> bool {
    cursor.fits(filter.index())
}

/// An athlete's most recent tests.
pub async fn recent_for_athlete(db: TenantDb<'_>, athlete_id: &Id, n: usize) -> RepoResult<Vec<FitnessTest>> {
    let filter = TestFilter { athlete_id: Some(athlete_id.clone()), ..TestFilter::default() };
    Ok(list(db, &filter, n, None).await?.0)
}
