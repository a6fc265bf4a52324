//! The jobs worker: runs import and export jobs, one queue message a run.
//!
//! A message names a business and a job (`{"businessId", "jobId"}`). A run goes until the job
//! ends or its time budget is spent; then it queues the job's next run and acknowledges its
//! own message. A run that fails (the table or the bucket unavailable) or dies leaves its
//! message to come back after the visibility timeout: the job resumes at its last checkpoint,
//! and two runs of one job never both commit (the checkpoint is conditioned on the job's
//! version). After five failed receives the message goes to the dead-letter queue.

use iron_domain::Id;
use iron_imports::job::{self, Env, Step};
use iron_lambda::sqs::{BatchResponse, ItemFailure, SqsEvent};
use iron_lambda::{ConfigError, FromEnv};
use iron_store::{BlobStore, Clock, OperatorScope, Queue, TableStore, TenantDb};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a run goes on before it hands over to the next (well inside the function's
/// timeout, `template.yaml`).
pub const RUN_BUDGET: Duration = Duration::from_secs(60);
/// The receive of a message that is its last before the dead-letter queue (the queue's
/// `maxReceiveCount`): a run that fails then marks its job `failed`, so no job stays `running`.
pub const LAST_RECEIVE: u32 = 5;

/// The function's environment (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub bucket: String,
    pub queue_url: String,
}

impl FromEnv for Config {
    fn from_env(env: &iron_lambda::Env) -> Result<Config, ConfigError> {
        Ok(Config {
            table_name: env.required("TABLE_NAME", "the single table")?,
            bucket: env.required("FILES_BUCKET", "the bucket of import and export files")?,
            queue_url: env.required("JOBS_QUEUE_URL", "the jobs queue")?,
        })
    }
}

pub struct Worker {
    pub store: Arc<dyn TableStore>,
    pub blobs: Arc<dyn BlobStore>,
    pub clock: Arc<dyn Clock>,
    /// The jobs queue (a run's continuation goes back on it).
    pub queue: Arc<dyn Queue>,
    pub budget: Duration,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobMessage {
    business_id: Id,
    job_id: Id,
}

impl Worker {
    /// One message: `Ok` when it is done with (the job ended, or its next run is queued),
    /// `Err` when it should come back.
    pub async fn handle_message(&self, body: &str) -> Result<(), String> {
        let msg: JobMessage = match serde_json::from_str(body) {
            Ok(m) => m,
            Err(e) => {
                // Never retried: a malformed message would only fail again.
                tracing::warn!(error = %e, "dropping a malformed jobs message");
                return Ok(());
            }
        };
        let scope = OperatorScope::new(msg.business_id);
        let env = Env {
            db: TenantDb::new(self.store.as_ref(), &scope),
            blobs: self.blobs.as_ref(),
            clock: self.clock.as_ref(),
        };
        match job::run(&env, &msg.job_id, Instant::now() + self.budget).await.map_err(|e| e.to_string())? {
            Step::Done => Ok(()),
            Step::More => {
                self.queue.send(body, Duration::ZERO).await.map_err(|e| e.to_string())?;
                Ok(())
            }
        }
    }

    /// One message on its `receive_count`-th receive: as [`Worker::handle_message`], but a run
    /// that fails on the last receive fails its job with the reason instead of coming back.
    pub async fn handle_receive(&self, body: &str, receive_count: u32) -> Result<(), String> {
        match self.handle_message(body).await {
            Err(e) if receive_count >= LAST_RECEIVE => {
                let msg: JobMessage = serde_json::from_str(body).map_err(|_| e.clone())?;
                let scope = OperatorScope::new(msg.business_id);
                let db = TenantDb::new(self.store.as_ref(), &scope);
                let mut job = iron_store::repo::jobs::get(db, &msg.job_id).await.map_err(|_| e.clone())?;
                if job.status.is_final() {
                    return Ok(());
                }
                tracing::error!(job = %job.id, error = %e, "a job's run failed on its last receive: the job fails");
                // The cause is logged, not shown: it is the store's or bucket's own error.
                job.fail(
                    format!(
                        "the job could not run ({receive_count} attempts failed; it has been logged): create it again"
                    ),
                    self.clock.now(),
                );
                iron_store::repo::jobs::save(db, &mut job).await.map_err(|_| e.clone())?;
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
                tracing::warn!(error = %e, message = %record.message_id, "job run failed; it will be retried");
                response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
            }
        }
        response
    }

    /// A Lambda invocation's payload (an SQS batch) → the partial batch response.
    pub async fn handle_event(&self, payload: serde_json::Value) -> Result<serde_json::Value, String> {
        let event: SqsEvent = serde_json::from_value(payload).map_err(|e| format!("malformed SQS event: {e}"))?;
        serde_json::to_value(self.handle_batch(event).await).map_err(|e| e.to_string())
    }
}
