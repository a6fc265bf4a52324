//! Rate limits hold exactly under concurrency, on the embedded store and on DynamoDB (moto).

use iron_domain::{RateTier, Scope};
use iron_store::TenantDb;
use iron_store::repo::platform;
use iron_store::{Key, ManualClock, SqliteTable, TableStore};
use iron_testing::{TestApp, assert_problem, at};
use std::sync::Arc;

/// 200 parallel requests against a Standard (60/min) key: exactly 60 succeed.
async fn exactly_the_minute_allowance(app: TestApp) {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), "Box Uno", "Europe/Madrid", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Standard).await;
    let app = Arc::new(app);
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let (app, key) = (app.clone(), key.clone());
            tokio::spawn(async move { app.get("/api/external/v1/athletes?limit=1", &key).await })
        })
        .collect();
    let mut ok = 0;
    let mut limited = 0;
    for t in tasks {
        let r = t.await.unwrap();
        match r.status.as_u16() {
            200 => {
                ok += 1;
                assert_eq!(r.headers["x-ratelimit-limit"], "60");
                assert!(r.headers["x-ratelimit-remaining"].to_str().unwrap().parse::<u32>().unwrap() < 60);
            }
            429 => {
                limited += 1;
                assert_problem(&r, 429);
                // 10:00:30 → the minute window resets in 30 s.
                assert_eq!(r.headers["retry-after"], "30");
                assert_eq!(r.headers["x-ratelimit-remaining"], "0");
            }
            other => panic!("unexpected {other}: {}", r.body),
        }
    }
    assert_eq!((ok, limited), (60, 140));
    // The next minute opens a new window.
    app.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(app.get("/api/external/v1/athletes?limit=1", &key).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_minute_limit_is_exact_under_concurrency() {
    exactly_the_minute_allowance(TestApp::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_minute_limit_is_exact_under_concurrency() {
    let clock = Arc::new(ManualClock::new(at("2026-11-22T10:00:30Z")));
    let config = iron_aws::emulator_config(&iron_aws::moto::endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = iron_aws::moto::unique_name("iron-ratelimit");
    iron_aws::DynamoTable::create_table(&client, &table).await.unwrap();
    let store: Arc<dyn TableStore> = Arc::new(iron_aws::DynamoTable::new(client, table, clock.clone()));
    exactly_the_minute_allowance(TestApp::with_store(store, clock)).await;
}

#[tokio::test]
async fn day_limit_refuses_until_midnight_utc_and_gives_the_minute_slot_back() {
    let clock = Arc::new(ManualClock::new(at("2026-11-22T23:59:10Z")));
    let store: Arc<dyn TableStore> = Arc::new(SqliteTable::in_memory(clock.clone()).unwrap());
    let app = TestApp::with_store(store.clone(), clock);
    let (_, scope) = platform::create_business(store.as_ref(), "Box Dos", "UTC", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Standard).await;
    let ok = app.get("/api/external/v1/athletes", &key).await;
    assert_eq!(ok.headers["x-ratelimit-remaining-day"], "9999");
    // Use up the day: 9,998 more requests' worth, straight into the day counter.
    let key_id = platform::list_keys(TenantDb::new(store.as_ref(), &scope)).await.unwrap()[0].id.clone();
    let day = Key::new(format!("BIZ#{}#RATE", scope.business_id()), format!("{key_id}#D#20261122"));
    store.increment(&day, "count", 9_998, None, None).await.unwrap();
    assert_eq!(app.get("/api/external/v1/athletes", &key).await.status, 200, "the 10,000th request");
    let refused = app.get("/api/external/v1/athletes", &key).await;
    assert_problem(&refused, 429);
    assert_eq!(refused.headers["retry-after"], "50", "until midnight UTC");
    assert_eq!(refused.headers["x-ratelimit-limit"], "10000");
    let minute = Key::new(format!("BIZ#{}#RATE", scope.business_id()), format!("{key_id}#M#202611222359"));
    assert_eq!(store.get(&minute).await.unwrap().unwrap()["count"], 2, "a refused request does not use a minute slot");
    app.clock.advance(chrono::Duration::seconds(50));
    assert_eq!(app.get("/api/external/v1/athletes", &key).await.status, 200, "a new day");
}

#[tokio::test]
async fn unlimited_keys_are_not_counted() {
    let app = TestApp::new();
    let (_, scope) = platform::create_business(app.store.as_ref(), "Box Tres", "UTC", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Unlimited).await;
    for _ in 0..70 {
        let r = app.get("/api/external/v1/athletes", &key).await;
        assert_eq!(r.status, 200);
        assert!(!r.headers.contains_key("x-ratelimit-limit"));
    }
}

#[tokio::test]
async fn a_tier_change_takes_effect_on_the_next_request() {
    let app = TestApp::new();
    let (_, scope) = platform::create_business(app.store.as_ref(), "Box Cuatro", "UTC", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Standard).await;
    assert_eq!(app.get("/api/external/v1/athletes", &key).await.headers["x-ratelimit-limit"], "60");
    let key_id = platform::list_keys(TenantDb::new(app.store.as_ref(), &scope)).await.unwrap()[0].id.clone();
    platform::set_tier(TenantDb::new(app.store.as_ref(), &scope), &key_id, RateTier::Professional).await.unwrap();
    let next = app.get("/api/external/v1/athletes", &key).await;
    assert_eq!(next.headers["x-ratelimit-limit"], "300");
    assert_eq!(next.headers["x-ratelimit-remaining"], "298", "the minute's count carries over");
}
