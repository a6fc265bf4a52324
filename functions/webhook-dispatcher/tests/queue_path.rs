//! The dispatcher function's two triggers over the embedded adapters, fed the sample events in
//! `events/`: a scheduled run queues new deliveries; an SQS batch delivers them, reports a
//! malformed message as a batch item failure, and puts retries back on the queue.

use iron_dispatch::Dispatcher;
use iron_domain::{Event, Id, IdKind, RetryPolicyName, Webhook};
use iron_store::repo::{deliveries, events, webhooks};
use iron_store::{Clock, LocalKeyCipher, ManualClock, Queue, SqliteQueue, SqliteTable, TableStore, TenantScope};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

async fn receiver(status: Arc<AtomicU16>, hits: Arc<AtomicUsize>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let (status, hits) = (status.clone(), hits.clone());
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn sqs_event(bodies: &[String]) -> serde_json::Value {
    let sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/sqs-delivery.json")).unwrap(),
    )
    .unwrap();
    let template = sample["Records"][0].clone();
    let records: Vec<serde_json::Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut r = template.clone();
            r["messageId"] = serde_json::json!(format!("m-{i}"));
            r["body"] = serde_json::json!(b);
            r
        })
        .collect();
    serde_json::json!({ "Records": records })
}

#[tokio::test]
async fn schedule_then_queue_then_delivery() {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TableStore> = Arc::new(SqliteTable::open(&dir.path().join("t.db"), clock.clone()).unwrap());
    let queue = SqliteQueue::open(&dir.path().join("q.db"), "deliveries", clock.clone()).unwrap();
    let cipher = Arc::new(LocalKeyCipher::from_bytes([3; 32]));
    let (status, hits) = (Arc::new(AtomicU16::new(503)), Arc::new(AtomicUsize::new(0)));
    let url = receiver(status.clone(), hits.clone()).await;
    let now = clock.now();
    let business = Id::generate(IdKind::Business, now.timestamp_millis());
    let scope = TenantScope::operator(business.clone());
    let webhook = Webhook {
        id: Id::generate(IdKind::Webhook, now.timestamp_millis()),
        business_id: business.clone(),
        url,
        events: vec!["member.created".into()],
        description: None,
        active: true,
        disabled_reason: None,
        retry_policy: RetryPolicyName::Standard,
        rate_limit_per_second: 10,
        created_at: now,
        updated_at: now,
    };
    let secret = iron_webhooks::WebhookSecret::generate().expose();
    let sealed = webhooks::seal(cipher.as_ref(), &webhook, &secret).await.unwrap();
    webhooks::create(
        store.as_ref(),
        &scope,
        &webhooks::StoredWebhook { webhook, secret: sealed, previous_secret: None, previous_until: None },
    )
    .await
    .unwrap();
    let event = Event::new("member.created", &business, now, serde_json::json!({"id": "ath_1"}));
    store.transact(vec![events::outbox_op(&scope, &event)]).await.unwrap();
    let dispatcher =
        Dispatcher::new(store.clone(), cipher, clock.clone(), iron_webhooks::DestinationPolicy::local_development());

    // The scheduled run (the sample EventBridge event) queues the new delivery.
    let schedule: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/eventbridge-schedule.json"))
            .unwrap(),
    )
    .unwrap();
    let out = iron_webhook_dispatcher::handle(&dispatcher, &queue, schedule).await.unwrap();
    assert_eq!(out["queued"], 1);
    let messages = queue.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
    assert_eq!(messages.len(), 1);

    // The SQS batch: the delivery (503: retried, back on the queue with its delay) and a
    // malformed message (reported as a batch item failure).
    let batch = sqs_event(&[messages[0].body.clone(), "not json".into()]);
    let response = iron_webhook_dispatcher::handle(&dispatcher, &queue, batch).await.unwrap();
    assert_eq!(response, serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-1"}]}));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    queue.delete(&messages[0].receipt).await.unwrap();
    assert!(
        queue.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap().is_empty(),
        "the retry waits its delay"
    );
    assert_eq!(queue.depth().unwrap(), 1);

    // After the wait the retry is delivered.
    status.store(200, Ordering::SeqCst);
    clock.advance(chrono::Duration::minutes(5));
    let retry = queue.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
    assert_eq!(retry.len(), 1);
    let response =
        iron_webhook_dispatcher::handle(&dispatcher, &queue, sqs_event(&[retry[0].body.clone()])).await.unwrap();
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    let r: deliveries::DeliveryRef = serde_json::from_str(&retry[0].body).unwrap();
    assert_eq!(
        deliveries::get(store.as_ref(), &scope, &r.delivery_id).await.unwrap().state,
        deliveries::DeliveryState::Delivered
    );
}
