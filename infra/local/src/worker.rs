//! What AWS runs around the API, here in-process, with the same code: every 100 ms when idle
//! (at once while a backlog drains) the dispatcher's scheduled run (outbox fan-out, lost-message sweep) and a receive from the durable
//! embedded delivery queue, each message handled in its own task so a slow receiver holds up only
//! its own deliveries. Queue and deliveries live in the data dir: a killed process resumes where
//! it stopped (a message in flight at the kill comes back after its visibility timeout:
//! at-least-once, with the same webhook-id).

use iron_dispatch::Dispatcher;
use iron_store::{Queue, SqliteQueue};
use std::sync::Arc;
use std::time::Duration;

/// How long a received message stays hidden while its attempt runs (longer than the 15 s
/// request timeout).
pub const VISIBILITY: Duration = Duration::from_secs(16);

pub async fn run(dispatcher: Arc<Dispatcher>, queue: Arc<SqliteQueue>) {
    loop {
        let now = dispatcher.clock.now();
        if let Err(e) = iron_webhook_dispatcher::handle_schedule(&dispatcher, queue.as_ref(), now).await {
            tracing::warn!(error = %e, "scheduled dispatcher run failed");
        }
        let mut busy = false;
        match queue.receive(10, VISIBILITY, Duration::ZERO).await {
            Err(e) => tracing::warn!(error = %e, "delivery queue receive failed"),
            Ok(messages) => {
                busy = !messages.is_empty();
                for m in messages {
                    let (dispatcher, queue) = (dispatcher.clone(), queue.clone());
                    tokio::spawn(async move {
                        match iron_webhook_dispatcher::handle_message(&dispatcher, queue.as_ref(), &m.body).await {
                            Ok(()) => {
                                if let Err(e) = queue.delete(&m.receipt).await {
                                    tracing::warn!(error = %e, "could not delete a handled message");
                                }
                            }
                            // Left on the queue: it comes back after the visibility timeout.
                            Err(e) => tracing::warn!(error = %e, message = %m.id, "delivery message not processed"),
                        }
                    });
                }
            }
        }
        // Drain a backlog without pausing; idle, look again every 100 ms.
        if !busy {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
