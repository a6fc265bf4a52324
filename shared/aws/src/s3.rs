//! The S3 blob-store adapter: ranged GETs, multipart uploads for streamed writes (parts of
//! [`PART_BYTES`]; a small file is one PUT), and SigV4-presigned GET and PUT URLs.

use crate::sdk_error;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use chrono::{DateTime, Utc};
use iron_store::blob::{BlobInfo, BlobStore, BlobWriter, PART_BYTES, Presigned, check_key};
use iron_store::table::StoreResult;
use iron_store::{Clock, StoreError};
use std::sync::Arc;
use std::time::Duration;

pub struct S3Blobs {
    client: Client,
    bucket: String,
    clock: Arc<dyn Clock>,
}

/// An S3 client from the shared configuration. `path_style` for emulators (moto), whose bucket
/// names aren't host names; checksums only where S3 requires them, so presigned URLs carry none
/// a browser or curl would have to compute.
pub fn client(config: &aws_config::SdkConfig, path_style: bool) -> Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style)
        .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
        .response_checksum_validation(aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired)
        .build();
    Client::from_conf(conf)
}

impl S3Blobs {
    pub fn new(client: Client, bucket: impl Into<String>, clock: Arc<dyn Clock>) -> S3Blobs {
        S3Blobs { client, bucket: bucket.into(), clock }
    }

    /// Creates a bucket (tests; `template.yaml` makes the deployed one).
    pub async fn create_bucket(client: &Client, bucket: &str) -> StoreResult<()> {
        client.create_bucket().bucket(bucket).send().await.map_err(sdk_error)?;
        Ok(())
    }

    fn presigning(&self, expires_at: DateTime<Utc>) -> StoreResult<PresigningConfig> {
        let now = self.clock.now();
        let secs = (expires_at - now).num_seconds();
        if !(1..=7 * 24 * 3600).contains(&secs) {
            return Err(StoreError::Invalid(format!("a presigned URL lasts 1 s to 7 days, not {secs} s")));
        }
        let start = std::time::UNIX_EPOCH + Duration::from_millis(now.timestamp_millis().max(0) as u64);
        PresigningConfig::builder()
            .start_time(start)
            .expires_in(Duration::from_secs(secs as u64))
            .build()
            .map_err(|e| StoreError::Invalid(e.to_string()))
    }
}

fn presigned(
    req: aws_sdk_s3::presigning::PresignedRequest,
    method: &'static str,
    expires_at: DateTime<Utc>,
) -> Presigned {
    Presigned {
        url: req.uri().to_owned(),
        method,
        headers: req.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        expires_at,
    }
}

fn is_missing<E: aws_sdk_s3::error::ProvideErrorMetadata>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> bool {
    matches!(e.code(), Some("NoSuchKey" | "NotFound")) || e.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, body: Vec<u8>, content_type: &str) -> StoreResult<()> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn read(&self, key: &str, offset: u64, max: usize) -> StoreResult<Option<Vec<u8>>> {
        check_key(key)?;
        if max == 0 {
            return Ok(self.info(key).await?.map(|_| Vec::new()));
        }
        let range = format!("bytes={offset}-{}", offset + max as u64 - 1);
        match self.client.get_object().bucket(&self.bucket).key(key).range(range).send().await {
            Ok(out) => {
                let bytes = out.body.collect().await.map_err(|e| StoreError::Backend(format!("S3 body: {e}")))?;
                Ok(Some(bytes.into_bytes().to_vec()))
            }
            Err(e) if is_missing(&e) => Ok(None),
            // A range that starts at or past the end: nothing more.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => Ok(Some(Vec::new())),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn info(&self, key: &str) -> StoreResult<Option<BlobInfo>> {
        check_key(key)?;
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(BlobInfo { size: out.content_length().unwrap_or(0).max(0) as u64 })),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        check_key(key)?;
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn writer(&self, key: &str, content_type: &str) -> StoreResult<Box<dyn BlobWriter>> {
        check_key(key)?;
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            buffer: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            size: 0,
        }))
    }

    async fn download_url(&self, key: &str, filename: &str, expires_at: DateTime<Utc>) -> StoreResult<Presigned> {
        check_key(key)?;
        let safe: String = filename.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect();
        let req = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_disposition(format!("attachment; filename=\"{safe}\""))
            .presigned(self.presigning(expires_at)?)
            .await
            .map_err(sdk_error)?;
        Ok(presigned(req, "GET", expires_at))
    }

    async fn upload_url(&self, key: &str, content_type: &str, expires_at: DateTime<Utc>) -> StoreResult<Presigned> {
        check_key(key)?;
        let req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(self.presigning(expires_at)?)
            .await
            .map_err(sdk_error)?;
        Ok(presigned(req, "PUT", expires_at))
    }
}

struct S3Writer {
    client: Client,
    bucket: String,
    key: String,
    content_type: String,
    buffer: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    size: u64,
}

impl S3Writer {
    async fn flush_part(&mut self) -> StoreResult<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type(&self.content_type)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let id =
                    out.upload_id().map(str::to_owned).ok_or_else(|| StoreError::Backend("no upload id".into()))?;
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::take(&mut self.buffer);
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(sdk_error)?;
        self.parts.push(CompletedPart::builder().part_number(number).set_e_tag(out.e_tag().map(str::to_owned)).build());
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for S3Writer {
    async fn write(&mut self, bytes: &[u8]) -> StoreResult<()> {
        self.buffer.extend_from_slice(bytes);
        self.size += bytes.len() as u64;
        if self.buffer.len() >= PART_BYTES {
            self.flush_part().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> StoreResult<u64> {
        if self.upload_id.is_none() {
            // Small: one PUT.
            let body = std::mem::take(&mut self.buffer);
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(&self.content_type)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(sdk_error)?;
            return Ok(self.size);
        }
        if !self.buffer.is_empty() {
            self.flush_part().await?;
        }
        let upload_id = self.upload_id.clone().unwrap_or_default();
        let done = CompletedMultipartUpload::builder().set_parts(Some(std::mem::take(&mut self.parts))).build();
        if let Err(e) = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .multipart_upload(done)
            .send()
            .await
        {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(&upload_id)
                .send()
                .await;
            return Err(sdk_error(e));
        }
        Ok(self.size)
    }
}
