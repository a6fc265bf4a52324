//! The parts of an SQS event a queue consumer reads, and the partial batch response
//! (`ReportBatchItemFailures`) that makes SQS retry only the messages that failed.

use serde::{Deserialize, Serialize};

/// The parts of an SQS event this function reads.
#[derive(Debug, Deserialize)]
pub struct SqsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SqsRecord>,
}

#[derive(Debug, Deserialize)]
pub struct SqsRecord {
    #[serde(rename = "messageId")]
    pub message_id: String,
    pub body: String,
    /// `ApproximateReceiveCount` among them.
    #[serde(default)]
    pub attributes: std::collections::HashMap<String, String>,
}

/// The partial batch response (`ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<ItemFailure>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}
