//! Deliveries: one per (event, webhook). Fan-out turns pending outbox events into deliveries in
//! one transaction per event; the due sweep finds deliveries whose next attempt is due (after a
//! crash between commit and enqueue, or after a wait longer than a queue delay can hold).

use super::{RepoError, RepoResult, decode, encode, webhooks};
use crate::item::{Index, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TableStore, TxOp};
use crate::tenant::{TenantDb, TenantScope};
use chrono::{DateTime, Utc};
use iron_domain::{Event, Id, IdKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// How long delivery records are kept.
pub const RETENTION: chrono::Duration = chrono::Duration::days(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Id,
    pub business_id: Id,
    pub webhook_id: Id,
    pub event_id: Id,
    pub event_type: String,
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempt: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

/// One try at delivering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's status code, if it answered.
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// The first few KB of the receiver's answer.
    pub response_body: Option<String>,
}

/// Records an attempt and the delivery's new state, if no one else recorded this attempt first
/// (`Ok(false)` then: a duplicate queue message lost the race).
pub async fn record_attempt(store: &dyn TableStore, before: &Delivery, after: &Delivery) -> RepoResult<bool> {
    let scope = TenantScope::new(before.business_id.clone());
    let seen = Condition::AttrEquals("attempt".into(), Value::from(before.attempt));
    match store.put(delivery_item(&scope, after), seen).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The event a delivery carries.
pub async fn event(db: TenantDb<'_>, id: &Id) -> RepoResult<Event> {
    let (store, scope) = (db.store(), db.scope());
    decode(store.get(&keys::event(scope, id)).await?.ok_or(RepoError::NotFound)?)
}

impl Delivery {
    /// A new delivery of `event` to `webhook_id`, due at once.
    pub fn new(event: &Event, webhook_id: &Id, now: DateTime<Utc>) -> Delivery {
        Delivery {
            id: Id::generate(IdKind::Delivery, now.timestamp_millis()),
            business_id: event.business_id.clone(),
            webhook_id: webhook_id.clone(),
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            state: DeliveryState::Pending,
            attempt: 0,
            next_attempt_at: now,
            created_at: now,
            attempts: Vec::new(),
        }
    }
}

fn shard_of(id: &Id) -> u8 {
    keys::outbox_shard(id)
}

/// The stored form; the due index is present only while pending.
pub fn delivery_item(scope: &TenantScope, d: &Delivery) -> crate::Item {
    let mut item = keys::item_of("delivery", encode(d), keys::delivery(scope, &d.id));
    item = keys::with_gsi2(item, keys::delivery_of_webhook(scope, &d.webhook_id, d.created_at, &d.id));
    if d.state == DeliveryState::Pending {
        item = keys::with_gsi1(item, keys::delivery_due(shard_of(&d.id), d.next_attempt_at, &d.business_id, &d.id));
    }
    keys::with_ttl(item, (d.created_at + RETENTION).timestamp())
}

pub use iron_domain::webhook::DeliveryRef;

/// Fans out up to `limit` pending events per shard, oldest first. Returns the deliveries made,
/// to enqueue. Safe to run concurrently and to repeat: an event is fanned out once.
pub async fn fan_out(store: &dyn TableStore, now: DateTime<Utc>, limit: usize) -> RepoResult<Vec<DeliveryRef>> {
    let mut made = Vec::new();
    let mut hooks_of: HashMap<Id, Vec<webhooks::StoredWebhook>> = HashMap::new();
    for shard in 0..keys::OUTBOX_SHARDS {
        let page = store.query(Query::new(Index::Gsi2, keys::outbox_pending_partition(shard)).limit(limit)).await?;
        for item in page.items {
            let mut stored = item.clone();
            let event: Event = decode(item)?;
            let scope = TenantScope::new(event.business_id.clone());
            if !hooks_of.contains_key(&event.business_id) {
                hooks_of.insert(event.business_id.clone(), webhooks::list(TenantDb::new(store, &scope)).await?);
            }
            let targets: Vec<&webhooks::StoredWebhook> =
                hooks_of[&event.business_id].iter().filter(|h| h.webhook.wants(&event.event_type)).collect();
            let deliveries: Vec<Delivery> = targets.iter().map(|h| Delivery::new(&event, &h.webhook.id, now)).collect();
            // The event leaves the pending index in the same transaction.
            for attr in [crate::item::GSI2PK, crate::item::GSI2SK] {
                stored.remove(attr);
            }
            stored.insert("fannedOut".into(), Value::Bool(true));
            let mut ops = vec![TxOp::Put {
                item: stored,
                condition: Condition::AttrEquals("fannedOut".into(), Value::Bool(false)),
            }];
            ops.extend(
                deliveries
                    .iter()
                    .map(|d| TxOp::Put { item: delivery_item(&scope, d), condition: Condition::NotExists }),
            );
            // An event the platform consumes itself gets its task in the same transaction.
            ops.extend(super::tasks::for_event(&event, now).map(|t| super::tasks::create_op(&t)));
            match store.transact(ops).await {
                Ok(()) => made.extend(deliveries.iter().map(|d| DeliveryRef::new(d.business_id.clone(), d.id.clone()))),
                // Another fan-out got there first.
                Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(made)
}

/// Deliveries whose next attempt is due at `now`, oldest first (up to `limit` per shard).
pub async fn due(store: &dyn TableStore, now: DateTime<Utc>, limit: usize) -> RepoResult<Vec<DeliveryRef>> {
    let mut out = Vec::new();
    for shard in 0..keys::OUTBOX_SHARDS {
        let upto = keys::up_to(now);
        let page = store
            .query(
                Query::new(Index::Gsi1, keys::deliveries_due_partition(shard)).sk(SkCondition::Le(upto)).limit(limit),
            )
            .await?;
        for item in page.items {
            let d: Delivery = decode(item)?;
            out.push(DeliveryRef::new(d.business_id, d.id));
        }
    }
    Ok(out)
}

pub async fn get(db: TenantDb<'_>, id: &Id) -> RepoResult<Delivery> {
    let (store, scope) = (db.store(), db.scope());
    decode(store.get(&keys::delivery(scope, id)).await?.ok_or(RepoError::NotFound)?)
}

/// Records `event` as already fanned out and one delivery of it to `webhook_id` (a test event
/// goes to that webhook only). Returns the delivery.
pub async fn direct(db: TenantDb<'_>, event: &Event, webhook_id: &Id, now: DateTime<Utc>) -> RepoResult<Delivery> {
    let (store, scope) = (db.store(), db.scope());
    let delivery = Delivery::new(event, webhook_id, now);
    let mut event_item = keys::item_of("event", encode(event), keys::event(scope, &event.id));
    event_item.insert("fannedOut".into(), Value::Bool(true));
    store
        .transact(vec![
            TxOp::Check { key: keys::webhook(scope, webhook_id), condition: Condition::Exists },
            TxOp::Put { item: event_item, condition: Condition::NotExists },
            TxOp::Put { item: delivery_item(scope, &delivery), condition: Condition::NotExists },
        ])
        .await
        .map_err(|e| match e {
            StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
            other => other.into(),
        })?;
    Ok(delivery)
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub event_type: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// One webhook's deliveries, newest first.
pub async fn list(
    db: TenantDb<'_>,
    webhook_id: &Id,
    filter: &DeliveryFilter,
    limit: usize,
    cursor: Option<crate::Cursor>,
) -> RepoResult<(Vec<Delivery>, Option<crate::Cursor>)> {
    let (store, scope) = (db.store(), db.scope());
    let (lo, hi) = keys::time_bounds(filter.since, filter.until);
    let mut q = Query::new(Index::Gsi2, keys::deliveries_of_webhook_partition(scope, webhook_id))
        .sk(SkCondition::Between(lo, hi))
        .backward()
        .limit(limit)
        .after(cursor);
    if let Some(state) = filter.state {
        q = q.filter(crate::Filter::Equals("state".into(), encode(&state)));
    }
    if let Some(t) = &filter.event_type {
        q = q.filter(crate::Filter::Equals("eventType".into(), Value::String(t.clone())));
    }
    super::decode_page(store.query_json(q).await?)
}

/// Puts a finished delivery back to pending, due now (a manual retry). `Ok(false)` if it is
/// still pending, or changed meanwhile.
pub async fn requeue(db: TenantDb<'_>, d: &Delivery, now: DateTime<Utc>) -> RepoResult<bool> {
    if d.state == DeliveryState::Pending || &d.business_id != db.business_id() {
        return Ok(false);
    }
    let store = db.store();
    let mut after = d.clone();
    after.state = DeliveryState::Pending;
    after.next_attempt_at = now;
    record_attempt(store, d, &after).await
}

/// Requeues every failed delivery of a webhook created since `since` (at most `cap`). Returns
/// how many.
pub async fn recover(
    db: TenantDb<'_>,
    webhook_id: &Id,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    cap: usize,
) -> RepoResult<usize> {
    let filter = DeliveryFilter { state: Some(DeliveryState::Failed), since: Some(since), ..DeliveryFilter::default() };
    let mut cursor = None;
    let mut n = 0;
    loop {
        let (page, next) = list(db, webhook_id, &filter, 100, cursor).await?;
        for d in &page {
            if n >= cap {
                return Ok(n);
            }
            if requeue(db, d, now).await? {
                n += 1;
            }
        }
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(n),
        }
    }
}
