//! What each operation spends on DynamoDB, counted by the metered table adapter
//! (`iron_store::metered`, DynamoDB's on-demand billing rules) around SQLite, with the Demo Gym
//! and a Standard-tier key (so the rate-limit counters are written, as they are for customers).
//! `docs/COST.md` prices these figures; this test keeps them true. Print the table with
//! `cargo test -p iron-local --test api cost -- --nocapture`.

use iron_domain::{RateTier, Scope};
use iron_store::metered::{MeteredTable, Usage};
use iron_store::{ManualClock, SqliteTable, TableStore};
use iron_testing::{TestApp, at};
use serde_json::{Value, json};
use std::sync::Arc;

const V1: &str = "/api/external/v1";

/// (operation, read units, write units, table calls) as docs/COST.md lists them.
const EXPECTED: &[(&str, f64, f64, u32)] = &[
    ("listAthletes (limit 25)", 6.0, 4.0, 5),
    ("getAthlete", 3.0, 4.0, 6),
    ("createAthlete", 1.0, 16.0, 5),
    ("updateAthlete", 2.0, 12.0, 6),
    ("listTests (limit 25)", 5.0, 4.0, 5),
    ("getTest", 2.0, 4.0, 5),
    ("getReferralStats", 5.0, 4.0, 6),
    ("listApiKeys", 3.0, 4.0, 6),
    ("createApiKey", 1.0, 10.0, 5),
    ("listAuditLog (limit 25)", 3.0, 4.0, 5),
    ("listWebhooks", 2.0, 4.0, 5),
    ("createWebhook", 2.0, 5.0, 6),
    ("testWebhook", 2.0, 14.0, 6),
    ("listDeliveries", 2.5, 4.0, 6),
];

#[tokio::test]
async fn units_each_operation_spends() {
    let clock = Arc::new(ManualClock::new(at("2026-11-22T10:00:30Z")));
    let metered = Arc::new(MeteredTable::new(Arc::new(SqliteTable::in_memory(clock.clone()).unwrap())));
    let store: Arc<dyn TableStore> = metered.clone();
    let app = TestApp::with_store(store, clock);
    let demo = app.seed(4).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Standard).await;
    let athlete =
        app.get(&format!("{V1}/athletes?limit=1"), &key).await.body["data"][0]["id"].as_str().unwrap().to_owned();
    let test = app.get(&format!("{V1}/tests?limit=1"), &key).await.body["data"][0]["id"].as_str().unwrap().to_owned();
    let hook = app
        .json(
            "POST",
            &format!("{V1}/webhooks"),
            &key,
            json!({"url": "https://93.184.215.14/a", "events": ["member.created"]}),
            None,
        )
        .await;
    let webhook = hook.body["id"].as_str().unwrap().to_owned();

    let mut measured: Vec<(String, Usage)> = Vec::new();
    let mut run = |name: &str, usage: Usage| measured.push((name.to_owned(), usage));
    macro_rules! measure {
        ($name:expr, $request:expr) => {{
            metered.take();
            let r = $request;
            assert!(r.status.is_success(), "{}: {} {}", $name, r.status, r.body);
            run($name, metered.take());
            r
        }};
    }
    measure!("listAthletes (limit 25)", app.get(&format!("{V1}/athletes?limit=25"), &key).await);
    measure!("getAthlete", app.get(&format!("{V1}/athletes/{athlete}"), &key).await);
    let created = measure!(
        "createAthlete",
        app.json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Åsa", "lastName": "Öberg", "email": "asa@example.se", "externalId": "M-1"}),
            None
        )
        .await
    );
    let new_id = created.body["id"].as_str().unwrap().to_owned();
    measure!(
        "updateAthlete",
        app.json("PATCH", &format!("{V1}/athletes/{new_id}"), &key, json!({"email": "asa.oberg@example.se"}), None)
            .await
    );
    measure!("listTests (limit 25)", app.get(&format!("{V1}/tests?limit=25"), &key).await);
    measure!("getTest", app.get(&format!("{V1}/tests/{test}"), &key).await);
    measure!("getReferralStats", app.get(&format!("{V1}/referrals"), &key).await);
    measure!("listApiKeys", app.get(&format!("{V1}/api-keys"), &key).await);
    measure!(
        "createApiKey",
        app.json("POST", &format!("{V1}/api-keys"), &key, json!({"name": "Zapier", "scopes": ["read:athletes"]}), None)
            .await
    );
    measure!("listAuditLog (limit 25)", app.get(&format!("{V1}/audit-log?limit=25"), &key).await);
    measure!("listWebhooks", app.get(&format!("{V1}/webhooks"), &key).await);
    measure!(
        "createWebhook",
        app.json(
            "POST",
            &format!("{V1}/webhooks"),
            &key,
            json!({"url": "https://93.184.215.14/b", "events": ["member.created"]}),
            None
        )
        .await
    );
    measure!("testWebhook", app.json("POST", &format!("{V1}/webhooks/{webhook}/test"), &key, Value::Null, None).await);
    measure!("listDeliveries", app.get(&format!("{V1}/webhooks/{webhook}/deliveries"), &key).await);

    println!("| operation | read units | write units | table calls |\n|---|---|---|---|");
    for (name, u) in &measured {
        println!("| {name} | {} | {} | {} |", u.read_units, u.write_units, u.calls);
    }
    let got: Vec<(&str, f64, f64, u32)> =
        measured.iter().map(|(n, u)| (n.as_str(), u.read_units, u.write_units, u.calls)).collect();
    assert_eq!(got, EXPECTED, "docs/COST.md's figures changed: update them and EXPECTED together");
}

/// The dispatcher's side of one webhook event: the fan-out (one event, one webhook) and one
/// successful attempt to a loopback receiver, through the same metered adapter.
const DELIVERY_EXPECTED: (f64, f64, u32) = (10.0, 20.0, 19);

#[tokio::test]
async fn units_one_delivery_spends() {
    use iron_store::repo::deliveries;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let receiver = axum::Router::new().route("/hook", axum::routing::post(|| async { "ok" }));
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let metered = Arc::new(MeteredTable::new(Arc::new(SqliteTable::in_memory(clock.clone()).unwrap())));
    let store: Arc<dyn TableStore> = metered.clone();
    let app = TestApp::local_webhooks_over(store.clone(), clock.clone());
    let demo = app.seed(4).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let hook = app
        .json("POST", &format!("{V1}/webhooks"), &key, json!({"url": url, "events": ["member.created"]}), None)
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    // The demo's own events (its challenges' joins) are fanned out first.
    for _ in 0..3 {
        deliveries::fan_out(store.as_ref(), app.clock_now(), 100).await.unwrap();
    }
    let member = json!({"firstName": "Ana", "lastName": "Ruiz"});
    assert_eq!(app.json("POST", &format!("{V1}/athletes"), &key, member, None).await.status, 201);

    let dispatcher = iron_dispatch::Dispatcher::new(
        store.clone(),
        TestApp::cipher(),
        clock.clone(),
        iron_webhooks::DestinationPolicy::local_development(),
    );
    metered.take();
    let made = deliveries::fan_out(store.as_ref(), app.clock_now(), 100).await.unwrap();
    assert_eq!(made.len(), 1);
    let next = dispatcher.attempt(&made[0]).await.unwrap();
    assert!(matches!(next, iron_dispatch::Next::Done), "{next:?}");
    let u = metered.take();
    println!("| one delivery (fan-out + attempt) | {} | {} | {} |", u.read_units, u.write_units, u.calls);
    assert_eq!((u.read_units, u.write_units, u.calls), DELIVERY_EXPECTED, "update docs/COST.md with DELIVERY_EXPECTED");
}

/// A challenge's operations with 480 participants, through the same meter (docs/COST.md and
/// docs/DATA_MODEL.md, "Challenges"). A rank or a page reads the same nodes whatever the board's
/// size or the member's rank: one batch of 8 shards × 4 tree levels (× 2 paths for an entry's
/// rank before and after).
const CHALLENGE_EXPECTED: &[(&str, f64, f64, u32)] = &[
    ("joinChallenge", 35.0, 25.0, 9),
    ("createChallengeEntry", 45.0, 24.0, 10),
    ("createChallengeEntry (correction)", 46.0, 22.0, 11),
    ("getLeaderboard (top 25)", 14.0, 4.0, 14),
    ("getLeaderboard (25 from rank 201, with myPosition)", 71.0, 4.0, 16),
    ("getChallengeProgress", 35.0, 4.0, 7),
];

#[tokio::test]
async fn units_of_challenge_operations() {
    let clock = Arc::new(ManualClock::new(at("2026-11-22T10:00:30Z")));
    let metered = Arc::new(MeteredTable::new(Arc::new(SqliteTable::in_memory(clock.clone()).unwrap())));
    let store: Arc<dyn TableStore> = metered.clone();
    let app = TestApp::with_store(store, clock);
    let demo = app.seed(4).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Standard).await;
    let admin = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let body = json!({"name": "Meter", "type": "distance", "target": 100000, "startDate": "2026-11-01", "endDate": "2026-11-30"});
    let c =
        app.json("POST", &format!("{V1}/challenges"), &admin, body, None).await.body["id"].as_str().unwrap().to_owned();
    // Every shard holds the same 60 participants' values (1000..4900, the lower half twice), so
    // each shard's page reads the same items whatever the random ids hash to: the figures are
    // exact, not an average. Ids are same-width, names and values too, so every item is the same
    // size. Members that would overfill their shard are created but stay out.
    const PER_SHARD: usize = 60;
    let mut filled = [0usize; iron_domain::challenge::SHARDS as usize];
    let mut ids = Vec::new();
    for i in 0.. {
        let r = app
            .json(
                "POST",
                &format!("{V1}/athletes"),
                &admin,
                json!({"firstName": format!("M{i:03}"), "lastName": "Meter"}),
                None,
            )
            .await;
        let id = r.body["id"].as_str().unwrap().to_owned();
        if i == 0 {
            ids.push(id); // the member measured below joins then
            continue;
        }
        let shard = usize::from(iron_domain::challenge::shard_of(&iron_domain::Id::parse(&id).unwrap()));
        if filled[shard] == PER_SHARD {
            continue;
        }
        app.json("POST", &format!("{V1}/challenges/{c}/join"), &admin, json!({"memberId": id}), None).await;
        let v = 1000 + 100 * (filled[shard] % 40);
        app.json("POST", &format!("{V1}/challenges/{c}/entries"), &admin, json!({"memberId": id, "value": v}), None)
            .await;
        filled[shard] += 1;
        ids.push(id);
        if filled.iter().all(|&n| n == PER_SHARD) {
            break;
        }
    }
    let deep = app.get(&format!("{V1}/challenges/{c}/leaderboard?limit=100"), &admin).await;
    let deep = app
        .get(
            &format!("{V1}/challenges/{c}/leaderboard?limit=100&cursor={}", deep.body["nextCursor"].as_str().unwrap()),
            &admin,
        )
        .await;
    let cursor = deep.body["nextCursor"].as_str().unwrap().to_owned();

    let mut measured: Vec<(String, Usage)> = Vec::new();
    macro_rules! measure {
        ($name:expr, $request:expr) => {{
            metered.take();
            let r = $request;
            assert!(r.status.is_success(), "{}: {} {}", $name, r.status, r.body);
            measured.push(($name.to_owned(), metered.take()));
            r
        }};
    }
    let m = &ids[0];
    measure!(
        "joinChallenge",
        app.json("POST", &format!("{V1}/challenges/{c}/join"), &key, json!({"memberId": m}), None).await
    );
    let entry = json!({"memberId": m, "value": 2500, "source": "equipment", "sourceId": "erg-1"});
    measure!(
        "createChallengeEntry",
        app.json("POST", &format!("{V1}/challenges/{c}/entries"), &key, entry, None).await
    );
    let entry = json!({"memberId": m, "value": 3000, "source": "equipment", "sourceId": "erg-1"});
    measure!(
        "createChallengeEntry (correction)",
        app.json("POST", &format!("{V1}/challenges/{c}/entries"), &key, entry, None).await
    );
    measure!("getLeaderboard (top 25)", app.get(&format!("{V1}/challenges/{c}/leaderboard?limit=25"), &key).await);
    measure!(
        "getLeaderboard (25 from rank 201, with myPosition)",
        app.get(&format!("{V1}/challenges/{c}/leaderboard?limit=25&cursor={cursor}&memberId={m}"), &key).await
    );
    measure!(
        "getChallengeProgress",
        app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={}", ids[150]), &key).await
    );

    println!("| operation | read units | write units | table calls |\n|---|---|---|---|");
    for (name, u) in &measured {
        println!("| {name} | {} | {} | {} |", u.read_units, u.write_units, u.calls);
    }
    let got: Vec<(&str, f64, f64, u32)> =
        measured.iter().map(|(n, u)| (n.as_str(), u.read_units, u.write_units, u.calls)).collect();
    assert_eq!(
        got, CHALLENGE_EXPECTED,
        "docs/COST.md's challenge figures changed: update them and CHALLENGE_EXPECTED together"
    );
}
