//! The durable-queue port (SQS semantics: at-least-once, delay up to 15 min, visibility timeout,
//! redrive to a dead-letter queue after too many receives). The embedded adapter is
//! `sqlite_queue.rs` (feature `embedded`); the SQS one is in `iron-aws`.

use crate::table::{StoreError, StoreResult};
use async_trait::async_trait;
use std::time::Duration;

/// SQS's largest per-message delay.
pub const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub id: String,
    pub body: String,
    /// Handle for delete / change-visibility; valid for this receive only.
    pub receipt: String,
    /// How many times this message has been received, this time included.
    pub receive_count: u32,
}

#[async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Enqueues `body`, invisible for `delay` (at most [`MAX_DELAY`]); returns the message id.
    async fn send(&self, body: &str, delay: Duration) -> StoreResult<String>;
    /// Up to `max` (1..=10) visible messages, hidden for `visibility` after; waits up to `wait`
    /// for the first one.
    async fn receive(&self, max: usize, visibility: Duration, wait: Duration) -> StoreResult<Vec<QueueMessage>>;
    /// Acknowledges a message. A stale receipt (the message was received again) fails.
    async fn delete(&self, receipt: &str) -> StoreResult<()>;
    /// Hides a received message for `timeout` from now (0 makes it visible at once).
    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> StoreResult<()>;
}

/// Refuses a delay SQS would refuse.
pub fn check_delay(delay: Duration) -> StoreResult<()> {
    if delay > MAX_DELAY {
        return Err(StoreError::Invalid(format!("delay {}s is over the 900 s maximum", delay.as_secs())));
    }
    Ok(())
}
