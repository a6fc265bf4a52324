//! Lambda entry point of the integrations group: the table, the KMS key (encrypt only: the
//! role may not decrypt), the sync queue, then its router.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_integrations_api::Config = boot.config()?;
    let aws = boot.aws().await;
    let state = iron_integrations_api::IntegrationsState {
        api: aws.api_context(&config.api),
        cipher: aws.kms_cipher(&config.kms_key_id),
        sync_queue: aws.sqs_queue(&config.sync_queue_url),
        connector: config.connector,
    };
    iron_lambda::serve(iron_integrations_api::routes(state)).await
}
