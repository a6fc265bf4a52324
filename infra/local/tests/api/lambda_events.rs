//! Every sample event in `events/` through the function's Lambda entry: lambda_http's event
//! conversion (the `Adapter` that `lambda_http::run` uses) around the router, answering the
//! API Gateway payload-2.0 response that goes back to API Gateway.

use iron_domain::{RateTier, Scope};
use iron_store::TenantDb;
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
        ("locations-list", 200, "application/json"),
        ("locations-get", 200, "application/json"),
        ("locations-update", 200, "application/json"),
        ("locations-check-ins", 200, "application/json"),
        ("locations-occupancy", 200, "application/json"),
        ("readiness-create", 201, "application/json"),
        ("readiness-list", 200, "application/json"),
        ("workouts-create", 201, "application/json"),
        ("workouts-list", 200, "application/json"),
        ("injuries-create", 201, "application/json"),
        ("injuries-list", 200, "application/json"),
        ("check-in", 201, "application/json"),
        ("daily-wod", 200, "application/json"),
        ("member-check-ins", 200, "application/json"),
        ("exercises-list", 200, "application/json"),
        ("exercises-get", 200, "application/json"),
        ("injury-rules", 200, "application/json"),
        ("tests-create", 201, "application/json"),
        ("athletes-bulk", 200, "application/json"),
        ("tests-bulk", 200, "application/json"),
        ("export-athletes", 200, "text/csv"),
        ("export-tests", 200, "application/json"),
        ("imports-create", 202, "application/json"),
        ("imports-list", 200, "application/json"),
        ("exports-create", 202, "application/json"),
        ("exports-list", 200, "application/json"),
        ("challenges-list", 200, "application/json"),
        ("challenges-leaderboard", 200, "application/json"),
        ("gyms-list", 200, "application/json"),
        ("churn-risk", 200, "application/json"),
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
            .replace("dlv_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &delivery_id)
            .replace("loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", demo.locations[0].id.as_str())
            .replace("chl_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", demo.challenges[0].id.as_str());
        let request: LambdaRequest = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Each event goes to the function API Gateway routes it to, as deployed.
        let route = serde_json::from_str::<Value>(&raw).unwrap()["routeKey"].as_str().unwrap().to_owned();
        let mut adapter: Adapter<'_, _, _> = Adapter::from(function_for(&app, &route));
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

/// The HTTP API's routes as `template.yaml` declares them: (path, function resource); an
/// `HttpApi` event with no `Path` is the `$default` route.
fn template_routes() -> Vec<(String, String)> {
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    let (mut routes, mut function) = (Vec::new(), String::new());
    let mut open: Option<(String, Option<String>)> = None; // an HttpApi event being read
    let close = |open: &mut Option<(String, Option<String>)>, routes: &mut Vec<(String, String)>| {
        if let Some((f, path)) = open.take() {
            routes.push((path.unwrap_or_else(|| "$default".into()), f));
        }
    };
    for line in template.lines() {
        let trimmed = line.trim();
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix("Function:")) {
            close(&mut open, &mut routes);
            function = name.to_owned();
        } else if trimmed.starts_with("Type: ") {
            close(&mut open, &mut routes);
            if trimmed == "Type: HttpApi" {
                open = Some((function.clone(), None));
            }
        } else if let (Some(path), Some((_, slot))) = (trimmed.strip_prefix("Path: "), open.as_mut()) {
            *slot = Some(path.to_owned());
        }
    }
    close(&mut open, &mut routes);
    routes
}

/// The function API Gateway invokes for an event's route (by `template.yaml`, `$default` for a
/// route no function declares), with its own outer layers: what runs on Lambda.
fn function_for(app: &TestApp, route_key: &str) -> axum::Router {
    let path = route_key.split_once(' ').map_or(route_key, |(_, p)| p);
    let routes = template_routes();
    let function = routes.iter().find(|(p, _)| p == path).or_else(|| routes.iter().find(|(p, _)| p == "$default"));
    let g = &app.groups;
    let routes = match function.map(|(_, f)| f.as_str()) {
        Some("AthletesApi") => iron_athletes_api::routes(g.api.clone()),
        Some("AccessApi") => iron_access_api::routes(g.api.clone()),
        Some("WebhooksApi") => iron_webhooks_api::routes(g.webhooks.clone()),
        Some("DocsApi") => iron_docs_api::routes(),
        Some("MembersApi") => iron_members_api::routes(g.api.clone()),
        Some("LocationsApi") => iron_locations_api::routes(g.api.clone()),
        Some("CheckinApi") => iron_checkin_api::routes(g.api.clone()),
        Some("BulkApi") => iron_bulk_api::routes(g.bulk.clone()),
        Some("ChallengesApi") => iron_challenges_api::routes(g.api.clone()),
        Some("IntegrationsApi") => iron_integrations_api::routes(g.integrations.clone()),
        Some("AnalyticsApi") => iron_analytics_api::routes(g.api.clone()),
        other => panic!("template.yaml routes {route_key} to {other:?}, which no test here builds"),
    };
    iron_http::into_app(routes)
}

#[test]
fn the_template_routes_every_group_prefix_once() {
    let routes = template_routes();
    let mut paths: Vec<_> = routes.iter().map(|(p, _)| p.as_str()).collect();
    paths.sort();
    let before = paths.len();
    paths.dedup();
    assert_eq!(paths.len(), before, "a path routed twice: {routes:?}");
    // Every path the document serves is routed to the function that serves it.
    let doc: Value = serde_json::from_str(iron_docs_api::openapi::DOCUMENT).unwrap();
    for path in doc["paths"].as_object().unwrap().keys() {
        let routed = routes.iter().any(|(p, _)| {
            p == path || p.strip_suffix("/{proxy+}").is_some_and(|prefix| path.starts_with(&format!("{prefix}/")))
        });
        assert!(routed, "{path} has no route in template.yaml");
    }
}

/// On Lambda the client IP is API Gateway's `requestContext.http.sourceIp` (203.0.113.7 in the
/// samples), never a client-supplied header.
#[tokio::test]
async fn allowlists_use_the_api_gateway_source_ip() {
    let app = TestApp::new();
    let (_, scope) =
        iron_store::repo::platform::create_business(app.store.as_ref(), "Box", "UTC", app.clock_now()).await.unwrap();
    let mut adapter: Adapter<'_, _, _> = Adapter::from(function_for(&app, "ANY /api/external/v1/athletes"));
    let raw =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/apigw-athletes-list.json")).unwrap();
    for (allowed, status) in [("203.0.113.0/24", 200), ("198.51.100.0/24", 403)] {
        let mut new = iron_store::repo::platform::NewKey::new("office", vec![Scope::ReadAthletes], RateTier::Standard);
        new.allowed_ips = vec![allowed.parse().unwrap()];
        let (_, secret) =
            iron_store::repo::platform::mint_key(TenantDb::new(app.store.as_ref(), &scope), new, app.clock_now())
                .await
                .unwrap();
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
