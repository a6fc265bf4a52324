//! AWS adapters of the `iron-store` ports (DynamoDB, SQS, S3, KMS, EventBridge). Nothing outside this crate (and the functions'
//! `main.rs`) names an AWS type.

pub mod dynamo;
pub mod eventbridge;
pub mod kms;
#[cfg(feature = "testing")]
pub mod moto;
pub mod s3;
pub mod sqs;

pub use dynamo::DynamoTable;
pub use eventbridge::{EventBridgeBus, EventBridgeScheduler};
pub use kms::KmsKeyCipher;
pub use s3::S3Blobs;
pub use sqs::SqsQueue;

use iron_store::StoreError;

/// Shared SDK configuration: region, credentials and `AWS_ENDPOINT_URL` come from the
/// environment, as on Lambda.
pub async fn load_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// Configuration for a local emulator at `endpoint` with dummy credentials.
pub async fn emulator_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("test", "test", None, None, "iron-emulator"))
        .load()
        .await
}

/// Maps any SDK error to the port's error, keeping the service's code and message.
pub(crate) fn sdk_error<E, R>(err: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    let code = err.code().unwrap_or("Unknown").to_owned();
    if matches!(
        code.as_str(),
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded"
    ) {
        return StoreError::Throttled;
    }
    StoreError::Backend(format!("{code}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&err)))
}
