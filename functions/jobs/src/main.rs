//! Lambda entry point of the jobs worker: the table, the files bucket and the jobs queue; SQS
//! batches go to the lib.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use iron_lambda::{ConfigError, Env, FromEnv};
use std::sync::Arc;

struct Config {
    table_name: String,
    bucket: String,
    queue_url: String,
}

impl FromEnv for Config {
    fn from_env(env: &Env) -> Result<Config, ConfigError> {
        Ok(Config {
            table_name: env.required("TABLE_NAME", "the single table")?,
            bucket: env.required("FILES_BUCKET", "the bucket of import and export files")?,
            queue_url: env.required("JOBS_QUEUE_URL", "the jobs queue")?,
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: Config = boot.config()?;
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
        async move {
            let event: iron_lambda::sqs::SqsEvent =
                serde_json::from_value(payload).map_err(|e| format!("malformed SQS event: {e}"))?;
            let response = worker.handle_batch(event).await;
            serde_json::to_value(response).map_err(|e| e.to_string())
        }
    })
    .await
}
