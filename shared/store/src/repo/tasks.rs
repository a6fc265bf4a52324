//! Internal tasks: events the platform itself consumes (a workout entering the challenges its
//! member joined; a check-in, payment or workout recomputing the member's churn score). The
//! fan-out that turns an outbox event into webhook deliveries also writes a task for it, in the same transaction, so a consumed event is never lost; the dispatcher runs
//! due tasks after each fan-out and retries a failing one with backoff and jitter until
//! [`MAX_ATTEMPTS`], after which it is parked (kept with its error, out of the due index).
//! Consumers are idempotent (an entry per source record), so running a task twice is harmless.

use super::{RepoResult, decode, encode};
use crate::item::{GSI2PK, GSI2SK, Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TableStore, TxOp};
use crate::tenant::TenantScope;
use chrono::{DateTime, Duration, Utc};
use iron_domain::{Event, Id, IdKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The event types the platform consumes itself.
pub const CONSUMED: &[&str] = &[
    "workout.completed",
    "workout.updated",
    "workout.deleted",
    "test.completed",
    "member.created",
    "member.checked_in",
    "payment.recorded",
];
/// Runs of a task before it is parked.
pub const MAX_ATTEMPTS: u32 = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: Id,
    pub business_id: Id,
    pub event: Event,
    pub attempts: u32,
    pub due_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Task {
    fn shard(&self) -> u8 {
        keys::outbox_shard(&self.id)
    }
}

/// The task an event makes, if the platform consumes it.
pub fn for_event(event: &Event, now: DateTime<Utc>) -> Option<Task> {
    CONSUMED.contains(&event.event_type.as_str()).then(|| Task {
        id: Id::generate(IdKind::Task, now.timestamp_millis()),
        business_id: event.business_id.clone(),
        event: event.clone(),
        attempts: 0,
        due_at: now,
        last_error: None,
        created_at: now,
    })
}

fn item(t: &Task, due: bool) -> crate::item::Item {
    let scope = TenantScope::new(t.business_id.clone());
    let item = keys::item_of("task", encode(t), keys::task(&scope, &t.id));
    if due { keys::with_gsi2(item, keys::task_due(t.shard(), t.due_at, &t.business_id, &t.id)) } else { item }
}

/// The write that records a new task (added to the fan-out's transaction).
pub fn create_op(t: &Task) -> TxOp {
    TxOp::Put { item: item(t, true), condition: Condition::NotExists }
}

/// Tasks due at `now`, oldest first (up to `limit` per shard).
pub async fn due(store: &dyn TableStore, now: DateTime<Utc>, limit: usize) -> RepoResult<Vec<Task>> {
    let mut out: Vec<Task> = Vec::new();
    for shard in 0..keys::OUTBOX_SHARDS {
        let q = Query::new(Index::Gsi2, keys::tasks_due_partition(shard))
            .sk(SkCondition::Le(keys::up_to(now)))
            .limit(limit);
        for item in store.query(q).await?.items {
            out.push(decode(item)?);
        }
    }
    out.sort_by_key(|t| t.due_at);
    Ok(out)
}

/// The task ran: it is removed (only if no one else changed it since it was read).
pub async fn done(store: &dyn TableStore, t: &Task) -> RepoResult<()> {
    let scope = TenantScope::new(t.business_id.clone());
    match store.delete(&keys::task(&scope, &t.id), Condition::AttrEquals("attempts".into(), json!(t.attempts))).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The task failed: due again after a backoff with jitter (1 s, 2 s, 4 s … at most 10 min), or
/// parked after [`MAX_ATTEMPTS`]. Returns whether it was parked.
pub async fn failed(store: &dyn TableStore, t: &Task, error: &str, now: DateTime<Utc>) -> RepoResult<bool> {
    let mut next = t.clone();
    next.attempts += 1;
    next.last_error = Some(error.chars().take(500).collect());
    let parked = next.attempts >= MAX_ATTEMPTS;
    let base = 1000i64 * 2i64.pow(next.attempts.min(10));
    next.due_at =
        now + Duration::milliseconds(base.min(600_000) + rand::random::<i64>().rem_euclid(base.min(600_000) / 2 + 1));
    let mut stored = item(&next, !parked);
    if parked {
        stored.remove(GSI2PK);
        stored.remove(GSI2SK);
    }
    match store.put(stored, Condition::AttrEquals("attempts".into(), json!(t.attempts))).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(parked),
        Err(e) => Err(e.into()),
    }
}

/// What a run of the due tasks did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ran {
    pub done: usize,
    pub failed: usize,
    pub parked: usize,
}

/// Runs the tasks due at `now` (up to `limit` per shard): each event goes to its consumer.
pub async fn run_due(store: &dyn TableStore, now: DateTime<Utc>, limit: usize) -> RepoResult<Ran> {
    let mut ran = Ran::default();
    for t in due(store, now, limit).await? {
        let scope = TenantScope::new(t.business_id.clone());
        let db = crate::TenantDb::new(store, &scope);
        // Challenges (a workout entering them), then the member's churn score.
        let consumed = match super::challenges::on_event(db, &t.event, now).await {
            Ok(()) => super::analytics::on_event(db, &t.event, now).await,
            Err(e) => Err(e),
        };
        match consumed {
            Ok(()) => {
                done(store, &t).await?;
                ran.done += 1;
            }
            Err(e) => {
                tracing::warn!(task = %t.id, event = %t.event.id, attempts = t.attempts + 1, error = %e, "internal task failed");
                if failed(store, &t, &e.to_string(), now).await? {
                    tracing::error!(task = %t.id, event = %t.event.id, "internal task parked after {MAX_ATTEMPTS} attempts");
                    ran.parked += 1;
                } else {
                    ran.failed += 1;
                }
            }
        }
    }
    Ok(ran)
}
