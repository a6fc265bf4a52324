//! Lambda entry point: wires the AWS adapters and runs the router under lambda_http.

use iron_aws::{DynamoTable, KmsKeyCipher, SqsQueue};
use iron_http::{AppState, ClientIpConfig, InlineAudit};
use iron_store::SystemClock;
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    iron_http::telemetry::init(true);
    let config = iron_external_api::Config::from_env()?;
    let sdk = iron_aws::load_config().await;
    let clock = Arc::new(SystemClock);
    let store = Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&sdk), config.table_name, clock.clone()));
    let audit = Arc::new(InlineAudit::new(store.clone(), chrono::Duration::days(config.audit_retention_days)));
    let state = AppState::new(store, clock)
        .with_audit(audit)
        .with_client_ip(ClientIpConfig { trust_forwarded_for: config.trust_forwarded_for })
        .with_cipher(Arc::new(KmsKeyCipher::new(aws_sdk_kms::Client::new(&sdk), config.kms_key_id)))
        .with_delivery_queue(Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&sdk), config.delivery_queue_url)));
    lambda_http::run(iron_external_api::router(state)).await
}
