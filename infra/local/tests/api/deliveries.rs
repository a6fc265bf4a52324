//! The delivery log through the API: what happened to each delivery, manual retry, recovery.

use axum::http::StatusCode;
use iron_domain::{RateTier, Scope};
use iron_store::repo::deliveries::DeliveryRef;
use iron_store::repo::platform;
use iron_testing::{TestApp, assert_problem};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

const V1: &str = "/api/external/v1";

/// A receiver answering whatever status is set.
async fn receiver(status: Arc<AtomicU16>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let status = status.clone();
            async move { (StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap(), "receiver says hi") }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test]
async fn the_log_shows_every_attempt_and_failed_deliveries_can_be_sent_again() {
    let app = TestApp::local_webhooks();
    let (_, scope) = platform::create_business(app.store.as_ref(), "Box Log", "UTC", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &[Scope::ManageWebhooks], RateTier::Unlimited).await;
    let status = Arc::new(AtomicU16::new(500));
    let url = receiver(status.clone()).await;
    let hook = app
        .json("POST", &format!("{V1}/webhooks"), &key, json!({"url": url, "events": ["member.created"]}), None)
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let hook_id = hook.body["id"].as_str().unwrap().to_owned();
    let dispatcher = iron_dispatch::Dispatcher::new(
        app.store.clone(),
        TestApp::cipher(),
        app.clock.clone(),
        iron_webhooks::DestinationPolicy::local_development(),
    );

    // A test event that fails three times.
    let sent = app.json("POST", &format!("{V1}/webhooks/{hook_id}/test"), &key, json!({}), None).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let delivery_id = sent.body["deliveryId"].as_str().unwrap().to_owned();
    let r = DeliveryRef::new(scope.business_id().clone(), iron_domain::Id::parse(&delivery_id).unwrap());
    for _ in 0..3 {
        dispatcher.attempt(&r).await.unwrap();
        app.clock.advance(chrono::Duration::minutes(15));
    }
    let failed = app.get(&format!("{V1}/webhooks/{hook_id}/deliveries?status=failed"), &key).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    let rows = failed.body["data"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["eventType"], "webhook.test");
    assert_eq!(rows[0]["attemptCount"], 3);
    assert_eq!(rows[0]["lastAttempt"]["status"], 500);
    let detail = app.get(&format!("{V1}/webhooks/{hook_id}/deliveries/{delivery_id}"), &key).await;
    let attempts = detail.body["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(attempts.iter().all(|a| a["responseBody"] == "receiver says hi" && a["durationMs"].is_number()));

    let health = app.get(&format!("{V1}/webhooks/{hook_id}"), &key).await;
    assert_eq!(health.body["health"]["failureCount"], 3, "{}", health.body);
    assert_eq!(health.body["health"]["lastDeliveryStatus"], 500);
    assert_eq!(health.body["health"]["successRate24h"], 0.0);

    // The receiver is fixed: a manual retry delivers it.
    status.store(200, Ordering::SeqCst);
    let retried = app
        .json("POST", &format!("{V1}/webhooks/{hook_id}/deliveries/{delivery_id}/retry"), &key, json!({}), None)
        .await;
    assert_eq!(retried.status, 202, "{}", retried.body);
    assert_eq!(retried.body["status"], "pending");
    assert_problem(
        &app.json("POST", &format!("{V1}/webhooks/{hook_id}/deliveries/{delivery_id}/retry"), &key, json!({}), None)
            .await,
        409,
    );
    dispatcher.attempt(&r).await.unwrap();
    let delivered = app.get(&format!("{V1}/webhooks/{hook_id}/deliveries?status=delivered"), &key).await;
    assert_eq!(delivered.body["data"][0]["id"], delivery_id.as_str());
    let health = app.get(&format!("{V1}/webhooks/{hook_id}"), &key).await;
    assert_eq!(health.body["health"]["failureCount"], 0);
    assert_eq!(health.body["health"]["lastDeliveryOk"], true);

    // Recover: every failure since a time goes out again.
    status.store(503, Ordering::SeqCst);
    let since = app.clock_now().to_rfc3339();
    for _ in 0..2 {
        let sent = app.json("POST", &format!("{V1}/webhooks/{hook_id}/test"), &key, json!({}), None).await;
        let id = iron_domain::Id::parse(sent.body["deliveryId"].as_str().unwrap()).unwrap();
        let r = DeliveryRef::new(scope.business_id().clone(), id);
        for _ in 0..3 {
            dispatcher.attempt(&r).await.unwrap();
            app.clock.advance(chrono::Duration::minutes(30));
        }
    }
    let recovered =
        app.json("POST", &format!("{V1}/webhooks/{hook_id}/recover"), &key, json!({"since": since}), None).await;
    assert_eq!(recovered.status, 202, "{}", recovered.body);
    assert_eq!(recovered.body["requeued"], 2);
    let pending = app.get(&format!("{V1}/webhooks/{hook_id}/deliveries?status=pending"), &key).await;
    assert_eq!(pending.body["data"].as_array().unwrap().len(), 2);
    assert_problem(&app.get(&format!("{V1}/webhooks/{hook_id}/deliveries?status=lost"), &key).await, 400);

    // Another business sees none of it.
    let (_, other) = platform::create_business(app.store.as_ref(), "Other", "UTC", app.clock_now()).await.unwrap();
    let other_key = app.key(&other, &[Scope::ManageWebhooks], RateTier::Standard).await;
    assert_problem(&app.get(&format!("{V1}/webhooks/{hook_id}/deliveries"), &other_key).await, 404);
    assert_problem(&app.get(&format!("{V1}/webhooks/{hook_id}/deliveries/{delivery_id}"), &other_key).await, 404);
    assert_problem(&app.json("POST", &format!("{V1}/webhooks/{hook_id}/test"), &other_key, json!({}), None).await, 404);
}
