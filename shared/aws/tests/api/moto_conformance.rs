//! The same conformance suites as the embedded adapters, against the AWS adapters talking to
//! moto_server through the real AWS SDK.

use iron_aws::{DynamoTable, KmsKeyCipher, SqsQueue, moto};
use iron_store::{KeyCipher, ManualClock, Queue, TableStore};
use std::sync::Arc;

async fn make(clock: Arc<ManualClock>) -> Arc<dyn TableStore> {
    let config = iron_aws::emulator_config(&moto::endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = moto::unique_name("iron-conformance");
    DynamoTable::create_table(&client, &table).await.expect("create table");
    Arc::new(DynamoTable::new(client, table, clock))
}

iron_store::table_store_conformance!(make);

mod queue {
    use super::*;
    async fn make_queue(clock: Arc<ManualClock>) -> (Arc<dyn Queue>, Arc<dyn Queue>) {
        let _ = clock;
        let config = iron_aws::emulator_config(&moto::endpoint()).await;
        let client = aws_sdk_sqs::Client::new(&config);
        let dlq_url = SqsQueue::create(&client, &moto::unique_name("iron-dlq"), None).await.expect("dlq");
        let dlq_arn = SqsQueue::arn(&client, &dlq_url).await.expect("arn");
        let url = SqsQueue::create(&client, &moto::unique_name("iron-q"), Some((&dlq_arn, 2))).await.expect("queue");
        (Arc::new(SqsQueue::new(client.clone(), url)), Arc::new(SqsQueue::new(client, dlq_url)))
    }
    iron_store::queue_conformance!(make_queue);
}

#[tokio::test]
async fn kms_envelope_encryption() {
    let config = iron_aws::emulator_config(&moto::endpoint()).await;
    let client = aws_sdk_kms::Client::new(&config);
    let key = client.create_key().send().await.expect("create key");
    let key_id = key.key_metadata().expect("metadata").key_id().to_owned();
    let kms = Arc::new(KmsKeyCipher::new(client, key_id));
    let cipher: Arc<dyn KeyCipher> = kms.clone();
    iron_store::conformance::key_cipher(cipher.clone()).await;

    // Decrypted data keys are reused: one Decrypt call for many reads of one value, and a
    // wrong context still goes to KMS and fails.
    let context: iron_store::cipher::EncryptionContext =
        [("business".to_owned(), "biz_1".to_owned())].into_iter().collect();
    let sealed = cipher.encrypt(b"whsec_cached", &context).await.unwrap();
    let before = kms.decrypt_calls();
    for _ in 0..5 {
        assert_eq!(cipher.decrypt(&sealed, &context).await.unwrap(), b"whsec_cached");
    }
    assert_eq!(kms.decrypt_calls(), before + 1);
    let other: iron_store::cipher::EncryptionContext =
        [("business".to_owned(), "biz_2".to_owned())].into_iter().collect();
    assert!(cipher.decrypt(&sealed, &other).await.is_err());
    assert_eq!(kms.decrypt_calls(), before + 2);
}

#[tokio::test]
async fn eventbridge_schedules() {
    let config = iron_aws::emulator_config(&moto::endpoint()).await;
    let client = aws_sdk_eventbridge::Client::new(&config);
    let scheduler = iron_aws::EventBridgeScheduler::new(
        client,
        moto::unique_name("iron") + "-",
        "arn:aws:lambda:us-east-1:123456789012:function:wodify-sync",
    );
    iron_store::conformance::scheduler(Arc::new(scheduler)).await;
}

#[tokio::test]
async fn outbox_fan_out() {
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&chrono::Utc),
    ));
    let store = make(clock.clone()).await;
    iron_store::conformance::fan_out_scenario(store, clock).await;
}

async fn s3_blobs() -> (iron_aws::S3Blobs, Arc<ManualClock>) {
    let config = iron_aws::emulator_config(&moto::endpoint()).await;
    let client = iron_aws::s3::client(&config, true);
    let bucket = moto::unique_name("iron-files").to_lowercase();
    iron_aws::S3Blobs::create_bucket(&client, &bucket).await.expect("bucket");
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    (iron_aws::S3Blobs::new(client, bucket, clock.clone()), clock)
}

#[tokio::test]
async fn s3_blob_store() {
    let (blobs, clock) = s3_blobs().await;
    use iron_store::Clock;
    iron_store::conformance::blob_store(Arc::new(blobs), clock.now(), "conformance").await;
}

/// The presigned URLs work with a plain HTTP client, as a customer's would: a PUT with the
/// signed content type, then a GET answered as an attachment.
#[tokio::test]
async fn s3_presigned_urls() {
    use iron_store::{BlobStore, Clock};
    let (blobs, clock) = s3_blobs().await;
    let expires = clock.now() + chrono::Duration::minutes(10);
    let key = "b/biz_1/imp_1/upload.csv";
    let put = blobs.upload_url(key, "text/csv", expires).await.unwrap();
    let http = reqwest::Client::new();
    let mut req = http.put(&put.url).body("email,firstName\r\nasa@example.com,Åsa\r\n");
    for (k, v) in &put.headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.text().await);
    assert_eq!(
        blobs.read(key, 0, 1000).await.unwrap().unwrap(),
        "email,firstName\r\nasa@example.com,Åsa\r\n".as_bytes()
    );
    let get = blobs.download_url(key, "upload.csv", expires).await.unwrap();
    let resp = http.get(&get.url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-disposition"], "attachment; filename=\"upload.csv\"");
    assert!(resp.text().await.unwrap().contains("Åsa"));
    assert!(get.url.contains("X-Amz-Expires=600"), "{}", get.url);
    assert!(blobs.download_url(key, "x", clock.now()).await.is_err(), "a URL must last at least a second");
}

/// The event bus on EventBridge: events published (more than one PutEvents call's ten) reach a
/// rule's SQS target on that bus, each with the platform's source, its type as `detail-type` and
/// the event as `detail`.
#[tokio::test]
async fn eventbridge_bus_publishes_to_rule_targets() {
    use aws_sdk_eventbridge::types::Target;
    use iron_store::EventBus;
    let config = iron_aws::emulator_config(&moto::endpoint()).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let bus = moto::unique_name("iron-bus");
    events.create_event_bus().name(&bus).send().await.expect("bus");
    let url = SqsQueue::create(&sqs, &moto::unique_name("iron-sync-events"), None).await.expect("queue");
    let arn = SqsQueue::arn(&sqs, &url).await.expect("arn");
    let rule = moto::unique_name("iron-sync");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["iron-metrics"], "detail-type": [{"prefix": "wodify.sync."}]}"#)
        .send()
        .await
        .expect("rule");
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(Target::builder().id("q").arn(&arn).build().unwrap())
        .send()
        .await
        .expect("target");
    let business = iron_domain::Id::parse("biz_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7").unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap().with_timezone(&chrono::Utc);
    let published: Vec<iron_domain::Event> = (0..12)
        .map(|i| {
            iron_domain::Event::new(
                if i == 0 { "wodify.sync.started" } else { "wodify.sync.entity.completed" },
                &business,
                now,
                serde_json::json!({"gymId": "gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "i": i}),
            )
        })
        .collect();
    iron_aws::EventBridgeBus::new(events.clone(), &bus).publish(&published).await.expect("publish");
    let mut got = vec![];
    for _ in 0..20 {
        let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).send().await.expect("receive");
        for m in out.messages() {
            got.push(serde_json::from_str::<serde_json::Value>(m.body().unwrap()).unwrap());
        }
        if got.len() >= published.len() {
            break;
        }
    }
    assert_eq!(got.len(), 12, "every event reached the rule's target");
    let started = got.iter().find(|e| e["detail-type"] == "wodify.sync.started").expect("started");
    assert_eq!(started["source"], "iron-metrics");
    assert_eq!(started["detail"]["businessId"], business.as_str());
    assert_eq!(started["detail"]["data"]["gymId"], "gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7");
}
