//! Predictive analytics through the whole API: memberships, payments and app events recorded,
//! ten weeks of check-ins, the full recompute, the at-risk list with its factors and summary
//! arithmetic, the incremental recompute after a check-in and a payment (through the internal
//! tasks), health scores, the model's weights, tenancy and scopes — on both table adapters.

use iron_domain::{RateTier, Scope};
use iron_store::TenantDb;
use iron_store::repo::{analytics, platform};
use iron_testing::{TestApp, assert_problem, at};
use serde_json::{Value, json};

const V1: &str = "/api/external/v1";

/// Runs what the dispatcher runs after each commit: fan-out (which writes the internal tasks)
/// and the due tasks, until nothing is left.
async fn settle(app: &TestApp) {
    for _ in 0..10 {
        let now = app.clock_now();
        let made = iron_store::repo::deliveries::fan_out(app.store.as_ref(), now, 100).await.unwrap();
        let ran = iron_store::repo::tasks::run_due(app.store.as_ref(), now, 100).await.unwrap();
        assert_eq!((ran.failed, ran.parked), (0, 0), "internal tasks failed");
        if made.is_empty() && ran.done == 0 {
            return;
        }
    }
}

struct Box {
    key: String,
    scope: iron_store::OperatorScope,
    location: String,
}

async fn business(app: &TestApp, name: &str) -> Box {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), name, "Europe/Madrid", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Unlimited).await;
    let loc = app
        .json("POST", &format!("{V1}/locations"), &key, json!({"name": "Sala", "timezone": "Europe/Madrid"}), None)
        .await;
    assert_eq!(loc.status, 201, "{}", loc.body);
    Box { key, scope, location: loc.body["id"].as_str().unwrap().to_owned() }
}

async fn member(app: &TestApp, b: &Box, first: &str, status: &str) -> String {
    let r = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &b.key,
            json!({"firstName": first, "lastName": "Pérez", "locationId": b.location, "status": status,
                   "joinedOn": "2026-06-01"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// Past visits written straight to the table (as a door system's history would be), in few
/// transactions: the history is not what is under test, and the DynamoDB run stays light.
async fn past_visits(app: &TestApp, b: &Box, member: &str, days: &[chrono::DateTime<chrono::Utc>]) {
    use iron_domain::check_in::{Access, AccessCode, CheckIn};
    use iron_store::repo::check_ins;
    let scope = b.scope.tenant();
    let athlete = iron_domain::Id::parse(member).unwrap();
    let location = iron_domain::Id::parse(&b.location).unwrap();
    let visits: Vec<CheckIn> = days
        .iter()
        .map(|at| CheckIn {
            id: iron_domain::Id::generate(iron_domain::IdKind::CheckIn, at.timestamp_millis()),
            athlete_id: athlete.clone(),
            display_name: "Socio P.".into(),
            location_id: location.clone(),
            checked_in_at: *at,
            local_date: at.date_naive(),
            access: Access { granted: true, code: AccessCode::Granted, message: "welcome in".into() },
            expected_until: *at + chrono::Duration::minutes(75),
            duration_min: 60,
            focus: None,
            readiness_score: None,
            wod: None,
        })
        .collect();
    for chunk in visits.chunks(45) {
        let mut ops: Vec<iron_store::TxOp> = chunk.iter().flat_map(|c| check_ins::record_ops(scope, c)).collect();
        if std::ptr::eq(chunk.last().unwrap(), visits.last().unwrap()) {
            ops.push(check_ins::latest_op(scope, chunk.last().unwrap(), iron_store::Condition::None));
        }
        app.store.transact(ops).await.unwrap();
    }
}

async fn check_in(app: &TestApp, b: &Box, member: &str) {
    let r = app
        .json("POST", &format!("{V1}/check-in"), &b.key, json!({"memberId": member, "locationId": b.location}), None)
        .await;
    assert!(r.status == 201 || r.status == 200, "{}", r.body);
}

fn factor<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["factors"].as_array().unwrap().iter().find(|f| f["factor"] == name).unwrap()
}

async fn churn_risk_end_to_end(app: TestApp) {
    // Ten weeks from 2026-09-22: Ana every other day throughout; Bruno the same until 20 days
    // before the end, then nothing; Carla as Ana, with a failed payment at the end.
    app.clock.set(at("2026-09-22T08:00:00Z"));
    let b = business(&app, "Box Analítica").await;
    let other = business(&app, "Box Ajeno").await;
    let ana = member(&app, &b, "Ana", "active").await;
    let bruno = member(&app, &b, "Bruno", "active").await;
    let carla = member(&app, &b, "Carla", "active").await;
    let prospect = member(&app, &b, "Diego", "prospect").await;
    let stranger = member(&app, &other, "Eva", "active").await;
    let end = at("2026-12-01T08:00:00Z");
    let every_other_day: Vec<_> = (0..35).map(|i| at("2026-09-22T08:00:00Z") + chrono::Duration::days(2 * i)).collect();
    past_visits(&app, &b, &ana, &every_other_day).await;
    past_visits(&app, &b, &carla, &every_other_day).await;
    let until_20_days_before: Vec<_> = every_other_day.iter().copied().filter(|d| (end - *d).num_days() > 20).collect();
    past_visits(&app, &b, &bruno, &until_20_days_before).await;
    past_visits(&app, &other, &stranger, &every_other_day).await;
    app.clock.set(end);

    // Memberships and payments.
    for (m, body) in [
        (&ana, json!({"plan": "Unlimited", "price": 129, "billingPeriod": "monthly", "start": "2026-06-01"})),
        (
            &bruno,
            json!({"plan": "3x week", "price": 89, "billingPeriod": "monthly", "start": "2026-06-01", "end": "2027-05-31"}),
        ),
        (
            &carla,
            json!({"plan": "Weekly", "price": 30, "billingPeriod": "weekly", "start": "2026-06-01",
                        "holds": [{"from": "2026-08-01", "to": "2026-08-14"}]}),
        ),
    ] {
        let r = app.json("POST", &format!("{V1}/members/{m}/memberships"), &b.key, body, None).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let listed = app.get(&format!("{V1}/members/{carla}/memberships"), &b.key).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"][0]["monthlyValue"], 130.0, "weekly 30 × 52 / 12");
    assert_eq!(listed.body["data"][0]["currency"], "USD", "a business without a gym bills in USD");
    // Precise 422s, nothing saved.
    let bad = app
        .json(
            "POST",
            &format!("{V1}/members/{ana}/memberships"),
            &b.key,
            json!({"plan": "", "price": -1, "billingPeriod": "daily", "start": "2026-06-01", "end": "2026-05-01",
                   "currency": "EUR", "holds": [{"from": "2026-07-02", "to": "2026-07-01"}]}),
            None,
        )
        .await;
    assert_problem(&bad, 422);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["/plan", "/price", "/billingPeriod", "/end", "/currency", "/holds/0/to"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    assert_eq!(
        app.get(&format!("{V1}/members/{ana}/memberships"), &b.key).await.body["data"].as_array().unwrap().len(),
        1
    );
    let unknown = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7";
    let r = app
        .json(
            "POST",
            &format!("{V1}/members/{unknown}/payments"),
            &b.key,
            json!({"amount": 1, "status": "succeeded", "date": "2026-11-30"}),
            None,
        )
        .await;
    assert_problem(&r, 404);
    for (m, status, date) in
        [(&ana, "succeeded", "2026-11-01"), (&carla, "succeeded", "2026-10-26"), (&carla, "failed", "2026-11-26")]
    {
        let r = app
            .json(
                "POST",
                &format!("{V1}/members/{m}/payments"),
                &b.key,
                json!({"amount": 129, "status": status, "date": date}),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = app
        .json(
            "POST",
            &format!("{V1}/members/{ana}/payments"),
            &b.key,
            json!({"amount": 10, "status": "succeeded", "date": "2026-11-01", "failureReason": "card_declined"}),
            None,
        )
        .await;
    assert_problem(&r, 422);
    // Another business's member is not ours to write to.
    let r = app
        .json(
            "POST",
            &format!("{V1}/members/{stranger}/memberships"),
            &b.key,
            json!({"plan": "X", "price": 1, "billingPeriod": "monthly", "start": "2026-06-01"}),
            None,
        )
        .await;
    assert_problem(&r, 404);

    // The full recompute (the daily schedule's), then the list.
    let done = analytics::recompute_business(TenantDb::new(app.store.as_ref(), &b.scope), app.clock_now(), false)
        .await
        .unwrap();
    assert_eq!(done.scored, 3, "active members only: the prospect is not scored");
    let all = app.get(&format!("{V1}/analytics/churn-risk?threshold=0"), &b.key).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let list = all.body["atRiskMembers"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let scores: Vec<f64> = list.iter().map(|m| m["riskScore"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "highest risk first: {scores:?}");
    let by = |id: &str| list.iter().find(|m| m["member"]["id"] == id).unwrap().clone();
    let (a, bb, c) = (by(&ana), by(&bruno), by(&carla));
    assert_eq!(bb["member"]["firstName"], "Bruno");
    assert_eq!(bb["riskLevel"], "high", "{bb}");
    assert_eq!(bb["daysSinceVisit"], 22);
    assert_eq!(factor(&bb, "daysSinceVisit")["impact"], "high");
    assert!(factor(&bb, "daysSinceVisit")["detail"].as_str().unwrap().starts_with("Last visit 22 days ago"));
    assert!(factor(&bb, "visitTrend")["detail"].as_str().unwrap().starts_with("Down "), "{bb}");
    assert!(!bb["recommendedActions"].as_array().unwrap().is_empty());
    assert_eq!(factor(&c, "paymentIssues")["impact"], "critical");
    assert_eq!(factor(&c, "paymentIssues")["risk"], 1.0);
    assert_eq!(factor(&a, "paymentIssues")["risk"], 0.0);
    assert_eq!(a["riskLevel"], "low", "{a}");
    // No app events and no challenges in this business: those factors are missing, not zero.
    for m in [&a, &bb, &c] {
        assert_eq!(factor(m, "appEngagement")["missing"], true);
        assert_eq!(factor(m, "appEngagement")["contribution"], Value::Null);
        assert_eq!(factor(m, "socialActivity")["missing"], true);
        let sum: f64 = m["factors"].as_array().unwrap().iter().filter_map(|f| f["contribution"].as_f64()).sum();
        assert!((sum - m["riskScore"].as_f64().unwrap()).abs() < 0.006, "contributions sum to the score: {m}");
    }
    // Summary arithmetic at the default threshold (0.35): those at or above it, their value.
    let r = app.get(&format!("{V1}/analytics/churn-risk"), &b.key).await;
    let s = &r.body["summary"];
    let at_risk: Vec<&Value> = [&a, &bb, &c].into_iter().filter(|m| m["riskScore"].as_f64().unwrap() >= 0.35).collect();
    assert_eq!(s["totalAtRisk"], at_risk.len());
    assert_eq!(r.body["atRiskMembers"].as_array().unwrap().len(), at_risk.len());
    let high = at_risk.iter().filter(|m| m["riskScore"].as_f64().unwrap() >= 0.6).count();
    assert_eq!(s["highRisk"], high);
    assert_eq!(s["mediumRisk"], at_risk.len() - high);
    assert_eq!(s["membersScored"], 3);
    let value: f64 = at_risk.iter().map(|m| m["monthlyValue"].as_f64().unwrap()).sum();
    assert_eq!(s["potentialMonthlyLoss"], json!({"amount": value, "currency": "USD"}));
    assert_eq!(bb["monthlyValue"], 89.0);
    assert_eq!(c["monthlyValue"], 130.0);

    // Pages: one at a time, with the cursor.
    let first = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&limit=1"), &b.key).await;
    let cursor = first.body["nextCursor"].as_str().expect("a next page").to_owned();
    let second = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&limit=1&cursor={cursor}"), &b.key).await;
    assert_eq!(second.body["atRiskMembers"][0]["member"]["id"], list[1]["member"]["id"]);
    let mismatched = app
        .get(
            &format!("{V1}/analytics/churn-risk?threshold=0&limit=1&cursor={cursor}&locationId={}", b.location),
            &b.key,
        )
        .await;
    assert_problem(&mismatched, 400);
    // Per location; parameters checked.
    let here = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&locationId={}", b.location), &b.key).await;
    assert_eq!(here.body["atRiskMembers"].as_array().unwrap().len(), 3);
    assert_eq!(here.body["summary"]["membersScored"], 3);
    assert_problem(&app.get(&format!("{V1}/analytics/churn-risk?threshold=2"), &b.key).await, 400);
    assert_problem(&app.get(&format!("{V1}/analytics/churn-risk?locationId={}", other.location), &b.key).await, 404);
    assert_problem(&app.get(&format!("{V1}/analytics/churn-risk?sort=x"), &b.key).await, 400);

    // Engagement: the last 7 days against the 7 before (Ana and Carla every other day; Bruno
    // stopped three weeks ago).
    let e = app.get(&format!("{V1}/analytics/engagement?period=week"), &b.key).await;
    assert_eq!(e.status, 200, "{}", e.body);
    assert_eq!(
        (e.body["current"]["from"].as_str(), e.body["current"]["to"].as_str()),
        (Some("2026-11-25"), Some("2026-12-01"))
    );
    assert_eq!(e.body["current"]["activeMembers"], 2);
    assert_eq!(e.body["current"]["visits"], 6);
    assert_eq!(e.body["current"]["visitsPerMember"], 3.0);
    assert_eq!(e.body["current"]["openGymShare"], 1.0, "door check-ins only");
    assert_eq!(e.body["previous"]["activeMembers"], 2);
    assert_eq!(e.body["trends"]["activeMembers"], json!({"current": 2.0, "previous": 2.0, "change": 0.0}));
    let m = app.get(&format!("{V1}/analytics/engagement?period=month&locationId={}", b.location), &b.key).await;
    // The last 28 days: Bruno still came in its first week.
    assert_eq!(
        (m.body["current"]["activeMembers"].as_u64(), m.body["current"]["visits"].as_u64()),
        (Some(3), Some(29)),
        "{}",
        m.body
    );
    assert_eq!(m.body["previous"]["visits"], 42);
    assert_eq!(m.body["trends"]["visitsPerMember"], json!({"current": 9.67, "previous": 14.0, "change": -0.3093}));
    assert_problem(&app.get(&format!("{V1}/analytics/engagement?period=year"), &b.key).await, 400);
    // Capacity: visits at 09:00 local for 75 minutes.
    let c = app.get(&format!("{V1}/analytics/capacity?locationId={}&date=2026-12-01", b.location), &b.key).await;
    assert_eq!(c.status, 200, "{}", c.body);
    assert_eq!(c.body["hours"].as_array().unwrap().len(), 24);
    assert_eq!(c.body["weekday"], "Tue");
    assert_eq!(c.body["heldOutError"]["weeks"], 2);
    assert!(c.body["basedOnCheckIns"].as_u64().unwrap() > 50, "{}", c.body);
    assert!(c.body["hours"][9]["predicted"].as_f64().unwrap() > 0.0, "{}", c.body);
    assert_eq!(c.body["hours"][3]["predicted"], 0.0);
    assert!(c.body["recommendations"][0].as_str().unwrap().contains("set the location's capacity"), "{}", c.body);
    let peak = app
        .get(&format!("{V1}/analytics/capacity?locationId={}&date=2026-12-01&hourly=false", b.location), &b.key)
        .await;
    assert_eq!(peak.body["hours"].as_array().unwrap().len(), 1);
    assert_problem(&app.get(&format!("{V1}/analytics/capacity"), &b.key).await, 400);
    assert_problem(&app.get(&format!("{V1}/analytics/capacity?locationId={}", other.location), &b.key).await, 404);
    assert_problem(
        &app.get(&format!("{V1}/analytics/capacity?locationId={}&date=2030-02-30", b.location), &b.key).await,
        400,
    );

    // Health scores.
    let h = app.get(&format!("{V1}/members/{bruno}/health-score"), &b.key).await;
    assert_eq!(h.status, 200, "{}", h.body);
    assert_eq!(h.body["score"], ((1.0 - bb["riskScore"].as_f64().unwrap()) * 100.0).round() as u64);
    assert_eq!(h.body["factors"].as_array().unwrap().len(), 6);
    let p = app.get(&format!("{V1}/members/{prospect}/health-score"), &b.key).await;
    assert_problem(&p, 404);
    assert!(p.body["detail"].as_str().unwrap().contains("only active members"), "{}", p.body);

    // Tenancy: the other business sees none of ours, and ours none of its.
    assert_problem(&app.get(&format!("{V1}/members/{bruno}/health-score"), &other.key).await, 404);
    let theirs = app.get(&format!("{V1}/analytics/churn-risk?threshold=0"), &other.key).await;
    assert_eq!(theirs.body["atRiskMembers"].as_array().unwrap().len(), 0, "not recomputed there yet");
    assert_eq!(theirs.body["summary"]["membersScored"], 0);

    // Incremental: Bruno comes back; the check-in's task recomputes him alone.
    let before = bb["riskScore"].as_f64().unwrap();
    check_in(&app, &b, &bruno).await;
    settle(&app).await;
    let h = app.get(&format!("{V1}/members/{bruno}/health-score"), &b.key).await;
    assert_eq!(h.body["daysSinceVisit"], 0);
    assert!(h.body["riskScore"].as_f64().unwrap() < before, "{} < {before}", h.body["riskScore"]);
    let now_listed = app.get(&format!("{V1}/analytics/churn-risk?threshold=0"), &b.key).await;
    let s = &now_listed.body["summary"];
    assert_eq!(s["membersScored"], 3, "moved, not duplicated");
    assert_eq!(now_listed.body["atRiskMembers"].as_array().unwrap().len(), 3);
    let listed: Vec<&Value> = now_listed.body["atRiskMembers"].as_array().unwrap().iter().collect();
    let at_risk = listed.iter().filter(|m| m["riskScore"].as_f64().unwrap() >= 0.35).count();
    let default = app.get(&format!("{V1}/analytics/churn-risk"), &b.key).await;
    assert_eq!(default.body["summary"]["totalAtRisk"], at_risk, "the summary follows the move");
    // A payment that clears Carla's failure: recomputed through payment.recorded.
    let r = app
        .json(
            "POST",
            &format!("{V1}/members/{carla}/payments"),
            &b.key,
            json!({"amount": 129, "status": "succeeded", "date": "2026-11-28"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201);
    settle(&app).await;
    let h = app.get(&format!("{V1}/members/{carla}/health-score"), &b.key).await;
    assert_eq!(factor(&h.body, "paymentIssues")["risk"], 0.4, "failed, since paid: {}", h.body);

    // App events turn the app factor on (for every member, at the next recompute).
    let r = app
        .json("POST", &format!("{V1}/members/{ana}/app-events"), &b.key,
              json!({"events": [{"type": "app_open", "occurredAt": "2026-11-30T07:00:00Z"}, {"type": "app_open", "occurredAt": "2026-12-01T07:00:00Z"}]}), None)
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["accepted"], 2);
    let bad = app
        .json(
            "POST",
            &format!("{V1}/members/{ana}/app-events"),
            &b.key,
            json!({"events": [{"type": "push", "occurredAt": "2020-01-01T00:00:00Z"}]}),
            None,
        )
        .await;
    assert_problem(&bad, 422);
    analytics::recompute_business(TenantDb::new(app.store.as_ref(), &b.scope), app.clock_now(), false).await.unwrap();
    let h = app.get(&format!("{V1}/members/{ana}/health-score"), &b.key).await;
    assert_eq!(factor(&h.body, "appEngagement")["risk"], 0.0, "two opens this week");
    let h = app.get(&format!("{V1}/members/{bruno}/health-score"), &b.key).await;
    assert_eq!(factor(&h.body, "appEngagement")["missing"], true, "never opened it: not an app user");

    // The model's weights.
    let m = app.get(&format!("{V1}/analytics/churn-model"), &b.key).await;
    assert_eq!(m.body["default"], true);
    assert_eq!(m.body["weights"]["daysSinceVisit"], 0.30);
    let bad = app
        .json("PUT", &format!("{V1}/analytics/churn-model"), &b.key,
              json!({"weights": {"daysSinceVisit": 0.5, "visitTrend": 0.25, "workoutCompletion": 0.15, "appEngagement": 0.1, "socialActivity": 0.1, "paymentIssues": 0.1}}), None)
        .await;
    assert_problem(&bad, 422);
    assert_eq!(bad.body["errors"][0]["field"], "/weights");
    let w = json!({"daysSinceVisit": 0.5, "visitTrend": 0.2, "workoutCompletion": 0.1, "appEngagement": 0.0, "socialActivity": 0.0, "paymentIssues": 0.2});
    let ok = app.json("PUT", &format!("{V1}/analytics/churn-model"), &b.key, json!({"weights": w}), None).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["default"], false);
    analytics::recompute_business(TenantDb::new(app.store.as_ref(), &b.scope), app.clock_now(), false).await.unwrap();
    let h = app.get(&format!("{V1}/members/{ana}/health-score"), &b.key).await;
    assert_eq!(factor(&h.body, "daysSinceVisit")["weight"], 0.5);
    let reset = app.json("PUT", &format!("{V1}/analytics/churn-model"), &b.key, json!({"weights": null}), None).await;
    assert_eq!(reset.body["default"], true);

    // Scopes: reading needs read:analytics, the weights manage:analytics.
    let reader = app.key(&b.scope, &[Scope::ReadAnalytics], RateTier::Unlimited).await;
    assert_eq!(app.get(&format!("{V1}/analytics/churn-risk"), &reader).await.status, 200);
    let put = app.json("PUT", &format!("{V1}/analytics/churn-model"), &reader, json!({"weights": null}), None).await;
    assert_problem(&put, 403);
    let members_only = app.key(&b.scope, &[Scope::ReadMembers], RateTier::Unlimited).await;
    assert_problem(&app.get(&format!("{V1}/analytics/churn-risk"), &members_only).await, 403);
    assert_problem(&app.get(&format!("{V1}/members/{ana}/health-score"), &members_only).await, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_risk_embedded() {
    churn_risk_end_to_end(TestApp::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_risk_dynamodb() {
    churn_risk_end_to_end(iron_testing::moto_app().await).await;
}

/// The full recompute writes many members' entries to a transaction, each on the condition
/// that it is the one read, with the summed change to the summaries' counters (atomic adds):
/// with members scored one by one (check-ins' tasks) at the same time, a member gone inactive
/// and one erased, the cache still holds one entry per active member, one listing copy each,
/// and summaries that add up to the listing — whatever the interleaving. Summaries that drifted
/// are repaired by the next full run. On SQLite and on DynamoDB (moto).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_recompute_beside_member_recomputes_keeps_the_cache_whole() {
    full_and_member_recomputes_together(TestApp::new(), 45).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_recompute_beside_member_recomputes_keeps_the_cache_whole_dynamodb() {
    // Fewer members (still two batches): moto copies the table on every transaction.
    full_and_member_recomputes_together(iron_testing::moto_app().await, 26).await;
}

async fn full_and_member_recomputes_together(app: TestApp, n: usize) {
    app.clock.set(at("2026-12-01T04:00:00Z"));
    let b = business(&app, "Box Grande").await;
    let now = app.clock_now();
    let mut members = Vec::new();
    for i in 0..n {
        let id = member(&app, &b, &format!("Socio{i}"), "active").await;
        // Every member a different last visit (0–n days ago) and a weekly habit before it.
        let days: Vec<_> = (0..8).map(|w| now - chrono::Duration::days(i as i64 + 7 * w)).collect();
        past_visits(&app, &b, &id, &days).await;
        members.push(id);
    }
    let db = TenantDb::new(app.store.as_ref(), &b.scope);
    let done = analytics::recompute_business(db, now, false).await.unwrap();
    assert_eq!(done.scored, n);

    let gone = json!({"status": "inactive"});
    assert_eq!(app.json("PATCH", &format!("{V1}/athletes/{}", members[0]), &b.key, gone, None).await.status, 200);
    // Gone from the table (what the sweep of stale entries is for; the API deletes no member).
    let erased = iron_store::keys::athlete(b.scope.tenant(), &iron_domain::Id::parse(&members[1]).unwrap());
    app.store.delete(&erased, iron_store::Condition::None).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    {
        let (store, scope) = (app.store.clone(), b.scope.clone());
        tasks.spawn(async move {
            let done = analytics::recompute_business(TenantDb::new(store.as_ref(), &scope), now, false).await.unwrap();
            assert_eq!((done.scored, done.removed), (n - 2, 2));
        });
    }
    for m in members.iter().skip(2).step_by(2) {
        let (store, scope, id) = (app.store.clone(), b.scope.clone(), iron_domain::Id::parse(m).unwrap());
        tasks.spawn(async move {
            analytics::recompute_member(TenantDb::new(store.as_ref(), &scope), &id, now).await.unwrap();
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }

    for location in [None, Some(b.location.as_str())] {
        let filter = location.map_or(String::new(), |l| format!("&locationId={l}"));
        let all = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&limit=100{filter}"), &b.key).await;
        assert_eq!(all.status, 200, "{}", all.body);
        let listed: Vec<&str> =
            all.body["atRiskMembers"].as_array().unwrap().iter().map(|m| m["member"]["id"].as_str().unwrap()).collect();
        let distinct: std::collections::HashSet<&str> = listed.iter().copied().collect();
        assert_eq!((listed.len(), distinct.len()), (n - 2, n - 2), "one listing copy per active member");
        assert!(!distinct.contains(members[0].as_str()) && !distinct.contains(members[1].as_str()));
        assert_eq!(all.body["summary"]["membersScored"], n - 2);
        for threshold in ["0.2", "0.35", "0.6", "0.9"] {
            let r =
                app.get(&format!("{V1}/analytics/churn-risk?threshold={threshold}&limit=100{filter}"), &b.key).await;
            let s = &r.body["summary"];
            let n = r.body["atRiskMembers"].as_array().unwrap().len();
            assert_eq!(s["totalAtRisk"], n, "the summary adds up to the listing at {threshold}: {s}");
            let value: f64 =
                r.body["atRiskMembers"].as_array().unwrap().iter().map(|m| m["monthlyValue"].as_f64().unwrap()).sum();
            assert_eq!(s["potentialMonthlyLoss"]["amount"].as_f64().unwrap(), value);
        }
    }
    let h = app.get(&format!("{V1}/members/{}/health-score", members[1]), &b.key).await;
    assert_problem(&h, 404);

    // Summaries that drifted (one lost, one off by a stray add) are repaired by the next full
    // recompute, from the entries.
    let location = iron_domain::Id::parse(&b.location).unwrap();
    app.store
        .delete(&iron_store::keys::churn_summary(b.scope.tenant(), None), iron_store::Condition::None)
        .await
        .unwrap();
    let stray = iron_store::TxOp::Add {
        key: iron_store::keys::churn_summary(b.scope.tenant(), Some(&location)),
        deltas: vec![("c99".into(), 7), ("v99".into(), 12345)],
    };
    app.store.transact(vec![stray]).await.unwrap();
    let drifted = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&locationId={}", b.location), &b.key).await;
    assert_eq!(drifted.body["summary"]["membersScored"], n - 2 + 7);
    analytics::recompute_business(TenantDb::new(app.store.as_ref(), &b.scope), now, false).await.unwrap();
    for filter in [String::new(), format!("&locationId={}", b.location)] {
        let r = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&limit=100{filter}"), &b.key).await;
        assert_eq!(r.body["summary"]["membersScored"], n - 2, "{}", r.body["summary"]);
        let value: f64 =
            r.body["atRiskMembers"].as_array().unwrap().iter().map(|m| m["monthlyValue"].as_f64().unwrap()).sum();
        assert_eq!(r.body["summary"]["potentialMonthlyLoss"]["amount"].as_f64().unwrap(), value);
        assert_eq!(r.body["summary"]["computedAt"], "2026-12-01T04:00:00Z");
    }
}

/// The outbox events of `event_type` of a business.
async fn events_of(app: &TestApp, b: &Box, event_type: &str) -> Vec<Value> {
    use iron_store::{Index, Query};
    let q = Query::new(Index::Table, format!("BIZ#{}#EVENT", b.scope.business_id())).limit(500);
    let page = app.store.query(q).await.unwrap();
    page.items.into_iter().filter(|e| e.get("type") == Some(&json!(event_type))).map(Value::Object).collect()
}

/// The daily schedule (`events/schedule-analytics.json`) queues one recompute per business on
/// the sync queue; the worker scores every active member and fires `subscription.expiring`
/// once per membership period, for memberships ending within the notice and not renewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daily_schedule_scores_every_business_and_announces_expiring_memberships() {
    let app = TestApp::new();
    app.clock.set(at("2026-12-01T04:00:00Z"));
    let b = business(&app, "Box Diario").await;
    let other = business(&app, "Box Otro").await;
    let (ana, bruno, carla) = (
        member(&app, &b, "Ana", "active").await,
        member(&app, &b, "Bruno", "active").await,
        member(&app, &b, "Carla", "active").await,
    );
    let eva = member(&app, &other, "Eva", "active").await;
    let post = |m: String, k: String, body: Value| {
        let app = &app;
        async move {
            let r = app.json("POST", &format!("{V1}/members/{m}/memberships"), &k, body, None).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
    };
    // Ana's ends in 10 days (inside the 14-day notice); Bruno's in 30; Carla's ends in 5 but is
    // renewed by the next, which starts the day after.
    post(ana.clone(), b.key.clone(), json!({"plan": "Quarter", "price": 300, "billingPeriod": "monthly", "start": "2026-09-12", "end": "2026-12-11"})).await;
    post(bruno.clone(), b.key.clone(), json!({"plan": "Quarter", "price": 300, "billingPeriod": "monthly", "start": "2026-10-01", "end": "2026-12-31"})).await;
    post(
        carla.clone(),
        b.key.clone(),
        json!({"plan": "Month", "price": 99, "billingPeriod": "monthly", "start": "2026-11-07", "end": "2026-12-06"}),
    )
    .await;
    post(
        carla.clone(),
        b.key.clone(),
        json!({"plan": "Month", "price": 99, "billingPeriod": "monthly", "start": "2026-12-07", "end": "2027-01-06"}),
    )
    .await;
    post(
        eva.clone(),
        other.key.clone(),
        json!({"plan": "Year", "price": 900, "billingPeriod": "yearly", "start": "2025-12-10", "end": "2026-12-09"}),
    )
    .await;

    let worker = app.sync_worker(std::time::Duration::from_secs(30), None);
    let raw =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/schedule-analytics.json")).unwrap();
    let out = worker.handle_event(serde_json::from_str(&raw).unwrap()).await.unwrap();
    assert_eq!(out["queued"], 2, "one recompute per business");
    app.run_syncs(&worker).await;
    for (x, n) in [(&b, 3), (&other, 1)] {
        let r = app.get(&format!("{V1}/analytics/churn-risk?threshold=0"), &x.key).await;
        assert_eq!(r.body["summary"]["membersScored"], n, "{}", r.body);
    }
    let fired = events_of(&app, &b, "subscription.expiring").await;
    assert_eq!(fired.len(), 1, "Ana's only: {fired:?}");
    let data = &fired[0]["data"];
    assert_eq!(data["memberId"], ana.as_str());
    assert_eq!(
        (data["endsOn"].as_str(), data["daysLeft"].as_i64(), data["source"].as_str()),
        (Some("2026-12-11"), Some(10), Some("api"))
    );
    assert_eq!(data["plan"], "Quarter");
    assert_eq!(events_of(&app, &other, "subscription.expiring").await.len(), 1, "Eva's, in her own business");
    // The next day's run announces nothing twice; a longer notice reaches Bruno's.
    app.clock.advance(chrono::Duration::days(1));
    let w = json!({"weights": null, "expiryNoticeDays": 30});
    assert_eq!(app.json("PUT", &format!("{V1}/analytics/churn-model"), &b.key, w, None).await.status, 200);
    worker.handle_event(serde_json::from_str(&raw).unwrap()).await.unwrap();
    app.run_syncs(&worker).await;
    let fired = events_of(&app, &b, "subscription.expiring").await;
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert!(fired.iter().any(|e| e["data"]["memberId"] == bruno.as_str() && e["data"]["daysLeft"] == 29));
    let m = app.get(&format!("{V1}/analytics/churn-model"), &b.key).await;
    assert_eq!(m.body["expiryNoticeDays"], 30);
}

/// The demo gym, as iron-local seeds it: its active members show a believable spread of risk,
/// each at-risk member with reasons and actions, and the loss in euros.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_gym_shows_a_spread_of_risk() {
    let app = TestApp::new();
    let demo = app.seed_with_training(42).await;
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let done = analytics::recompute_business(TenantDb::new(app.store.as_ref(), &demo.scope), app.clock_now(), true)
        .await
        .unwrap();
    let patterns = demo.training.patterns;
    assert_eq!(done.scored, patterns.iter().sum::<usize>(), "every active member: {patterns:?}");
    let r = app.get(&format!("{V1}/analytics/churn-risk?threshold=0&limit=100"), &key).await;
    let s = &r.body["summary"];
    let scored = s["membersScored"].as_u64().unwrap();
    let high = s["highRisk"].as_u64().unwrap();
    let medium = s["mediumRisk"].as_u64().unwrap();
    eprintln!("demo: {scored} scored, {high} high, {medium} medium, patterns {patterns:?}, billing {:?}", demo.billing);
    assert!(
        high * 100 >= scored * 5 && high * 100 <= scored * 35,
        "high risk is a minority, not none: {high}/{scored}"
    );
    assert!(medium > 0, "some in the middle");
    assert!(scored - high - medium > scored / 2, "most members are fine");
    let loss = app.get(&format!("{V1}/analytics/churn-risk"), &key).await;
    assert_eq!(loss.body["summary"]["potentialMonthlyLoss"]["currency"], "EUR");
    assert!(loss.body["summary"]["potentialMonthlyLoss"]["amount"].as_f64().unwrap() > 0.0);
    for m in loss.body["atRiskMembers"].as_array().unwrap() {
        assert!(!m["recommendedActions"].as_array().unwrap().is_empty(), "{m}");
        assert!(m["factors"].as_array().unwrap().iter().all(|f| f["detail"].as_str().is_some_and(|d| !d.is_empty())));
    }
    assert!(done.expiring > 0, "some memberships end within the notice");
    let e = app.get(&format!("{V1}/analytics/engagement?period=month"), &key).await;
    assert!(e.body["current"]["activeMembers"].as_u64().unwrap() > 50, "{}", e.body);
    let c = app.get(&format!("{V1}/analytics/capacity?locationId={}", demo.locations[0].id), &key).await;
    assert!(c.body["basedOnCheckIns"].as_u64().unwrap() > 500, "{}", c.body);
}
