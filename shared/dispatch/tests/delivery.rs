//! Deliveries to real HTTP receivers on loopback: signed so the receiver can verify, retried on
//! the schedule with the same webhook-id, finished on success, 410, or running out of attempts.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use iron_dispatch::{Dispatcher, Next};
use iron_domain::{Event, Id, IdKind, RetryPolicyName, Webhook};
use iron_store::TenantDb;
use iron_store::repo::deliveries::{self, DeliveryRef, DeliveryState};
use iron_store::repo::{events, webhooks};
use iron_store::{Clock, LocalKeyCipher, ManualClock, SqliteTable, TableStore};
use iron_webhooks::{DestinationPolicy, StaticResolver, WebhookSecret};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A status code to answer, with an optional Retry-After.
type Reply = (u16, Option<&'static str>);

#[derive(Clone, Default)]
struct Receiver {
    /// Status codes to answer, in order (the last repeats).
    script: Arc<Mutex<Vec<Reply>>>,
    seen: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: String) -> impl IntoResponse {
    r.seen.lock().unwrap().push((headers, body));
    let mut script = r.script.lock().unwrap();
    let (status, retry_after) = if script.len() > 1 { script.remove(0) } else { script[0] };
    let mut resp = (StatusCode::from_u16(status).unwrap(), "thanks").into_response();
    if let Some(ra) = retry_after {
        resp.headers_mut().insert("retry-after", ra.parse().unwrap());
    }
    resp
}

async fn receiver(script: Vec<Reply>) -> (String, Receiver) {
    let r = Receiver { script: Arc::new(Mutex::new(script)), seen: Arc::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let app = Router::new().route("/hook", post(hook)).with_state(r.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, r)
}

struct World {
    dispatcher: Dispatcher,
    store: Arc<dyn TableStore>,
    clock: Arc<ManualClock>,
    scope: iron_store::OperatorScope,
    secret: WebhookSecret,
}

async fn world(url: &str, policy: RetryPolicyName, destinations: DestinationPolicy) -> (World, DeliveryRef) {
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let store: Arc<dyn TableStore> = Arc::new(SqliteTable::in_memory(clock.clone()).unwrap());
    let cipher = Arc::new(LocalKeyCipher::from_bytes([9; 32]));
    let now = clock.now();
    let business = Id::generate(IdKind::Business, now.timestamp_millis());
    let scope = iron_store::OperatorScope::new(business.clone());
    let webhook = Webhook {
        id: Id::generate(IdKind::Webhook, now.timestamp_millis()),
        business_id: business.clone(),
        url: url.into(),
        events: vec!["member.created".into()],
        description: None,
        active: true,
        disabled_reason: None,
        retry_policy: policy,
        rate_limit_per_second: 10,
        created_at: now,
        updated_at: now,
    };
    let secret = WebhookSecret::generate();
    let sealed = webhooks::seal(cipher.as_ref(), &webhook, &secret.expose()).await.unwrap();
    webhooks::create(
        TenantDb::new(store.as_ref(), &scope),
        &webhooks::StoredWebhook { webhook, secret: sealed, previous_secret: None, previous_until: None },
    )
    .await
    .unwrap();
    let event = Event::new(
        "member.created",
        &business,
        now,
        serde_json::json!({"id": "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "firstName": "José"}),
    );
    store.transact(vec![events::outbox_op(&scope, &event)]).await.unwrap();
    let made = deliveries::fan_out(store.as_ref(), now, 100).await.unwrap();
    assert_eq!(made.len(), 1);
    let dispatcher = Dispatcher::new(store.clone(), cipher, clock.clone(), destinations);
    (World { dispatcher, store, clock, scope, secret }, made[0].clone())
}

fn local() -> DestinationPolicy {
    DestinationPolicy::local_development()
}

#[tokio::test]
async fn a_delivery_is_signed_and_verifiable() {
    let (url, rx) = receiver(vec![(204, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::Done);
    let seen = rx.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (headers, body) = &seen[0];
    let id = headers["webhook-id"].to_str().unwrap();
    let ts: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    let sig = headers["webhook-signature"].to_str().unwrap();
    w.secret
        .verify(id, ts, body.as_bytes(), sig, w.clock.now().timestamp())
        .expect("the receiver verifies the signature");
    let payload: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["type"], "member.created");
    assert_eq!(payload["data"]["firstName"], "José");
    let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
    assert_eq!((d.state, d.attempt), (DeliveryState::Delivered, 1));
    assert_eq!(d.attempts[0].status, Some(204));
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::Done, "a repeated message does nothing");
    assert_eq!(rx.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn failures_are_retried_on_schedule_then_fail_visibly() {
    let (url, rx) = receiver(vec![(500, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    let Next::RetryIn(first) = w.dispatcher.attempt(&r).await.unwrap() else { panic!("retry expected") };
    assert!((48..=72).contains(&first.as_secs()), "about a minute: {first:?}");
    // Not due yet: a message that comes early does nothing.
    assert!(matches!(w.dispatcher.attempt(&r).await.unwrap(), Next::RetryIn(_)));
    assert_eq!(rx.seen.lock().unwrap().len(), 1);
    w.clock.advance(chrono::Duration::seconds(73));
    assert_eq!(
        deliveries::due(w.store.as_ref(), w.clock.now(), 10).await.unwrap(),
        vec![r.clone()],
        "the due sweep finds it"
    );
    let Next::RetryIn(second) = w.dispatcher.attempt(&r).await.unwrap() else { panic!("retry expected") };
    assert!((480..=720).contains(&second.as_secs()), "about ten minutes: {second:?}");
    w.clock.advance(chrono::Duration::seconds(721));
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::Done);
    let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
    assert_eq!((d.state, d.attempt), (DeliveryState::Failed, 3), "three attempts, then visibly failed");
    assert!(d.attempts.iter().all(|a| a.status == Some(500) && a.response_body.as_deref() == Some("thanks")));
    let ids: Vec<String> =
        rx.seen.lock().unwrap().iter().map(|(h, _)| h["webhook-id"].to_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.iter().all(|i| *i == ids[0]), "every retry carries the same webhook-id");
    assert!(deliveries::due(w.store.as_ref(), w.clock.now(), 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn gone_stops_and_retry_after_is_honoured() {
    let (url, _) = receiver(vec![(410, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Extended, local()).await;
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::Done);
    assert_eq!(
        deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap().state,
        DeliveryState::Failed
    );

    let (url, _) = receiver(vec![(503, Some("900")), (200, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::RetryIn(Duration::from_secs(900)));
    w.clock.advance(chrono::Duration::seconds(900));
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::Done, "the receiver recovered");
    assert_eq!(
        deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap().state,
        DeliveryState::Delivered
    );
}

#[tokio::test]
async fn private_destinations_are_refused_at_delivery_time() {
    // Registered before the rules were tightened, or pointing at a name that now resolves to
    // a private address: the delivery refuses to connect and records why.
    let (url, rx) = receiver(vec![(200, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, DestinationPolicy::default()).await;
    assert!(matches!(w.dispatcher.attempt(&r).await.unwrap(), Next::RetryIn(_)));
    assert!(rx.seen.lock().unwrap().is_empty(), "no request left for loopback");
    let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
    assert!(d.attempts[0].error.as_deref().unwrap().contains("https"), "{:?}", d.attempts[0].error);
}

#[tokio::test]
async fn dns_answers_pointing_inside_are_refused_at_delivery() {
    // DNS rebinding: `hooks.partner.test` resolved to a public address when it was registered;
    // by delivery time it answers with a private, the metadata, or the loopback address. Each
    // attempt is refused before any connection and says which address was refused.
    let dns = Arc::new(StaticResolver::new());
    let policy = DestinationPolicy::default().with_resolver(dns.clone());
    let (w, r) = world("https://hooks.partner.test/iron", RetryPolicyName::Extended, policy.clone()).await;
    dns.answer("hooks.partner.test", &["93.184.215.14".parse().unwrap()]);
    assert!(policy.resolve(&url::Url::parse("https://hooks.partner.test/iron").unwrap()).await.is_ok());
    for (i, inside) in ["10.0.0.7", "169.254.169.254", "127.0.0.1"].into_iter().enumerate() {
        // One public and one inside answer: a single bad address refuses the whole name.
        dns.answer("hooks.partner.test", &["93.184.215.14".parse().unwrap(), inside.parse().unwrap()]);
        let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
        w.clock.set(d.next_attempt_at);
        assert!(matches!(w.dispatcher.attempt(&r).await.unwrap(), Next::RetryIn(_)));
        let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
        let error = d.attempts[i].error.as_deref().unwrap();
        assert!(error.contains(inside) && error.contains("not a public address"), "{error}");
        assert_eq!(d.attempts[i].status, None);
    }
}

/// A second event for the same webhook, fanned out at the clock's time.
async fn another_delivery(w: &World) -> DeliveryRef {
    let now = w.clock.now();
    let event = Event::new("member.created", w.scope.business_id(), now, serde_json::json!({"id": "ath_2"}));
    w.store.transact(vec![events::outbox_op(&w.scope, &event)]).await.unwrap();
    deliveries::fan_out(w.store.as_ref(), now, 100).await.unwrap().remove(0)
}

async fn webhook_state(w: &World) -> (bool, Option<String>) {
    let hooks = webhooks::list(TenantDb::new(w.store.as_ref(), &w.scope)).await.unwrap();
    (hooks[0].webhook.active, hooks[0].webhook.disabled_reason.clone())
}

#[tokio::test]
async fn gone_disables_the_webhook_and_says_why() {
    let (url, _) = receiver(vec![(410, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    w.dispatcher.attempt(&r).await.unwrap();
    let (active, reason) = webhook_state(&w).await;
    assert!(!active);
    assert!(reason.unwrap().contains("410"));
    // Later events make no deliveries to a disabled webhook.
    let event = Event::new("member.created", w.scope.business_id(), w.clock.now(), serde_json::json!({"id": "ath_2"}));
    w.store.transact(vec![events::outbox_op(&w.scope, &event)]).await.unwrap();
    assert!(deliveries::fan_out(w.store.as_ref(), w.clock.now(), 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_webhook_failing_for_five_days_is_disabled() {
    let (url, _) = receiver(vec![(500, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    w.dispatcher.attempt(&r).await.unwrap();
    let health =
        iron_store::repo::webhook_health::get(TenantDb::new(w.store.as_ref(), &w.scope), &webhook_id(&w).await)
            .await
            .unwrap();
    assert_eq!((health.failure_count, health.last_delivery_status), (1, Some(500)));
    w.clock.advance(chrono::Duration::days(4));
    let r2 = another_delivery(&w).await;
    w.dispatcher.attempt(&r2).await.unwrap();
    assert!(webhook_state(&w).await.0, "four days of failures: still on");
    w.clock.advance(chrono::Duration::days(1));
    let r3 = another_delivery(&w).await;
    w.dispatcher.attempt(&r3).await.unwrap();
    let (active, reason) = webhook_state(&w).await;
    assert!(!active, "five days of failures: disabled");
    assert!(reason.unwrap().contains("failed since"));
}

async fn webhook_id(w: &World) -> Id {
    webhooks::list(TenantDb::new(w.store.as_ref(), &w.scope)).await.unwrap()[0].webhook.id.clone()
}

#[tokio::test]
async fn each_endpoint_has_its_own_delivery_budget() {
    let (url, rx) = receiver(vec![(200, None)]).await;
    let (w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    // Lower this webhook's budget to one delivery a second.
    let id = webhook_id(&w).await;
    let before = webhooks::get(TenantDb::new(w.store.as_ref(), &w.scope), &id).await.unwrap();
    let mut after = before.clone();
    after.webhook.rate_limit_per_second = 1;
    webhooks::update(TenantDb::new(w.store.as_ref(), &w.scope), &before, &after).await.unwrap();
    let (r2, r3) = (another_delivery(&w).await, another_delivery(&w).await);
    let second = w.clock.now().timestamp();
    assert_eq!(w.dispatcher.attempt(&r).await.unwrap(), Next::Done);
    // Over budget: each waiting delivery gets its own later second, once.
    let Next::Reserved { slot, wait } = w.dispatcher.attempt(&r2).await.unwrap() else { panic!("reservation") };
    assert_eq!(slot, second + 1);
    assert!(wait > Duration::ZERO && wait < Duration::from_secs(2), "{wait:?}");
    let Next::Reserved { slot: slot3, .. } = w.dispatcher.attempt(&r3).await.unwrap() else { panic!("reservation") };
    assert_eq!(slot3, second + 2);
    assert_eq!(rx.seen.lock().unwrap().len(), 1);
    // Received early, the reservation just waits on.
    assert!(
        matches!(w.dispatcher.attempt(&r2.with_slot(Some(slot))).await.unwrap(), Next::Reserved { slot: s, .. } if s == slot)
    );
    w.clock.set(chrono::DateTime::from_timestamp(second + 1, 0).unwrap());
    // Its second has come: delivered without asking the (now full) second again.
    assert_eq!(w.dispatcher.attempt(&r2.with_slot(Some(slot))).await.unwrap(), Next::Done);
    assert_eq!(rx.seen.lock().unwrap().len(), 2);
    // A newcomer queues behind the reservations already made.
    let r4 = another_delivery(&w).await;
    assert!(matches!(w.dispatcher.attempt(&r4).await.unwrap(), Next::Reserved { slot: s, .. } if s == second + 3));
}

/// A receiver that fails every other request, and one that is too slow.
async fn flaky_receiver(slow: Option<Duration>) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let store = seen.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let (store, count) = (store.clone(), count.clone());
            async move {
                if let Some(d) = slow {
                    tokio::time::sleep(d).await;
                }
                store.lock().unwrap().push(headers["webhook-id"].to_str().unwrap().to_owned());
                if count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 2 == 0 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn with_a_receiver_failing_half_the_time_every_event_ends_delivered_or_visibly_failed() {
    let (url, seen) = flaky_receiver(None).await;
    let (w, first) = world(&url, RetryPolicyName::Standard, local()).await;
    let mut refs = vec![first];
    for _ in 0..19 {
        refs.push(another_delivery(&w).await);
    }
    // Drive the schedule: attempt whatever is due, move the clock on, until nothing is pending.
    for _ in 0..10 {
        for r in deliveries::due(w.store.as_ref(), w.clock.now(), 100).await.unwrap() {
            w.dispatcher.attempt(&r).await.unwrap();
        }
        w.clock.advance(chrono::Duration::minutes(15));
    }
    let mut delivered = 0;
    for r in &refs {
        let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
        assert_eq!(d.attempts.len() as u32, d.attempt);
        match d.state {
            DeliveryState::Pending => panic!("nothing is left in limbo"),
            DeliveryState::Delivered => delivered += 1,
            // Visibly failed: all three attempts are on record with the receiver's answer.
            DeliveryState::Failed => assert!(d.attempts.len() == 3 && d.attempts.iter().all(|a| a.status == Some(500))),
        }
    }
    assert!(delivered >= 10, "most get through: {delivered} of 20");
    let ids: std::collections::HashSet<String> = seen.lock().unwrap().iter().cloned().collect();
    assert_eq!(ids.len(), 20, "every event reached the receiver");
}

#[tokio::test]
async fn a_receiver_that_times_out_is_backed_off_longer() {
    let (url, _) = flaky_receiver(Some(Duration::from_millis(800))).await;
    let (mut w, r) = world(&url, RetryPolicyName::Standard, local()).await;
    w.dispatcher = w.dispatcher.with_request_timeout(Duration::from_millis(200));
    let Next::RetryIn(wait) = w.dispatcher.attempt(&r).await.unwrap() else { panic!("retry expected") };
    assert!(wait >= Duration::from_secs(96), "a timeout counts as overload: the wait doubles ({wait:?})");
    let d = deliveries::get(TenantDb::new(w.store.as_ref(), &w.scope), &r.delivery_id).await.unwrap();
    assert_eq!(d.attempts[0].status, None);
    assert!(d.attempts[0].error.as_deref().unwrap().contains("timed out"));
}
