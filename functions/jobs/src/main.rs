//! Lambda entry point of the jobs worker: the table, the files bucket and the jobs queue; SQS
//! batches go to the lib.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_jobs_worker::Config = boot.config()?;
    let aws = boot.aws().await;
    let worker = Arc::new(iron_jobs_worker::Worker {
        store: aws.table(&config.table_name),
        blobs: aws.s3_blobs(&config.bucket),
        clock: aws.clock.clone(),
        queue: aws.sqs_queue(&config.queue_url),
        budget: iron_jobs_worker::RUN_BUDGET,
    });
    iron_lambda::serve_events(move |payload| {
        let worker = worker.clone();
        async move { worker.handle_event(payload).await }
    })
    .await
}
