//! The churn benchmark (docs/PERFORMANCE.md): a gym of N members (default 10,000) with 13 weeks
//! of visits, a membership and three payments each, on the embedded SQLite table in a temp dir;
//! the full recompute timed (and the process's peak memory), then `GET /analytics/churn-risk`
//! served from the cache through the whole router (auth, rate limit, audit), p50/p99 over 2,000
//! requests, and a member's health score the same way.
//!
//! `cargo run -p iron-local --release --example churn_bench [members]`

use chrono::{Duration, Utc};
use iron_domain::billing::{BillingPeriod, MemberMembership, MembershipStatus, Payment, PaymentStatus};
use iron_domain::check_in::{Access, AccessCode, CheckIn};
use iron_domain::{Athlete, AthleteSource, Id, IdKind, RateTier, Scope};
use iron_store::repo::{analytics, athletes, check_ins, platform};
use iron_store::{ManualClock, SqliteTable, TableStore, TenantDb};
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l.to_owned()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    tracing_subscriber::fmt().with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into())).init();
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let clock = Arc::new(ManualClock::new(now));
    let store: Arc<dyn TableStore> = Arc::new(SqliteTable::open(&dir.path().join("table.db"), clock.clone()).unwrap());
    let (_, scope) = platform::create_business(store.as_ref(), "Bench Box", "Europe/Madrid", now).await.unwrap();
    let db = TenantDb::new(store.as_ref(), &scope);
    let location = platform::add_location(db, "Sala", "Europe/Madrid", now).await.unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(10_000);
    let started = Instant::now();
    let mut visits_total = 0;
    let mut member_ids = Vec::with_capacity(n);
    for i in 0..n {
        let mut a = Athlete::new_member(AthleteSource::Api, now - Duration::days(200));
        a.first_name = format!("Socio {i}");
        a.last_name = "Bench".into();
        a.location_id = Some(location.id.clone());
        a.joined_on = Some((now - Duration::days(rng.random_range(60..700))).date_naive());
        store.transact(athletes::create_ops(&scope, &a)).await.unwrap();
        // 13 weeks of visits: a weekly habit of 1–5, a fifth of the members fading lately.
        let per_week = rng.random_range(1..=5) as f64;
        let fading = rng.random_bool(0.2);
        let mut ops = Vec::new();
        for day in (0..91).rev() {
            let p = per_week / 7.0 * if fading && day < 30 { day as f64 / 30.0 } else { 1.0 };
            if !rng.random_bool(p.min(1.0)) {
                continue;
            }
            let at = now - Duration::days(day) - Duration::hours(rng.random_range(1..12));
            let c = CheckIn {
                id: Id::generate(IdKind::CheckIn, at.timestamp_millis()),
                athlete_id: a.id.clone(),
                display_name: "Socio B.".into(),
                location_id: location.id.clone(),
                checked_in_at: at,
                local_date: at.date_naive(),
                access: Access { granted: true, code: AccessCode::Granted, message: "welcome in".into() },
                expected_until: at + Duration::minutes(75),
                duration_min: 60,
                focus: None,
                readiness_score: None,
                wod: None,
            };
            ops.extend(check_ins::record_ops(&scope, &c));
            visits_total += 1;
            if ops.len() >= 90 {
                store.transact(std::mem::take(&mut ops)).await.unwrap();
            }
        }
        if !ops.is_empty() {
            store.transact(ops).await.unwrap();
        }
        let m = MemberMembership {
            id: Id::generate(IdKind::Membership, now.timestamp_millis()),
            athlete_id: a.id.clone(),
            plan: "Unlimited".into(),
            price: [79.0, 99.0, 129.0][i % 3],
            currency: "USD".into(),
            billing_period: BillingPeriod::Monthly,
            start: a.joined_on.unwrap(),
            end: None,
            status: MembershipStatus::Active,
            holds: vec![],
            created_at: now,
        };
        analytics::create_membership(db, &m).await.unwrap();
        for k in 0..3 {
            let p = Payment {
                id: Id::generate(IdKind::Payment, now.timestamp_millis()),
                athlete_id: a.id.clone(),
                membership_id: Some(m.id.clone()),
                amount: m.price,
                currency: "USD".into(),
                status: if k == 0 && rng.random_bool(0.04) { PaymentStatus::Failed } else { PaymentStatus::Succeeded },
                date: (now - Duration::days(30 * k)).date_naive(),
                failure_reason: None,
                created_at: now,
            };
            analytics::create_payment(db, &p, &[]).await.unwrap();
        }
        member_ids.push(a.id);
    }
    println!(
        "seeded {n} members, {visits_total} visits in {:.1} s (peak RSS {:.0} MB)",
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );

    let before = peak_rss_mb();
    let started = Instant::now();
    let done = analytics::recompute_business(db, now, true).await.unwrap();
    println!(
        "full recompute: {} scored in {:.2} s ({:.0} members/s), peak RSS {before:.0} → {:.0} MB",
        done.scored,
        started.elapsed().as_secs_f64(),
        done.scored as f64 / started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    let started = Instant::now();
    analytics::recompute_member(db, &member_ids[n / 2], now).await.unwrap();
    println!("one member's incremental recompute: {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);

    let app = iron_testing::TestApp::with_store(store.clone(), clock);
    let key = app.key(&scope, &[Scope::ReadAnalytics], RateTier::Unlimited).await;
    for (name, path) in [
        ("GET /analytics/churn-risk (25 per page)", "/api/external/v1/analytics/churn-risk".to_owned()),
        ("GET /analytics/churn-risk?limit=100", "/api/external/v1/analytics/churn-risk?limit=100".to_owned()),
        ("GET /members/{id}/health-score", format!("/api/external/v1/members/{}/health-score", member_ids[7])),
    ] {
        for _ in 0..100 {
            assert_eq!(app.get(&path, &key).await.status, 200);
        }
        let mut ms = Vec::with_capacity(2000);
        for _ in 0..2000 {
            let t = Instant::now();
            let r = app.get(&path, &key).await;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, 200);
        }
        ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!("{name}: p50 {:.2} ms, p99 {:.2} ms", percentile(&ms, 0.5), percentile(&ms, 0.99));
    }
    let r = app.get("/api/external/v1/analytics/churn-risk", &key).await;
    println!("summary: {}", r.body["summary"]);
}
