//! What AWS runs around the API, here in-process with the same code:
//!
//! - fan-out, woken by the table's change feed the moment an event is committed (the DynamoDB
//!   stream's job on AWS), and on its own every [`FAN_OUT_EVERY`] for events other processes
//!   wrote (`iron-admin`);
//! - the lost-message sweep, every minute (the EventBridge schedule's job);
//! - the delivery queue's consumer (SQS → Lambda's job): at most [`CONCURRENCY`] attempts at
//!   once, each message kept invisible while its attempt runs, so nothing is received twice
//!   because a backlog made it wait.
//!
//! Queue and deliveries live in the data dir: a killed process resumes where it stopped (a
//! message in flight at the kill comes back after its visibility timeout: at-least-once, with
//! the same webhook-id).

use iron_dispatch::Dispatcher;
use iron_store::{Queue, QueueMessage, SqliteQueue};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};

/// How long a received message stays hidden (longer than the 15 s request timeout); extended
/// every third of it while the attempt is still running.
pub const VISIBILITY: Duration = Duration::from_secs(16);
/// Attempts in flight at once. A slow receiver holds only the slots of its own deliveries, and
/// each endpoint's per-second budget keeps one endpoint from taking them all.
pub const CONCURRENCY: usize = 64;
/// How often fan-out looks for events nothing told it about.
pub const FAN_OUT_EVERY: Duration = Duration::from_millis(500);
/// How often deliveries due without an attempt are queued again.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub async fn run(dispatcher: Arc<Dispatcher>, queue: Arc<SqliteQueue>, outbox: Arc<Notify>) {
    match requeue_unsent(&dispatcher, &queue).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(queued = n, "deliveries whose message a killed process never sent queued again"),
        Err(e) => tracing::warn!(error = %e, "start-up delivery check failed"),
    }
    tokio::spawn(fan_out(dispatcher.clone(), queue.clone(), outbox));
    tokio::spawn(sweep(dispatcher.clone(), queue.clone()));
    consume(dispatcher, queue).await
}

async fn fan_out(dispatcher: Arc<Dispatcher>, queue: Arc<SqliteQueue>, outbox: Arc<Notify>) {
    loop {
        let now = dispatcher.clock.now();
        // One run pages through what is pending until a page makes nothing (or its page cap).
        if let Err(e) = iron_webhook_dispatcher::fan_out(&dispatcher, queue.as_ref(), now).await {
            tracing::warn!(error = %e, "fan-out failed");
        }
        tokio::select! {
            _ = outbox.notified() => {}
            _ = tokio::time::sleep(FAN_OUT_EVERY) => {}
        }
    }
}

/// At start: deliveries due with no message in the queue (a process killed between fan-out's
/// commit and its sends) are queued at once, instead of waiting out the sweep's two minutes.
/// One process owns the data dir, so the queue's contents are the whole truth here.
async fn requeue_unsent(dispatcher: &Dispatcher, queue: &SqliteQueue) -> Result<usize, String> {
    let queued: std::collections::HashSet<_> = queue
        .bodies()
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|b| iron_domain::webhook::DeliveryRef::from_message(b).ok().map(|r| r.delivery_id))
        .collect();
    let due = iron_store::repo::deliveries::due(dispatcher.store.as_ref(), dispatcher.clock.now(), 1000)
        .await
        .map_err(|e| e.to_string())?;
    let mut sent = 0;
    for r in due.iter().filter(|r| !queued.contains(&r.delivery_id)) {
        queue.send(&r.to_message(), Duration::ZERO).await.map_err(|e| e.to_string())?;
        sent += 1;
    }
    Ok(sent)
}

async fn sweep(dispatcher: Arc<Dispatcher>, queue: Arc<SqliteQueue>) {
    loop {
        tokio::time::sleep(SWEEP_EVERY).await;
        match iron_webhook_dispatcher::sweep_lost(&dispatcher, queue.as_ref(), dispatcher.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(queued = n, "deliveries due without an attempt queued again"),
            Err(e) => tracing::warn!(error = %e, "lost-delivery sweep failed"),
        }
    }
}

async fn consume(dispatcher: Arc<Dispatcher>, queue: Arc<SqliteQueue>) {
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        // Receive only as many messages as there are free slots (at least one, at most ten).
        let Ok(first) = slots.clone().acquire_owned().await else { return };
        let mut permits = vec![first];
        while permits.len() < 10 {
            match slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
        // Long polling: a send wakes the receive at once.
        let messages = match queue.receive(permits.len(), VISIBILITY, Duration::from_secs(1)).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "delivery queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for (message, permit) in messages.into_iter().zip(permits) {
            let (dispatcher, queue) = (dispatcher.clone(), queue.clone());
            tokio::spawn(async move {
                process(&dispatcher, queue.as_ref(), message).await;
                drop(permit);
            });
        }
    }
}

/// One message: its attempt, with the message's invisibility extended while the attempt runs;
/// deleted when done with, otherwise left to come back after the visibility timeout.
async fn process(dispatcher: &Dispatcher, queue: &SqliteQueue, message: QueueMessage) {
    let work = iron_webhook_dispatcher::handle_message(dispatcher, queue, &message.body);
    tokio::pin!(work);
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + VISIBILITY / 3, VISIBILITY / 3);
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = heartbeat.tick() => {
                if let Err(e) = queue.change_visibility(&message.receipt, VISIBILITY).await {
                    tracing::warn!(error = %e, message = %message.id, "could not extend a message's visibility");
                }
            }
        }
    };
    match result {
        Ok(()) => {
            if let Err(e) = queue.delete(&message.receipt).await {
                tracing::warn!(error = %e, message = %message.id, "could not delete a handled message");
            }
        }
        Err(e) => tracing::warn!(error = %e, message = %message.id, "delivery message not processed"),
    }
}

/// How long one run of a job goes before it hands over (the Lambda's budget is longer).
pub const JOB_RUN_BUDGET: Duration = Duration::from_secs(20);
/// How long a received jobs message stays hidden; extended while its run goes on.
pub const JOB_VISIBILITY: Duration = Duration::from_secs(30);
/// Job runs at once (each keeps a core busy).
pub const JOB_CONCURRENCY: usize = 2;

/// The jobs queue's consumer (SQS → the jobs worker Lambda on AWS).
pub async fn consume_jobs(worker: Arc<iron_jobs_worker::Worker>, queue: Arc<SqliteQueue>) {
    consume_one_at_a_time(queue, JOB_CONCURRENCY, "job run", move |body, receives| {
        let worker = worker.clone();
        async move { worker.handle_receive(&body, receives).await }
    })
    .await
}

/// A queue's consumer as SQS with batch size 1 feeds a Lambda: at most `concurrency` messages
/// handled at once, each kept invisible while its handler runs, deleted when it succeeds and
/// left to come back after its visibility timeout when it fails.
async fn consume_one_at_a_time<F, Fut>(queue: Arc<SqliteQueue>, concurrency: usize, what: &'static str, handle: F)
where
    F: Fn(String, u32) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(concurrency));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return };
        let messages = match queue.receive(1, JOB_VISIBILITY, Duration::from_secs(1)).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, what, "queue receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(message) = messages.into_iter().next() else { continue };
        let (handle, queue) = (handle.clone(), queue.clone());
        tokio::spawn(async move {
            let work = handle(message.body.clone(), message.receive_count);
            tokio::pin!(work);
            let mut heartbeat =
                tokio::time::interval_at(tokio::time::Instant::now() + JOB_VISIBILITY / 3, JOB_VISIBILITY / 3);
            let result = loop {
                tokio::select! {
                    result = &mut work => break result,
                    _ = heartbeat.tick() => {
                        let _ = queue.change_visibility(&message.receipt, JOB_VISIBILITY).await;
                    }
                }
            };
            match result {
                Ok(()) => {
                    let _ = queue.delete(&message.receipt).await;
                }
                Err(e) => tracing::warn!(error = %e, message = %message.id, what, "failed; it will be retried"),
            }
            drop(permit);
        });
    }
}

/// How long one step of a sync run goes before it hands over (the Lambda's budget is longer).
pub const SYNC_STEP_BUDGET: Duration = Duration::from_secs(20);
/// Sync steps at once: each gym's run is its own message, so one slow gym never holds up others.
pub const SYNC_CONCURRENCY: usize = 4;

/// The sync queue's consumer (SQS → the sync worker Lambda on AWS).
pub async fn consume_sync(worker: Arc<iron_sync_worker::SyncWorker>, queue: Arc<SqliteQueue>) {
    consume_one_at_a_time(queue, SYNC_CONCURRENCY, "sync step", move |body, receives| {
        let worker = worker.clone();
        async move { worker.handle_receive(&body, receives).await }
    })
    .await
}
