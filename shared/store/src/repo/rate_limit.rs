//! Per-key rate limits over fixed UTC windows (a minute and a day), counted with conditional
//! atomic increments in the table, so the limit holds exactly across concurrent requests and
//! Lambda instances.

use super::RepoResult;
use crate::keys;
use crate::table::{StoreError, TableStore};
use crate::tenant::TenantScope;
use chrono::{DateTime, Duration, DurationRound, Utc};
use iron_domain::ApiKey;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// The window the headers describe: the one that refused, else the minute window.
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until that window resets.
    pub reset_after_s: u32,
    pub day_limit: u32,
    /// Unknown when the minute window refused first.
    pub day_remaining: Option<u32>,
}

fn secs_until(now: DateTime<Utc>, end: DateTime<Utc>) -> u32 {
    ((end - now).num_milliseconds().max(0) as u64).div_ceil(1000).max(1) as u32
}

/// Counts this request against the key's limits; `None` for an unlimited tier.
pub async fn check(store: &dyn TableStore, key: &ApiKey, now: DateTime<Utc>) -> RepoResult<Option<RateDecision>> {
    let limits = key.tier.limits();
    let (Some(per_minute), Some(per_day)) = (limits.per_minute, limits.per_day) else {
        return Ok(None);
    };
    let scope = TenantScope::of_key(key);
    let minute_start = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let minute_end = minute_start + Duration::minutes(1);
    let day_start = now.duration_trunc(Duration::days(1)).unwrap_or(now);
    let day_end = day_start + Duration::days(1);
    let minute_key = keys::rate_minute(&scope, &key.id, minute_start);
    let day_key = keys::rate_day(&scope, &key.id, day_start);

    let minute_count = match store
        .increment(&minute_key, "count", 1, Some(i64::from(per_minute)), Some(minute_end.timestamp() + 60))
        .await
    {
        Ok(n) => n,
        Err(StoreError::ConditionFailed) => {
            return Ok(Some(RateDecision {
                allowed: false,
                limit: per_minute,
                remaining: 0,
                reset_after_s: secs_until(now, minute_end),
                day_limit: per_day,
                day_remaining: None,
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let day_count =
        match store.increment(&day_key, "count", 1, Some(i64::from(per_day)), Some(day_end.timestamp() + 3600)).await {
            Ok(n) => n,
            Err(StoreError::ConditionFailed) => {
                // Give the minute slot back: this request is refused by the day window.
                store.increment(&minute_key, "count", -1, None, None).await?;
                return Ok(Some(RateDecision {
                    allowed: false,
                    limit: per_day,
                    remaining: 0,
                    reset_after_s: secs_until(now, day_end),
                    day_limit: per_day,
                    day_remaining: Some(0),
                }));
            }
            Err(e) => return Err(e.into()),
        };
    Ok(Some(RateDecision {
        allowed: true,
        limit: per_minute,
        remaining: per_minute.saturating_sub(minute_count as u32),
        reset_after_s: secs_until(now, minute_end),
        day_limit: per_day,
        day_remaining: Some(per_day.saturating_sub(day_count as u32)),
    }))
}
