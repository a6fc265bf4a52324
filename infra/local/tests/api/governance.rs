//! API governance on both backends: the key-management API (create, list, rotate with a grace
//! period, revoke; no privilege escalation), IP allowlists, the audit log, idempotency.

use iron_domain::{RateTier, Scope};
use iron_store::TenantDb;
use iron_store::TenantScope;
use iron_store::repo::platform;
use iron_testing::{TestApp, assert_problem};
use serde_json::json;
use std::sync::Arc;

const V1: &str = "/api/external/v1";

async fn business(app: &TestApp, name: &str) -> iron_store::OperatorScope {
    platform::create_business(app.store.as_ref(), name, "Europe/Madrid", app.clock_now()).await.unwrap().1
}

/// An admin key: manage:keys + read:athletes + read:audit, Professional tier.
async fn admin(app: &TestApp, scope: &TenantScope) -> String {
    app.key(scope, &[Scope::ManageKeys, Scope::ReadAthletes, Scope::ReadAudit], RateTier::Professional).await
}

async fn key_lifecycle(app: TestApp) {
    let scope = business(&app, "Box Norte").await;
    let admin = admin(&app, &scope).await;

    // Validation: every bad field at once (422), escalation refused (403), media type (415).
    let bad = app.json("POST", &format!("{V1}/api-keys"), &admin, json!({"name": " ", "scopes": ["read:everything"], "expiresAt": "2020-01-01T00:00:00Z", "allowedIps": ["10.0.0.300"]}), None).await;
    assert_problem(&bad, 422);
    let fields: Vec<_> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["/name", "/scopes/0", "/expiresAt", "/allowedIps/0"]);
    let unknown_field = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "x", "scopes": ["read:athletes"], "admin": true}),
            None,
        )
        .await;
    assert_problem(&unknown_field, 400);
    let more_scopes = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "x", "scopes": ["read:athletes", "write:athletes"]}),
            None,
        )
        .await;
    assert_problem(&more_scopes, 403);
    assert!(more_scopes.body["detail"].as_str().unwrap().contains("write:athletes"));
    let higher_tier = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "x", "scopes": ["read:athletes"], "tier": "enterprise"}),
            None,
        )
        .await;
    assert_problem(&higher_tier, 403);
    let no_json = app
        .send(
            iron_testing::request("POST", &format!("{V1}/api-keys"), &admin, "198.51.100.1")
                .body(axum::body::Body::from("name=x"))
                .unwrap(),
        )
        .await;
    assert_problem(&no_json, 415);

    // Create: the secret once, a Location, and the key works.
    let created = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "Zapier · Núñez", "scopes": ["read:athletes"], "tier": "standard"}),
            None,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], format!("{V1}/api-keys/{id}").as_str());
    assert_eq!(created.body["prefix"], &secret[..12]);
    assert_eq!(created.body["state"], "active");
    assert_eq!(app.get(&format!("{V1}/athletes"), &secret).await.status, 200);

    let listed = app.get(&format!("{V1}/api-keys"), &admin).await;
    assert_eq!(listed.status, 200);
    let keys = listed.body["data"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(!listed.body.to_string().contains(&secret[12..]), "no secret after creation");
    let new = keys.iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert_eq!(new["lastUsedAt"], "2026-11-22T10:00:30Z", "last use is shown");
    assert_eq!(new["name"], "Zapier · Núñez");

    // Rotate with a 2 h grace period: both work until then, only the new one after.
    let rotated =
        app.json("POST", &format!("{V1}/api-keys/{id}/rotate"), &admin, json!({"gracePeriodHours": 2}), None).await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new_secret = rotated.body["key"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(rotated.body["key"]["replaces"], id.as_str());
    assert_eq!(rotated.body["previous"]["expiresAt"], "2026-11-22T12:00:30Z");
    assert_eq!(rotated.body["key"]["scopes"], json!(["read:athletes"]));
    app.clock.advance(chrono::Duration::hours(2) - chrono::Duration::seconds(1));
    assert_eq!(app.get(&format!("{V1}/athletes"), &secret).await.status, 200, "old key inside the grace period");
    app.clock.advance(chrono::Duration::seconds(1));
    let old = app.get(&format!("{V1}/athletes"), &secret).await;
    assert_problem(&old, 401);
    assert!(old.body["detail"].as_str().unwrap().contains("expired"));
    assert_eq!(app.get(&format!("{V1}/athletes"), &new_secret).await.status, 200);
    let states: Vec<_> = app.get(&format!("{V1}/api-keys"), &admin).await.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states.iter().filter(|s| *s == "expired").count(), 1);
    let again = app.json("POST", &format!("{V1}/api-keys/{id}/rotate"), &admin, json!({}), None).await;
    assert_problem(&again, 409);
    let too_long = app
        .json(
            "POST",
            &format!("{V1}/api-keys/{}/rotate", rotated.body["key"]["id"].as_str().unwrap()),
            &admin,
            json!({"gracePeriodHours": 721}),
            None,
        )
        .await;
    assert_problem(&too_long, 422);

    // Revoke: immediate.
    let new_id = rotated.body["key"]["id"].as_str().unwrap();
    let revoked = app
        .send(
            iron_testing::request("DELETE", &format!("{V1}/api-keys/{new_id}"), &admin, "198.51.100.1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.body["state"], "revoked");
    assert_problem(&app.get(&format!("{V1}/athletes"), &new_secret).await, 401);

    // A weaker key can't take over, cut off or mint beyond a stronger one.
    let weak = app.key(&scope, &[Scope::ManageKeys], RateTier::Standard).await;
    let admin_id = platform::lookup_key(app.store.as_ref(), &iron_domain::ApiKeySecret::parse(&admin).unwrap().hash())
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_problem(
        &app.json("POST", &format!("{V1}/api-keys/{admin_id}/rotate"), &weak, json!({"gracePeriodHours": 0}), None)
            .await,
        403,
    );
    let cut = app
        .send(
            iron_testing::request("DELETE", &format!("{V1}/api-keys/{admin_id}"), &weak, "198.51.100.1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&cut, 403);
    assert_eq!(app.get(&format!("{V1}/api-keys"), &admin).await.status, 200, "the stronger key still works");

    // Expiry and allowlists are inherited, never widened.
    let mut temp = platform::NewKey::new("temp", vec![Scope::ManageKeys, Scope::ReadAthletes], RateTier::Standard);
    temp.expires_at = Some(app.clock_now() + chrono::Duration::days(7));
    temp.allowed_ips = vec!["198.51.100.0/24".parse().unwrap()];
    let (_, temp_secret) =
        platform::mint_key(TenantDb::new(app.store.as_ref(), &scope), temp, app.clock_now()).await.unwrap();
    let temp_secret = temp_secret.expose().to_owned();
    let child = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &temp_secret,
            json!({"name": "child", "scopes": ["read:athletes"]}),
            None,
        )
        .await;
    assert_eq!(child.status, 201, "{}", child.body);
    assert_eq!(child.body["expiresAt"], "2026-11-29T12:00:30Z");
    assert_eq!(child.body["allowedIps"], json!(["198.51.100.0/24"]));
    let longer = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &temp_secret,
            json!({"name": "x", "scopes": ["read:athletes"], "expiresAt": "2027-01-01T00:00:00Z"}),
            None,
        )
        .await;
    assert_problem(&longer, 403);
    let wider = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &temp_secret,
            json!({"name": "x", "scopes": ["read:athletes"], "allowedIps": ["0.0.0.0/0"]}),
            None,
        )
        .await;
    assert_problem(&wider, 403);
    let narrower = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &temp_secret,
            json!({"name": "x", "scopes": ["read:athletes"], "allowedIps": ["198.51.100.7"]}),
            None,
        )
        .await;
    assert_eq!(narrower.status, 201, "{}", narrower.body);
    let child_id = child.body["id"].as_str().unwrap();
    let rotated_child = app.json("POST", &format!("{V1}/api-keys/{child_id}/rotate"), &admin, json!({}), None).await;
    assert_eq!(rotated_child.body["key"]["expiresAt"], "2026-11-29T12:00:30Z", "rotation never extends a key's life");

    // Another business's key is invisible.
    let other = business(&app, "Box Sur").await;
    let other_key = app.key(&other, &[Scope::ReadAthletes], RateTier::Standard).await;
    let other_id =
        platform::lookup_key(app.store.as_ref(), &iron_domain::ApiKeySecret::parse(&other_key).unwrap().hash())
            .await
            .unwrap()
            .unwrap()
            .id;
    assert_problem(&app.get(&format!("{V1}/api-keys/{other_id}"), &admin).await, 404);
    let del = app
        .send(
            iron_testing::request("DELETE", &format!("{V1}/api-keys/{other_id}"), &admin, "198.51.100.1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&del, 404);
    assert_eq!(app.get(&format!("{V1}/athletes"), &other_key).await.status, 200);
}

async fn idempotency(app: TestApp) {
    let scope = business(&app, "Box Este").await;
    let admin = admin(&app, &scope).await;
    let body = json!({"name": "idempotent", "scopes": ["read:athletes"]});
    let first = app.json("POST", &format!("{V1}/api-keys"), &admin, body.clone(), Some("create-1")).await;
    assert_eq!(first.status, 201);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let replay = app.json("POST", &format!("{V1}/api-keys"), &admin, body.clone(), Some("create-1")).await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(replay.body["secret"], serde_json::Value::Null, "the secret exists only in the first response");
    assert_eq!(replay.headers["location"], first.headers["location"]);
    let other_body = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "different", "scopes": ["read:athletes"]}),
            Some("create-1"),
        )
        .await;
    assert_problem(&other_body, 422);
    let long = "k".repeat(256);
    assert_problem(&app.json("POST", &format!("{V1}/api-keys"), &admin, body.clone(), Some(&long)).await, 400);
    // Errors are replayed too (4xx), so a retry can't turn a refusal into a success by luck.
    let refused = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "x", "scopes": ["write:tests"]}),
            Some("refused"),
        )
        .await;
    assert_problem(&refused, 403);
    let refused_again = app
        .json(
            "POST",
            &format!("{V1}/api-keys"),
            &admin,
            json!({"name": "x", "scopes": ["write:tests"]}),
            Some("refused"),
        )
        .await;
    assert_eq!(refused_again.status, 403);
    assert_eq!(refused_again.headers["idempotent-replayed"], "true");

    // 50 parallel requests with one key: one execution.
    let before = platform::list_keys(TenantDb::new(app.store.as_ref(), &scope)).await.unwrap().len();
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, admin) = (app.clone(), admin.clone());
            tokio::spawn(async move {
                app.json(
                    "POST",
                    &format!("{V1}/api-keys"),
                    &admin,
                    json!({"name": "burst", "scopes": ["read:athletes"]}),
                    Some("burst-1"),
                )
                .await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.status == 201 {
            ids.insert(r.body["id"].as_str().unwrap().to_owned());
        }
        statuses.push(r.status.as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert_eq!(ids.len(), 1, "every 201 is the same key");
    assert_eq!(
        platform::list_keys(TenantDb::new(app.store.as_ref(), &scope)).await.unwrap().len(),
        before + 1,
        "exactly one execution"
    );

    // DELETE is covered too.
    let id = ids.into_iter().next().unwrap();
    let del = |k: &'static str| {
        let (app, admin, id) = (app.clone(), admin.clone(), id.clone());
        async move {
            app.send(
                iron_testing::request("DELETE", &format!("{V1}/api-keys/{id}"), &admin, "198.51.100.1")
                    .header("idempotency-key", k)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(del("del-1").await.status, 200);
    let replayed = del("del-1").await;
    assert_eq!(replayed.headers["idempotent-replayed"], "true");
}

async fn ip_allowlists(app: TestApp) {
    let scope = business(&app, "Box Oeste").await;
    let admin = admin(&app, &scope).await;
    let created = app
        .json("POST", &format!("{V1}/api-keys"), &admin, json!({"name": "office only", "scopes": ["read:athletes"], "allowedIps": ["203.0.113.0/24", "2001:db8::/32"]}), None)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["allowedIps"], json!(["203.0.113.0/24", "2001:db8::/32"]));
    let key = created.body["secret"].as_str().unwrap();
    assert_eq!(app.get_from(&format!("{V1}/athletes"), key, "203.0.113.9").await.status, 200);
    assert_eq!(app.get_from(&format!("{V1}/athletes"), key, "2001:db8::5").await.status, 200);
    let refused = app.get_from(&format!("{V1}/athletes"), key, "198.51.100.1").await;
    assert_problem(&refused, 403);
    assert!(refused.body["detail"].as_str().unwrap().contains("IP address"));
    assert!(!refused.body.to_string().contains("203.0.113"), "the allowlist is not echoed");
    // A client-supplied X-Forwarded-For is not trusted by default.
    let spoofed = app
        .send(
            iron_testing::request("GET", &format!("{V1}/athletes"), key, "198.51.100.1")
                .header("x-forwarded-for", "203.0.113.9")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&spoofed, 403);
    // Behind a trusted proxy, the right-most forwarded address counts.
    let mut groups = app.groups.clone();
    groups.api = groups.api.with_client_ip(iron_http::ClientIpConfig { trust_forwarded_for: true });
    let trusted = iron_local::app(&groups);
    let req = iron_testing::request("GET", &format!("{V1}/athletes"), key, "10.0.0.5")
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(trusted, req).await.unwrap();
    assert_eq!(resp.status(), 200);
}

async fn audit_log(app: TestApp) {
    let scope = business(&app, "Box Centro").await;
    let admin = admin(&app, &scope).await;
    let reader = app.key(&scope, &[Scope::ReadAthletes], RateTier::Standard).await;
    let ok = app.get_from(&format!("{V1}/athletes?limit=1"), &reader, "203.0.113.9").await;
    let request_id = ok.headers["x-request-id"].to_str().unwrap().to_owned();
    app.clock.advance(chrono::Duration::seconds(1));
    let missing = app.get_from(&format!("{V1}/athletes/ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"), &reader, "203.0.113.9").await;
    assert_eq!(missing.status, 404);
    app.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(app.get_from(&format!("{V1}/audit-log"), &reader, "203.0.113.9").await.status, 403);
    app.clock.advance(chrono::Duration::seconds(1));

    let log = app.get(&format!("{V1}/audit-log?limit=100"), &admin).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let records = log.body["data"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{}", log.body);
    assert_eq!(records[0]["status"], 403, "newest first");
    let first = &records[2];
    assert_eq!(first["requestId"], request_id.as_str());
    assert_eq!(first["method"], "GET");
    assert_eq!(first["route"], "/api/external/v1/athletes");
    assert_eq!(first["path"], "/api/external/v1/athletes");
    assert_eq!(first["status"], 200);
    assert_eq!(first["clientIp"], "203.0.113.9");
    assert!(first["latencyMs"].as_f64().unwrap() >= 0.0);
    assert_eq!(records[1]["route"], "/api/external/v1/athletes/{id}");
    assert!(!log.body.to_string().contains(&reader[4..]), "keys never appear in the log");

    let reader_id = first["keyId"].as_str().unwrap();
    let by_key = app.get(&format!("{V1}/audit-log?keyId={reader_id}&statusClass=4xx"), &admin).await;
    assert_eq!(by_key.body["data"].as_array().unwrap().len(), 2);
    let ranged = app.get(&format!("{V1}/audit-log?from=2026-11-22T10:00:31Z&to=2026-11-22T10:00:31Z"), &admin).await;
    assert_eq!(ranged.body["data"].as_array().unwrap().len(), 1);
    assert_problem(&app.get(&format!("{V1}/audit-log?statusClass=teapot"), &admin).await, 400);

    // Retention: 90 days by default.
    app.clock.advance(chrono::Duration::days(90));
    let later = app.get(&format!("{V1}/audit-log?limit=100"), &admin).await;
    let left: Vec<_> =
        later.body["data"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap().to_owned()).collect();
    assert!(left.iter().all(|p| p.ends_with("/audit-log")), "older records have expired: {left:?}");
}

macro_rules! on_both_backends {
    ($($case:ident),*) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::TestApp::new()).await; })*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(iron_testing::moto_app().await).await; })*
        }
    };
}

on_both_backends!(key_lifecycle, idempotency, ip_allowlists, audit_log);

#[tokio::test]
async fn beta_features_are_opt_in_and_unknown_ones_refused() {
    let app = TestApp::new();
    let demo = app.seed(31).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let list = app.get(&format!("{V1}/tests?testType=lactate_step&limit=100"), &key).await;
    let with_lt = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["results"]["lt2"]["heartRateBpm"].is_number() && t["results"]["lt1"]["heartRateBpm"].is_number())
        .expect("a test with both thresholds");
    let path = format!("{V1}/tests/{}", with_lt["id"].as_str().unwrap());
    let plain = app.get(&path, &key).await;
    assert!(plain.body.get("zones").is_none());
    let beta = app
        .send(
            iron_testing::request("GET", &path, &key, "198.51.100.1")
                .header("x-beta-features", "test-zones")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(beta.status, 200);
    assert_eq!(beta.body["zones"].as_array().unwrap().len(), 5);
    let unknown = app
        .send(
            iron_testing::request("GET", &format!("{V1}/athletes"), &key, "198.51.100.1")
                .header("x-beta-features", "test-zones, hoverboards")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_problem(&unknown, 400);
    assert_eq!(unknown.body["errors"][0]["field"], "X-Beta-Features");
    assert!(
        unknown.body["detail"].as_str().unwrap().contains("hoverboards")
            && unknown.body["detail"].as_str().unwrap().contains("test-zones")
    );
}

#[tokio::test]
async fn deprecating_a_route_is_one_line() {
    use axum::routing::get;
    let router: axum::Router = axum::Router::new()
        .route(
            "/v1/old",
            get(|| async { "still here" }).layer(iron_http::deprecated(
                "2026-06-01",
                "2027-01-31",
                "https://docs.ironmetrics.io/migrations/old-to-new",
            )),
        )
        .route("/v1/new", get(|| async { "the future" }));
    let call = |path: &'static str| {
        let router = router.clone();
        async move {
            tower::ServiceExt::oneshot(router, axum::http::Request::get(path).body(axum::body::Body::empty()).unwrap())
                .await
                .unwrap()
        }
    };
    let old = call("/v1/old").await;
    assert_eq!(old.headers()["deprecation"], "@1780272000");
    assert_eq!(old.headers()["sunset"], "Sun, 31 Jan 2027 00:00:00 GMT");
    assert_eq!(
        old.headers()["link"],
        "<https://docs.ironmetrics.io/migrations/old-to-new>; rel=\"deprecation\"; type=\"text/html\""
    );
    let new = call("/v1/new").await;
    assert!(!new.headers().contains_key("deprecation"));
}
