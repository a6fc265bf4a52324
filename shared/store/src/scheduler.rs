//! The scheduler port (EventBridge rules on AWS): named recurring schedules that deliver a JSON
//! payload to a target. The in-process adapter fires them from a tokio task in iron-local.

use crate::clock::Clock;
use crate::table::{StoreError, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleExpression {
    /// Every `n` minutes (EventBridge `rate(n minutes)`).
    EveryMinutes(u32),
    /// Once a day at hh:mm UTC (EventBridge `cron(mm hh * * ? *)`).
    DailyAt { hour: u8, minute: u8 },
}

impl ScheduleExpression {
    /// The EventBridge form.
    pub fn to_eventbridge(&self) -> String {
        match self {
            ScheduleExpression::EveryMinutes(1) => "rate(1 minute)".into(),
            ScheduleExpression::EveryMinutes(n) => format!("rate({n} minutes)"),
            ScheduleExpression::DailyAt { hour, minute } => {
                format!("cron({minute} {hour} * * ? *)")
            }
        }
    }

    pub fn validate(&self) -> StoreResult<()> {
        match self {
            ScheduleExpression::EveryMinutes(0) => Err(StoreError::Invalid("a rate must be at least 1 minute".into())),
            ScheduleExpression::DailyAt { hour, minute } if *hour > 23 || *minute > 59 => {
                Err(StoreError::Invalid("hour 0-23 and minute 0-59".into()))
            }
            _ => Ok(()),
        }
    }

    /// Whether the schedule fires in the minute that starts at `minute_start`.
    pub fn fires_at(&self, minute_start: DateTime<Utc>) -> bool {
        match self {
            ScheduleExpression::EveryMinutes(n) => (minute_start.timestamp() / 60) % i64::from(*n) == 0,
            ScheduleExpression::DailyAt { hour, minute } => {
                minute_start.hour() == u32::from(*hour) && minute_start.minute() == u32::from(*minute)
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleTarget {
    pub name: String,
    pub expression: ScheduleExpression,
    /// Delivered as the event's `detail`.
    pub payload: Value,
}

#[async_trait]
pub trait Scheduler: Send + Sync + 'static {
    /// Creates or replaces the schedule of that name.
    async fn put(&self, schedule: ScheduleTarget) -> StoreResult<()>;
    async fn delete(&self, name: &str) -> StoreResult<()>;
    async fn list(&self) -> StoreResult<Vec<ScheduleTarget>>;
}

pub type ScheduleHandler = Arc<dyn Fn(ScheduleTarget) + Send + Sync>;

/// Schedules held in memory and fired by [`InProcessScheduler::run`]; iron-local re-puts its
/// schedules at start, as a deploy re-creates EventBridge rules.
pub struct InProcessScheduler {
    schedules: Mutex<BTreeMap<String, ScheduleTarget>>,
    clock: Arc<dyn Clock>,
}

impl InProcessScheduler {
    pub fn new(clock: Arc<dyn Clock>) -> InProcessScheduler {
        InProcessScheduler { schedules: Mutex::new(BTreeMap::new()), clock }
    }

    /// The schedules due in the minute containing `at`.
    pub fn due(&self, at: DateTime<Utc>) -> Vec<ScheduleTarget> {
        let minute = at.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(at);
        let schedules = self.schedules.lock().unwrap_or_else(|e| e.into_inner());
        schedules.values().filter(|s| s.expression.fires_at(minute)).cloned().collect()
    }

    /// Fires due schedules once per minute until the task is dropped.
    pub async fn run(self: Arc<Self>, handler: ScheduleHandler) {
        let mut last_minute = None;
        loop {
            let now = self.clock.now();
            let minute = now.timestamp() / 60;
            if last_minute != Some(minute) {
                last_minute = Some(minute);
                for schedule in self.due(now) {
                    handler(schedule);
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

#[async_trait]
impl Scheduler for InProcessScheduler {
    async fn put(&self, schedule: ScheduleTarget) -> StoreResult<()> {
        schedule.expression.validate()?;
        self.schedules.lock().unwrap_or_else(|e| e.into_inner()).insert(schedule.name.clone(), schedule);
        Ok(())
    }
    async fn delete(&self, name: &str) -> StoreResult<()> {
        self.schedules.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        Ok(())
    }
    async fn list(&self) -> StoreResult<Vec<ScheduleTarget>> {
        Ok(self.schedules.lock().unwrap_or_else(|e| e.into_inner()).values().cloned().collect())
    }
}
