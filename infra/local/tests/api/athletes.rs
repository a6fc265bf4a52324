//! Router tests of the External API over the embedded adapters (no network).

use axum::body::Body;
use axum::http::Request;
use iron_domain::{RateTier, Scope};
use iron_store::TenantDb;
use iron_store::repo::platform;
use iron_testing::{TestApp, assert_problem};
use serde_json::Value;
use std::collections::HashSet;

const V1: &str = "/api/external/v1";

async fn all_pages(app: &TestApp, key: &str, first: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = first.to_owned();
    loop {
        let r = app.get(&url, key).await;
        assert_eq!(r.status, 200, "{}", r.body);
        out.extend(r.body["data"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => {
                assert_eq!(r.body["hasMore"], true);
                let sep = if first.contains('?') { '&' } else { '?' };
                url = format!("{first}{sep}cursor={c}");
            }
            None => return out,
        }
    }
}

#[tokio::test]
async fn authentication_failures_are_401_problems() {
    let app = TestApp::new();
    let demo = app.seed(1).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Standard).await;

    let none = app.send(Request::get(format!("{V1}/athletes")).body(Body::empty()).unwrap()).await;
    assert_problem(&none, 401);
    assert!(none.headers.contains_key("www-authenticate"));
    for bad in [
        "Bearer ",
        "Basic abc",
        "Bearer bak_nothex",
        "Bearer bak_0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let r = app
            .send(Request::get(format!("{V1}/athletes")).header("authorization", bad).body(Body::empty()).unwrap())
            .await;
        assert_problem(&r, 401);
        assert!(!r.body.to_string().contains("bak_0000"), "the presented key is never echoed");
    }
    let via_header = app
        .send(Request::get(format!("{V1}/athletes?limit=1")).header("x-api-key", &key).body(Body::empty()).unwrap())
        .await;
    assert_eq!(via_header.status, 200);

    // Revocation is immediate.
    let keys = platform::list_keys(TenantDb::new(app.store.as_ref(), &demo.scope)).await.unwrap();
    platform::revoke_key(TenantDb::new(app.store.as_ref(), &demo.scope), &keys[0].id, app.clock_now()).await.unwrap();
    let revoked = app.get(&format!("{V1}/athletes"), &key).await;
    assert_problem(&revoked, 401);
    assert!(revoked.body["detail"].as_str().unwrap().contains("revoked"));
}

#[tokio::test]
async fn expired_keys_stop_working_at_their_expiry() {
    let app = TestApp::new();
    let demo = app.seed(2).await;
    let mut new = platform::NewKey::new("temp", vec![Scope::ReadAthletes], RateTier::Unlimited);
    new.expires_at = Some(app.clock_now() + chrono::Duration::hours(1));
    let (_, secret) =
        platform::mint_key(TenantDb::new(app.store.as_ref(), &demo.scope), new, app.clock_now()).await.unwrap();
    assert_eq!(app.get(&format!("{V1}/athletes?limit=1"), secret.expose()).await.status, 200);
    app.clock.advance(chrono::Duration::hours(1));
    let r = app.get(&format!("{V1}/athletes?limit=1"), secret.expose()).await;
    assert_problem(&r, 401);
    assert!(r.body["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn scopes_are_enforced_with_403() {
    let app = TestApp::new();
    let demo = app.seed(3).await;
    let key = app.key(&demo.scope, &[Scope::ReadAthletes], RateTier::Unlimited).await;
    assert_eq!(app.get(&format!("{V1}/athletes"), &key).await.status, 200);
    for path in ["/tests", "/referrals"] {
        let r = app.get(&format!("{V1}{path}"), &key).await;
        assert_problem(&r, 403);
        assert!(r.body["detail"].as_str().unwrap().contains("scope"));
    }
}

#[tokio::test]
async fn businesses_never_see_each_other() {
    let app = TestApp::new();
    let a = app.seed(10).await;
    let b = app.seed(11).await;
    let key_a = app.key(&a.scope, &Scope::ALL, RateTier::Unlimited).await;
    let key_b = app.key(&b.scope, &Scope::ALL, RateTier::Unlimited).await;

    let athletes_a = all_pages(&app, &key_a, &format!("{V1}/athletes?limit=100")).await;
    let athletes_b = all_pages(&app, &key_b, &format!("{V1}/athletes?limit=100")).await;
    assert_eq!(athletes_a.len(), 200);
    let ids_a: HashSet<_> = athletes_a.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert!(athletes_b.iter().all(|b| !ids_a.contains(b["id"].as_str().unwrap())));

    let b_athlete = athletes_b[0]["id"].as_str().unwrap();
    assert_problem(&app.get(&format!("{V1}/athletes/{b_athlete}"), &key_a).await, 404);
    let b_tests = app.get(&format!("{V1}/tests?limit=1"), &key_b).await;
    let b_test = b_tests.body["data"][0]["id"].as_str().unwrap();
    assert_problem(&app.get(&format!("{V1}/tests/{b_test}"), &key_a).await, 404);
    let filtered = app.get(&format!("{V1}/tests?athleteId={b_athlete}"), &key_a).await;
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 0);

    // A cursor from B's listing is refused in A's (it only ever positions a query, never picks
    // the partition, and a position from another partition is a client error).
    let page_b = app.get(&format!("{V1}/athletes?limit=5"), &key_b).await;
    let cursor_b = page_b.body["nextCursor"].as_str().unwrap();
    let with_b_cursor = app.get(&format!("{V1}/athletes?limit=100&cursor={cursor_b}"), &key_a).await;
    assert_problem(&with_b_cursor, 400);
    assert_eq!(with_b_cursor.body["errors"][0]["field"], "cursor");
    let loc_b = b.locations[0].id.to_string();
    let by_b_location = app.get(&format!("{V1}/athletes?locationId={loc_b}"), &key_a).await;
    assert_eq!(by_b_location.body["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn athlete_search_filters_and_pagination() {
    let app = TestApp::new();
    let demo = app.seed(4).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;

    // Every athlete exactly once, in a stable (id) order, whatever the page size.
    let by_100 = all_pages(&app, &key, &format!("{V1}/athletes?limit=100")).await;
    let by_7 = all_pages(&app, &key, &format!("{V1}/athletes?limit=7")).await;
    let ids = |v: &[Value]| v.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(by_100.len(), 200);
    assert_eq!(ids(&by_100), ids(&by_7));
    let mut sorted = ids(&by_100);
    sorted.sort();
    assert_eq!(sorted, ids(&by_100));
    let first = app.get(&format!("{V1}/athletes"), &key).await;
    assert_eq!(first.body["data"].as_array().unwrap().len(), 25, "default page size");

    // Case- and accent-insensitive search on name and email.
    let target = by_100.iter().find(|a| !a["lastName"].as_str().unwrap().is_ascii()).expect("a name with accents");
    let plain = iron_domain::search::fold(target["lastName"].as_str().unwrap()).to_uppercase();
    let found = all_pages(&app, &key, &format!("{V1}/athletes?q={}", urlencode(&plain))).await;
    assert!(found.iter().any(|a| a["id"] == target["id"]), "searching {plain} finds {}", target["lastName"]);
    assert!(found.iter().all(|a| {
        iron_domain::search::fold(&format!("{} {} {}", a["firstName"], a["lastName"], a["email"]))
            .contains(&plain.to_lowercase())
    }));
    let email = target["email"].as_str().unwrap().to_uppercase();
    let by_email = app.get(&format!("{V1}/athletes?q={}", urlencode(&email)), &key).await;
    assert!(by_email.body["data"].as_array().unwrap().iter().any(|a| a["id"] == target["id"]));

    // Location filter.
    let loc = demo.locations[1].id.to_string();
    let at_loc = all_pages(&app, &key, &format!("{V1}/athletes?locationId={loc}&limit=50")).await;
    assert!(!at_loc.is_empty() && at_loc.len() < 200);
    assert!(at_loc.iter().all(|a| a["locationId"] == loc.as_str()));
    assert_eq!(at_loc.len(), by_100.iter().filter(|a| a["locationId"] == loc.as_str()).count());

    // updatedSince: only later updates, ordered by updatedAt.
    let since = "2026-06-01T00:00:00Z";
    let recent = all_pages(&app, &key, &format!("{V1}/athletes?updatedSince={since}&limit=30")).await;
    let expected = by_100.iter().filter(|a| a["updatedAt"].as_str().unwrap() >= since).count();
    assert_eq!(recent.len(), expected);
    let stamps: Vec<_> = recent.iter().map(|a| a["updatedAt"].as_str().unwrap().to_owned()).collect();
    let mut sorted_stamps = stamps.clone();
    sorted_stamps.sort();
    assert_eq!(stamps, sorted_stamps);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }
        })
        .collect()
}

#[tokio::test]
async fn malformed_parameters_are_400_naming_the_parameter() {
    let app = TestApp::new();
    let demo = app.seed(5).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let cases = [
        ("/athletes?limit=0", "limit"),
        ("/athletes?limit=101", "limit"),
        ("/athletes?limit=ten", "limit"),
        ("/athletes?cursor=garbage!", "cursor"),
        ("/athletes?updatedSince=yesterday", "updatedSince"),
        ("/athletes?locationId=ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "locationId"),
        ("/athletes?updated_since=2026-01-01", "updated_since"),
        ("/tests?testType=marathon", "testType"),
        ("/tests?dateFrom=2026-02-30", "dateFrom"),
        ("/tests?dateFrom=2026-03-01&dateTo=2026-02-01", "dateFrom"),
        ("/referrals?dateTo=22/11/2026", "dateTo"),
    ];
    for (path, param) in cases {
        let r = app.get(&format!("{V1}{path}"), &key).await;
        assert_problem(&r, 400);
        assert_eq!(r.body["errors"][0]["field"], param, "{path}: {}", r.body);
    }
    // A cursor from one filter set used with another.
    let page = app.get(&format!("{V1}/athletes?limit=2"), &key).await;
    let cursor = page.body["nextCursor"].as_str().unwrap();
    let r = app.get(&format!("{V1}/athletes?updatedSince=2025-01-01T00:00:00Z&cursor={cursor}"), &key).await;
    assert_problem(&r, 400);
    assert_eq!(r.body["errors"][0]["field"], "cursor");
}

#[tokio::test]
async fn athlete_detail_and_tests() {
    let app = TestApp::new();
    let demo = app.seed(6).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;

    let all_tests = all_pages(&app, &key, &format!("{V1}/tests?limit=100")).await;
    assert_eq!(all_tests.len(), demo.tests);
    let stamps: Vec<_> = all_tests.iter().map(|t| t["performedAt"].as_str().unwrap().to_owned()).collect();
    let mut newest_first = stamps.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(stamps, newest_first, "tests are listed newest first");

    // An athlete with several tests: detail carries up to five, newest first.
    let mut counts = std::collections::HashMap::<String, usize>::new();
    for t in &all_tests {
        *counts.entry(t["athleteId"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let (busy, n) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    let detail = app.get(&format!("{V1}/athletes/{busy}"), &key).await;
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["id"], busy.as_str());
    let recent = detail.body["recentTests"].as_array().unwrap();
    assert_eq!(recent.len(), (*n).min(5));
    let theirs = all_pages(&app, &key, &format!("{V1}/tests?athleteId={busy}&limit=2")).await;
    assert_eq!(theirs.len(), *n);
    assert_eq!(recent[0]["id"], theirs[0]["id"]);

    // Filters.
    let lactate = all_pages(&app, &key, &format!("{V1}/tests?testType=lactate_step&limit=100")).await;
    assert!(!lactate.is_empty());
    assert!(lactate.iter().all(|t| t["testType"] == "lactate_step"));
    assert_eq!(lactate.len(), all_tests.iter().filter(|t| t["testType"] == "lactate_step").count());
    let ranged = all_pages(&app, &key, &format!("{V1}/tests?dateFrom=2026-01-01&dateTo=2026-03-31&limit=100")).await;
    assert_eq!(
        ranged.len(),
        all_tests
            .iter()
            .filter(|t| {
                let d = &t["performedAt"].as_str().unwrap()[..10];
                ("2026-01-01"..="2026-03-31").contains(&d)
            })
            .count()
    );

    // One test in full: stages and derived results.
    let step = &lactate[0];
    let full = app.get(&format!("{V1}/tests/{}", step["id"].as_str().unwrap()), &key).await;
    assert_eq!(full.status, 200);
    let stages = full.body["stages"].as_array().unwrap();
    assert!(stages.len() >= 3);
    assert_eq!(stages.len(), step["stageCount"].as_u64().unwrap() as usize);
    assert!(
        stages
            .iter()
            .all(|s| s["lactateMmol"].is_number() && s["heartRateBpm"].is_number() && s["durationS"].is_number())
    );
    assert!(
        full.body["results"]["lt2"]["load"].is_number()
            || full.body["results"]["maxLactateMmol"].as_f64().unwrap() < 4.0
    );
    assert_problem(&app.get(&format!("{V1}/tests/tst_nope"), &key).await, 404);
    assert_problem(&app.get(&format!("{V1}/athletes/ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"), &key).await, 404);
}

#[tokio::test]
async fn referral_stats_over_a_range() {
    let app = TestApp::new();
    let demo = app.seed(8).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let year = app.get(&format!("{V1}/referrals?dateFrom=2025-11-01&dateTo=2026-11-22"), &key).await;
    assert_eq!(year.status, 200, "{}", year.body);
    assert_eq!(year.body["totals"]["referred"].as_u64().unwrap() as usize, demo.referrals);
    let partners = year.body["partners"].as_array().unwrap();
    assert_eq!(partners.len(), 5);
    for p in partners {
        let (r, c) = (p["referred"].as_f64().unwrap(), p["converted"].as_f64().unwrap());
        assert_eq!(
            p["referred"].as_u64(),
            Some(p["converted"].as_u64().unwrap() + p["pending"].as_u64().unwrap() + p["lost"].as_u64().unwrap())
        );
        assert!((p["conversionRate"].as_f64().unwrap() - (c / r * 10_000.0).round() / 10_000.0).abs() < 1e-9);
    }
    let default = app.get(&format!("{V1}/referrals"), &key).await;
    assert_eq!(default.body["dateTo"], "2026-11-22");
    assert_eq!(default.body["dateFrom"], "2026-08-25");
    assert!(default.body["totals"]["referred"].as_u64().unwrap() < demo.referrals as u64);
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_big_bodies() {
    let app = TestApp::new();
    let demo = app.seed(9).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    assert_problem(&app.get(&format!("{V1}/nothing-here"), &key).await, 404);
    let wrong = app.send(Request::delete(format!("{V1}/athletes")).body(Body::empty()).unwrap()).await;
    assert_problem(&wrong, 405);
    let big = app
        .send(
            Request::get(format!("{V1}/athletes"))
                .header("authorization", format!("Bearer {key}"))
                .header("content-length", "2000000")
                .body(Body::from(vec![b'x'; 2_000_000]))
                .unwrap(),
        )
        .await;
    assert_problem(&big, 413);
    let health = app.send(Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body["status"], "ok");
    assert!(health.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn openapi_document_and_offline_explorer() {
    let app = TestApp::new();
    let doc = app.send(Request::get(format!("{V1}/openapi.json")).body(Body::empty()).unwrap()).await;
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    for path in [
        "/api/external/v1/athletes",
        "/api/external/v1/athletes/{id}",
        "/api/external/v1/tests",
        "/api/external/v1/tests/{id}",
        "/api/external/v1/referrals",
        "/health",
    ] {
        assert!(doc.body["paths"][path]["get"].is_object(), "{path} documented");
    }
    assert!(doc.body["components"]["securitySchemes"]["bearer"].is_object());
    let ui = app.send(Request::get("/docs/").body(Body::empty()).unwrap()).await;
    assert_eq!(ui.status, 200);
    let html = ui.body.as_str().unwrap();
    assert!(html.contains("swagger-ui") && !html.contains("cdn"), "the explorer is served from the binary");
    let init = app.send(Request::get("/docs/swagger-initializer.js").body(Body::empty()).unwrap()).await;
    assert!(init.body.as_str().unwrap().contains("/api/external/v1/openapi.json"));
    let css = app.send(Request::get("/docs/swagger-ui.css").body(Body::empty()).unwrap()).await;
    assert_eq!(css.status, 200);
}

/// Each test type filters by the name the document and the responses use (found by the
/// contract run: `cooper_12min` and `row_2k` were stored as `cooper12min` and `row2k`, so those
/// filters matched nothing). Records stored with the old spelling still read.
#[tokio::test]
async fn every_test_type_filters_by_its_documented_name() {
    let app = TestApp::new();
    let demo = app.seed(8).await;
    let key = app.key(&demo.scope, &[Scope::ReadTests], RateTier::Unlimited).await;
    for name in ["lactate_step", "vo2max_ramp", "cooper_12min", "row_2k"] {
        let page = app.get(&format!("{V1}/tests?testType={name}&limit=100"), &key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let data = page.body["data"].as_array().unwrap();
        assert!(!data.is_empty(), "the demo has {name} tests");
        assert!(data.iter().all(|t| t["testType"] == name), "{name}: {}", page.body);
    }
    let old: iron_domain::TestType = serde_json::from_str("\"row2k\"").unwrap();
    assert_eq!(old.as_str(), "row_2k");
}
