//! Lambda entry point of the sync worker: the table, the KMS key (decrypt: only this role may),
//! the sync queue and the event bus; SQS batches and schedule events go to the lib.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_sync_worker::Config = boot.config()?;
    let aws = boot.aws().await;
    let worker = Arc::new(iron_sync_worker::SyncWorker {
        store: aws.table(&config.table_name),
        cipher: aws.kms_cipher(&config.kms_key_id),
        clock: aws.clock.clone(),
        queue: aws.sqs_queue(&config.queue_url),
        bus: Some(aws.event_bus(&config.event_bus_name)),
        connector: config.connector.clone(),
        budget: iron_sync_worker::RUN_BUDGET,
        reconcile_weekday: config.reconcile_weekday,
        emit_metrics: true,
    });
    iron_lambda::serve_events(move |payload| {
        let worker = worker.clone();
        async move { worker.handle_event(payload).await }
    })
    .await
}
