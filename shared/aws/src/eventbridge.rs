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
