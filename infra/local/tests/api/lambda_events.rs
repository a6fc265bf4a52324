//! Every sample event in `events/` through the function's Lambda entry: lambda_http's event
//! conversion (the `Adapter` that `lambda_http::run` uses) around the router, answering the
//! API Gateway payload-2.0 response that goes back to API Gateway.

use iron_domain::{RateTier, Scope};
use iron_testing::TestApp;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Context, LambdaEvent, Service};
use serde_json::Value;

#[tokio::test]
async fn sample_events_get_the_expected_responses() {
    let app = TestApp::new();
    let demo = app.seed(21).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Standard).await;
    // The key the rotate and revoke events act on.
    let target = app.key(&demo.scope, &[Scope::ReadAthletes], RateTier::Standard).await;
    // The webhook the update, rotate and delete events act on.
    let hook = app
        .json(
            "POST",
            "/api/external/v1/webhooks",
            &key,
            serde_json::json!({"url": "https://93.184.215.14/a", "events": ["member.created"]}),
            None,
        )
        .await;
    let webhook_id = hook.body["id"].as_str().unwrap().to_owned();
    let sent = app
        .json("POST", &format!("/api/external/v1/webhooks/{webhook_id}/test"), &key, serde_json::json!({}), None)
        .await;
    let delivery_id = sent.body["deliveryId"].as_str().unwrap().to_owned();
    let target_id = iron_store::repo::platform::lookup_key(
        app.store.as_ref(),
        &iron_domain::ApiKeySecret::parse(&target).unwrap().hash(),
    )
    .await
    .unwrap()
    .unwrap()
    .id
    .to_string();
    let first = app.get("/api/external/v1/tests?testType=lactate_step&limit=1", &key).await;
    let (test_id, athlete_id) = (
        first.body["data"][0]["id"].as_str().unwrap().to_owned(),
        first.body["data"][0]["athleteId"].as_str().unwrap().to_owned(),
    );

    let cases: &[(&str, u16, &str)] = &[
        ("athletes-list", 200, "application/json"),
        ("athletes-get", 200, "application/json"),
        ("tests-list", 200, "application/json"),
        ("tests-get", 200, "application/json"),
        ("referrals", 200, "application/json"),
        ("athletes-unauthenticated", 401, "application/problem+json"),
        ("athletes-bad-limit", 400, "application/problem+json"),
        ("openapi", 200, "application/json"),
        ("docs", 200, "text/html"),
        ("health", 200, "application/json"),
        ("api-keys-list", 200, "application/json"),
        ("athletes-create", 201, "application/json"),
        ("athletes-update", 200, "application/json"),
        ("event-types", 200, "application/json"),
        ("webhooks-create", 201, "application/json"),
        ("webhooks-list", 200, "application/json"),
        ("webhooks-update", 200, "application/json"),
        ("webhooks-rotate-secret", 200, "application/json"),
        ("webhooks-test", 202, "application/json"),
        ("deliveries-list", 200, "application/json"),
        ("deliveries-get", 200, "application/json"),
        // The delivery made just before is still pending: a manual retry is refused.
        ("deliveries-retry", 409, "application/problem+json"),
        ("webhooks-recover", 202, "application/json"),
        ("webhooks-delete", 204, ""),
        ("api-keys-create", 201, "application/json"),
        ("api-keys-rotate", 201, "application/json"),
        ("audit-log", 200, "application/json"),
        ("tests-get-beta-zones", 200, "application/json"),
        ("api-keys-revoke", 200, "application/json"),
    ];
    let events_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let listed = std::fs::read_dir(events_dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("apigw-"))
        .count();
    assert_eq!(listed, cases.len(), "every sample event has a case here");

    for (name, status, content_type) in cases {
        let raw = std::fs::read_to_string(format!("{events_dir}/apigw-{name}.json")).unwrap();
        let raw = raw
            .replace("bak_REPLACE_WITH_YOUR_KEY", &key)
            .replace("ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &athlete_id)
            .replace("tst_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &test_id)
            .replace("key_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &target_id)
            .replace("whk_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &webhook_id)
            .replace("dlv_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &delivery_id);
        let request: LambdaRequest = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Each event goes to the function API Gateway routes its path to, as deployed.
        let path = serde_json::from_str::<Value>(&raw).unwrap()["rawPath"].as_str().unwrap().to_owned();
        let mut adapter: Adapter<'_, _, _> = Adapter::from(function_for(&app, &path));
        let response = adapter.call(LambdaEvent::new(request, Context::default())).await.unwrap();
        let response: Value = serde_json::to_value(&response).unwrap();
        assert_eq!(response["statusCode"], *status, "{name}: {response}");
        let ct = response["headers"]["content-type"].as_str().unwrap_or_default();
        assert!(ct.starts_with(content_type), "{name}: content-type {ct}");
        let body = response["body"].as_str().unwrap_or_default();
        if content_type.contains("json") {
            let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: {e}: {body}"));
            if *status >= 400 {
                assert!(body["requestId"].as_str().unwrap().starts_with("req_"));
            }
        }
        if *status == 200 && name.starts_with("athletes") | name.starts_with("tests") {
            assert!(response["headers"]["x-ratelimit-remaining"].is_string(), "{name}: rate-limit headers");
        }
    }
    let got = app.get("/api/external/v1/tests?limit=1", &key).await;
    let authed_events = 2 + cases
        .iter()
        .filter(|(n, ..)| !matches!(*n, "athletes-unauthenticated" | "openapi" | "docs" | "health"))
        .count();
    assert_eq!(
        got.headers["x-ratelimit-remaining"],
        (60 - 1 - authed_events - 1).to_string().as_str(),
        "the events used the key's allowance"
    );
}

/// The function `template.yaml` routes a path to, with its own outer layers (what runs on Lambda).
fn function_for(app: &TestApp, path: &str) -> axum::Router {
    let group = |p: &str| path.strip_prefix("/api/external/v1/").is_some_and(|rest| rest.split('/').next() == Some(p));
    let g = &app.groups;
    let routes = if ["athletes", "tests", "referrals"].iter().any(|p| group(p)) {
        iron_athletes_api::routes(g.api.clone())
    } else if ["api-keys", "audit-log"].iter().any(|p| group(p)) {
        iron_access_api::routes(g.api.clone())
    } else if ["webhooks", "event-types"].iter().any(|p| group(p)) {
        iron_webhooks_api::routes(g.webhooks.clone())
    } else {
        iron_docs_api::routes()
    };
    iron_http::into_app(routes)
}

/// On Lambda the client IP is API Gateway's `requestContext.http.sourceIp` (203.0.113.7 in the
/// samples), never a client-supplied header.
#[tokio::test]
async fn allowlists_use_the_api_gateway_source_ip() {
    let app = TestApp::new();
    let (_, scope) =
        iron_store::repo::platform::create_business(app.store.as_ref(), "Box", "UTC", app.clock_now()).await.unwrap();
    let mut adapter: Adapter<'_, _, _> = Adapter::from(function_for(&app, "/api/external/v1/athletes"));
    let raw =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/apigw-athletes-list.json")).unwrap();
    for (allowed, status) in [("203.0.113.0/24", 200), ("198.51.100.0/24", 403)] {
        let mut new = iron_store::repo::platform::NewKey::new("office", vec![Scope::ReadAthletes], RateTier::Standard);
        new.allowed_ips = vec![allowed.parse().unwrap()];
        let (_, secret) =
            iron_store::repo::platform::mint_key(app.store.as_ref(), &scope, new, app.clock_now()).await.unwrap();
        // A spoofed X-Forwarded-For naming an allowed address changes nothing.
        let event = raw
            .replace("bak_REPLACE_WITH_YOUR_KEY", secret.expose())
            .replace("\"x-forwarded-for\": \"203.0.113.7\"", "\"x-forwarded-for\": \"198.51.100.9\"");
        let request: LambdaRequest = serde_json::from_str(&event).unwrap();
        let response =
            serde_json::to_value(adapter.call(LambdaEvent::new(request, Context::default())).await.unwrap()).unwrap();
        assert_eq!(response["statusCode"], status, "allowlist {allowed}: {response}");
    }
}
