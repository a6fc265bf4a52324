//! Webhook registration on both backends: SSRF rules, secrets shown once and stored encrypted,
//! rotation overlap, re-enabling, tenant isolation.

use iron_domain::{RateTier, Scope};
use iron_store::repo::platform;
use iron_testing::{TestApp, assert_problem};
use serde_json::json;

const V1: &str = "/api/external/v1";

async fn registration(app: TestApp) {
    let (_, scope) = platform::create_business(app.store.as_ref(), "Box Hooks", "UTC", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &[Scope::ManageWebhooks], RateTier::Professional).await;
    let reader = app.key(&scope, &[Scope::ReadAthletes], RateTier::Standard).await;
    assert_problem(
        &app.json(
            "POST",
            &format!("{V1}/webhooks"),
            &reader,
            json!({"url": "https://93.184.215.14/hook", "events": ["member.created"]}),
            None,
        )
        .await,
        403,
    );

    // SSRF: refused at registration, with the reason.
    for url in [
        "https://127.0.0.1/hook",
        "https://10.0.0.8/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://93.184.215.14/hook",
        "https://localhost/x",
        "https://[::1]/x",
    ] {
        let r = app
            .json("POST", &format!("{V1}/webhooks"), &key, json!({"url": url, "events": ["member.created"]}), None)
            .await;
        assert_problem(&r, 422);
        assert_eq!(r.body["errors"][0]["field"], "/url", "{url}: {}", r.body);
    }
    let bad = app
        .json(
            "POST",
            &format!("{V1}/webhooks"),
            &key,
            json!({"url": "https://93.184.215.14/hook", "events": ["member.deleted"], "rateLimitPerSecond": 0}),
            None,
        )
        .await;
    assert_problem(&bad, 422);
    let fields: Vec<_> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    assert_eq!(fields, ["/events/0", "/rateLimitPerSecond"]);

    // Create: the secret once; stored only encrypted.
    let created = app
        .json("POST", &format!("{V1}/webhooks"), &key, json!({"url": "https://93.184.215.14/iron?src=gym", "events": ["member.created", "test.completed", "member.created"], "description": "CRM sync — Núñez"}), Some("wh-1"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created.body["events"], json!(["member.created", "test.completed"]));
    assert_eq!(created.body["retryPolicy"], "standard");
    assert_eq!(created.body["rateLimitPerSecond"], 10);
    let replay = app.json("POST", &format!("{V1}/webhooks"), &key, json!({"url": "https://93.184.215.14/iron?src=gym", "events": ["member.created", "test.completed", "member.created"], "description": "CRM sync — Núñez"}), Some("wh-1")).await;
    assert_eq!(replay.body["id"], id.as_str());
    assert!(replay.body["secret"].is_null(), "a replay never carries the secret");
    let raw = app
        .store
        .query(iron_store::Query::new(iron_store::Index::Table, format!("BIZ#{}#WEBHOOK", scope.business_id())))
        .await
        .unwrap();
    let stored = serde_json::Value::Object(raw.items[0].clone()).to_string();
    assert!(!stored.contains(&secret[6..]), "the secret is stored encrypted");
    let got = app.get(&format!("{V1}/webhooks/{id}"), &key).await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("secret").is_none());
    assert_eq!(app.get(&format!("{V1}/webhooks"), &key).await.body["data"].as_array().unwrap().len(), 1);

    // Rotate: a new secret; the old one keeps signing for 24 h.
    let rotated = app.json("POST", &format!("{V1}/webhooks/{id}/rotate-secret"), &key, json!({}), None).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(rotated.body["secret"], secret.as_str());
    assert_eq!(rotated.body["previousSecretUntil"], "2026-11-23T10:00:30Z");

    // Update and re-enable.
    let off = app
        .json("PATCH", &format!("{V1}/webhooks/{id}"), &key, json!({"active": false, "retryPolicy": "extended"}), None)
        .await;
    assert_eq!((off.body["active"].as_bool(), off.body["retryPolicy"].as_str()), (Some(false), Some("extended")));
    let moved =
        app.json("PATCH", &format!("{V1}/webhooks/{id}"), &key, json!({"url": "https://192.168.0.5/x"}), None).await;
    assert_problem(&moved, 422);
    let on = app.json("PATCH", &format!("{V1}/webhooks/{id}"), &key, json!({"active": true}), None).await;
    assert_eq!(on.body["active"], true);

    // Another business sees nothing of it.
    let (_, other) = platform::create_business(app.store.as_ref(), "Other", "UTC", app.clock_now()).await.unwrap();
    let other_key = app.key(&other, &[Scope::ManageWebhooks], RateTier::Standard).await;
    assert_problem(&app.get(&format!("{V1}/webhooks/{id}"), &other_key).await, 404);
    assert_problem(
        &app.json("PATCH", &format!("{V1}/webhooks/{id}"), &other_key, json!({"active": false}), None).await,
        404,
    );
    assert_eq!(app.get(&format!("{V1}/webhooks"), &other_key).await.body["data"].as_array().unwrap().len(), 0);

    let del = app
        .send(
            iron_testing::request("DELETE", &format!("{V1}/webhooks/{id}"), &key, "198.51.100.1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(del.status, 204);
    assert_problem(&app.get(&format!("{V1}/webhooks/{id}"), &key).await, 404);
}

mod embedded {
    #[tokio::test]
    async fn registration() {
        super::registration(super::TestApp::new()).await;
    }
}

/// Names are checked by what DNS answers for them, at registration and on a URL change.
#[tokio::test]
async fn registration_refuses_names_resolving_inside() {
    let dns = std::sync::Arc::new(iron_webhooks::StaticResolver::new());
    let app = TestApp::with_dns(dns.clone());
    let (_, scope) = platform::create_business(app.store.as_ref(), "Box DNS", "UTC", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &[Scope::ManageWebhooks], RateTier::Professional).await;
    let register = |url: String| {
        let (app, key) = (&app, &key);
        async move {
            app.json("POST", &format!("{V1}/webhooks"), key, json!({"url": url, "events": ["member.created"]}), None)
                .await
        }
    };
    for (name, answer) in [
        ("loop.partner.test", "127.0.0.1"),
        ("ten.partner.test", "10.20.30.40"),
        ("meta.partner.test", "169.254.169.254"),
        ("ula.partner.test", "fd00::1"),
    ] {
        dns.answer(name, &["93.184.215.14".parse().unwrap(), answer.parse().unwrap()]);
        let r = register(format!("https://{name}/hook")).await;
        assert_problem(&r, 422);
        assert_eq!(r.body["errors"][0]["field"], "/url", "{name}: {}", r.body);
        let detail = r.body["errors"][0]["message"].as_str().unwrap();
        assert!(detail.contains(answer) && detail.contains("not a public address"), "{name}: {detail}");
    }
    // A name that doesn't resolve yet is accepted: every delivery resolves and checks again.
    let unknown = register("https://not-yet.partner.test/hook".into()).await;
    assert_eq!(unknown.status, 201, "{}", unknown.body);

    dns.answer("hooks.partner.test", &["93.184.215.14".parse().unwrap()]);
    let created = register("https://hooks.partner.test/hook".into()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    // Changing the URL to a name that resolves inside is refused the same way.
    let id = created.body["id"].as_str().unwrap();
    let patched = app
        .json("PATCH", &format!("{V1}/webhooks/{id}"), &key, json!({"url": "https://ten.partner.test/hook"}), None)
        .await;
    assert_problem(&patched, 422);
    assert_eq!(patched.body["errors"][0]["field"], "/url");
}

mod dynamodb {
    #[tokio::test]
    async fn registration() {
        super::registration(iron_testing::moto_app().await).await;
    }
}
