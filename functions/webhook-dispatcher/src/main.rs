//! Lambda entry point: wires the AWS adapters; SQS batches, stream records and schedule events
//! go to the lib.

use iron_dispatch::Dispatcher;
use std::sync::Arc;

// mimalloc, as in every function.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_webhook_dispatcher::Config = boot.config()?;
    let aws = boot.aws().await;
    // The deployed policy: https to public addresses only, never relaxed.
    let destinations = iron_webhooks::DestinationPolicy::default();
    let cipher = aws.kms_cipher(&config.kms_key_id);
    let dispatcher = Arc::new(Dispatcher::new(aws.table(&config.table_name), cipher, aws.clock.clone(), destinations));
    let queue = aws.sqs_queue(&config.queue_url);
    iron_lambda::serve_events(move |event| {
        let (dispatcher, queue) = (dispatcher.clone(), queue.clone());
        async move { iron_webhook_dispatcher::handle(&dispatcher, queue.as_ref(), event).await }
    })
    .await
}
