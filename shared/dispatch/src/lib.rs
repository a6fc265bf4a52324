//! One attempt of one webhook delivery: load it, check it is due, sign the event with every
//! current secret, POST it to the pinned, SSRF-checked addresses (15 s timeout, no redirects),
//! record the attempt and decide what comes next. Idempotent: a delivery that is no longer
//! pending, or whose attempt was recorded by someone else first, is left alone, so a queue may
//! hand out a message twice.

use chrono::{DateTime, Utc};
use iron_domain::RetryPolicyName;
use iron_store::TenantDb;
use iron_store::repo::deliveries::{self, Attempt, Delivery, DeliveryRef, DeliveryState};
use iron_store::repo::webhook_health::Slot;
use iron_store::repo::{RepoError, webhook_health, webhooks};
use iron_store::{Clock, KeyCipher, OperatorScope, TableStore, TenantScope};
use iron_webhooks::{DestinationPolicy, Outcome, RetryPolicy, WebhookSecret};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The longest a receiver may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How much of a receiver's answer is kept on the attempt.
pub const BODY_KEPT: usize = 4096;
/// A webhook failing without a single success for this long is disabled.
pub const DISABLE_AFTER: chrono::Duration = chrono::Duration::days(5);

pub struct Dispatcher {
    pub store: Arc<dyn TableStore>,
    pub cipher: Arc<dyn KeyCipher>,
    pub clock: Arc<dyn Clock>,
    pub destinations: DestinationPolicy,
    /// At most [`REQUEST_TIMEOUT`]; shorter only in tests.
    request_timeout: Duration,
    /// HTTP clients by host and the addresses it was checked and pinned to, so deliveries to a
    /// receiver reuse its connections (keep-alive) instead of connecting per attempt.
    clients: Mutex<HashMap<(String, Vec<SocketAddr>), reqwest::Client>>,
}

/// Pinned clients kept at most (the map is emptied when full; they are cheap to make again).
const CLIENTS_KEPT: usize = 512;

impl Dispatcher {
    pub fn new(
        store: Arc<dyn TableStore>,
        cipher: Arc<dyn KeyCipher>,
        clock: Arc<dyn Clock>,
        destinations: DestinationPolicy,
    ) -> Dispatcher {
        Dispatcher {
            store,
            cipher,
            clock,
            destinations,
            request_timeout: REQUEST_TIMEOUT,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// A shorter request timeout than [`REQUEST_TIMEOUT`] (tests); never a longer one.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Dispatcher {
        self.request_timeout = timeout.min(REQUEST_TIMEOUT);
        self
    }

    /// The client that connects `host` to exactly `addrs` (made once, then reused).
    fn client(&self, host: &str, addrs: Vec<SocketAddr>) -> Result<reqwest::Client, String> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let key = (host.to_owned(), addrs);
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // Straight to the checked addresses, never through a proxy from the environment.
            .no_proxy()
            .timeout(self.request_timeout)
            .resolve_to_addrs(host, &key.1)
            .pool_idle_timeout(Duration::from_secs(30))
            .user_agent("IronMetrics-Webhooks/1.0")
            .build()
            .map_err(|e| e.to_string())?;
        if clients.len() >= CLIENTS_KEPT {
            clients.clear();
        }
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// What to do with the queue message after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Nothing more to do (delivered, failed for good, or not ours to handle).
    Done,
    /// Try again after this long.
    RetryIn(Duration),
    /// The attempt has its place in the webhook's budget at this second (Unix seconds): make it
    /// after `wait`, carrying the reservation.
    Reserved { slot: i64, wait: Duration },
}

/// What one HTTP exchange came to.
struct Exchange {
    status: Option<u16>,
    retry_after: Option<Duration>,
    error: Option<String>,
    body: Option<String>,
}

fn policy(name: RetryPolicyName) -> RetryPolicy {
    match name {
        RetryPolicyName::Standard => RetryPolicy::standard(),
        RetryPolicyName::Extended => RetryPolicy::extended(),
    }
}

impl Dispatcher {
    /// Makes the attempt that is due for `r`, if any.
    pub async fn attempt(&self, r: &DeliveryRef) -> Result<Next, RepoError> {
        let now = self.clock.now();
        // The business the queued delivery belongs to (the message was written by this system).
        let scope = OperatorScope::new(r.business_id.clone());
        let db = TenantDb::new(self.store.as_ref(), &scope);
        let delivery = match deliveries::get(db, &r.delivery_id).await {
            Err(RepoError::NotFound) => return Ok(Next::Done),
            other => other?,
        };
        if delivery.state != DeliveryState::Pending {
            return Ok(Next::Done);
        }
        if delivery.next_attempt_at > now {
            return Ok(Next::RetryIn((delivery.next_attempt_at - now).to_std().unwrap_or_default()));
        }
        let hook = match webhooks::get(db, &delivery.webhook_id).await {
            Ok(h) if h.webhook.active => h,
            Ok(_) => return self.finish(&delivery, now, None, "the webhook is disabled").await,
            Err(RepoError::NotFound) => return self.finish(&delivery, now, None, "the webhook was deleted").await,
            Err(e) => return Err(e),
        };
        // Each endpoint's own budget: a slow or busy receiver delays only its deliveries.
        let until =
            |second: i64| (DateTime::from_timestamp(second, 0).unwrap_or(now) - now).to_std().unwrap_or_default();
        match r.slot {
            Some(slot) if slot > now.timestamp() => return Ok(Next::Reserved { slot, wait: until(slot) }),
            // Its reserved second has come.
            Some(_) => {}
            None => {
                let per_second = hook.webhook.rate_limit_per_second;
                match webhook_health::reserve_slot(db, &hook.webhook.id, per_second, now).await? {
                    Slot::Now => {}
                    // Spread over the second, not all at its first millisecond.
                    Slot::At(slot) => {
                        let spread = Duration::from_millis(rand::random::<u64>() % 1000);
                        return Ok(Next::Reserved { slot, wait: until(slot) + spread });
                    }
                    Slot::Busy(from) => return Ok(Next::RetryIn(until(from))),
                }
            }
        }
        let event = deliveries::event(db, &delivery.event_id).await?;
        let body = serde_json::json!({ "type": event.event_type, "timestamp": event.created_at, "data": event.data })
            .to_string();
        let secrets: Vec<WebhookSecret> = webhooks::signing_secrets(self.cipher.as_ref(), &hook, now)
            .await?
            .iter()
            .filter_map(|s| WebhookSecret::parse(s))
            .collect();
        let refs: Vec<&WebhookSecret> = secrets.iter().collect();
        let timestamp = now.timestamp();
        // The same webhook-id on every retry, so receivers can de-duplicate.
        let msg_id = event.id.to_string();
        let signature = iron_webhooks::signing::signature_header(&refs, &msg_id, timestamp, body.as_bytes());

        let started = Instant::now();
        let exchange = self.post(&hook.webhook.url, &msg_id, timestamp, &signature, body).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let outcome = match exchange.status {
            Some(status) => Outcome::of_status(status),
            None if exchange.error.as_deref().is_some_and(|e| e.contains("timed out")) => Outcome::Overloaded,
            None => Outcome::Failed,
        };
        let attempt = Attempt {
            at: now,
            status: exchange.status,
            duration_ms,
            error: exchange.error,
            response_body: exchange.body,
        };
        let number = delivery.attempt as usize + 1;
        let wait =
            policy(hook.webhook.retry_policy).next_wait(number, outcome, exchange.retry_after, rand::random::<f64>());
        let mut after = delivery.clone();
        after.attempt += 1;
        after.attempts.push(attempt);
        match (outcome, wait) {
            (Outcome::Delivered, _) => after.state = DeliveryState::Delivered,
            (_, Some(wait)) => after.next_attempt_at = now + chrono::Duration::from_std(wait).unwrap_or_default(),
            (_, None) => after.state = DeliveryState::Failed,
        }
        if !deliveries::record_attempt(self.store.as_ref(), &delivery, &after).await? {
            return Ok(Next::Done);
        }
        let ok = outcome == Outcome::Delivered;
        let health = webhook_health::record(db, &hook.webhook.id, ok, exchange.status, now).await?;
        if outcome == Outcome::Gone {
            self.disable(&scope, &hook.webhook.id, "the receiver answered 410 Gone".into()).await?;
        } else if let Some(since) = health.failing_since.filter(|since| now - *since >= DISABLE_AFTER) {
            self.disable(&scope, &hook.webhook.id, format!("every delivery has failed since {}", since.to_rfc3339()))
                .await?;
        }
        Ok(match (after.state, wait) {
            (DeliveryState::Pending, Some(wait)) => Next::RetryIn(wait),
            _ => Next::Done,
        })
    }

    /// Disables a webhook, saying why (the business re-enables it with `active: true`).
    async fn disable(&self, scope: &TenantScope, webhook: &iron_domain::Id, reason: String) -> Result<(), RepoError> {
        let db = TenantDb::new(self.store.as_ref(), scope);
        for _ in 0..3 {
            let before = webhooks::get(db, webhook).await?;
            if !before.webhook.active {
                return Ok(());
            }
            let mut after = before.clone();
            after.webhook.active = false;
            after.webhook.disabled_reason = Some(reason.clone());
            after.webhook.updated_at =
                self.clock.now().max(before.webhook.updated_at + chrono::Duration::milliseconds(1));
            match webhooks::update(db, &before, &after).await {
                Err(RepoError::Conflict { .. }) => continue,
                other => return other,
            }
        }
        Ok(())
    }

    /// Ends a delivery without a request (its webhook is gone or disabled).
    async fn finish(
        &self,
        delivery: &Delivery,
        now: DateTime<Utc>,
        status: Option<u16>,
        why: &str,
    ) -> Result<Next, RepoError> {
        let mut after = delivery.clone();
        after.attempt += 1;
        after.state = DeliveryState::Failed;
        after.attempts.push(Attempt { at: now, status, duration_ms: 0, error: Some(why.into()), response_body: None });
        deliveries::record_attempt(self.store.as_ref(), delivery, &after).await?;
        Ok(Next::Done)
    }

    async fn post(&self, url: &str, msg_id: &str, timestamp: i64, signature: &str, body: String) -> Exchange {
        let failed = |e: String| Exchange { status: None, retry_after: None, error: Some(e), body: None };
        let url = match self.destinations.check_url(url) {
            Ok(u) => u,
            Err(e) => return failed(e.to_string()),
        };
        // Resolve now and connect only to the addresses checked (no DNS rebinding).
        let addrs = match self.destinations.resolve(&url).await {
            Ok(a) => a,
            Err(e) => return failed(e.to_string()),
        };
        let host = url.host_str().unwrap_or_default().to_owned();
        let client = match self.client(&host, addrs) {
            Ok(c) => c,
            Err(e) => return failed(e),
        };
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Err(e) if e.is_timeout() => failed(format!("timed out after {} ms", self.request_timeout.as_millis())),
            Err(e) => failed(format!("request failed: {e}")),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let text = resp.text().await.unwrap_or_default();
                let kept: String = text.chars().take(BODY_KEPT).collect();
                Exchange { status: Some(status), retry_after, error: None, body: (!kept.is_empty()).then_some(kept) }
            }
        }
    }
}
