//! Lambda entry point of the webhooks group: the table, the KMS key that seals signing secrets
//! and the delivery queue (test events), then its router.

// mimalloc: the JSON-heavy request path spends a sixth of its time in glibc's malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_webhooks_api::Config = boot.config()?;
    let aws = boot.aws().await;
    let state = iron_webhooks_api::WebhooksState {
        api: aws.api_context(&config.api),
        cipher: aws.kms_cipher(&config.kms_key_id),
        delivery_queue: aws.sqs_queue(&config.delivery_queue_url),
        // The deployed policy: https to public addresses only, never relaxed.
        destinations: iron_webhooks::DestinationPolicy::default(),
    };
    iron_lambda::serve(iron_webhooks_api::routes(state)).await
}
