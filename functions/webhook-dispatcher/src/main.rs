//! Lambda entry point: wires the AWS adapters; SQS batches and schedule events go to the lib.

use iron_aws::{DynamoTable, KmsKeyCipher, SqsQueue};
use iron_dispatch::Dispatcher;
use iron_store::{Clock, SystemClock};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    iron_http::telemetry::init(true);
    let config = iron_webhook_dispatcher::Config::from_env()?;
    let sdk = iron_aws::load_config().await;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // The deployed policy: https to public addresses only, never relaxed.
    let dispatcher = Arc::new(Dispatcher::new(
        Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name, clock.clone())),
        Arc::new(KmsKeyCipher::new(aws_sdk_kms::Client::new(&sdk), config.kms_key_id)),
        clock,
        iron_webhooks::DestinationPolicy::default(),
    ));
    let queue = Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.queue_url));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (dispatcher, queue) = (dispatcher.clone(), queue.clone());
        async move { iron_webhook_dispatcher::handle(&dispatcher, queue.as_ref(), event.payload).await }
    }))
    .await
}
