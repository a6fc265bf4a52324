//! The sync worker: runs third-party sync runs (Wodify), one queue message a step, and the two
//! schedules around them.
//!
//! - A message names a business, a gym and a run (`{"businessId", "gymId", "runId"}`). A step
//!   goes until the run ends or its time budget is spent; then it queues the run's next step and
//!   acknowledges its own message. A step that fails (the table or KMS unavailable) or dies
//!   leaves its message to come back after the visibility timeout: the run resumes at its last
//!   completed page. After five failed receives the message goes to the dead-letter queue, and
//!   the last receive fails the run first, so no run stays `running`.
//! - `{"schedule": "nightly"}` (EventBridge, 03:00 UTC): one run per connected gym, each its own
//!   message, so one slow gym never delays another — a backfill for a gym not yet backfilled, the
//!   weekly reconciliation on the reconciliation weekday, an incremental run otherwise.
//! - `{"schedule": "health"}` (hourly): the hours since each gym's last successful sync, as
//!   CloudWatch metrics (Embedded Metric Format on stdout), and the count of gyms past 24 h,
//!   which the `SyncStale` alarm watches.
//! - Analytics, which the syncs feed: `{"analytics": "<businessId>", "announce": bool}`
//!   recomputes a business's churn scores (queued when a sync run succeeds, and for every
//!   business by `{"schedule": "analytics"}`, daily at 04:00 UTC after the nightly syncs, which
//!   also fires the `subscription.expiring` notices due).
//!
//! Only this function's role may decrypt Wodify keys.

use chrono::{DateTime, Datelike, Utc, Weekday};
use iron_domain::sync::{Connection, Provider, Run, RunMode, RunStatus, RunTrigger};
use iron_lambda::sqs::{BatchResponse, ItemFailure, SqsEvent};
use iron_lambda::{ConfigError, FromEnv};
use iron_store::repo::sync as repo;
use iron_store::{Clock, EventBus, KeyCipher, OperatorScope, Queue, TableStore, TenantDb};
use iron_sync::wodify::connector::ConnectorConfig;
use iron_sync::wodify::run::{self, StartError};
use iron_sync::wodify::service::{self, RunJob, StepEnv, StepOutcome};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a step goes on before it hands over to the next (well inside the function's
/// 5-minute timeout, `template.yaml`).
pub const RUN_BUDGET: Duration = Duration::from_secs(120);
/// The receive of a message that is its last before the dead-letter queue (`maxReceiveCount`).
pub const LAST_RECEIVE: u32 = 5;
/// The CloudWatch namespace of the worker's metrics.
pub const NAMESPACE: &str = "IronMetrics/Sync";

/// The function's environment (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub kms_key_id: String,
    pub queue_url: String,
    pub event_bus_name: String,
    /// `IRON_WODIFY_BASE_URL` (default: Wodify's).
    pub connector: ConnectorConfig,
    /// `IRON_RECONCILE_WEEKDAY` (`sun`…`sat`, default `sun`).
    pub reconcile_weekday: Weekday,
}

impl FromEnv for Config {
    fn from_env(env: &iron_lambda::Env) -> Result<Config, ConfigError> {
        let connector =
            ConnectorConfig::default().at(env.optional("IRON_WODIFY_BASE_URL").as_deref()).map_err(ConfigError)?;
        let reconcile_weekday = match env.optional("IRON_RECONCILE_WEEKDAY") {
            None => Weekday::Sun,
            Some(day) => day
                .parse()
                .map_err(|_| ConfigError(format!("IRON_RECONCILE_WEEKDAY must be a weekday (sun…sat), not `{day}`")))?,
        };
        Ok(Config {
            table_name: env.required("TABLE_NAME", "the single table")?,
            kms_key_id: env.required("KMS_KEY_ID", "the KMS key of stored secrets")?,
            queue_url: env.required("SYNC_QUEUE_URL", "the sync queue")?,
            event_bus_name: env.required("EVENT_BUS_NAME", "the event bus sync events go to")?,
            connector,
            reconcile_weekday,
        })
    }
}

pub struct SyncWorker {
    pub store: Arc<dyn TableStore>,
    pub cipher: Arc<dyn KeyCipher>,
    pub clock: Arc<dyn Clock>,
    /// The sync queue (a run's next step goes back on it).
    pub queue: Arc<dyn Queue>,
    pub bus: Option<Arc<dyn EventBus>>,
    pub connector: ConnectorConfig,
    pub budget: Duration,
    pub reconcile_weekday: Weekday,
    /// Print CloudWatch Embedded Metric Format lines (on Lambda; iron-local shows the same
    /// conditions in `status`).
    pub emit_metrics: bool,
}

/// A business's analytics recompute, one queue message.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AnalyticsJob {
    pub analytics: iron_domain::Id,
    /// Also fire the `subscription.expiring` notices due (the daily run).
    #[serde(default)]
    pub announce: bool,
}

impl AnalyticsJob {
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What a nightly fan-out did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FanOut {
    pub queued: Vec<RunJob>,
    /// Gyms whose run could not start (a run in progress, paused): their business and gym.
    pub skipped: u64,
}

/// A gym the health check found.
#[derive(Debug, Clone, PartialEq)]
pub struct GymHealth {
    pub business_id: iron_domain::Id,
    pub gym_id: iron_domain::Id,
    /// Hours since the last successful sync (since the connection was made, if none yet).
    pub hours_since_success: f64,
    pub stale: bool,
}

/// One CloudWatch Embedded Metric Format line: `metrics` (name, value, unit) under `dimensions`.
pub fn emf_line(dimensions: &[(&str, &str)], metrics: &[(&str, f64, &str)], now: DateTime<Utc>) -> String {
    let mut root = serde_json::Map::new();
    for (k, v) in dimensions {
        root.insert((*k).into(), Value::String((*v).into()));
    }
    for (name, value, _) in metrics {
        root.insert((*name).into(), json!(value));
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(k, _)| *k).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|(n, _, u)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }],
        }),
    );
    Value::Object(root).to_string()
}

/// A finished run's connector figures: requests and the responses that were errors.
pub fn run_requests(run: &Run) -> (u64, u64) {
    let errors = run
        .latency
        .as_object()
        .map(|m| m.values().filter_map(|h| h.get("errors").and_then(Value::as_u64)).sum())
        .unwrap_or(0);
    (run.requests, errors)
}

impl SyncWorker {
    fn db<'a>(&'a self, scope: &'a OperatorScope) -> TenantDb<'a> {
        TenantDb::new(self.store.as_ref(), scope)
    }

    fn metric(&self, line: String) {
        if self.emit_metrics {
            println!("{line}");
        }
    }

    /// One message: `Ok` when it is done with (the run ended, or its next step is queued),
    /// `Err` when it should come back.
    pub async fn handle_message(&self, body: &str) -> Result<(), String> {
        if let Ok(job) = serde_json::from_str::<AnalyticsJob>(body) {
            return self.recompute(&job).await;
        }
        let job: RunJob = match serde_json::from_str(body) {
            Ok(j) => j,
            Err(e) => {
                // Never retried: a malformed message would only fail again.
                tracing::warn!(error = %e, "dropping a malformed sync message");
                return Ok(());
            }
        };
        let scope = OperatorScope::new(job.business_id.clone());
        let env = StepEnv {
            db: self.db(&scope),
            cipher: self.cipher.as_ref(),
            clock: self.clock.as_ref(),
            bus: self.bus.as_deref(),
            config: &self.connector,
        };
        match service::run_step(&env, &job, Instant::now() + self.budget).await? {
            StepOutcome::More => {
                self.queue.send(body, Duration::ZERO).await.map_err(|e| e.to_string())?;
                Ok(())
            }
            StepOutcome::Done(Some(run)) if run.finished_at.is_some() => {
                if run.status == RunStatus::Succeeded {
                    // What the run brought changes the business's scores.
                    let job = AnalyticsJob { analytics: job.business_id.clone(), announce: false };
                    self.queue.send(&job.to_message(), Duration::ZERO).await.map_err(|e| e.to_string())?;
                }
                let (requests, errors) = run_requests(&run);
                let failed = if run.status == RunStatus::Failed { 1.0 } else { 0.0 };
                self.metric(emf_line(
                    &[("Provider", "wodify")],
                    &[
                        ("ConnectorRequests", requests as f64, "Count"),
                        ("ConnectorErrors", errors as f64, "Count"),
                        ("RunsFailed", failed, "Count"),
                        ("RunsSucceeded", 1.0 - failed, "Count"),
                    ],
                    iron_sync::now_ms(self.clock.as_ref()),
                ));
                Ok(())
            }
            StepOutcome::Done(_) => Ok(()),
        }
    }

    /// One message on its `receive_count`-th receive: as [`SyncWorker::handle_message`], but a
    /// step that fails on the last receive fails its run with the reason instead of coming back.
    pub async fn handle_receive(&self, body: &str, receive_count: u32) -> Result<(), String> {
        match self.handle_message(body).await {
            Err(e) if receive_count >= LAST_RECEIVE => {
                let job: RunJob = serde_json::from_str(body).map_err(|_| e.clone())?;
                let scope = OperatorScope::new(job.business_id.clone());
                let db = self.db(&scope);
                let mut run = repo::get_run(db, &job.gym_id, &job.run_id).await.map_err(|_| e.clone())?;
                if run.status.is_final() {
                    return Ok(());
                }
                tracing::error!(run = %run.id, error = %e, "a sync step failed on its last receive: the run fails");
                run.status = RunStatus::Failed;
                run.finished_at = Some(iron_sync::now_ms(self.clock.as_ref()));
                run.error = Some(format!(
                    "the run could not go on ({receive_count} attempts failed; it has been logged): start it again"
                ));
                repo::save_run(db, &mut run).await.map_err(|_| e.clone())?;
                Ok(())
            }
            other => other,
        }
    }

    /// An SQS batch, failures reported per message.
    pub async fn handle_batch(&self, event: SqsEvent) -> BatchResponse {
        let mut response = BatchResponse::default();
        for record in event.records {
            let receives = record.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
            if let Err(e) = self.handle_receive(&record.body, receives).await {
                tracing::warn!(error = %e, message = %record.message_id, "sync step failed; it will be retried");
                response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
            }
        }
        response
    }

    /// A business's churn scores recomputed (and its expiry notices, when asked).
    pub async fn recompute(&self, job: &AnalyticsJob) -> Result<(), String> {
        let scope = OperatorScope::new(job.analytics.clone());
        let now = iron_sync::now_ms(self.clock.as_ref());
        let started = Instant::now();
        let done = iron_store::repo::analytics::recompute_business(self.db(&scope), now, job.announce)
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            business = %job.analytics, scored = done.scored, removed = done.removed, expiring = done.expiring,
            ms = started.elapsed().as_millis() as u64, "churn scores recomputed"
        );
        Ok(())
    }

    /// The daily analytics fan-out: one recompute (with its expiry notices) per business.
    pub async fn analytics_fan_out(&self) -> Result<usize, String> {
        let businesses =
            iron_store::repo::platform::list_businesses(self.store.as_ref()).await.map_err(|e| e.to_string())?;
        for b in &businesses {
            let job = AnalyticsJob { analytics: b.id.clone(), announce: true };
            self.queue.send(&job.to_message(), Duration::ZERO).await.map_err(|e| e.to_string())?;
        }
        tracing::info!(queued = businesses.len(), "daily analytics fan-out");
        Ok(businesses.len())
    }

    /// The mode of a gym's scheduled run today.
    pub fn scheduled_mode(&self, c: &Connection, now: DateTime<Utc>) -> RunMode {
        if !c.backfilled {
            RunMode::Backfill
        } else if now.weekday() == self.reconcile_weekday {
            RunMode::Reconcile
        } else {
            RunMode::Incremental
        }
    }

    /// Every gym with a connection that may run (connected, or failed and to be retried), across
    /// businesses.
    async fn connections(&self) -> Result<Vec<repo::ConnectionRef>, String> {
        let mut all = vec![];
        let mut cursor = None;
        loop {
            let (refs, next) = repo::connections_of_provider(self.store.as_ref(), Provider::Wodify, cursor)
                .await
                .map_err(|e| e.to_string())?;
            all.extend(refs);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// The nightly fan-out: a run for every connected gym of every business, each queued as
    /// its own message.
    pub async fn fan_out(&self) -> Result<FanOut, String> {
        let mut out = FanOut::default();
        for r in self.connections().await? {
            let scope = OperatorScope::new(r.business_id.clone());
            let db = self.db(&scope);
            let Some(conn) = repo::get_connection(db, Provider::Wodify, &r.gym_id).await.map_err(|e| e.to_string())?
            else {
                continue;
            };
            let mode = self.scheduled_mode(&conn.connection, iron_sync::now_ms(self.clock.as_ref()));
            match run::start(db, self.clock.as_ref(), &r.gym_id, mode, RunTrigger::Schedule).await {
                Ok(started) => {
                    let job = RunJob::of(db, &started);
                    self.queue.send(&job.to_message(), Duration::ZERO).await.map_err(|e| e.to_string())?;
                    out.queued.push(job);
                }
                Err(StartError::Busy(_) | StartError::NotRunnable(_) | StartError::NotConnected) => out.skipped += 1,
                Err(StartError::Store(e)) => return Err(e.to_string()),
            }
        }
        tracing::info!(queued = out.queued.len(), skipped = out.skipped, "nightly sync fan-out");
        Ok(out)
    }

    /// The hourly health check: each connected gym's hours since its last successful sync, and
    /// how many are stale.
    pub async fn health(&self) -> Result<Vec<GymHealth>, String> {
        let now = iron_sync::now_ms(self.clock.as_ref());
        let mut out = vec![];
        for r in self.connections().await? {
            let scope = OperatorScope::new(r.business_id.clone());
            let Some(conn) =
                repo::get_connection(self.db(&scope), Provider::Wodify, &r.gym_id).await.map_err(|e| e.to_string())?
            else {
                continue;
            };
            let c = &conn.connection;
            let hours = (now - c.last_success_or_created()).num_seconds() as f64 / 3600.0;
            let (business, gym) = (r.business_id.to_string(), r.gym_id.to_string());
            self.metric(emf_line(
                &[("BusinessId", &business), ("GymId", &gym)],
                &[("HoursSinceSuccess", hours, "None")],
                now,
            ));
            out.push(GymHealth {
                business_id: r.business_id,
                gym_id: r.gym_id,
                hours_since_success: hours,
                stale: c.is_stale(now),
            });
        }
        let stale = out.iter().filter(|h| h.stale).count();
        self.metric(emf_line(&[("Provider", "wodify")], &[("StaleGyms", stale as f64, "Count")], now));
        if stale > 0 {
            tracing::warn!(stale, "gyms with no successful sync in 24 h");
        }
        Ok(out)
    }

    /// A Lambda invocation's payload: an SQS batch (→ the partial batch response) or a
    /// schedule's `{"schedule": "nightly" | "health" | "analytics"}`.
    pub async fn handle_event(&self, payload: Value) -> Result<Value, String> {
        if payload.get("Records").is_some() {
            let event: SqsEvent = serde_json::from_value(payload).map_err(|e| format!("malformed SQS event: {e}"))?;
            return serde_json::to_value(self.handle_batch(event).await).map_err(|e| e.to_string());
        }
        match payload.get("schedule").and_then(Value::as_str) {
            Some("nightly") => {
                let out = self.fan_out().await?;
                Ok(json!({"queued": out.queued.len(), "skipped": out.skipped}))
            }
            Some("health") => {
                let gyms = self.health().await?;
                Ok(json!({"gyms": gyms.len(), "stale": gyms.iter().filter(|g| g.stale).count()}))
            }
            Some("analytics") => Ok(json!({"queued": self.analytics_fan_out().await?})),
            _ => Err(format!("not an SQS batch or a known schedule: {payload}")),
        }
    }
}
