//! Every single-table key shape, in one place. `docs/DATA_MODEL.md` mirrors this module.
//!
//! Tenant data lives under partitions that start with `BIZ#<businessId>`, built only from a
//! [`TenantScope`]. Timestamps in keys are fixed-width RFC 3339 UTC with milliseconds, so they
//! sort lexically in time order.

use crate::item::{GSI1PK, GSI1SK, GSI2PK, GSI2SK, Item, Key, PK, SK, TTL};
use crate::tenant::TenantScope;
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::Id;
use serde_json::Value;

pub fn ts(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn biz(scope: &TenantScope) -> String {
    format!("BIZ#{}", scope.business_id())
}

// ---- platform (not tenant data) ----

/// The API-key lookup item, found by the SHA-256 of the presented key. Auth starts here: the key
/// determines the tenant.
pub fn api_key_lookup(hash: &str) -> Key {
    Key::new(format!("APIKEYHASH#{hash}"), "APIKEYHASH")
}

/// Index entry listing all businesses (GSI1), for the operator.
pub const BUSINESS_LIST_GSI1PK: &str = "BUSINESSES";

// ---- business-level records ----

pub fn business_profile(scope: &TenantScope) -> Key {
    Key::new(biz(scope), "PROFILE")
}

pub fn location(scope: &TenantScope, location_id: &Id) -> Key {
    Key::new(biz(scope), format!("LOCATION#{location_id}"))
}
pub const LOCATION_SK_PREFIX: &str = "LOCATION#";

pub fn api_key(scope: &TenantScope, key_id: &Id) -> Key {
    Key::new(biz(scope), format!("APIKEY#{key_id}"))
}
pub const API_KEY_SK_PREFIX: &str = "APIKEY#";

/// When a key was last used (written at most once a minute per key and process).
pub fn api_key_use(scope: &TenantScope, key_id: &Id) -> Key {
    Key::new(biz(scope), format!("APIKEYUSE#{key_id}"))
}
pub const API_KEY_USE_SK_PREFIX: &str = "APIKEYUSE#";

pub fn business_partition(scope: &TenantScope) -> String {
    biz(scope)
}

// ---- athletes ----

pub fn athletes_partition(scope: &TenantScope) -> String {
    format!("{}#ATHLETE", biz(scope))
}
pub fn athlete(scope: &TenantScope, id: &Id) -> Key {
    Key::new(athletes_partition(scope), id.as_str())
}
/// GSI1: athletes by last update (the `updatedSince` sync pattern).
pub fn athletes_by_updated_partition(scope: &TenantScope) -> String {
    format!("{}#ATHLETE#UPDATED", biz(scope))
}
/// GSI2: athletes of one location.
pub fn athletes_by_location_partition(scope: &TenantScope, location_id: &Id) -> String {
    format!("{}#LOC#{location_id}#ATHLETE", biz(scope))
}
/// Uniqueness guard: one athlete per (folded) email in a business.
pub fn athlete_email_guard(scope: &TenantScope, folded_email: &str) -> Key {
    Key::new(format!("{}#ATHLETE#EMAIL", biz(scope)), folded_email)
}
/// Uniqueness guard: one athlete per external id per source in a business.
pub fn athlete_external_guard(scope: &TenantScope, source: &str, external_id: &str) -> Key {
    Key::new(format!("{}#ATHLETE#EXT", biz(scope)), format!("{source}#{external_id}"))
}

// ---- fitness tests ----

pub fn tests_partition(scope: &TenantScope) -> String {
    format!("{}#TEST", biz(scope))
}
pub fn test(scope: &TenantScope, id: &Id) -> Key {
    Key::new(tests_partition(scope), id.as_str())
}
/// GSI1: every test of the business by performed time.
pub fn tests_by_time_partition(scope: &TenantScope) -> String {
    format!("{}#TEST#PERFORMED", biz(scope))
}
/// GSI2: one athlete's tests by performed time.
pub fn tests_of_athlete_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#TEST", biz(scope))
}
pub fn performed_sk(at: DateTime<Utc>, id: &Id) -> String {
    format!("{}#{id}", ts(at))
}
/// Sort-key bounds covering whole days `from..=to` in a `<timestamp>#<id>` index.
pub fn day_bounds(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (String, String) {
    let lo = from.map(|d| format!("{}T00:00:00.000Z", d.format("%Y-%m-%d"))).unwrap_or_else(|| "0".into());
    let hi = to.map(|d| format!("{}T23:59:59.999Z#~", d.format("%Y-%m-%d"))).unwrap_or_else(|| "~".into());
    (lo, hi)
}

// ---- referrals ----

pub fn partner(scope: &TenantScope, id: &Id) -> Key {
    Key::new(format!("{}#PARTNER", biz(scope)), id.as_str())
}
pub fn partners_partition(scope: &TenantScope) -> String {
    format!("{}#PARTNER", biz(scope))
}
pub fn referrals_partition(scope: &TenantScope) -> String {
    format!("{}#REFERRAL", biz(scope))
}
pub fn referral(scope: &TenantScope, referred_at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(referrals_partition(scope), performed_sk(referred_at, id))
}

// ---- webhooks ----

pub fn webhooks_partition(scope: &TenantScope) -> String {
    format!("{}#WEBHOOK", biz(scope))
}
pub fn webhook(scope: &TenantScope, id: &Id) -> Key {
    Key::new(webhooks_partition(scope), id.as_str())
}

/// A webhook's delivery health (last delivery, consecutive failures).
pub fn webhook_health(scope: &TenantScope, webhook_id: &Id) -> Key {
    Key::new(format!("{}#WEBHOOKHEALTH", biz(scope)), webhook_id.as_str())
}
/// Hourly delivery counters of a webhook (`ok` / `failed`), kept two days.
pub fn webhook_stats(scope: &TenantScope, webhook_id: &Id, hour: &str) -> Key {
    Key::new(format!("{}#WEBHOOKSTATS", biz(scope)), format!("{webhook_id}#{hour}"))
}
pub fn webhook_stats_partition(scope: &TenantScope) -> String {
    format!("{}#WEBHOOKSTATS", biz(scope))
}
/// Deliveries started to a webhook in one second (its rate limit).
pub fn webhook_rate(scope: &TenantScope, webhook_id: &Id, second: i64) -> Key {
    Key::new(format!("{}#WEBHOOKRATE", biz(scope)), format!("{webhook_id}#{second}"))
}
/// The first second of a webhook's budget that may still have room (a hint, kept briefly).
pub fn webhook_rate_frontier(scope: &TenantScope, webhook_id: &Id) -> Key {
    Key::new(format!("{}#WEBHOOKRATE", biz(scope)), format!("{webhook_id}#FRONTIER"))
}

// ---- deliveries ----

pub fn delivery(scope: &TenantScope, id: &Id) -> Key {
    Key::new(format!("{}#DELIVERY", biz(scope)), id.as_str())
}
/// GSI1 while a delivery is pending: due time order, across businesses, in shards.
pub fn deliveries_due_partition(shard: u8) -> String {
    format!("DUE#{shard}")
}
pub fn delivery_due_sk(at: DateTime<Utc>, business: &Id, id: &Id) -> String {
    format!("{}#{business}#{id}", ts(at))
}
/// GSI2: one webhook's deliveries, newest last.
pub fn deliveries_of_webhook_partition(scope: &TenantScope, webhook_id: &Id) -> String {
    format!("{}#WEBHOOK#{webhook_id}#DELIVERY", biz(scope))
}

// ---- events (the transactional outbox) ----

pub fn event(scope: &TenantScope, event_id: &Id) -> Key {
    Key::new(format!("{}#EVENT", biz(scope)), event_id.as_str())
}
/// GSI2, sparse: events not yet fanned out to webhooks, oldest first, across businesses, in
/// 8 shards so no one partition takes every write.
pub fn outbox_pending_partition(shard: u8) -> String {
    format!("{OUTBOX_PENDING_PREFIX}{shard}")
}
pub const OUTBOX_SHARDS: u8 = 8;
/// The prefix every pending-event GSI2 partition starts with (the DynamoDB stream's filter).
pub const OUTBOX_PENDING_PREFIX: &str = "OUTBOX#PENDING#";
/// Whether a written item is an event waiting for fan-out (what wakes the fan-out).
pub fn is_pending_event(item: &crate::item::Item) -> bool {
    item.get(crate::item::GSI2PK).and_then(|v| v.as_str()).is_some_and(|pk| pk.starts_with(OUTBOX_PENDING_PREFIX))
}
pub fn outbox_shard(event_id: &Id) -> u8 {
    (event_id.as_str().bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % u32::from(OUTBOX_SHARDS)) as u8
}

// ---- audit log ----

pub fn audit_partition(scope: &TenantScope) -> String {
    format!("{}#AUDIT", biz(scope))
}
pub fn audit_sk(at: DateTime<Utc>, request_id: &str) -> String {
    format!("{}#{request_id}", ts(at))
}
pub fn audit(scope: &TenantScope, sk: &str) -> Key {
    Key::new(audit_partition(scope), sk)
}
/// GSI1: one key's requests.
pub fn audit_by_key_partition(scope: &TenantScope, key_id: &Id) -> String {
    format!("{}#AUDIT#KEY#{key_id}", biz(scope))
}

// ---- idempotency ----

/// The remembered response of one `Idempotency-Key` of one API key (expires after 24 h).
pub fn idempotency(scope: &TenantScope, api_key_id: &Id, idempotency_key: &str) -> Key {
    Key::new(format!("{}#IDEMPOTENCY", biz(scope)), format!("{api_key_id}#{idempotency_key}"))
}

// ---- rate limiting ----

/// Per-key request counter for one window (`M#202611220815` or `D#20261122`); expires after it.
pub fn rate_counter(scope: &TenantScope, key_id: &Id, window: &str) -> Key {
    Key::new(format!("{}#RATE", biz(scope)), format!("{key_id}#{window}"))
}

// ---- item assembly ----

/// Builds a stored item from an entity's JSON plus its keys.
pub fn item_of(entity_type: &str, body: Value, key: Key) -> Item {
    let mut item = match body {
        Value::Object(map) => map,
        other => {
            let mut m = Item::new();
            m.insert("value".into(), other);
            m
        }
    };
    item.insert(PK.into(), Value::String(key.pk));
    item.insert(SK.into(), Value::String(key.sk));
    item.insert("entityType".into(), Value::String(entity_type.into()));
    item
}

pub fn with_gsi1(mut item: Item, pk: String, sk: String) -> Item {
    item.insert(GSI1PK.into(), Value::String(pk));
    item.insert(GSI1SK.into(), Value::String(sk));
    item
}

pub fn with_gsi2(mut item: Item, pk: String, sk: String) -> Item {
    item.insert(GSI2PK.into(), Value::String(pk));
    item.insert(GSI2SK.into(), Value::String(sk));
    item
}

pub fn with_ttl(mut item: Item, ttl: i64) -> Item {
    item.insert(TTL.into(), Value::from(ttl));
    item
}

/// Removes the storage attributes, leaving the entity's own fields.
pub fn strip_keys(mut item: Item) -> Item {
    for attr in [PK, SK, GSI1PK, GSI1SK, GSI2PK, GSI2SK, TTL, "entityType", "searchText", "version"] {
        item.remove(attr);
    }
    item
}
