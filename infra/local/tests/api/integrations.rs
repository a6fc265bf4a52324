//! Gyms and the Wodify integration through the whole API, synced by the sync worker against the
//! fake Wodify: connect (a refused key, plan-blocked entities), the backfill and its metrics,
//! one run at a time, pause and resume, key rotation, disconnect with purge, the breaker
//! marking the connection, a step killed mid-way resuming to the same data, the scheduled
//! fan-out and health check, tenant isolation, and the key in no response, log line or stored
//! byte. On the embedded adapters, and the backfill on DynamoDB (moto).

use chrono::NaiveDate;
use iron_domain::sync::{Month, Provider};
use iron_domain::{Id, RateTier, Scope};
use iron_store::repo::platform;
use iron_store::repo::sync as repo;
use iron_store::{EventBus, InProcessBus, OperatorScope, SqliteTable, TableStore, TenantDb, TenantScope};
use iron_sync::wodify::connector::{ConnectorConfig, RetryConfig};
use iron_testing::{TestApp, assert_problem};
use iron_wodify_fake::gym::GymSpec;
use iron_wodify_fake::{FakeWodify, Running};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const V1: &str = "/api/external/v1";
const KEY: &str = "wdf_live_7c1d9e2a4b6f8a0c";
const NEW_KEY: &str = "wdf_live_91b3c5d7e9f1a3b5";

/// The fake Wodify of a small gym on the test clock's day, unthrottled.
async fn fake(clients: usize) -> Running {
    let spec = GymSpec { seed: 11, clients, months: 3, today: NaiveDate::from_ymd_opt(2026, 11, 22).unwrap() };
    let running = FakeWodify::new(spec, vec![KEY.into(), NEW_KEY.into()]).spawn(0).await.expect("fake");
    running.fake.update_faults(|f| f.rate_limit = None);
    running
}

fn connector(fake: &Running) -> ConnectorConfig {
    ConnectorConfig {
        base_url: fake.base_url().parse().unwrap(),
        pace: None,
        timeout: Duration::from_secs(5),
        retry: RetryConfig {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(10),
            attempts: 3,
            throttled_patience: Duration::from_secs(5),
        },
        breaker_threshold: 5,
    }
}

fn app_over(store: Arc<dyn TableStore>, clock: Arc<iron_store::ManualClock>, fake: &Running) -> TestApp {
    let config = connector(fake);
    TestApp::with_state(store, clock, move |mut g| {
        g.integrations.connector = config;
        g
    })
}

fn app(fake: &Running) -> TestApp {
    let clock = Arc::new(iron_store::ManualClock::new(iron_testing::at("2026-11-22T10:00:30Z")));
    let store: Arc<dyn TableStore> = Arc::new(SqliteTable::in_memory(clock.clone()).unwrap());
    app_over(store, clock, fake)
}

async fn business(app: &TestApp, name: &str, scopes: &[Scope]) -> (TenantScope, String) {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), name, "America/New_York", app.clock_now()).await.unwrap();
    let key = app.key(&scope, scopes, RateTier::Unlimited).await;
    (scope.tenant().clone(), key)
}

/// The business's gym (made for it on the first listing).
async fn gym(app: &TestApp, key: &str) -> String {
    let r = app.get(&format!("{V1}/gyms"), key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"][0]["id"].as_str().unwrap().to_owned()
}

async fn connect(app: &TestApp, key: &str, gym: &str, wodify_key: &str) -> iron_testing::Response {
    app.json(
        "POST",
        &format!("{V1}/integrations/wodify/connect"),
        key,
        json!({"gymId": gym, "apiKey": wodify_key}),
        None,
    )
    .await
}

async fn status(app: &TestApp, key: &str, gym: &str) -> Value {
    let r = app.get(&format!("{V1}/integrations/wodify/status?gymId={gym}"), key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

async fn runs(app: &TestApp, key: &str, gym: &str) -> Vec<Value> {
    let r = app.get(&format!("{V1}/integrations/wodify/logs?gymId={gym}&limit=100"), key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["data"].as_array().unwrap().clone()
}

/// Every canonical row of a gym by kind, run ids out (so runs and businesses compare).
async fn canonical(app: &TestApp, scope: &TenantScope, gym: &str) -> BTreeMap<String, Vec<Value>> {
    let op = OperatorScope::new(scope.business_id().clone());
    let db = TenantDb::new(app.store.as_ref(), &op);
    let gym = Id::parse(gym).unwrap();
    let mut out = BTreeMap::new();
    for kind in iron_sync::wodify::endpoints::CANONICAL_KINDS {
        let mut rows: Vec<Value> = repo::canonical_all(db, &gym, kind)
            .await
            .unwrap()
            .iter()
            .map(|j| {
                let mut v: Value = serde_json::from_str(j).unwrap();
                // What ties a row to its run and business: its run, athlete and keys.
                v.as_object_mut()
                    .unwrap()
                    .retain(|k, _| !matches!(k.as_str(), "runId" | "athleteId" | "PK" | "SK" | "GSI1PK" | "GSI1SK"));
                v
            })
            .collect();
        rows.sort_by_key(|v| v.to_string());
        out.insert(kind.to_string(), rows);
    }
    out
}

#[tokio::test]
async fn wodify_connect_backfill_metrics_pause_rotate_and_disconnect() {
    let fake = fake(40).await;
    let app = app(&fake);
    let (scope, key) = business(&app, "Iron Harbor", &Scope::ALL).await;
    let gym = gym(&app, &key).await;
    assert!(gym.starts_with("gym_"));
    // The made-for-you gym is the same on every listing.
    assert_eq!(self::gym(&app, &key).await, gym);

    // Before connecting: 404 naming what to do.
    let r = app.get(&format!("{V1}/integrations/wodify/status?gymId={gym}"), &key).await;
    assert_problem(&r, 404);
    assert!(r.body["detail"].as_str().unwrap().contains("connect"));

    // Bad input, then a key Wodify refuses: 422 with Wodify's reason, nothing saved.
    let r = app
        .json(
            "POST",
            &format!("{V1}/integrations/wodify/connect"),
            &key,
            json!({"gymId": gym, "apiKey": "x", "syncWindowDays": 5, "colour": 1}),
            None,
        )
        .await;
    assert_problem(&r, 422);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/colour", "/apiKey", "/syncWindowDays"], "{}", r.body);
    let r = connect(&app, &key, &gym, "wdf_live_not_a_real_key").await;
    assert_problem(&r, 422);
    assert!(r.body["detail"].as_str().unwrap().contains("Wodify refused the API key (403"), "{}", r.body);
    assert_problem(&app.get(&format!("{V1}/integrations/wodify/status?gymId={gym}"), &key).await, 404);
    // An unknown gym is a 404 before anything else.
    let r = connect(&app, &key, "gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", KEY).await;
    assert_problem(&r, 404);

    // Connect: 201, the backfill queued, the key shown only as its fingerprint.
    let r = connect(&app, &key, &gym, KEY).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["rotated"], false);
    assert_eq!(r.body["connection"]["status"], "connected");
    assert_eq!(r.body["connection"]["keyFingerprint"], "…8a0c");
    assert_eq!(r.body["connection"]["keyVersion"], 1);
    assert_eq!(r.body["run"]["mode"], "backfill");
    assert_eq!(r.body["run"]["trigger"], "connect");
    assert_eq!(r.body["run"]["status"], "queued");
    assert_eq!(r.body["run"]["windowFrom"], "2024-11-22");
    let first_run = r.body["run"]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["connection"]["currentRunId"], first_run.as_str());

    // One run at a time.
    let r = app.json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym}), None).await;
    assert_problem(&r, 409);
    assert!(r.body["detail"].as_str().unwrap().contains(&first_run));

    // The worker runs it (one page a step: each step its own message, as on SQS).
    let bus = Arc::new(InProcessBus::new());
    let worker = app.sync_worker(Duration::ZERO, Some(bus.clone() as Arc<dyn EventBus>));
    let steps = app.run_syncs(&worker).await;
    assert!(steps > 5, "{steps} steps");
    let s = status(&app, &key, &gym).await;
    assert_eq!(s["status"], "connected");
    assert_eq!(s["backfilled"], true);
    assert_eq!(s["watermark"], "2026-11-22");
    assert_eq!(s["lastSuccessAt"], "2026-11-22T10:00:30Z");
    assert_eq!(s["currentRunId"], Value::Null);
    assert_eq!(s["stale"], false);
    assert!(s["availability"].as_object().unwrap().values().all(|a| a["available"] == true), "{s}");
    let logs = runs(&app, &key, &gym).await;
    assert_eq!(logs.len(), 1);
    let run = &logs[0];
    assert_eq!(run["status"], "succeeded", "{run}");
    // Every message but the last: the business's analytics recompute the run's success queued.
    assert_eq!(run["invocations"].as_u64().unwrap() as usize, steps - 1);
    let wodify = fake.fake.gym();
    assert_eq!(run["counts"]["clients"]["pulled"].as_u64().unwrap() as usize, wodify.clients.len());
    assert!(run["counts"]["attendance"]["pulled"].as_u64().unwrap() > 100, "{run}");
    assert!(run["latency"]["/clients"]["requests"].as_u64().unwrap() >= 1, "{run}");
    assert_eq!(run["cursor"]["entity"], Value::Null);

    // The sync's events: on the bus, and in the webhooks outbox.
    let kinds: Vec<String> = bus.recent().iter().map(|e| e.event_type.clone()).collect();
    assert_eq!(kinds.first().map(String::as_str), Some("wodify.sync.started"));
    assert_eq!(kinds.iter().filter(|k| *k == "wodify.sync.entity.completed").count(), 7, "{kinds:?}");
    assert!(bus.recent().iter().all(|e| &e.business_id == scope.business_id()));
    // Each carries what the catalogue says (its required fields, as emitted).
    let catalogue = app.get(&format!("{V1}/event-types"), &key).await;
    for e in bus.recent() {
        let t = catalogue.body["data"].as_array().unwrap().iter().find(|t| t["name"] == e.event_type.as_str()).unwrap();
        assert_eq!(t["emitted"], true);
        for field in t["schema"]["properties"]["data"]["required"].as_array().unwrap() {
            assert!(e.data.get(field.as_str().unwrap()).is_some(), "{} lacks {field}: {}", e.event_type, e.data);
        }
    }

    // Members are athletes (source wodify, external id the client id).
    let r = app.get(&format!("{V1}/athletes?limit=100"), &key).await;
    assert_eq!(r.status, 200);
    let athletes = r.body["data"].as_array().unwrap();
    assert_eq!(athletes.len(), wodify.clients.len().min(100));
    assert!(athletes.iter().all(|a| a["source"] == "wodify" && a["externalId"].is_string()), "{}", athletes[0]);

    // The monthly metrics, from the cache, traceable to the run.
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-09&to=2026-11"), &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let months = r.body["months"].as_array().unwrap();
    assert_eq!(
        months.iter().map(|m| m["month"].as_str().unwrap()).collect::<Vec<_>>(),
        ["2026-09", "2026-10", "2026-11"]
    );
    for m in months {
        assert!(m["activeMembers"].as_u64().unwrap() > 0, "{m}");
        assert!(m["signIns"].as_u64().unwrap() > 0, "{m}");
        assert_eq!(m["trace"]["runId"], first_run.as_str());
        assert_eq!(m["currency"], "USD");
    }
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-12&to=2026-11"), &key).await;
    assert_problem(&r, 400);
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2023-01&to=2026-11"), &key).await;
    assert_problem(&r, 400);
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-13"), &key).await;
    assert_problem(&r, 400);

    // The run's success queued the business's analytics recompute (the worker ran it too):
    // synced members are scored from their class sign-ins, memberships and payments.
    let r = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&limit=100"), &key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["summary"]["membersScored"].as_u64().unwrap() > 0, "{}", r.body["summary"]);
    let listed = r.body["atRiskMembers"].as_array().unwrap();
    assert!(listed.iter().any(|m| m["monthlyValue"].as_f64().unwrap() > 0.0), "Wodify memberships priced");
    assert!(
        listed.iter().any(|m| m["factors"][0]["detail"].as_str().unwrap().starts_with("Last visit")),
        "class sign-ins are visits"
    );
    let e = app.get(&format!("{V1}/analytics/engagement?period=month"), &key).await;
    assert!(e.body["current"]["classShare"].as_f64().unwrap() > 0.99, "synced sign-ins are classes: {}", e.body);

    // A recompute from the raw zone alone (every record as pulled, transformed again) reproduces
    // the cache exactly.
    {
        let op = OperatorScope::new(scope.business_id().clone());
        let db = TenantDb::new(app.store.as_ref(), &op);
        let g = repo::get_gym(db, &Id::parse(&gym).unwrap()).await.unwrap();
        let mut cached = repo::metrics_range(db, &g.id, "2024-11", "2026-11").await.unwrap();
        assert_eq!(cached.len(), 25);
        let months: Vec<Month> = cached.iter().map(|m| Month::parse(&m.month).unwrap()).collect();
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let from_raw = iron_sync::wodify::run::metrics_from_raw(db, &g, &months, today, "USD", true).await.unwrap();
        for m in &mut cached {
            (m.trace.run_id, m.trace.computed_at) = (None, None);
        }
        assert_eq!(from_raw, cached);
        assert!(from_raw.iter().any(|m| m.revenue_collected > 0.0 && m.active_members > 0), "the gym has figures");
    }

    // Overlapping incremental runs: no duplicates, the same rows.
    let before = canonical(&app, &scope, &gym).await;
    for _ in 0..2 {
        // (Runs sort by their ids' time: a minute apart, as runs are.)
        app.clock.advance(chrono::Duration::minutes(1));
        let r = app
            .json(
                "POST",
                &format!("{V1}/integrations/wodify/sync"),
                &key,
                json!({"gymId": gym, "mode": "incremental"}),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(r.body["windowFrom"], "2026-11-19");
        app.run_syncs(&worker).await;
    }
    assert_eq!(canonical(&app, &scope, &gym).await, before);
    let r = app
        .json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym, "mode": "weekly"}), None)
        .await;
    assert_problem(&r, 422);

    // Pause: no runs; resume: runs again.
    let r = app.json("POST", &format!("{V1}/integrations/wodify/pause"), &key, json!({"gymId": gym}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "paused");
    let r = app.json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym}), None).await;
    assert_problem(&r, 409);
    assert!(r.body["detail"].as_str().unwrap().contains("paused"));
    let r = app.json("POST", &format!("{V1}/integrations/wodify/resume"), &key, json!({"gymId": gym}), None).await;
    assert_eq!(r.body["status"], "connected");

    // Rotation while a run is in progress: 200, the run goes on and finishes with the new key.
    app.clock.advance(chrono::Duration::minutes(1));
    let r = app
        .json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym, "mode": "reconcile"}), None)
        .await;
    assert_eq!(r.status, 202);
    let reconcile = r.body["id"].as_str().unwrap().to_owned();
    let r = connect(&app, &key, &gym, NEW_KEY).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["rotated"], true);
    assert_eq!(r.body["run"], Value::Null);
    assert_eq!(r.body["connection"]["keyFingerprint"], "…a3b5");
    assert_eq!(r.body["connection"]["keyVersion"], 2);
    assert_eq!(r.body["connection"]["currentRunId"], reconcile.as_str());
    fake.fake.set_keys(vec![NEW_KEY.into()]);
    app.run_syncs(&worker).await;
    let logs = runs(&app, &key, &gym).await;
    assert_eq!(logs[0]["id"], reconcile.as_str());
    assert_eq!(logs[0]["status"], "succeeded", "{}", logs[0]);
    assert_eq!(logs[0]["mode"], "reconcile");
    assert_eq!(logs[0]["windowFrom"], "2026-10-08");

    // Disconnect, keeping the data; then again with purge.
    let r = app
        .send(
            iron_testing::request("DELETE", &format!("{V1}/integrations/wodify?gymId={gym}"), &key, "198.51.100.1")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["connection"]["status"], "disconnected");
    assert_eq!(r.body["connection"]["keyFingerprint"], Value::Null);
    assert_eq!(r.body["purgedItems"], 0);
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-11&to=2026-11"), &key).await;
    assert_eq!(r.body["months"].as_array().unwrap().len(), 1);
    let r = app.json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym}), None).await;
    assert_problem(&r, 409);
    let r = app
        .send(
            iron_testing::request(
                "DELETE",
                &format!("{V1}/integrations/wodify?gymId={gym}&purge=yes"),
                &key,
                "198.51.100.1",
            )
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert_problem(&r, 400);
    let r = app
        .send(
            iron_testing::request(
                "DELETE",
                &format!("{V1}/integrations/wodify?gymId={gym}&purge=true"),
                &key,
                "198.51.100.1",
            )
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body["purgedItems"].as_u64().unwrap() > 100, "{}", r.body);
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-11&to=2026-11"), &key).await;
    assert_eq!(r.body["months"], json!([]));
    assert!(canonical(&app, &scope, &gym).await.values().all(Vec::is_empty));
    // The logs stay (what happened), and a connect again starts over with a backfill.
    assert_eq!(runs(&app, &key, &gym).await.len(), 4);
    let r = connect(&app, &key, &gym, NEW_KEY).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["connection"]["status"], "connected");
    assert_eq!(r.body["connection"]["watermark"], Value::Null);
    assert_eq!(r.body["run"]["mode"], "backfill", "the purged data comes back: {}", r.body);
}

#[tokio::test]
async fn wodify_plan_blocked_entities_are_unavailable_not_fatal() {
    let fake = fake(20).await;
    fake.fake.update_faults(|f| f.blocked = vec!["/financials".into()]);
    let app = app(&fake);
    let (_, key) = business(&app, "Iron Harbor", &[Scope::ManageIntegrations]).await;
    let gym = gym(&app, &key).await;
    let r = connect(&app, &key, &gym, KEY).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let a = &r.body["connection"]["availability"];
    assert_eq!(a["clients"]["available"], true);
    assert_eq!(a["invoices"]["available"], false);
    assert!(a["invoices"]["reason"].as_str().unwrap().contains("your Wodify plan does not allow"), "{a}");
    assert_eq!(a["transactions"]["available"], false);
    let worker = app.sync_worker(Duration::from_secs(60), None);
    app.run_syncs(&worker).await;
    let logs = runs(&app, &key, &gym).await;
    assert_eq!(logs[0]["status"], "succeeded", "{}", logs[0]);
    assert_eq!(logs[0]["counts"]["invoices"]["pulled"], 0);
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-11&to=2026-11"), &key).await;
    assert_eq!(r.body["months"][0]["revenueCollected"], 0.0, "{}", r.body);
}

#[tokio::test]
async fn wodify_breaker_marks_the_connection_and_a_later_run_mends_it() {
    let fake = fake(20).await;
    let app = app(&fake);
    let (_, key) = business(&app, "Iron Harbor", &[Scope::ManageIntegrations]).await;
    let gym = gym(&app, &key).await;
    assert_eq!(connect(&app, &key, &gym, KEY).await.status, 201);
    // A long 5xx burst: the breaker opens, the run fails, the connection is marked.
    fake.fake.update_faults(|f| f.server_errors = 1000);
    let worker = app.sync_worker(Duration::from_secs(60), None);
    app.run_syncs(&worker).await;
    let s = status(&app, &key, &gym).await;
    assert_eq!(s["status"], "error", "{s}");
    assert_eq!(s["consecutiveFailures"], 1);
    let why = s["lastError"]["message"].as_str().unwrap();
    assert!(why.contains("503") || why.contains("too many failed requests"), "{s}");
    assert_eq!(s["backfilled"], false);
    assert_eq!(s["watermark"], Value::Null);
    let logs = runs(&app, &key, &gym).await;
    assert_eq!(logs[0]["status"], "failed");
    assert!(fake.fake.stats().requests < 20, "the breaker stopped the calls: {:?}", fake.fake.stats().requests);
    // Wodify back: the next run (the schedule's or a manual one) succeeds and mends it.
    fake.fake.update_faults(|f| f.server_errors = 0);
    let r = app
        .json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym, "mode": "backfill"}), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    app.run_syncs(&worker).await;
    let s = status(&app, &key, &gym).await;
    assert_eq!(s["status"], "connected");
    assert_eq!(s["consecutiveFailures"], 0);
    assert_eq!(s["backfilled"], true);
}

#[tokio::test]
async fn wodify_step_killed_mid_way_resumes_to_the_same_data() {
    let fake = fake(60).await;
    let app = app(&fake);
    let (a, key_a) = business(&app, "Killed", &[Scope::ManageIntegrations]).await;
    let (b, key_b) = business(&app, "Uninterrupted", &[Scope::ManageIntegrations]).await;
    let gym_a = gym(&app, &key_a).await;
    let gym_b = gym(&app, &key_b).await;
    assert_eq!(connect(&app, &key_a, &gym_a, KEY).await.status, 201);
    let worker = app.sync_worker(Duration::from_secs(600), None);
    let queue = app.groups.integrations.sync_queue.clone();
    // Kill the step at arbitrary points: the future dropped mid-flight, its message not deleted.
    let mut kills = 0;
    for cut_ms in [5u64, 15, 40, 80] {
        let got = queue.receive(1, Duration::from_secs(30), Duration::ZERO).await.unwrap();
        let Some(m) = got.into_iter().next() else { break };
        if tokio::time::timeout(Duration::from_millis(cut_ms), worker.handle_message(&m.body)).await.is_err() {
            kills += 1;
        } else {
            queue.delete(&m.receipt).await.unwrap();
            break;
        }
        // The message comes back after its visibility timeout (and the run's claim is its own).
        app.clock.advance(chrono::Duration::seconds(31));
    }
    assert!(kills >= 3, "{kills} kills");
    let logs = runs(&app, &key_a, &gym_a).await;
    assert_eq!(logs[0]["status"], "running", "killed mid-way: {}", logs[0]);
    app.run_syncs(&worker).await;
    let logs = runs(&app, &key_a, &gym_a).await;
    assert_eq!(logs[0]["status"], "succeeded", "{}", logs[0]);
    assert_eq!(logs.len(), 1);
    // The same gym synced without interruption by another business: the same rows.
    assert_eq!(connect(&app, &key_b, &gym_b, KEY).await.status, 201);
    app.run_syncs(&worker).await;
    assert_eq!(canonical(&app, &a, &gym_a).await, canonical(&app, &b, &gym_b).await);
    let metrics = |key: String, gym: String| {
        let app = &app;
        async move {
            let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly?from=2026-09&to=2026-11"), &key).await;
            let mut months = r.body["months"].as_array().unwrap().clone();
            for m in &mut months {
                m.as_object_mut().unwrap().remove("trace");
            }
            months
        }
    };
    assert_eq!(metrics(key_a.clone(), gym_a.clone()).await, metrics(key_b.clone(), gym_b.clone()).await);
}

#[tokio::test]
async fn wodify_nightly_fan_out_and_health_check() {
    let fake = fake(15).await;
    let app = app(&fake);
    let mut gyms = vec![];
    for name in ["One", "Two", "Three"] {
        let (scope, key) = business(&app, name, &[Scope::ManageIntegrations]).await;
        let gym = gym(&app, &key).await;
        assert_eq!(connect(&app, &key, &gym, KEY).await.status, 201);
        gyms.push((scope, key, gym));
    }
    let worker = app.sync_worker(Duration::from_secs(60), None);
    app.run_syncs(&worker).await;
    // Three paused: not scheduled.
    let (_, key3, gym3) = &gyms[2];
    app.json("POST", &format!("{V1}/integrations/wodify/pause"), key3, json!({"gymId": gym3}), None).await;
    // A day later (a Monday): one incremental run per connected gym, each its own message.
    app.clock.advance(chrono::Duration::days(1));
    let out = worker.fan_out().await.unwrap();
    assert_eq!(out.queued.len(), 2, "{out:?}");
    assert_eq!(out.skipped, 0);
    let again = worker.fan_out().await.unwrap();
    assert_eq!((again.queued.len(), again.skipped), (0, 2), "a run of each is in progress");
    app.run_syncs(&worker).await;
    for (_, key, gym) in &gyms[..2] {
        let logs = runs(&app, key, gym).await;
        assert_eq!(logs[0]["trigger"], "schedule");
        assert_eq!(logs[0]["mode"], "incremental");
        assert_eq!(logs[0]["status"], "succeeded");
    }
    // On Sunday, the weekly reconciliation.
    app.clock.advance(chrono::Duration::days(6));
    let out = worker.fan_out().await.unwrap();
    app.run_syncs(&worker).await;
    assert_eq!(out.queued.len(), 2);
    assert_eq!(runs(&app, &gyms[0].1, &gyms[0].2).await[0]["mode"], "reconcile");
    // Health: nobody stale yet; 25 h without a success, both connected gyms are.
    let health = worker.health().await.unwrap();
    assert_eq!(health.len(), 2);
    assert!(health.iter().all(|h| !h.stale));
    app.clock.advance(chrono::Duration::hours(25));
    let health = worker.health().await.unwrap();
    assert!(health.iter().all(|h| h.stale && h.hours_since_success > 24.0), "{health:?}");
    let s = status(&app, &gyms[0].1, &gyms[0].2).await;
    assert_eq!(s["stale"], true);
    // The Lambda's schedule events reach the same code.
    let r = worker.handle_event(json!({"schedule": "health"})).await.unwrap();
    assert_eq!(r, json!({"gyms": 2, "stale": 2}));
    assert!(worker.handle_event(json!({"schedule": "weekly"})).await.is_err());
    // The metrics the alarms of template.yaml watch, in CloudWatch's Embedded Metric Format.
    let line: Value = serde_json::from_str(&iron_sync_worker::emf_line(
        &[("Provider", "wodify")],
        &[("StaleGyms", 2.0, "Count")],
        app.clock_now(),
    ))
    .unwrap();
    assert_eq!(line["StaleGyms"], 2.0);
    assert_eq!(line["Provider"], "wodify");
    let spec = &line["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(spec["Namespace"], "IronMetrics/Sync");
    assert_eq!(spec["Dimensions"], json!([["Provider"]]));
    assert_eq!(spec["Metrics"], json!([{"Name": "StaleGyms", "Unit": "Count"}]));
    let template = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml")).unwrap();
    for metric in ["StaleGyms", "ConnectorRequests", "ConnectorErrors"] {
        assert!(template.contains(&format!("MetricName: {metric}")), "an alarm watches {metric}");
    }
}

#[tokio::test]
async fn wodify_a_run_whose_worker_died_is_failed_when_the_next_one_takes_over() {
    let fake = fake(10).await;
    let app = app(&fake);
    let (_, key) = business(&app, "Iron Harbor", &[Scope::ManageIntegrations]).await;
    let gym = gym(&app, &key).await;
    let r = connect(&app, &key, &gym, KEY).await;
    let dead = r.body["run"]["id"].as_str().unwrap().to_owned();
    // Its message is never handled (dead-lettered); the claim lapses after 15 minutes.
    let queue = app.groups.integrations.sync_queue.clone();
    let m = queue.receive(1, Duration::from_secs(3600), Duration::ZERO).await.unwrap();
    queue.delete(&m[0].receipt).await.unwrap();
    let r = app.json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym}), None).await;
    assert_problem(&r, 409);
    app.clock.advance(chrono::Duration::minutes(16));
    let r = app
        .json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym, "mode": "backfill"}), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let logs = runs(&app, &key, &gym).await;
    let old = logs.iter().find(|r| r["id"] == dead.as_str()).unwrap();
    assert_eq!(old["status"], "failed");
    assert!(old["error"].as_str().unwrap().contains("claim lapsed"), "{old}");
    app.run_syncs(&app.sync_worker(Duration::from_secs(60), None)).await;
    assert_eq!(runs(&app, &key, &gym).await[0]["status"], "succeeded");
}

#[tokio::test]
async fn wodify_gym_a_is_unreachable_with_gym_b_credentials() {
    let fake = fake(15).await;
    let app = app(&fake);
    let (a, key_a) = business(&app, "A", &[Scope::ManageIntegrations]).await;
    let (b, key_b) = business(&app, "B", &Scope::ALL).await;
    let gym_a = gym(&app, &key_a).await;
    let gym_b = gym(&app, &key_b).await;
    assert_eq!(connect(&app, &key_a, &gym_a, KEY).await.status, 201);
    let worker = app.sync_worker(Duration::from_secs(60), None);
    app.run_syncs(&worker).await;
    // B's key and A's gym id: 404 everywhere, as for an unknown gym.
    for path in [
        format!("{V1}/gyms/{gym_a}"),
        format!("{V1}/integrations/wodify/status?gymId={gym_a}"),
        format!("{V1}/integrations/wodify/logs?gymId={gym_a}"),
        format!("{V1}/gyms/{gym_a}/metrics/monthly"),
    ] {
        assert_problem(&app.get(&path, &key_b).await, 404);
    }
    for (path, body) in [
        ("connect", json!({"gymId": gym_a, "apiKey": KEY})),
        ("sync", json!({"gymId": gym_a})),
        ("pause", json!({"gymId": gym_a})),
        ("resume", json!({"gymId": gym_a})),
    ] {
        let r = app.json("POST", &format!("{V1}/integrations/wodify/{path}"), &key_b, body, None).await;
        assert_problem(&r, 404);
    }
    let r = app
        .send(
            iron_testing::request(
                "DELETE",
                &format!("{V1}/integrations/wodify?gymId={gym_a}&purge=true"),
                &key_b,
                "198.51.100.1",
            )
            .body(axum::body::Body::empty())
            .unwrap(),
        )
        .await;
    assert_problem(&r, 404);
    // B's own gym is untouched by A's sync, and B's listing shows only B's gym.
    let r = app.get(&format!("{V1}/gyms"), &key_b).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["data"][0]["id"], gym_b.as_str());
    assert!(canonical(&app, &b, &gym_a).await.values().all(Vec::is_empty));
    // A forged queue message (B's business, A's gym and run) finds nothing and does nothing.
    let run_a = runs(&app, &key_a, &gym_a).await[0]["id"].as_str().unwrap().to_owned();
    let forged = json!({"businessId": b.business_id(), "gymId": gym_a, "runId": run_a}).to_string();
    worker.handle_message(&forged).await.unwrap();
    assert!(canonical(&app, &b, &gym_a).await.values().all(Vec::is_empty));
    // A's sealed key does not open under B's ids.
    let op = OperatorScope::new(a.business_id().clone());
    let conn =
        repo::get_connection(TenantDb::new(app.store.as_ref(), &op), Provider::Wodify, &Id::parse(&gym_a).unwrap())
            .await
            .unwrap()
            .unwrap();
    let envelope = conn.envelope().unwrap();
    let cipher = &app.groups.integrations.cipher;
    let own = iron_sync::wodify::service::key_context(a.business_id(), &Id::parse(&gym_a).unwrap());
    assert_eq!(cipher.decrypt(envelope, &own).await.unwrap(), KEY.as_bytes());
    let other = iron_sync::wodify::service::key_context(b.business_id(), &Id::parse(&gym_a).unwrap());
    assert!(cipher.decrypt(envelope, &other).await.is_err());
}

/// A writer of log lines into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn wodify_key_is_in_no_response_log_line_or_stored_byte() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fake = fake(20).await;
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(iron_store::ManualClock::new(iron_testing::at("2026-11-22T10:00:30Z")));
    let table = Arc::new(SqliteTable::open(&dir.path().join("table.db"), clock.clone()).unwrap());
    let app = app_over(table.clone(), clock, &fake);
    let (_, key) = business(&app, "Iron Harbor", &Scope::ALL).await;
    let gym = gym(&app, &key).await;
    let mut bodies = vec![];
    // Every way the key goes in: a refused one, a connect, a rotation; runs that fail (2xx error
    // bodies, 5xx) and succeed; the audit log of it all.
    let r = connect(&app, &key, &gym, "wdf_live_refused_0000").await;
    bodies.push(r.body.to_string());
    let r = connect(&app, &key, &gym, KEY).await;
    assert_eq!(r.status, 201);
    bodies.push(r.body.to_string());
    let worker = app.sync_worker(Duration::from_secs(60), None);
    fake.fake.update_faults(|f| f.error_bodies = 50);
    app.run_syncs(&worker).await;
    let r = app
        .json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym, "mode": "backfill"}), None)
        .await;
    bodies.push(r.body.to_string());
    app.run_syncs(&worker).await;
    fake.fake.update_faults(|f| f.error_bodies = 0);
    let r = connect(&app, &key, &gym, NEW_KEY).await;
    assert_eq!(r.status, 200, "{}", r.body);
    bodies.push(r.body.to_string());
    for path in [
        format!("{V1}/integrations/wodify/status?gymId={gym}"),
        format!("{V1}/integrations/wodify/logs?gymId={gym}"),
        format!("{V1}/gyms/{gym}/metrics/monthly"),
        format!("{V1}/audit-log?limit=100"),
    ] {
        let r = app.get(&path, &key).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        bodies.push(r.body.to_string());
    }
    let logs_text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs_text.contains("sync run failed"), "the failed run was logged");
    let failed = runs(&app, &key, &gym).await;
    assert_eq!(failed.len(), 2);
    table.checkpoint().unwrap();
    let mut stored = vec![];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        stored.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(stored.len() > 50_000, "the table holds the sync: {} bytes", stored.len());
    for secret in [KEY, NEW_KEY, "wdf_live_refused_0000"] {
        for b in &bodies {
            assert!(!b.contains(secret), "a response holds the key: {b}");
        }
        assert!(!logs_text.contains(secret), "a log line holds the key");
        assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()), "the table holds the key in plaintext");
    }
    // What is shown instead.
    assert!(bodies.iter().any(|b| b.contains("…a3b5")));
}

#[tokio::test]
async fn wodify_gyms_group_locations_and_check_their_fields() {
    let fake = fake(10).await;
    let app = app(&fake);
    let (_, key) = business(&app, "Iron Harbor", &[Scope::ManageIntegrations, Scope::ManageLocations]).await;
    let r = app
        .json(
            "POST",
            &format!("{V1}/locations"),
            &key,
            json!({"name": "Harbor North", "timezone": "America/New_York"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let loc = r.body["id"].as_str().unwrap().to_owned();
    let r = app
        .json(
            "POST",
            &format!("{V1}/gyms"),
            &key,
            json!({"name": "North", "locationIds": [loc], "currency": "EUR"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["locationIds"], json!([loc]));
    assert_eq!(r.body["currency"], "EUR");
    let id = r.body["id"].as_str().unwrap().to_owned();
    // A business that made its own gym gets no extra one.
    let r = app.get(&format!("{V1}/gyms"), &key).await;
    assert_eq!(r.body["data"].as_array().unwrap().len(), 1);
    let r = app
        .json(
            "POST",
            &format!("{V1}/gyms"),
            &key,
            json!({"name": " ", "locationIds": ["loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "x"], "currency": "eur", "size": 3}),
            None,
        )
        .await;
    assert_problem(&r, 422);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/size", "/name", "/currency", "/locationIds/0", "/locationIds/1"]);
    let r = app.json("PATCH", &format!("{V1}/gyms/{id}"), &key, json!({"name": "Harbor North"}), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["name"], "Harbor North");
    assert_eq!(r.body["currency"], "EUR");
    assert_problem(&app.get(&format!("{V1}/gyms/gym_nope"), &key).await, 404);
    // Scopes: without manage:integrations (or read:analytics) nothing here is open.
    let (_, reader) = business(&app, "Reader", &[Scope::ReadAthletes]).await;
    assert_problem(&app.get(&format!("{V1}/gyms"), &reader).await, 403);
    // A read:analytics key reads gyms and their metrics, not the connection.
    let (_, analyst) = business(&app, "Analyst", &[Scope::ReadAnalytics]).await;
    let gym = gym(&app, &analyst).await;
    let r = app.get(&format!("{V1}/gyms/{gym}/metrics/monthly"), &analyst).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["months"], json!([]));
    assert_problem(&app.get(&format!("{V1}/integrations/wodify/status?gymId={gym}"), &analyst).await, 403);
}

#[tokio::test]
async fn wodify_backfill_twice_on_dynamodb() {
    let fake = fake(20).await;
    let moto = iron_testing::moto_app().await;
    backfill_twice(&app_over(moto.store.clone(), moto.clock.clone(), &fake)).await;
}

#[tokio::test]
async fn wodify_backfill_twice_embedded() {
    let fake = fake(20).await;
    backfill_twice(&app(&fake)).await;
}

/// Two backfills of one gym: the second writes nothing and leaves the same rows.
async fn backfill_twice(app: &TestApp) {
    let (scope, key) = business(app, "Iron Harbor", &[Scope::ManageIntegrations]).await;
    let gym = gym(app, &key).await;
    assert_eq!(connect(app, &key, &gym, KEY).await.status, 201);
    let worker = app.sync_worker(Duration::from_secs(60), None);
    app.run_syncs(&worker).await;
    let logs = runs(app, &key, &gym).await;
    assert_eq!(logs[0]["status"], "succeeded", "{}", logs[0]);
    let first = canonical(app, &scope, &gym).await;
    assert!(first["attendance"].len() > 50);
    // A second backfill changes nothing: every row read back equals the row made again.
    app.clock.advance(chrono::Duration::minutes(1));
    let r = app
        .json("POST", &format!("{V1}/integrations/wodify/sync"), &key, json!({"gymId": gym, "mode": "backfill"}), None)
        .await;
    assert_eq!(r.status, 202);
    app.run_syncs(&worker).await;
    let logs = runs(app, &key, &gym).await;
    assert_eq!(logs[0]["status"], "succeeded");
    let upserted: u64 = logs[0]["counts"].as_object().unwrap().values().map(|c| c["upserted"].as_u64().unwrap()).sum();
    assert_eq!(upserted, 0, "nothing changed, nothing written: {}", logs[0]["counts"]);
    assert_eq!(canonical(app, &scope, &gym).await, first);
}

/// The sample events of the sync worker (`events/sqs-sync.json`, `events/schedule-sync-*.json`)
/// through its Lambda event handler: a step of a real run (the sample's ids replaced), then the
/// nightly fan-out and the health check as EventBridge Scheduler delivers them.
#[tokio::test]
async fn wodify_sample_events_through_the_sync_worker() {
    let fake = fake(10).await;
    let app = app(&fake);
    let (scope, key) = business(&app, "Iron Harbor", &[Scope::ManageIntegrations]).await;
    let gym = gym(&app, &key).await;
    let r = connect(&app, &key, &gym, KEY).await;
    let run = r.body["run"]["id"].as_str().unwrap().to_owned();
    let events = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");
    let sample = |name: &str| std::fs::read_to_string(format!("{events}/{name}")).unwrap();
    let raw = sample("sqs-sync.json")
        .replace("biz_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", scope.business_id().as_str())
        .replace("gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &gym)
        .replace("run_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", &run);
    let worker = app.sync_worker(Duration::from_secs(60), None);
    let out = worker.handle_event(serde_json::from_str(&raw).unwrap()).await.unwrap();
    assert_eq!(out, json!({"batchItemFailures": []}));
    assert_eq!(runs(&app, &key, &gym).await[0]["status"], "succeeded");
    app.clock.advance(chrono::Duration::days(1));
    let out = worker.handle_event(serde_json::from_str(&sample("schedule-sync-nightly.json")).unwrap()).await.unwrap();
    assert_eq!(out, json!({"queued": 1, "skipped": 0}));
    let out = worker.handle_event(serde_json::from_str(&sample("schedule-sync-health.json")).unwrap()).await.unwrap();
    assert_eq!(out, json!({"gyms": 1, "stale": 0}));
}
