//! Challenges through the whole API: validation, scopes and tenancy, joins, the entry rules,
//! ties and exact ranks (against a brute-force sort after concurrent random entries with
//! corrections, deletions and late joins, on SQLite and on DynamoDB), a posted workout entering
//! a challenge with the signed `challenge.entry` webhook, teams and badges.

use axum::http::StatusCode;
use iron_domain::{RateTier, Scope};
use iron_store::repo::platform;
use iron_store::{OperatorScope, TenantDb, TenantScope};
use iron_testing::{TestApp, assert_problem};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const V1: &str = "/api/external/v1";

struct Gym {
    scope: OperatorScope,
    key: String,
    locations: Vec<String>,
}

async fn gym(app: &TestApp, name: &str, locations: usize) -> Gym {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), name, "Europe/Madrid", app.clock_now()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..locations {
        let db = TenantDb::new(app.store.as_ref(), scope.tenant());
        let loc = platform::add_location(db, &format!("Site {i}"), "Europe/Madrid", app.clock_now()).await.unwrap();
        ids.push(loc.id.to_string());
    }
    let key = app.key(&scope, &Scope::ALL, RateTier::Unlimited).await;
    Gym { scope, key, locations: ids }
}

async fn member(app: &TestApp, g: &Gym, first: &str, last: &str, location: Option<&str>) -> String {
    let mut body = json!({"firstName": first, "lastName": last});
    if let Some(l) = location {
        body["locationId"] = json!(l);
    }
    let r = app.json("POST", &format!("{V1}/athletes"), &g.key, body, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn challenge(app: &TestApp, g: &Gym, body: Value) -> String {
    let r = app.json("POST", &format!("{V1}/challenges"), &g.key, body, None).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn join(app: &TestApp, g: &Gym, c: &str, m: &str) -> iron_testing::Response {
    app.json("POST", &format!("{V1}/challenges/{c}/join"), &g.key, json!({"memberId": m}), None).await
}

async fn entry(app: &TestApp, g: &Gym, c: &str, body: Value) -> iron_testing::Response {
    app.json("POST", &format!("{V1}/challenges/{c}/entries"), &g.key, body, None).await
}

fn tenant(g: &Gym) -> &TenantScope {
    g.scope.tenant()
}

#[tokio::test]
async fn challenges_validate_scope_and_isolate() {
    let app = TestApp::new();
    let g = gym(&app, "Box Uno", 1).await;
    let bad = app
        .json(
            "POST",
            &format!("{V1}/challenges"),
            &g.key,
            json!({"name": "", "type": "team", "startDate": "2026-12-10", "endDate": "2026-12-01", "measure": "vo2max", "locationIds": ["loc_nope"], "colour": "red"}),
            None,
        )
        .await;
    assert_problem(&bad, 422);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["/name", "/colour", "/locationIds/0", "/teamMetric"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    let id = challenge(
        &app,
        &g,
        json!({"name": "December Row", "type": "distance", "target": 42195, "startDate": "2026-11-01", "endDate": "2026-12-31", "exerciseIds": ["rowing-stationary"], "badge": {"name": "Marathoner"}, "prizes": [{"place": 1, "description": "A hoodie"}]}),
    )
    .await;
    let got = app.get(&format!("{V1}/challenges/{id}"), &g.key).await;
    assert_eq!(got.body["status"], "active");
    assert_eq!(got.body["unit"], "m");
    assert_eq!(got.body["startsAt"], "2026-10-31T23:00:00Z", "midnight in the business's time zone");
    assert_eq!(got.body["participants"], 0);

    // Scopes: reading doesn't allow writing; another business sees nothing.
    let reader = app.key(&g.scope, &[Scope::ReadChallenges], RateTier::Unlimited).await;
    assert_eq!(app.get(&format!("{V1}/challenges/{id}/leaderboard"), &reader).await.status, 200);
    let body = json!({"name": "x", "type": "workouts", "startDate": "2026-12-01", "endDate": "2026-12-31"});
    assert_problem(&app.json("POST", &format!("{V1}/challenges"), &reader, body, None).await, 403);
    let other = gym(&app, "Box Dos", 0).await;
    assert_problem(&app.get(&format!("{V1}/challenges/{id}"), &other.key).await, 404);
    assert_problem(&app.get(&format!("{V1}/challenges/{id}/leaderboard"), &other.key).await, 404);
    let list = app.get(&format!("{V1}/challenges"), &other.key).await;
    assert_eq!(list.body["data"], json!([]));

    // Once members have joined, the meaning of the scores stays.
    let m = member(&app, &g, "Anna", "Smith", None).await;
    assert_eq!(join(&app, &g, &id, &m).await.status, 201);
    assert_problem(&join(&app, &g, &id, &m).await, 409);
    let changed = json!({"name": "December Row", "type": "time", "startDate": "2026-11-01", "endDate": "2026-12-31"});
    assert_problem(&app.json("PUT", &format!("{V1}/challenges/{id}"), &g.key, changed, None).await, 422);
    let renamed =
        json!({"name": "December Row II", "type": "distance", "startDate": "2026-11-01", "endDate": "2027-01-15"});
    let put = app.json("PUT", &format!("{V1}/challenges/{id}"), &g.key, renamed, None).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["participants"], 1);
    let del = app.json("DELETE", &format!("{V1}/challenges/{id}"), &g.key, json!(null), None).await;
    assert_eq!(del.status, 204);
    assert_problem(&app.get(&format!("{V1}/challenges/{id}"), &g.key).await, 404);
}

/// A list filtered by state reads on past the other states: full pages, a cursor only while more
/// may follow, every match once (the test clock is 2026-11-22).
#[tokio::test]
async fn challenges_filter_by_state_in_full_pages() {
    let app = TestApp::new();
    let g = gym(&app, "Box Lista", 0).await;
    let windows = [("2026-10-01", "2026-10-31"), ("2026-11-01", "2026-11-30"), ("2026-12-01", "2026-12-31")];
    // Oldest first: active, ended, ended, active, upcoming, ended, active.
    let mut made: Vec<(usize, String)> = Vec::new();
    for w in [1, 0, 0, 1, 2, 0, 1] {
        let (start, end) = windows[w];
        let body = json!({"name": format!("C{}", made.len()), "type": "workouts", "startDate": start, "endDate": end});
        made.push((w, challenge(&app, &g, body).await));
    }
    // The unfiltered order (ids made in one millisecond of the test clock order randomly).
    let all = app.get(&format!("{V1}/challenges?limit=100"), &g.key).await;
    let order: Vec<String> =
        all.body["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().into()).collect();
    assert_eq!(order.len(), made.len());
    for (state, w) in [("active", 1), ("ended", 0), ("upcoming", 2)] {
        let expected: Vec<String> =
            order.iter().filter(|id| made.iter().any(|(x, m)| *x == w && m == *id)).cloned().collect();
        let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let mut path = format!("{V1}/challenges?status={state}&limit=2");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get(&path, &g.key).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let data = page.body["data"].as_array().unwrap();
            cursor = page.body["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_some() {
                assert_eq!(data.len(), 2, "a page is short only at the end: {}", page.body);
            }
            for c in data {
                assert_eq!(c["status"], state);
                seen.push(c["id"].as_str().unwrap().to_owned());
            }
            pages += 1;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen, expected, "{state}");
        assert_eq!(pages, expected.len().div_ceil(2).max(1), "{state}");
    }
}

#[tokio::test]
async fn entries_follow_the_rules_and_ties_share_ranks() {
    let app = TestApp::new();
    let g = gym(&app, "Box Tres", 1).await;
    let c = challenge(
        &app,
        &g,
        json!({"name": "Row 10K", "type": "distance", "target": 10000, "startDate": "2026-11-01", "endDate": "2026-11-30", "badge": {"name": "10K"}}),
    )
    .await;
    let names = [("Anna", "Smith"), ("Bo", "Li"), ("Cleo", "Díaz"), ("Dan", "Öz")];
    let mut ids = Vec::new();
    for (f, l) in names {
        ids.push(member(&app, &g, f, l, None).await);
    }
    let outsider = member(&app, &g, "Eve", "Nope", None).await;
    for m in &ids {
        assert_eq!(join(&app, &g, &c, m).await.status, 201);
    }
    // Refusals, each saying why.
    let not_joined = entry(&app, &g, &c, json!({"memberId": outsider, "value": 100})).await;
    assert_problem(&not_joined, 422);
    assert!(not_joined.body["errors"][0]["message"].as_str().unwrap().contains("not joined"));
    // A challenge that hasn't started takes no entries yet; one that has ended takes no joins
    // (nothing in the request could change that: 409).
    let upcoming = challenge(
        &app,
        &g,
        json!({"name": "December", "type": "distance", "startDate": "2026-12-01", "endDate": "2026-12-31"}),
    )
    .await;
    assert_eq!(join(&app, &g, &upcoming, &ids[0]).await.status, 201);
    let not_yet = entry(&app, &g, &upcoming, json!({"memberId": ids[0], "value": 100})).await;
    assert_problem(&not_yet, 422);
    assert_eq!(not_yet.body["errors"][0]["field"], "/occurredAt");
    assert!(not_yet.body["errors"][0]["message"].as_str().unwrap().contains("before the challenge starts"));
    let ended = challenge(
        &app,
        &g,
        json!({"name": "October", "type": "distance", "startDate": "2026-10-01", "endDate": "2026-10-31"}),
    )
    .await;
    assert_problem(&join(&app, &g, &ended, &ids[0]).await, 409);
    let early =
        entry(&app, &g, &c, json!({"memberId": ids[0], "value": 100, "occurredAt": "2026-10-31T22:59:59Z"})).await;
    assert_problem(&early, 422);
    assert_eq!(early.body["errors"][0]["field"], "/occurredAt");
    for v in [json!(-5), json!(0), json!(250_001), json!("far")] {
        let r = entry(&app, &g, &c, json!({"memberId": ids[0], "value": v})).await;
        assert_problem(&r, 422);
        assert_eq!(r.body["errors"][0]["field"], "/value", "{}", r.body);
    }
    assert_problem(&entry(&app, &g, &c, json!({"memberId": ids[0], "value": 5, "source": "workout"})).await, 422);

    // 3000, 2000, 2000, 1000: ranks 1, 2, 2, 4; the tie goes to who got there first.
    let values = [3000, 2000, 2000, 1000];
    for (i, v) in values.iter().enumerate() {
        let r = entry(
            &app,
            &g,
            &c,
            json!({"memberId": ids[i], "value": v, "source": "equipment", "sourceId": format!("erg-{i}")}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        app.clock.advance(chrono::Duration::seconds(1));
    }
    let board = app.get(&format!("{V1}/challenges/{c}/leaderboard?memberId={}", ids[3]), &g.key).await;
    assert_eq!(board.status, 200, "{}", board.body);
    let rows = board.body["leaderboard"].as_array().unwrap();
    let ranks: Vec<u64> = rows.iter().map(|r| r["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, vec![1, 2, 2, 4]);
    assert_eq!(rows[1]["member"]["id"], ids[1].as_str(), "the earlier of a tie first");
    assert_eq!(rows[0]["member"]["displayName"], "Anna S.");
    assert_eq!(rows[0]["progress"], 30.0);
    assert_eq!(board.body["myPosition"]["rank"], 4);
    assert_eq!(board.body["totalParticipants"], 4);

    // The same source record again: unchanged, then corrected; never counted twice.
    let again =
        entry(&app, &g, &c, json!({"memberId": ids[3], "value": 1000, "source": "equipment", "sourceId": "erg-3"}))
            .await;
    assert_eq!((again.status, again.body["change"].clone()), (StatusCode::OK, json!("unchanged")));
    let fixed =
        entry(&app, &g, &c, json!({"memberId": ids[3], "value": 2000, "source": "equipment", "sourceId": "erg-3"}))
            .await;
    assert_eq!(fixed.body["change"], "corrected", "{}", fixed.body);
    assert_eq!((fixed.body["rankBefore"].clone(), fixed.body["rank"].clone()), (json!(4), json!(2)));
    let progress = app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={}", ids[3]), &g.key).await;
    assert_eq!((progress.body["value"].clone(), progress.body["rank"].clone()), (json!(2000.0), json!(2)));
    assert_eq!(progress.body["entries"], 1);

    // Reaching the target: goal.achieved once, and the badge.
    let big = entry(&app, &g, &c, json!({"memberId": ids[0], "value": 8000})).await;
    assert_eq!(big.body["goalAchieved"], true, "{}", big.body);
    let more = entry(&app, &g, &c, json!({"memberId": ids[0], "value": 10})).await;
    assert_eq!(more.body["goalAchieved"], false);
    let badges = app.get(&format!("{V1}/members/{}/badges", ids[0]), &g.key).await;
    assert_eq!(badges.body["data"][0]["badge"]["name"], "10K", "{}", badges.body);

    // Deleting an entry takes it out.
    let listed = app.get(&format!("{V1}/challenges/{c}/entries?memberId={}", ids[0]), &g.key).await;
    let entries = listed.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let first = entries.iter().find(|e| e["value"] == 10.0).unwrap()["id"].as_str().unwrap();
    let del = app.json("DELETE", &format!("{V1}/challenges/{c}/entries/{first}"), &g.key, json!(null), None).await;
    assert_eq!(del.status, 204);
    let progress = app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={}", ids[0]), &g.key).await;
    assert_eq!(progress.body["value"], 11000.0);

    // Pages: the cursor continues exactly where the page ended.
    let p1 = app.get(&format!("{V1}/challenges/{c}/leaderboard?limit=2"), &g.key).await;
    let cursor = p1.body["nextCursor"].as_str().unwrap();
    let p2 = app.get(&format!("{V1}/challenges/{c}/leaderboard?limit=2&cursor={cursor}"), &g.key).await;
    let ranks: Vec<u64> =
        p2.body["leaderboard"].as_array().unwrap().iter().map(|r| r["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, vec![2, 2]);
    assert!(p2.body["nextCursor"].is_null() || p2.body["hasMore"] == false);
    assert_problem(&app.get(&format!("{V1}/challenges/{c}/leaderboard?cursor=lb_bm9wZQ"), &g.key).await, 400);

    // A private challenge: enrolling takes manage:challenges.
    let private = challenge(&app, &g, json!({"name": "Staff", "type": "workouts", "public": false, "startDate": "2026-11-01", "endDate": "2026-11-30"})).await;
    let writer = app.key(&g.scope, &[Scope::WriteChallenges], RateTier::Unlimited).await;
    let r =
        app.json("POST", &format!("{V1}/challenges/{private}/join"), &writer, json!({"memberId": ids[0]}), None).await;
    assert_problem(&r, 403);
    assert_eq!(join(&app, &g, &private, &ids[0]).await.status, 201);
    let w = entry(&app, &g, &private, json!({"memberId": ids[0]})).await;
    assert_eq!(w.body["value"], 1.0, "a workout counts 1 by default: {}", w.body);
}

#[tokio::test]
async fn teams_rank_by_their_aggregate() {
    let app = TestApp::new();
    let g = gym(&app, "Box Team", 1).await;
    let c = challenge(
        &app,
        &g,
        json!({"name": "Team Sweat", "type": "team", "teamMetric": "time", "aggregate": "average", "teamSize": 2, "startDate": "2026-11-01", "endDate": "2026-11-30"}),
    )
    .await;
    let mut teams = Vec::new();
    for name in ["Reds", "Blues"] {
        let t = app.json("POST", &format!("{V1}/challenges/{c}/teams"), &g.key, json!({"name": name}), None).await;
        assert_eq!(t.status, 201, "{}", t.body);
        teams.push(t.body["id"].as_str().unwrap().to_owned());
    }
    assert_problem(
        &app.json("POST", &format!("{V1}/challenges/{c}/teams"), &g.key, json!({"name": "reds"}), None).await,
        409,
    );
    let mut ms = Vec::new();
    for i in 0..5 {
        ms.push(member(&app, &g, &format!("M{i}"), "X", None).await);
    }
    let j = |m: &str, t: &str| json!({"memberId": m, "teamId": t});
    for (m, t) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
        let r = app.json("POST", &format!("{V1}/challenges/{c}/join"), &g.key, j(&ms[m], &teams[t]), None).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let full = app.json("POST", &format!("{V1}/challenges/{c}/join"), &g.key, j(&ms[4], &teams[0]), None).await;
    assert_problem(&full, 409);
    assert_problem(&join(&app, &g, &c, &ms[4]).await, 422);
    for (m, v) in [(0, 600), (1, 1200), (2, 3000), (3, 60)] {
        assert_eq!(entry(&app, &g, &c, json!({"memberId": ms[m], "value": v})).await.status, 201);
    }
    let board = app.get(&format!("{V1}/challenges/{c}/leaderboard?memberId={}", ms[0]), &g.key).await;
    assert_eq!(board.body["board"], "teams", "{}", board.body);
    let rows = board.body["leaderboard"].as_array().unwrap();
    assert_eq!((rows[0]["team"]["name"].clone(), rows[0]["value"].clone()), (json!("Blues"), json!(1530.0)));
    assert_eq!((rows[1]["value"].clone(), rows[1]["rank"].clone()), (json!(900.0), json!(2)));
    assert_eq!(board.body["myPosition"]["team"]["name"], "Reds");
    let within = app.get(&format!("{V1}/challenges/{c}/leaderboard?teamId={}", teams[1]), &g.key).await;
    assert_eq!(within.body["leaderboard"][0]["value"], 3000.0, "{}", within.body);
}

/// Random concurrent entries (ties, corrections, deletions, late joins), then every rank the
/// API answers equals a brute-force sort of the members' values.
async fn ranks_equal_a_brute_force_sort(app: TestApp, members: usize, rounds: usize) {
    let app = Arc::new(app);
    let g = Arc::new(gym(&app, "Box Rank", 2).await);
    let c = challenge(
        &app,
        &g,
        json!({"name": "Ranks", "type": "distance", "startDate": "2026-11-01", "endDate": "2026-11-30"}),
    )
    .await;
    let mut ids = Vec::new();
    for i in 0..members {
        let loc = g.locations[i % 2].clone();
        ids.push(member(&app, &g, &format!("P{i}"), "Q", Some(&loc)).await);
    }
    // Half join first; the rest join while entries arrive.
    for m in &ids[..members / 2] {
        assert_eq!(join(&app, &g, &c, m).await.status, 201);
    }
    let expected: Arc<Mutex<HashMap<String, HashMap<String, i64>>>> = Arc::new(Mutex::new(HashMap::new()));
    let mut tasks = Vec::new();
    for worker in 0..4u64 {
        let (app, g, c, ids, expected) = (app.clone(), g.clone(), c.clone(), ids.clone(), expected.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker);
            for round in 0..rounds {
                // Each worker owns a slice of the members, so its record of their entries is exact.
                let i = (rng.random_range(0..members / 4) * 4 + worker as usize).min(members - 1);
                if i % 4 != worker as usize {
                    continue;
                }
                let m = &ids[i];
                if i >= members / 2 && !expected.lock().unwrap().contains_key(m) {
                    assert_eq!(join(&app, &g, &c, m).await.status, 201);
                    expected.lock().unwrap().insert(m.clone(), HashMap::new());
                }
                let source = format!("m{i}-{}", rng.random_range(0..(rounds / members).max(3)));
                let value = rng.random_range(1..=5) * 100;
                let mine: Option<String> = {
                    let e = expected.lock().unwrap();
                    e.get(m).and_then(|s| s.keys().next().cloned())
                };
                if round % 7 == 6
                    && let Some(sid) = mine
                {
                    // Delete one of the member's entries by id.
                    let list = app.get(&format!("{V1}/challenges/{c}/entries?memberId={m}&limit=100"), &g.key).await;
                    let found =
                        list.body["data"].as_array().unwrap().iter().find(|e| e["sourceId"] == sid.as_str()).cloned();
                    if let Some(e) = found {
                        let path = format!("{V1}/challenges/{c}/entries/{}", e["id"].as_str().unwrap());
                        assert_eq!(app.json("DELETE", &path, &g.key, json!(null), None).await.status, 204);
                        expected.lock().unwrap().get_mut(m).unwrap().remove(&sid);
                    }
                    continue;
                }
                let r =
                    entry(&app, &g, &c, json!({"memberId": m, "value": value, "source": "import", "sourceId": source}))
                        .await;
                assert!(r.status == 201 || r.status == 200, "{} {}", r.status, r.body);
                expected.lock().unwrap().entry(m.clone()).or_default().insert(source, value);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let expected = expected.lock().unwrap().clone();
    let mut totals: HashMap<String, i64> = HashMap::new();
    for m in ids.iter().take(members / 2) {
        totals.insert(m.clone(), 0);
    }
    for (m, entries) in &expected {
        totals.insert(m.clone(), entries.values().sum());
    }
    let rank = |board: &HashMap<String, i64>, v: i64| 1 + board.values().filter(|x| **x > v).count() as u64;
    // Every member's own rank and value.
    for (m, v) in &totals {
        let p = app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={m}"), &g.key).await;
        assert_eq!(p.body["value"], json!(*v as f64), "{m}: {}", p.body);
        assert_eq!(p.body["rank"], rank(&totals, *v), "{m}");
        assert_eq!(p.body["totalParticipants"], totals.len());
    }
    // The boards, paged: the order and ranks of a sort, for everyone and each location.
    for loc in [None, Some(g.locations[0].clone()), Some(g.locations[1].clone())] {
        let board: HashMap<String, i64> = totals
            .iter()
            .filter(|(m, _)| {
                loc.as_ref().is_none_or(|l| {
                    ids.iter().position(|x| x == *m).unwrap() % 2 == g.locations.iter().position(|x| x == l).unwrap()
                })
            })
            .map(|(m, v)| (m.clone(), *v))
            .collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("{V1}/challenges/{c}/leaderboard?limit=7");
            if let Some(l) = &loc {
                path.push_str(&format!("&locationId={l}"));
            }
            if let Some(cur) = &cursor {
                path.push_str(&format!("&cursor={cur}"));
            }
            let page = app.get(&path, &g.key).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert_eq!(page.body["totalParticipants"], board.len());
            for row in page.body["leaderboard"].as_array().unwrap() {
                let m = row["member"]["id"].as_str().unwrap().to_owned();
                let v = board[&m];
                assert_eq!(row["value"], json!(v as f64));
                assert_eq!(row["rank"], rank(&board, v), "{m} on {loc:?}");
                seen.push(v);
            }
            cursor = page.body["nextCursor"].as_str().map(str::to_owned);
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(seen.len(), board.len());
        assert!(seen.windows(2).all(|w| w[0] >= w[1]), "best first");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranks_equal_a_brute_force_sort_embedded() {
    ranks_equal_a_brute_force_sort(TestApp::new(), 80, 800).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranks_equal_a_brute_force_sort_dynamodb() {
    ranks_equal_a_brute_force_sort(iron_testing::moto_app().await, 24, 60).await;
}

/// Most of a board in one shard: each shard is first read for its share of a page and 4 more, so
/// the crowded shard must be read on from its cursor; the pages still hold every participant
/// once, in order, with the ranks of a sort (ties included).
async fn a_crowded_shard_is_read_on(app: TestApp, crowded: usize) {
    let g = gym(&app, "Box Crowd", 1).await;
    let c = challenge(
        &app,
        &g,
        json!({"name": "Crowd", "type": "distance", "startDate": "2026-11-01", "endDate": "2026-11-30"}),
    )
    .await;
    let (mut in_zero, mut elsewhere) = (Vec::new(), Vec::new());
    let mut i = 0;
    while in_zero.len() < crowded || elsewhere.len() < 3 {
        let m = member(&app, &g, &format!("C{i}"), "Q", None).await;
        i += 1;
        let shard = iron_domain::challenge::shard_of(&iron_domain::Id::parse(&m).unwrap());
        match shard {
            0 if in_zero.len() < crowded => in_zero.push(m),
            0 => {}
            _ if elsewhere.len() < 3 => elsewhere.push(m),
            _ => {}
        }
    }
    // The crowded shard holds the top (with a tie across pages), the others the bottom.
    let mut totals: Vec<(String, i64)> = Vec::new();
    for (n, m) in in_zero.iter().enumerate() {
        totals.push((m.clone(), 10_000 - 100 * (n as i64 / 2)));
    }
    for (n, m) in elsewhere.iter().enumerate() {
        totals.push((m.clone(), 100 + n as i64));
    }
    for (m, v) in &totals {
        assert_eq!(join(&app, &g, &c, m).await.status, 201);
        assert_eq!(entry(&app, &g, &c, json!({"memberId": m, "value": v})).await.status, 201);
    }
    let rank = |v: i64| 1 + totals.iter().filter(|(_, x)| *x > v).count() as u64;
    let mut expected: Vec<i64> = totals.iter().map(|(_, v)| *v).collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{V1}/challenges/{c}/leaderboard?limit=10");
        if let Some(cur) = &cursor {
            path.push_str(&format!("&cursor={cur}"));
        }
        let page = app.get(&path, &g.key).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for row in page.body["leaderboard"].as_array().unwrap() {
            let v = row["value"].as_f64().unwrap() as i64;
            assert_eq!(row["rank"], rank(v), "{}", page.body);
            seen.push(v);
        }
        cursor = page.body["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_crowded_shard_is_read_on_embedded() {
    a_crowded_shard_is_read_on(TestApp::new(), 24).await;
}

#[tokio::test]
async fn a_crowded_shard_is_read_on_dynamodb() {
    a_crowded_shard_is_read_on(iron_testing::moto_app().await, 12).await;
}

/// A receiver that keeps what it is sent.
async fn receiver() -> (String, Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>) {
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let sink = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

/// Fans out and delivers everything pending, as the dispatcher does.
async fn deliver(app: &TestApp, dispatcher: &iron_dispatch::Dispatcher) {
    let queue = app.groups.webhooks.delivery_queue.clone();
    iron_webhook_dispatcher::fan_out(dispatcher, queue.as_ref(), app.clock_now()).await.unwrap();
    for r in iron_store::repo::deliveries::due(app.store.as_ref(), app.clock_now(), 100).await.unwrap() {
        dispatcher.attempt(&r).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posted_workout_enters_and_the_signed_webhook_arrives() {
    let app = TestApp::local_webhooks();
    let g = gym(&app, "Box Hook", 1).await;
    let today = app.clock_now().date_naive();
    let (url, got) = receiver().await;
    let hook = app
        .json(
            "POST",
            &format!("{V1}/webhooks"),
            &g.key,
            json!({"url": url, "events": ["challenge.entry", "goal.achieved"]}),
            None,
        )
        .await;
    assert_eq!(hook.status, 201, "{}", hook.body);
    let secret = iron_webhooks::WebhookSecret::parse(hook.body["secret"].as_str().unwrap()).unwrap();
    let dispatcher = iron_dispatch::Dispatcher::new(
        app.store.clone(),
        TestApp::cipher(),
        app.clock.clone(),
        iron_webhooks::DestinationPolicy::local_development(),
    );
    let c = challenge(
        &app,
        &g,
        json!({"name": "Row 5K", "type": "distance", "target": 5000, "exerciseIds": ["rowing-stationary"],
            "startDate": (today - chrono::Duration::days(10)).to_string(), "endDate": (today + chrono::Duration::days(10)).to_string()}),
    )
    .await;
    let m = member(&app, &g, "Rita", "Row", None).await;
    assert_eq!(join(&app, &g, &c, &m).await.status, 201);
    let started = (app.clock_now() - chrono::Duration::hours(2)).to_rfc3339();
    let workout = json!({"type": "endurance", "startedAt": started, "durationMin": 30, "sessionRpe": 6,
        "movements": [{"exerciseId": "rowing-stationary", "distanceM": 6000}, {"name": "Run", "distanceM": 2000}]});
    let w = app.json("POST", &format!("{V1}/members/{m}/workouts"), &g.key, workout, None).await;
    assert_eq!(w.status, 201, "{}", w.body);
    let _ = &w;
    let wid = w.body["id"].as_str().unwrap().to_owned();
    deliver(&app, &dispatcher).await;
    let progress = app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={m}"), &g.key).await;
    assert_eq!(progress.body["value"], 6000.0, "only the rowing counts: {}", progress.body);
    deliver(&app, &dispatcher).await;
    {
        let got = got.lock().unwrap();
        let entry = got.iter().find(|(_, b)| b.contains("\"challenge.entry\"")).expect("challenge.entry arrived");
        let (h, body) = entry;
        let header = |n: &str| h.get(n).unwrap().to_str().unwrap().to_owned();
        let ts: i64 = header("webhook-timestamp").parse().unwrap();
        secret
            .verify(
                &header("webhook-id"),
                ts,
                body.as_bytes(),
                &header("webhook-signature"),
                app.clock_now().timestamp(),
            )
            .expect("signed with the webhook's secret");
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["data"]["entry"]["source"], "workout");
        assert_eq!(event["data"]["entry"]["sourceId"], wid.as_str());
        assert_eq!((event["data"]["rankBefore"].clone(), event["data"]["rank"].clone()), (json!(1), json!(1)));
        assert!(got.iter().any(|(_, b)| b.contains("\"goal.achieved\"")), "the target was reached");
    }
    // The same event again (at least once) changes nothing; a correction and a deletion follow.
    let db = TenantDb::new(app.store.as_ref(), tenant(&g));
    let ev = iron_domain::Event::new(
        "workout.completed",
        db.business_id(),
        app.clock_now(),
        json!({"id": wid, "memberId": m}),
    );
    iron_store::repo::challenges::on_event(db, &ev, app.clock_now()).await.unwrap();
    let fixed = json!({"movements": [{"exerciseId": "rowing-stationary", "distanceM": 4000}]});
    let r = app.json("PATCH", &format!("{V1}/members/{m}/workouts/{wid}"), &g.key, fixed, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    deliver(&app, &dispatcher).await;
    let progress = app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={m}"), &g.key).await;
    assert_eq!((progress.body["value"].clone(), progress.body["entries"].clone()), (json!(4000.0), json!(1)));
    let r = app.json("DELETE", &format!("{V1}/members/{m}/workouts/{wid}"), &g.key, json!(null), None).await;
    assert_eq!(r.status, 204);
    deliver(&app, &dispatcher).await;
    let progress = app.get(&format!("{V1}/challenges/{c}/my-progress?memberId={m}"), &g.key).await;
    assert_eq!((progress.body["value"].clone(), progress.body["entries"].clone()), (json!(0.0), json!(0)));
    assert_problem(&app.get(&format!("{V1}/members/{m}/workouts/{wid}"), &g.key).await, 405);
}
