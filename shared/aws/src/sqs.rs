//! The SQS queue adapter.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use iron_store::queue::check_delay;
use iron_store::table::StoreResult;
use iron_store::{Queue, QueueMessage, StoreError};
use std::time::Duration;

pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> SqsQueue {
        SqsQueue { client, url: url.into() }
    }

    /// Creates a queue (and returns its URL), optionally redriving to `dead_letter_arn`.
    pub async fn create(client: &Client, name: &str, dead_letter_arn: Option<(&str, u32)>) -> StoreResult<String> {
        let mut req = client.create_queue().queue_name(name);
        if let Some((arn, max)) = dead_letter_arn {
            req = req.attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max}"}}"#),
            );
        }
        let out = req.send().await.map_err(sdk_error)?;
        out.queue_url().map(str::to_owned).ok_or_else(|| StoreError::Backend("CreateQueue returned no URL".into()))
    }

    pub async fn arn(client: &Client, url: &str) -> StoreResult<String> {
        let out = client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(sdk_error)?;
        out.attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| StoreError::Backend("queue has no ARN".into()))
    }
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str, delay: Duration) -> StoreResult<String> {
        check_delay(delay)?;
        let out = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay.as_secs() as i32)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }

    async fn receive(&self, max: usize, visibility: Duration, wait: Duration) -> StoreResult<Vec<QueueMessage>> {
        if !(1..=10).contains(&max) {
            return Err(StoreError::Invalid(format!("max must be 1..=10, not {max}")));
        }
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max as i32)
            .visibility_timeout(visibility.as_secs() as i32)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .messages()
            .iter()
            .map(|m| QueueMessage {
                id: m.message_id().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                receipt: m.receipt_handle().unwrap_or_default().to_owned(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            })
            .collect())
    }

    async fn delete(&self, receipt: &str) -> StoreResult<()> {
        self.client.delete_message().queue_url(&self.url).receipt_handle(receipt).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn change_visibility(&self, receipt: &str, timeout: Duration) -> StoreResult<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(timeout.as_secs() as i32)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
