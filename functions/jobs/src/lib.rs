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
use iron_store::{BlobStore, Clock, OperatorScope, Queue, TableStore, TenantDb};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a run goes on before it hands over to the next (well inside the function's
/// timeout, `template.yaml`).
pub const RUN_BUDGET: Duration = Duration::from_secs(60);

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

    /// An SQS batch, failures reported per message.
    pub async fn handle_batch(&self, event: SqsEvent) -> BatchResponse {
        let mut response = BatchResponse::default();
        for record in event.records {
            if let Err(e) = self.handle_message(&record.body).await {
                tracing::warn!(error = %e, message = %record.message_id, "job run failed; it will be retried");
                response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
            }
        }
        response
    }
}
