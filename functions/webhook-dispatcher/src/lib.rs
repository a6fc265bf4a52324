//! The webhook dispatcher: one function, two triggers.
//!
//! - A schedule (EventBridge, every minute): fan out pending outbox events into deliveries and
//!   queue them; re-queue deliveries that have been due for a while without an attempt (a message
//!   lost between commit and send).
//! - The table's stream (DynamoDB Streams, filtered to new outbox events): fan out at once, so
//!   an event reaches its receivers in well under a second rather than at the next minute.
//! - The delivery queue (SQS, batches of up to 10): one attempt per message. A retry goes back on
//!   the queue with the wait as its delay, up to SQS's 15 minutes; a longer wait is covered by
//!   re-queuing on early receipt until it is due. Failures to process (not delivery failures,
//!   which are recorded) are reported per message, so SQS retries those and, after 5 receives,
//!   moves them to the dead-letter queue.

use chrono::{DateTime, Utc};
use iron_dispatch::{Dispatcher, Next};
use iron_store::Queue;
use iron_store::repo::deliveries::{self, DeliveryRef};
use iron_store::repo::tasks;
use std::time::Duration;

/// A delivery due this long without an attempt is taken for lost and queued again.
pub const LOST_AFTER: chrono::Duration = chrono::Duration::minutes(2);

pub use iron_lambda::sqs::{BatchResponse, ItemFailure, SqsEvent, SqsRecord};

/// Handles one queue message: `Ok` when the message is done with (delivered, failed for good,
/// or rescheduled on the queue), `Err` when it should come back.
pub async fn handle_message(dispatcher: &Dispatcher, queue: &dyn Queue, body: &str) -> Result<(), String> {
    let r = DeliveryRef::from_message(body)?;
    let (next, wait) = match dispatcher.attempt(&r).await.map_err(|e| e.to_string())? {
        Next::Done => return Ok(()),
        // A retry asks for a new place in the budget when it comes due.
        Next::RetryIn(wait) => (r.with_slot(None), wait),
        Next::Reserved { slot, wait } => (r.with_slot(Some(slot)), wait),
    };
    // Waits past SQS's 15-minute maximum delay come back early and are sent on again.
    let delay = wait.min(iron_store::queue::MAX_DELAY);
    queue.send(&next.to_message(), delay).await.map(|_| ()).map_err(|e| e.to_string())
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

/// Fans out pending outbox events into deliveries and queues them, and runs the internal tasks
/// the events made (a workout entering challenges), whose own events the next page fans out —
/// several pages while each made something. Returns how many messages it queued.
pub async fn fan_out(dispatcher: &Dispatcher, queue: &dyn Queue, now: DateTime<Utc>) -> Result<usize, String> {
    let mut queued = 0;
    for _ in 0..FAN_OUT_PAGES {
        let refs = deliveries::fan_out(dispatcher.store.as_ref(), now, 100).await.map_err(|e| e.to_string())?;
        send_all(queue, &refs).await?;
        queued += refs.len();
        let ran = tasks::run_due(dispatcher.store.as_ref(), now, 100).await.map_err(|e| e.to_string())?;
        if refs.is_empty() && ran.done == 0 {
            break;
        }
    }
    Ok(queued)
}

/// Pages of pending events one fan-out run takes at most (the next run takes the rest).
const FAN_OUT_PAGES: usize = 10;

/// Queues again deliveries that have been due for [`LOST_AFTER`] without an attempt (a message
/// lost between the commit that made the delivery and the send, or a process killed before it).
pub async fn sweep_lost(dispatcher: &Dispatcher, queue: &dyn Queue, now: DateTime<Utc>) -> Result<usize, String> {
    let refs = deliveries::due(dispatcher.store.as_ref(), now - LOST_AFTER, 100).await.map_err(|e| e.to_string())?;
    send_all(queue, &refs).await?;
    Ok(refs.len())
}

async fn send_all(queue: &dyn Queue, refs: &[DeliveryRef]) -> Result<(), String> {
    for r in refs {
        queue.send(&r.to_message(), Duration::ZERO).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The scheduled run: fan-out (the backstop for the stream) and the lost-message sweep.
/// Returns how many messages it queued.
pub async fn handle_schedule(dispatcher: &Dispatcher, queue: &dyn Queue, now: DateTime<Utc>) -> Result<usize, String> {
    Ok(fan_out(dispatcher, queue, now).await? + sweep_lost(dispatcher, queue, now).await?)
}

/// Environment of the deployed function (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    pub kms_key_id: String,
    pub queue_url: String,
}

impl iron_lambda::FromEnv for Config {
    fn from_env(env: &iron_lambda::Env) -> Result<Config, iron_lambda::ConfigError> {
        Ok(Config {
            table_name: env.required("TABLE_NAME", "the DynamoDB table")?,
            kms_key_id: env.required("KMS_KEY_ID", "the KMS key for stored secrets")?,
            queue_url: env.required("DELIVERY_QUEUE_URL", "the webhook delivery queue")?,
        })
    }
}

/// Routes an invocation by its shape: an SQS batch, or a scheduled event.
pub async fn handle(
    dispatcher: &Dispatcher,
    queue: &dyn Queue,
    payload: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let source = payload.pointer("/Records/0/eventSource").and_then(|v| v.as_str()).map(str::to_owned);
    if source.as_deref() == Some("aws:sqs") {
        let event: SqsEvent = serde_json::from_value(payload).map_err(|e| format!("malformed SQS event: {e}"))?;
        let response = handle_batch(dispatcher, queue, event).await;
        return serde_json::to_value(response).map_err(|e| e.to_string());
    }
    if source.as_deref() == Some("aws:dynamodb") {
        // The table's stream, filtered to new outbox events: fan out now rather than at the next
        // scheduled run. The records only wake us; the outbox itself says what is pending, so a
        // failed run is retried by Lambda (and caught by the schedule) without losing anything.
        let queued = fan_out(dispatcher, queue, dispatcher.clock.now()).await?;
        return Ok(serde_json::json!({ "queued": queued }));
    }
    if payload.get("detail-type").and_then(|v| v.as_str()) == Some("Scheduled Event") {
        let queued = handle_schedule(dispatcher, queue, dispatcher.clock.now()).await?;
        return Ok(serde_json::json!({ "queued": queued }));
    }
    Err("unexpected event: not an SQS batch, a DynamoDB stream batch or a scheduled event".into())
}
