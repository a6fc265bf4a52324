use iron_sync::limit::Pace;
use iron_sync::wodify::connector::{Connector, ConnectorConfig, ConnectorError, RetryConfig, Search};
use iron_wodify_fake::gym::GymSpec;
use iron_wodify_fake::{FakeWodify, RateLimit, Running};
use secrecy::SecretString;
use std::time::Duration;

const KEY: &str = "wdf_live_3f9a6c0e2b7d4a1b";

async fn fake(clients: usize) -> Running {
    let spec = GymSpec { seed: 11, clients, months: 3, ..GymSpec::default() };
    FakeWodify::new(spec, vec![KEY.into()]).spawn(0).await.expect("fake up")
}

fn config(running: &Running) -> ConnectorConfig {
    ConnectorConfig {
        base_url: running.base_url().parse().expect("url"),
        pace: None,
        timeout: Duration::from_secs(5),
        retry: RetryConfig {
            min_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(40),
            attempts: 4,
            throttled_patience: Duration::from_secs(5),
        },
        breaker_threshold: 6,
    }
}

fn connector(running: &Running, key: &str) -> Connector {
    Connector::new(&config(running), SecretString::from(key.to_string())).expect("connector")
}

async fn all(
    c: &Connector,
    path: &str,
    records: &str,
    search: Option<&Search>,
) -> Result<Vec<serde_json::Value>, ConnectorError> {
    let mut out = vec![];
    for page in 1.. {
        let p = c.page(path, records, search, "id", page).await?;
        out.extend(p.records);
        if !p.has_more {
            break;
        }
    }
    Ok(out)
}

#[tokio::test]
async fn pages_follow_has_more_and_searches_filter() {
    let running = fake(250).await;
    let c = connector(&running, KEY);
    let clients = all(&c, "clients", "clients", None).await.expect("clients");
    assert_eq!(clients.len(), 250);
    assert_eq!(c.metrics.snapshot()["/clients"].count, 3, "100 a page");
    let gym = running.fake.gym();
    let window =
        Search::new().gte("local_class_start_datetime", "2026-11-01").lt("local_class_start_datetime", "2026-11-08");
    let got = all(&c, "classes/sign-ins/clients/search", "class_sign_ins", Some(&window)).await.expect("sign-ins");
    let want = gym
        .sign_ins
        .iter()
        .filter(|s| {
            let at = s["local_class_start_datetime"].as_str().unwrap_or_default();
            ("2026-11-01".."2026-11-08").contains(&at)
        })
        .count();
    assert!(want > 50, "{want}");
    assert_eq!(got.len(), want);
}

#[tokio::test]
async fn a_refused_key_and_an_unknown_route_are_told_apart() {
    let running = fake(10).await;
    let bad = connector(&running, "wdf_wrong");
    match bad.page("customers/locations", "locations", None, "id", 1).await {
        Err(ConnectorError::Forbidden { status: 403, message }) => assert_eq!(message, "Forbidden"),
        other => panic!("{other:?}"),
    }
    let good = connector(&running, KEY);
    match good.page("sign-ins", "sign_ins", None, "id", 1).await {
        Err(ConnectorError::UnknownRoute { path }) => assert_eq!(path, "sign-ins"),
        other => panic!("{other:?}"),
    }
    // Neither is retried.
    assert_eq!(running.fake.stats().requests, 2);
}

#[tokio::test]
async fn an_error_body_with_a_2xx_status_is_an_error_not_data() {
    let running = fake(10).await;
    let c = connector(&running, KEY);
    running.fake.update_faults(|f| f.error_bodies = 100);
    match c.page("clients", "clients", None, "id", 1).await {
        Err(ConnectorError::Application { http_code: 500, code, .. }) => assert_eq!(code, "InternalError"),
        other => panic!("{other:?}"),
    }
    assert_eq!(running.fake.stats().injected_error_bodies, 4, "retried as a server error, 4 tries");
    // One such body in a run is retried through.
    running.fake.update_faults(|f| f.error_bodies = 1);
    let c = connector(&running, KEY);
    assert_eq!(c.page("clients", "clients", None, "id", 1).await.expect("retried").records.len(), 10);
}

#[tokio::test]
async fn details_come_bare_or_wrapped_and_unknown_ids_are_none() {
    let running = fake(30).await;
    let c = connector(&running, KEY);
    let gym = running.fake.gym();
    for detail in gym.client_details.iter().take(9) {
        let id = detail["id"].as_u64().expect("id");
        let got = c.detail(&format!("clients/{id}"), "/clients/{id}").await.expect("detail").expect("found");
        assert_eq!(&got, detail, "client {id}");
    }
    assert_eq!(c.detail("clients/1", "/clients/{id}").await.expect("200 + error body"), None);
    running.fake.update_faults(|f| f.real_not_found = true);
    assert_eq!(c.detail("clients/1", "/clients/{id}").await.expect("a real 404"), None);
}

#[tokio::test]
async fn a_429_storm_is_waited_out_without_going_over_the_limit() {
    let running = fake(600).await;
    // The fake's bucket at 5× Wodify's rate (a test in seconds, not minutes), ours under it as
    // ours is under Wodify's.
    running.fake.update_faults(|f| {
        f.rate_limit = Some(RateLimit { per_second: 25.0, burst: 20.0 });
        f.throttle = 15;
    });
    let mut cfg = config(&running);
    cfg.pace = Some(Pace { per_second: 20.0, burst: 10 });
    let c = Connector::new(&cfg, SecretString::from(KEY.to_string())).expect("connector");
    let mut n = 0;
    for _ in 0..4 {
        n += all(&c, "clients", "clients", None).await.expect("the run completes").len();
    }
    assert_eq!(n, 2400);
    let stats = running.fake.stats();
    assert_eq!(stats.injected_throttles, 15);
    assert_eq!(stats.over_limit, 0, "never over the bucket: {stats:?}");
    assert_eq!(c.metrics.snapshot()["/clients"].throttled, 15);
}

#[tokio::test]
async fn a_long_5xx_burst_opens_the_breaker() {
    let running = fake(10).await;
    let c = connector(&running, KEY);
    running.fake.update_faults(|f| f.server_errors = 1000);
    let mut errors = vec![];
    for _ in 0..4 {
        errors.push(c.page("clients", "clients", None, "id", 1).await.expect_err("down"));
    }
    assert_eq!(errors[0], ConnectorError::Server { status: 503 });
    assert!(c.breaker_open());
    assert_eq!(errors[3], ConnectorError::BreakerOpen);
    assert_eq!(running.fake.stats().injected_server_errors, 6, "stops at the threshold");
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let running = fake(10).await;
    let mut cfg = config(&running);
    cfg.timeout = Duration::from_millis(300);
    let c = Connector::new(&cfg, SecretString::from(KEY.to_string())).expect("connector");
    running.fake.update_faults(|f| {
        f.slow = 1;
        f.slow_ms = 2_000;
    });
    assert_eq!(c.page("clients", "clients", None, "id", 1).await.expect("second try").records.len(), 10);
    let h = &c.metrics.snapshot()["/clients"];
    assert_eq!((h.count, h.errors), (2, 1));
}

#[tokio::test]
async fn errors_never_carry_the_key() {
    let running = fake(10).await;
    let c = connector(&running, KEY);
    running.fake.update_faults(|f| f.error_bodies = 100);
    let e = c.page("clients", "clients", None, "id", 1).await.expect_err("error");
    assert!(!format!("{e} {e:?}").contains(KEY));
    let d = format!("{:?}", connector(&running, KEY).metrics);
    assert!(!d.contains(KEY));
}
