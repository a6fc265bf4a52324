//! Webhook health: when it last got a delivery and how that went, consecutive failures (and
//! since when), the 24-hour success rate, and the per-second delivery budget.

use super::{RepoResult, decode, encode};
use crate::item::{Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError};
use crate::tenant::TenantDb;
use chrono::{DateTime, Duration, Utc};
use iron_domain::Id;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// The last attempt's status code (absent: no answer).
    pub last_delivery_status: Option<u16>,
    pub last_delivery_ok: Option<bool>,
    /// Failed attempts in a row.
    pub failure_count: u32,
    /// When the current run of failures began.
    pub failing_since: Option<DateTime<Utc>>,
}

pub async fn get(db: TenantDb<'_>, webhook: &Id) -> RepoResult<Health> {
    let (store, scope) = (db.store(), db.scope());
    match store.get(&keys::webhook_health(scope, webhook)).await? {
        Some(item) => decode(item),
        None => Ok(Health::default()),
    }
}

/// Records an attempt's outcome and returns the new health.
pub async fn record(
    db: TenantDb<'_>,
    webhook: &Id,
    ok: bool,
    status: Option<u16>,
    now: DateTime<Utc>,
) -> RepoResult<Health> {
    let (store, scope) = (db.store(), db.scope());
    let mut h = get(db, webhook).await?;
    h.last_delivery_at = Some(now);
    h.last_delivery_status = status;
    h.last_delivery_ok = Some(ok);
    if ok {
        h.failure_count = 0;
        h.failing_since = None;
    } else {
        h.failure_count += 1;
        h.failing_since.get_or_insert(now);
    }
    store
        .put(keys::item_of("webhookHealth", encode(&h), keys::webhook_health(scope, webhook)), Condition::None)
        .await?;
    let ttl = (now + Duration::days(2)).timestamp();
    store
        .increment(&keys::webhook_stats(scope, webhook, now), if ok { "ok" } else { "failed" }, 1, None, Some(ttl))
        .await?;
    Ok(h)
}

/// Successful attempts / all attempts over the last 24 hours (None without attempts).
pub async fn success_rate_24h(db: TenantDb<'_>, webhook: &Id, now: DateTime<Utc>) -> RepoResult<Option<f64>> {
    let (store, scope) = (db.store(), db.scope());
    let (from, to) = keys::webhook_stats_bounds(webhook, now - Duration::hours(23), now);
    let page = store
        .query(
            Query::new(Index::Table, keys::webhook_stats_partition(scope))
                .sk(SkCondition::Between(from, to))
                .limit(100),
        )
        .await?;
    let (mut ok, mut all) = (0i64, 0i64);
    for item in &page.items {
        let n = |k: &str| item.get(k).and_then(serde_json::Value::as_i64).unwrap_or(0);
        ok += n("ok");
        all += n("ok") + n("failed");
    }
    Ok((all > 0).then(|| ((ok as f64 / all as f64) * 10_000.0).round() / 10_000.0))
}

/// A place in a webhook's per-second delivery budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// This second has room: deliver now.
    Now,
    /// Reserved in this later second (Unix seconds): deliver then, without asking again.
    At(i64),
    /// No room in the seconds looked at; ask again from this second.
    Busy(i64),
}

/// Seconds one reservation looks ahead at most.
const LOOK_AHEAD: i64 = 8;

/// Reserves one delivery in the webhook's per-second budget: this second if it has room,
/// otherwise the first later second with room. A backlog thus waits once, each delivery for
/// its own second, instead of every waiting message coming back every second to try again.
/// Seconds are counters with a ceiling (atomic on both stores); a frontier item remembers where
/// the room starts so a long backlog isn't probed second by second from now each time.
pub async fn reserve_slot(db: TenantDb<'_>, webhook: &Id, per_second: u32, now: DateTime<Utc>) -> RepoResult<Slot> {
    let (store, scope) = (db.store(), db.scope());
    let this_second = now.timestamp();
    let frontier_key = keys::webhook_rate_frontier(scope, webhook);
    let frontier = store.get(&frontier_key).await?.and_then(|i| i.get("from").and_then(Value::as_i64)).unwrap_or(0);
    let from = this_second.max(frontier);
    let limit = i64::from(per_second);
    let move_frontier = |to: i64| {
        let mut item = crate::item::counter_item(&frontier_key, Some(to + 600));
        item.insert("from".into(), Value::from(to));
        store.put(item, Condition::None)
    };
    for second in from..from + LOOK_AHEAD {
        let key = keys::webhook_rate(scope, webhook, second);
        match store.increment(&key, "n", 1, Some(limit), Some(second + 120)).await {
            Ok(taken) => {
                if taken >= limit && second >= frontier {
                    move_frontier(second + 1).await?;
                }
                return Ok(if second == this_second { Slot::Now } else { Slot::At(second) });
            }
            Err(StoreError::ConditionFailed) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    move_frontier(from + LOOK_AHEAD).await?;
    Ok(Slot::Busy(from + LOOK_AHEAD))
}
