//! The dispatcher function's two triggers over the embedded adapters, fed the sample events in
//! `events/`: a scheduled run queues new deliveries; an SQS batch delivers them, reports a
//! malformed message as a batch item failure, and puts retries back on the queue.

use iron_dispatch::Dispatcher;
use iron_domain::{Event, Id, IdKind, RetryPolicyName, Webhook};
use iron_store::TenantDb;
use iron_store::repo::{deliveries, events, webhooks};
use iron_store::{Clock, LocalKeyCipher, ManualClock, Queue, SqliteQueue, SqliteTable, TableStore};
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
    let template = sample("sqs-delivery.json")["Records"][0].clone();
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

struct Fixture {
    clock: Arc<ManualClock>,
    store: Arc<dyn TableStore>,
    queue: SqliteQueue,
    scope: iron_store::OperatorScope,
    dispatcher: Dispatcher,
    status: Arc<AtomicU16>,
    hits: Arc<AtomicUsize>,
    _dir: tempfile::TempDir,
}

/// A business with one webhook on `member.created` (its receiver answers `status`) and one
/// event in the outbox, not yet fanned out.
async fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn TableStore> = Arc::new(SqliteTable::open(&dir.path().join("t.db"), clock.clone()).unwrap());
    let queue = SqliteQueue::open(&dir.path().join("q.db"), "deliveries", clock.clone()).unwrap();
    let cipher = Arc::new(LocalKeyCipher::from_bytes([3; 32]));
    let (status, hits) = (Arc::new(AtomicU16::new(503)), Arc::new(AtomicUsize::new(0)));
    let url = receiver(status.clone(), hits.clone()).await;
    let now = clock.now();
    let business = Id::generate(IdKind::Business, now.timestamp_millis());
    let scope = iron_store::OperatorScope::new(business.clone());
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
        TenantDb::new(store.as_ref(), &scope),
        &webhooks::StoredWebhook { webhook, secret: sealed, previous_secret: None, previous_until: None },
    )
    .await
    .unwrap();
    let event = Event::new("member.created", &business, now, serde_json::json!({"id": "ath_1"}));
    store.transact(vec![events::outbox_op(&scope, &event)]).await.unwrap();
    let dispatcher =
        Dispatcher::new(store.clone(), cipher, clock.clone(), iron_webhooks::DestinationPolicy::local_development());
    Fixture { clock, store, queue, scope, dispatcher, status, hits, _dir: dir }
}

fn sample(name: &str) -> serde_json::Value {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test]
async fn schedule_then_queue_then_delivery() {
    let Fixture { clock, store, queue, scope, dispatcher, status, hits, _dir } = fixture().await;

    // The scheduled run (the sample EventBridge event) queues the new delivery.
    let out = iron_webhook_dispatcher::handle(&dispatcher, &queue, sample("eventbridge-schedule.json")).await.unwrap();
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
        deliveries::get(TenantDb::new(store.as_ref(), &scope), &r.delivery_id).await.unwrap().state,
        deliveries::DeliveryState::Delivered
    );
}

#[tokio::test]
async fn a_stream_record_fans_out_at_once() {
    // The table's stream (the sample DynamoDB event) wakes the fan-out without waiting for the
    // schedule; a second wake for the same event queues nothing more.
    let f = fixture().await;
    let stream = sample("dynamodb-outbox-stream.json");
    let out = iron_webhook_dispatcher::handle(&f.dispatcher, &f.queue, stream.clone()).await.unwrap();
    assert_eq!(out["queued"], 1);
    let again = iron_webhook_dispatcher::handle(&f.dispatcher, &f.queue, stream.clone()).await.unwrap();
    assert_eq!(again["queued"], 0);
    f.status.store(204, Ordering::SeqCst);
    let messages = f.queue.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
    assert_eq!(messages.len(), 1);
    let response =
        iron_webhook_dispatcher::handle(&f.dispatcher, &f.queue, sqs_event(&[messages[0].body.clone()])).await.unwrap();
    assert_eq!(response, serde_json::json!({"batchItemFailures": []}));
    assert_eq!(f.hits.load(Ordering::SeqCst), 1);

    // The sample's new image is what the template's filter lets through, and what the local
    // change feed wakes on.
    let image = &stream["Records"][0]["dynamodb"]["NewImage"];
    let gsi2pk = image["GSI2PK"]["S"].as_str().unwrap();
    assert!(gsi2pk.starts_with(iron_store::keys::OUTBOX_PENDING_PREFIX));
    let item: iron_store::Item = [("GSI2PK".to_owned(), serde_json::json!(gsi2pk))].into_iter().collect();
    assert!(iron_store::keys::is_pending_event(&item));
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    assert!(
        template.contains(&format!(r#"{{"prefix": "{}"}}"#, iron_store::keys::OUTBOX_PENDING_PREFIX)),
        "template.yaml's stream filter names the outbox prefix"
    );
}

#[tokio::test]
async fn an_unknown_invocation_is_an_error() {
    let f = fixture().await;
    let err = iron_webhook_dispatcher::handle(&f.dispatcher, &f.queue, serde_json::json!({"hello": "world"})).await;
    assert!(err.unwrap_err().contains("unexpected event"));
}
