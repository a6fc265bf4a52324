//! Webhook health: when it last got a delivery and how that went, consecutive failures (and
//! since when), the 24-hour success rate, and the per-second delivery budget.

use super::{RepoResult, decode, encode};
use crate::item::{Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TableStore};
use crate::tenant::TenantScope;
use chrono::{DateTime, Duration, Utc};
use iron_domain::Id;
use serde::{Deserialize, Serialize};

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

pub async fn get(store: &dyn TableStore, scope: &TenantScope, webhook: &Id) -> RepoResult<Health> {
    match store.get(&keys::webhook_health(scope, webhook)).await? {
        Some(item) => decode(item),
        None => Ok(Health::default()),
    }
}

/// Records an attempt's outcome and returns the new health.
pub async fn record(
    store: &dyn TableStore,
    scope: &TenantScope,
    webhook: &Id,
    ok: bool,
    status: Option<u16>,
    now: DateTime<Utc>,
) -> RepoResult<Health> {
    let mut h = get(store, scope, webhook).await?;
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
    let hour = now.format("%Y%m%d%H").to_string();
    let ttl = (now + Duration::days(2)).timestamp();
    store
        .increment(&keys::webhook_stats(scope, webhook, &hour), if ok { "ok" } else { "failed" }, 1, None, Some(ttl))
        .await?;
    Ok(h)
}

/// Successful attempts / all attempts over the last 24 hours (None without attempts).
pub async fn success_rate_24h(
    store: &dyn TableStore,
    scope: &TenantScope,
    webhook: &Id,
    now: DateTime<Utc>,
) -> RepoResult<Option<f64>> {
    let from = format!("{webhook}#{}", (now - Duration::hours(23)).format("%Y%m%d%H"));
    let to = format!("{webhook}#{}", now.format("%Y%m%d%H"));
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

/// Takes one delivery from the webhook's per-second budget; `false` when it is spent.
pub async fn take_slot(
    store: &dyn TableStore,
    scope: &TenantScope,
    webhook: &Id,
    per_second: u32,
    now: DateTime<Utc>,
) -> RepoResult<bool> {
    let key = keys::webhook_rate(scope, webhook, now.timestamp());
    match store.increment(&key, "n", 1, Some(i64::from(per_second)), Some(now.timestamp() + 120)).await {
        Ok(_) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
