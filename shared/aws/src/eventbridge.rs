//! Schedules as EventBridge rules, each with one target (the function that runs the job) and the
//! payload as the target's constant input.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{RuleState, Target};
use iron_store::table::StoreResult;
use iron_store::{ScheduleExpression, ScheduleTarget, Scheduler, StoreError};

pub struct EventBridgeScheduler {
    client: Client,
    /// Rules this adapter owns are named `<prefix><name>`.
    prefix: String,
    target_arn: String,
}

impl EventBridgeScheduler {
    pub fn new(client: Client, prefix: impl Into<String>, target_arn: impl Into<String>) -> EventBridgeScheduler {
        EventBridgeScheduler { client, prefix: prefix.into(), target_arn: target_arn.into() }
    }
}

/// Reads back the two expression forms this adapter writes.
pub fn parse_expression(expr: &str) -> Option<ScheduleExpression> {
    if let Some(body) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let n: u32 = body.split_whitespace().next()?.parse().ok()?;
        return Some(ScheduleExpression::EveryMinutes(n));
    }
    let body = expr.strip_prefix("cron(")?.strip_suffix(')')?;
    let parts: Vec<&str> = body.split_whitespace().collect();
    match parts.as_slice() {
        [m, h, "*", "*", "?", "*"] => {
            Some(ScheduleExpression::DailyAt { hour: h.parse().ok()?, minute: m.parse().ok()? })
        }
        _ => None,
    }
}

#[async_trait]
impl Scheduler for EventBridgeScheduler {
    async fn put(&self, schedule: ScheduleTarget) -> StoreResult<()> {
        schedule.expression.validate()?;
        let rule = format!("{}{}", self.prefix, schedule.name);
        self.client
            .put_rule()
            .name(&rule)
            .schedule_expression(schedule.expression.to_eventbridge())
            .state(RuleState::Enabled)
            .send()
            .await
            .map_err(sdk_error)?;
        let target = Target::builder()
            .id("job")
            .arn(&self.target_arn)
            .input(schedule.payload.to_string())
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.client.put_targets().rule(&rule).targets(target).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn delete(&self, name: &str) -> StoreResult<()> {
        let rule = format!("{}{name}", self.prefix);
        self.client.remove_targets().rule(&rule).ids("job").send().await.map_err(sdk_error)?;
        self.client.delete_rule().name(&rule).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn list(&self) -> StoreResult<Vec<ScheduleTarget>> {
        let rules = self.client.list_rules().name_prefix(&self.prefix).send().await.map_err(sdk_error)?;
        let mut out = Vec::new();
        for rule in rules.rules() {
            let (Some(name), Some(expr)) = (rule.name(), rule.schedule_expression()) else {
                continue;
            };
            let Some(expression) = parse_expression(expr) else {
                continue;
            };
            let targets = self.client.list_targets_by_rule().rule(name).send().await.map_err(sdk_error)?;
            let payload = targets
                .targets()
                .first()
                .and_then(|t| t.input())
                .and_then(|i| serde_json::from_str(i).ok())
                .unwrap_or(serde_json::Value::Null);
            out.push(ScheduleTarget { name: name.trim_start_matches(&self.prefix).to_owned(), expression, payload });
        }
        Ok(out)
    }
}

/// The event-bus port on EventBridge: each event one `PutEvents` entry on the bus, `source`
/// the platform's, `detail-type` the event type, `detail` the event as webhooks carry it.
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
    source: String,
}

impl EventBridgeBus {
    /// The source every entry carries (rules match on it).
    pub const SOURCE: &'static str = "iron-metrics";

    pub fn new(client: Client, bus_name: impl Into<String>) -> EventBridgeBus {
        EventBridgeBus { client, bus_name: bus_name.into(), source: Self::SOURCE.into() }
    }
}

#[async_trait]
impl iron_store::EventBus for EventBridgeBus {
    async fn publish(&self, events: &[iron_domain::Event]) -> StoreResult<()> {
        use aws_sdk_eventbridge::types::PutEventsRequestEntry;
        // PutEvents takes at most ten entries a call.
        for chunk in events.chunks(10) {
            let entries = chunk
                .iter()
                .map(|e| {
                    let detail = serde_json::to_string(e).map_err(|err| StoreError::Invalid(err.to_string()))?;
                    Ok(PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus_name)
                        .source(&self.source)
                        .detail_type(&e.event_type)
                        .detail(detail)
                        .resources(format!("business/{}", e.business_id))
                        .build())
                })
                .collect::<StoreResult<Vec<_>>>()?;
            let out = self.client.put_events().set_entries(Some(entries)).send().await.map_err(sdk_error)?;
            if out.failed_entry_count() > 0 {
                let why = out
                    .entries()
                    .iter()
                    .filter_map(|r| r.error_code().map(|c| format!("{c}: {}", r.error_message().unwrap_or(""))))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(StoreError::Backend(format!(
                    "PutEvents refused {} entries ({why})",
                    out.failed_entry_count()
                )));
            }
        }
        Ok(())
    }
}
