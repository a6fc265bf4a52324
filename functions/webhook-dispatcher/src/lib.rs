//! The webhook dispatcher: one function, two triggers.
//!
//! - A schedule (EventBridge, every minute): fan out pending outbox events into deliveries and
//!   queue them; re-queue deliveries that have been due for a while without an attempt (a message
//!   lost between commit and send).
//! - The delivery queue (SQS, batches of up to 10): one attempt per message. A retry goes back on
//!   the queue with the wait as its delay, up to SQS's 15 minutes; a longer wait is covered by
//!   re-queuing on early receipt until it is due. Failures to process (not delivery failures,
//!   which are recorded) are reported per message, so SQS retries those and, after 5 receives,
//!   moves them to the dead-letter queue.

use chrono::{DateTime, Utc};
use iron_dispatch::{Dispatcher, Next};
use iron_store::Queue;
use iron_store::repo::deliveries::{self, DeliveryRef};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A delivery due this long without an attempt is taken for lost and queued again.
pub const LOST_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// The parts of an SQS event this function reads.
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
pub struct SqsRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
}

/// The partial batch response (`ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

/// Handles one queue message: `Ok` when the message is done with (delivered, failed for good,
/// or rescheduled on the queue), `Err` when it should come back.
pub async fn handle_message(dispatcher: &Dispatcher, queue: &dyn Queue, body: &str) -> Result<(), String> {
    let r: DeliveryRef = serde_json::from_str(body).map_err(|e| format!("not a delivery reference: {e}"))?;
    match dispatcher.attempt(&r).await.map_err(|e| e.to_string())? {
        Next::Done => Ok(()),
        Next::RetryIn(wait) => {
            let delay = wait.min(iron_store::queue::MAX_DELAY);
            queue.send(body, delay).await.map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

pub async fn handle_batch(dispatcher: &Dispatcher, queue: &dyn Queue, event: SqsEvent) -> BatchResponse {
    let mut response = BatchResponse::default();
    for record in event.records {
        if let Err(e) = handle_message(dispatcher, queue, &record.body).await {
            tracing::warn!(message_id = %record.message_id, error = %e, "delivery message not processed");
            response.batch_item_failures.push(ItemFailure { item_identifier: record.message_id });
        }
    }
    response
}

/// The scheduled run: fan-out and the lost-message sweep. Returns how many messages it queued.
pub async fn handle_schedule(dispatcher: &Dispatcher, queue: &dyn Queue, now: DateTime<Utc>) -> Result<usize, String> {
    let store = dispatcher.store.as_ref();
    let mut refs = deliveries::fan_out(store, now, 100).await.map_err(|e| e.to_string())?;
    refs.extend(deliveries::due(store, now - LOST_AFTER, 100).await.map_err(|e| e.to_string())?);
    for r in &refs {
        let body = serde_json::to_string(r).map_err(|e| e.to_string())?;
        queue.send(&body, Duration::ZERO).await.map_err(|e| e.to_string())?;
    }
    Ok(refs.len())
}

/// Environment of the deployed function (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub kms_key_id: String,
    pub queue_url: String,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} must be set"));
        Ok(Config {
            table_name: var("TABLE_NAME")?,
            kms_key_id: var("KMS_KEY_ID")?,
            queue_url: var("DELIVERY_QUEUE_URL")?,
        })
    }
}

/// Routes an invocation by its shape: an SQS batch, or a scheduled event.
pub async fn handle(
    dispatcher: &Dispatcher,
    queue: &dyn Queue,
    payload: serde_json::Value,
) -> Result<serde_json::Value, String> {
    if payload.get("Records").is_some() {
        let event: SqsEvent = serde_json::from_value(payload).map_err(|e| format!("malformed SQS event: {e}"))?;
        let response = handle_batch(dispatcher, queue, event).await;
        return serde_json::to_value(response).map_err(|e| e.to_string());
    }
    if payload.get("detail-type").and_then(|v| v.as_str()) == Some("Scheduled Event") {
        let queued = handle_schedule(dispatcher, queue, dispatcher.clock.now()).await?;
        return Ok(serde_json::json!({ "queued": queued }));
    }
    Err("unexpected event: neither an SQS batch nor a scheduled event".into())
}
