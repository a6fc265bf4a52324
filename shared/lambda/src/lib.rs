//! The one Lambda bootstrap every function uses, so each `main.rs` only names its adapters:
//!
//! ```ignore
//! let boot = iron_lambda::Boot::init()?;              // JSON logs, the environment
//! let config: iron_lambda::ApiConfig = boot.config()?; // the function's typed config
//! let aws = boot.aws().await;                          // SDK config, loaded once
//! iron_lambda::serve(iron_athletes_api::routes(aws.api_context(&config))).await
//! ```
//!
//! [`serve`] applies the outer HTTP layers (request id, problem+json, body limit, fallback)
//! once, around the group's unfinished router; [`serve_events`] runs a non-HTTP handler.

pub mod config;
pub mod sqs;

pub use config::{ApiConfig, ConfigError, Env, FromEnv};
pub use lambda_http::Error;

use iron_aws::{DynamoTable, KmsKeyCipher, SqsQueue};
use iron_http::{ApiContext, ClientIpConfig, InlineAudit};
use iron_store::{Clock, KeyCipher, Queue, SystemClock, TableStore};
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;

/// What a function starts with: logging on, and its environment to read its config from.
pub struct Boot {
    env: Env,
}

impl Boot {
    /// JSON logs to stderr (CloudWatch), then the environment.
    pub fn init() -> Result<Boot, Error> {
        iron_http::telemetry::init(true);
        Ok(Boot { env: Env::process() })
    }

    /// The function's typed configuration; a missing or malformed variable stops the start.
    pub fn config<C: FromEnv>(&self) -> Result<C, Error> {
        C::from_env(&self.env).map_err(Into::into)
    }

    /// The AWS SDK configuration (region and credentials from the Lambda environment; no call).
    pub async fn aws(&self) -> Aws {
        Aws { sdk: iron_aws::load_config().await, clock: Arc::new(SystemClock) }
    }
}

/// Builds the AWS adapters of the ports a function uses, each client once.
pub struct Aws {
    sdk: aws_config::SdkConfig,
    pub clock: Arc<dyn Clock>,
}

impl Aws {
    pub fn table(&self, table_name: &str) -> Arc<dyn TableStore> {
        Arc::new(DynamoTable::new(aws_sdk_dynamodb::Client::new(&self.sdk), table_name.to_owned(), self.clock.clone()))
    }

    /// The shared API context: the table, audit records written inline (a frozen sandbox could
    /// otherwise hold them), and the client IP from API Gateway.
    pub fn api_context(&self, config: &ApiConfig) -> ApiContext {
        let store = self.table(&config.table_name);
        let retention = chrono::Duration::days(config.audit_retention_days);
        ApiContext::new(store.clone(), self.clock.clone())
            .with_audit(Arc::new(InlineAudit::new(store, retention)))
            .with_client_ip(ClientIpConfig { trust_forwarded_for: config.trust_forwarded_for })
    }

    pub fn kms_cipher(&self, key_id: &str) -> Arc<dyn KeyCipher> {
        Arc::new(KmsKeyCipher::new(aws_sdk_kms::Client::new(&self.sdk), key_id.to_owned()))
    }

    /// The S3 blob store on `bucket` (path-style addressing when `AWS_S3_FORCE_PATH_STYLE` is
    /// `true`, for an emulator).
    pub fn s3_blobs(&self, bucket: &str) -> Arc<dyn iron_store::BlobStore> {
        let path_style = std::env::var("AWS_S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true");
        Arc::new(iron_aws::S3Blobs::new(iron_aws::s3::client(&self.sdk, path_style), bucket, self.clock.clone()))
    }

    pub fn sqs_queue(&self, url: &str) -> Arc<dyn Queue> {
        Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(&self.sdk), url.to_owned()))
    }

    /// The event bus `bus_name` (EventBridge `PutEvents`).
    pub fn event_bus(&self, bus_name: &str) -> Arc<dyn iron_store::EventBus> {
        Arc::new(iron_aws::EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&self.sdk), bus_name))
    }
}

/// Serves one endpoint group under API Gateway (HTTP API, payload 2.0), with the outer layers
/// applied once. Outside Lambda, lambda_http serves it on 127.0.0.1:3000.
pub async fn serve(routes: OpenApiRouter) -> Result<(), Error> {
    lambda_http::run(iron_http::into_app(routes)).await
}

/// The whole `main` of an endpoint group that runs on the shared [`ApiContext`] alone: logs on,
/// its [`ApiConfig`] read, the table and audit sink built, its routes served.
pub async fn serve_api_group(routes: fn(ApiContext) -> OpenApiRouter) -> Result<(), Error> {
    let boot = Boot::init()?;
    let config: ApiConfig = boot.config()?;
    let aws = boot.aws().await;
    serve(routes(aws.api_context(&config))).await
}

/// Runs a handler of raw events (SQS batches, schedules, streams) for a background function.
pub async fn serve_events<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(serde_json::Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<serde_json::Value, String>> + Send,
{
    let handler = Arc::new(handler);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let handler = handler.clone();
        async move { handler(event.payload).await }
    }))
    .await
}
