use chrono::{NaiveDate, TimeZone, Utc};
use iron_domain::sync::{Connection, ConnectionStatus, Entity, Gym, Provider, Run, RunMode, RunStatus, RunTrigger};
use iron_domain::{Id, IdKind};
use iron_store::repo::sync::{self as repo, StoredConnection};
use iron_store::{Clock, ManualClock, OperatorScope, SqliteTable, TenantDb};
use iron_sync::wodify::connector::{Connector, ConnectorConfig, RetryConfig};
use iron_sync::wodify::run::{self, Engine, Step};
use iron_wodify_fake::gym::GymSpec;
use iron_wodify_fake::{FakeWodify, Running};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEY: &str = "wdf_live_7c1d9e2a4b6f8a0c";

struct World {
    table: Arc<SqliteTable>,
    clock: Arc<ManualClock>,
    fake: Running,
}

async fn world(clients: usize) -> World {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).expect("day");
    let spec = GymSpec { seed: 23, clients, months: 14, today };
    let fake = FakeWodify::new(spec, vec![KEY.into()]).spawn(0).await.expect("fake");
    fake.fake.update_faults(|f| f.rate_limit = None);
    let clock = Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()));
    let table = Arc::new(SqliteTable::in_memory(clock.clone()).expect("table"));
    World { table, clock, fake }
}

fn connector(w: &World) -> Connector {
    let config = ConnectorConfig {
        base_url: w.fake.base_url().parse().expect("url"),
        pace: None,
        timeout: Duration::from_secs(5),
        retry: RetryConfig {
            min_delay: Duration::from_millis(2),
            max_delay: Duration::from_millis(20),
            attempts: 4,
            throttled_patience: Duration::from_secs(5),
        },
        breaker_threshold: 6,
    };
    Connector::new(&config, SecretString::from(KEY.to_string())).expect("connector")
}

/// A business with one gym connected (its key stored elsewhere: the engine is given a connector).
async fn connected(w: &World, scope: &OperatorScope) -> Gym {
    let db = TenantDb::new(w.table.as_ref(), scope);
    let now = w.clock.now();
    let gym = Gym {
        id: Id::generate(IdKind::Gym, now.timestamp_millis()),
        name: "Iron Harbor".into(),
        location_ids: vec![],
        currency: "USD".into(),
        created_at: now,
        updated_at: now,
    };
    repo::create_gym(db, &gym).await.expect("gym");
    let conn = Connection {
        provider: Provider::Wodify,
        gym_id: gym.id.clone(),
        status: ConnectionStatus::Connected,
        key_fingerprint: Some("…8a0c".into()),
        key_set_at: Some(now),
        key_version: 1,
        sync_window_days: 365,
        reconcile_days: 45,
        currency: "USD".into(),
        availability: BTreeMap::new(),
        watermark: None,
        backfilled: false,
        last_success_at: None,
        last_run_at: None,
        last_error: None,
        consecutive_failures: 0,
        current_run: None,
        lease_until: None,
        created_at: now,
        updated_at: now,
        version: 0,
    };
    repo::save_connection(db, &mut StoredConnection::new(conn)).await.expect("connection");
    gym
}

/// Runs a whole run, each step given `step` of time (zero: one page a step).
async fn run_to_end(w: &World, scope: &OperatorScope, gym: &Gym, mode: RunMode, step: Duration) -> (Run, u32) {
    let db = TenantDb::new(w.table.as_ref(), scope);
    let mut r = run::start(db, w.clock.as_ref(), &gym.id, mode, RunTrigger::Manual).await.expect("start");
    let mut steps = 0;
    loop {
        steps += 1;
        // Each step as a new invocation would: the connection and run read again, a new connector.
        let mut conn = repo::get_connection(db, Provider::Wodify, &gym.id).await.expect("read").expect("conn");
        assert!(run::renew(db, w.clock.as_ref(), &mut conn, &r.id).await.expect("renew"));
        r = repo::get_run(db, &gym.id, &r.id).await.expect("run");
        let c = connector(w);
        let engine = Engine { db, clock: w.clock.as_ref(), connector: &c, bus: None };
        match engine.step(gym, &mut conn, &mut r, Instant::now() + step).await.expect("step") {
            Step::Finished(_) => return (r, steps),
            Step::Continue => {}
        }
        assert!(steps < 10_000);
    }
}

/// Every canonical row of a gym, by kind, with what ties it to one run or one business (run
/// ids, athlete ids) taken out, so two businesses' syncs of one gym compare.
async fn canonical(
    w: &World,
    scope: &OperatorScope,
    gym: &Gym,
    keep_runs: bool,
) -> BTreeMap<String, Vec<serde_json::Value>> {
    let db = TenantDb::new(w.table.as_ref(), scope);
    let mut out = BTreeMap::new();
    for kind in iron_sync::wodify::endpoints::CANONICAL_KINDS {
        let rows = repo::canonical_all(db, &gym.id, kind).await.expect("rows");
        let rows = rows
            .iter()
            .map(|j| {
                let mut v: serde_json::Value = serde_json::from_str(j).expect("json");
                if let Some(m) = v.as_object_mut() {
                    for k in ["PK", "GSI1PK"] {
                        m.remove(k);
                    }
                    if !keep_runs {
                        m.remove("runId");
                        m.remove("athleteId");
                    }
                }
                v
            })
            .collect();
        out.insert(kind.to_string(), rows);
    }
    out
}

async fn metrics(w: &World, scope: &OperatorScope, gym: &Gym) -> Vec<serde_json::Value> {
    let db = TenantDb::new(w.table.as_ref(), scope);
    repo::metrics_range(db, &gym.id, "2000-01", "2999-12")
        .await
        .expect("metrics")
        .into_iter()
        .map(|mut m| {
            m.trace.run_id = None;
            m.trace.computed_at = None;
            serde_json::to_value(m).expect("json")
        })
        .collect()
}

/// Asserts two dumps equal, showing only the first difference of each kind.
fn same(a: &BTreeMap<String, Vec<serde_json::Value>>, b: &BTreeMap<String, Vec<serde_json::Value>>, what: &str) {
    for (kind, rows) in a {
        let other = &b[kind];
        assert_eq!(rows.len(), other.len(), "{what}: {kind} counts");
        if let Some((x, y)) = rows.iter().zip(other).find(|(x, y)| x != y) {
            panic!("{what}: {kind} differs:\n{x}\n{y}");
        }
    }
}

fn biz() -> OperatorScope {
    OperatorScope::new(Id::generate(IdKind::Business, Utc::now().timestamp_millis()))
}

#[tokio::test]
async fn a_backfill_lands_everything_and_a_second_changes_nothing() {
    let w = world(60).await;
    let scope = biz();
    let gym = connected(&w, &scope).await;
    let (r, _) = run_to_end(&w, &scope, &gym, RunMode::Backfill, Duration::from_secs(600)).await;
    assert_eq!(r.status, RunStatus::Succeeded, "{:?}", r.error);
    let source = w.fake.fake.gym();
    let window_start = "2025-12-01";
    let sign_ins =
        source.sign_ins.iter().filter(|s| s["local_class_start_datetime"].as_str() >= Some(window_start)).count()
            as u64;
    assert_eq!(r.counts[&Entity::Clients].pulled, 60);
    assert_eq!(r.counts[&Entity::Attendance].pulled, sign_ins);
    assert_eq!(r.counts[&Entity::Memberships].pulled, source.memberships.len() as u64);
    let rows = canonical(&w, &scope, &gym, true).await;
    assert_eq!(rows["members"].len(), 60);
    assert_eq!(rows["attendance"].len() as u64, sign_ins);
    assert_eq!(rows["memberships"].len(), source.memberships.len());
    // Every member is an athlete of the business, source wodify.
    let db = TenantDb::new(w.table.as_ref(), &scope);
    for m in &rows["members"] {
        let id = Id::parse(m["athleteId"].as_str().expect("athlete")).expect("id");
        let a = iron_store::repo::athletes::get(db, &id).await.expect("athlete");
        assert_eq!(a.source, iron_domain::AthleteSource::Wodify);
        assert_eq!(a.external_id.as_deref(), m["externalId"].as_str());
    }
    // Metrics for each month of the window, with figures.
    let months = metrics(&w, &scope, &gym).await;
    assert_eq!(months.len(), 13, "{:?}", months.iter().map(|m| m["month"].clone()).collect::<Vec<_>>());
    assert!(months.iter().all(|m| m["activeMembers"].as_u64() > Some(0)));
    let conn = repo::get_connection(db, Provider::Wodify, &gym.id).await.expect("read").expect("conn");
    assert_eq!(conn.connection.watermark, NaiveDate::from_ymd_opt(2026, 12, 1));
    assert!(conn.connection.backfilled && conn.connection.current_run.is_none());

    let before = canonical(&w, &scope, &gym, true).await;
    let (again, _) = run_to_end(&w, &scope, &gym, RunMode::Backfill, Duration::from_secs(600)).await;
    assert_eq!(again.status, RunStatus::Succeeded);
    same(&canonical(&w, &scope, &gym, true).await, &before, "identical, run ids included");
    assert_eq!(again.counts[&Entity::Attendance].upserted, 0);
    assert_eq!(again.counts[&Entity::Attendance].transformed, 0);
}

#[tokio::test]
async fn a_run_resumed_page_by_page_ends_as_an_uninterrupted_one() {
    let w = world(40).await;
    let (a, b) = (biz(), biz());
    let gym_a = connected(&w, &a).await;
    let gym_b = connected(&w, &b).await;
    let (ra, steps_a) = run_to_end(&w, &a, &gym_a, RunMode::Backfill, Duration::from_secs(600)).await;
    // Every step a new invocation that stops after one page: a crash after each checkpoint.
    let (rb, steps_b) = run_to_end(&w, &b, &gym_b, RunMode::Backfill, Duration::ZERO).await;
    assert_eq!((ra.status, rb.status), (RunStatus::Succeeded, RunStatus::Succeeded));
    assert_eq!(steps_a, 1);
    assert!(steps_b > 10, "{steps_b} steps");
    same(&canonical(&w, &a, &gym_a, false).await, &canonical(&w, &b, &gym_b, false).await, "resumed = uninterrupted");
    assert_eq!(metrics(&w, &a, &gym_a).await, metrics(&w, &b, &gym_b).await);
    assert_eq!(rb.invocations, steps_b);
}

#[tokio::test]
async fn the_nightly_run_picks_up_a_record_edited_three_days_back() {
    let w = world(40).await;
    let scope = biz();
    let gym = connected(&w, &scope).await;
    run_to_end(&w, &scope, &gym, RunMode::Backfill, Duration::from_secs(600)).await;
    // The next night: a sign-in added three days back, an invoice due two days back refunded.
    w.clock.set(Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap());
    let added = w.fake.fake.edit("sign_ins", 3).expect("sign-in");
    let refunded = w.fake.fake.edit("invoices", 2).expect("invoice");
    let (r, _) = run_to_end(&w, &scope, &gym, RunMode::Incremental, Duration::from_secs(600)).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(r.window_from, NaiveDate::from_ymd_opt(2026, 11, 28).expect("d"), "watermark 12-01 minus 3 days");
    let rows = canonical(&w, &scope, &gym, true).await;
    let id = added["id"].as_u64().expect("id").to_string();
    assert!(rows["attendance"].iter().any(|a| a["externalId"] == id.as_str()), "the sign-in three days back is in");
    assert_eq!(r.counts[&Entity::Attendance].transformed, 1, "only it: the rest of the window unchanged");
    // The refund, dated two days back, is in with the nightly run; the invoice it refunds was due
    // before the look-back (invoices are windowed on their due date), so its row waits for the
    // weekly reconciliation, which reads the last 45 days again.
    let inv = refunded["id"].as_u64().expect("id").to_string();
    let charge = refunded["final_charge"].as_f64().expect("charge");
    assert_eq!(refunded["payment_due"], "2026-11-19", "the seed's invoice: due before the look-back");
    let refund = |rows: &BTreeMap<String, Vec<serde_json::Value>>| {
        rows["transactions"]
            .iter()
            .any(|t| t["invoiceExternalId"] == inv.as_str() && t["kind"] == "refund" && t["amount"] == -charge)
    };
    let invoice_refunded = |rows: &BTreeMap<String, Vec<serde_json::Value>>| {
        rows["invoices"].iter().find(|i| i["externalId"] == inv.as_str()).expect("invoice")["refunded"].as_f64()
    };
    assert!(refund(&rows), "the refund transaction is in");
    assert_eq!(invoice_refunded(&rows), Some(0.0), "the invoice row is as it was");
    let (r, _) = run_to_end(&w, &scope, &gym, RunMode::Reconcile, Duration::from_secs(600)).await;
    assert_eq!(r.status, RunStatus::Succeeded);
    assert_eq!(invoice_refunded(&canonical(&w, &scope, &gym, true).await), Some(-charge), "reconciled");
}
