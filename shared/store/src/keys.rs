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
/// A business's entry in the [`BUSINESS_LIST_GSI1PK`] listing.
pub fn business_listing(business_id: &Id) -> Key {
    Key::new(BUSINESS_LIST_GSI1PK, business_id.as_str())
}

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
/// An athlete's entry in [`athletes_by_updated_partition`].
pub fn athlete_by_updated(scope: &TenantScope, updated_at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(athletes_by_updated_partition(scope), time_sk(updated_at, id))
}
/// GSI2: athletes of one location.
pub fn athletes_by_location_partition(scope: &TenantScope, location_id: &Id) -> String {
    format!("{}#LOC#{location_id}#ATHLETE", biz(scope))
}
/// An athlete's entry in [`athletes_by_location_partition`].
pub fn athlete_by_location(scope: &TenantScope, location_id: &Id, id: &Id) -> Key {
    Key::new(athletes_by_location_partition(scope, location_id), id.as_str())
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
/// A test's entries in [`tests_by_time_partition`] and [`tests_of_athlete_partition`].
pub fn test_by_time(scope: &TenantScope, at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(tests_by_time_partition(scope), time_sk(at, id))
}
pub fn test_of_athlete(scope: &TenantScope, athlete_id: &Id, at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(tests_of_athlete_partition(scope, athlete_id), time_sk(at, id))
}
/// Uniqueness guard: one test per (athlete, type, performed time) in a business, so a test sent
/// twice (a retried import, the same file again) is recorded once.
pub fn test_guard(scope: &TenantScope, athlete_id: &Id, test_type: &str, at: DateTime<Utc>) -> Key {
    Key::new(format!("{}#TEST#NATURAL", biz(scope)), format!("{athlete_id}#{test_type}#{}", ts(at)))
}
/// `<timestamp>#<id>`: the sort key of every time-ordered listing (tests, referrals, deliveries,
/// the outbox, athletes by update).
pub fn time_sk(at: DateTime<Utc>, id: &Id) -> String {
    format!("{}#{id}", ts(at))
}
/// Sort-key bounds covering `from..=to` (either open) in a `<timestamp>#…` listing.
pub fn time_bounds(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> (String, String) {
    (from.map(ts).unwrap_or_else(|| "0".into()), to.map(up_to).unwrap_or_else(|| "~".into()))
}
/// The highest sort key at or before `at` in a `<timestamp>#…` listing.
pub fn up_to(at: DateTime<Utc>) -> String {
    format!("{}#~", ts(at))
}
/// Sort-key bounds covering whole days `from..=to` in a `<timestamp>#<id>` index.
pub fn day_bounds(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (String, String) {
    let lo = from.map(|d| format!("{}T00:00:00.000Z", d.format("%Y-%m-%d"))).unwrap_or_else(|| "0".into());
    let hi = to.map(|d| format!("{}T23:59:59.999Z#~", d.format("%Y-%m-%d"))).unwrap_or_else(|| "~".into());
    (lo, hi)
}

// ---- analytics: memberships, payments, app opens, the churn cache ----

/// One member's memberships (ids are time-ordered).
pub fn memberships_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#MEMBERSHIP", biz(scope))
}
pub fn membership(scope: &TenantScope, athlete_id: &Id, id: &Id) -> Key {
    Key::new(memberships_partition(scope, athlete_id), id.as_str())
}
/// One member's payments by charge day.
pub fn payments_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#PAYMENT", biz(scope))
}
pub fn payment(scope: &TenantScope, athlete_id: &Id, day: NaiveDate, id: &Id) -> Key {
    Key::new(payments_partition(scope, athlete_id), format!("{}#{id}", day.format("%Y-%m-%d")))
}
/// Sort-key bounds of whole days `from..=to` in a `<date>#<id>` listing.
pub fn date_bounds(from: NaiveDate, to: NaiveDate) -> (String, String) {
    (from.format("%Y-%m-%d").to_string(), format!("{}#~", to.format("%Y-%m-%d")))
}
/// One member's app opens: a counter per day.
pub fn app_opens_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#APP", biz(scope))
}
pub fn app_open_day(scope: &TenantScope, athlete_id: &Id, day: NaiveDate) -> Key {
    Key::new(app_opens_partition(scope, athlete_id), day.format("%Y-%m-%d").to_string())
}
/// The business's analytics settings (the churn model's weights, whether it sends app events).
pub fn churn_model(scope: &TenantScope) -> Key {
    Key::new(format!("{}#ANALYTICS", biz(scope)), "CHURN_MODEL")
}
pub fn app_tracked(scope: &TenantScope) -> Key {
    Key::new(format!("{}#ANALYTICS", biz(scope)), "APP_TRACKED")
}
/// The guard that a membership period's `subscription.expiring` was sent.
pub fn expiry_notice(scope: &TenantScope, membership: &str, ends_on: NaiveDate) -> Key {
    Key::new(format!("{}#ANALYTICS#EXPIRY", biz(scope)), format!("{membership}#{}", ends_on.format("%Y-%m-%d")))
}
/// The engagement comparison: the business's (`None`) or a location's.
pub fn engagement(scope: &TenantScope, location: Option<&Id>) -> Key {
    match location {
        None => Key::new(format!("{}#ANALYTICS", biz(scope)), "ENGAGEMENT"),
        Some(l) => Key::new(format!("{}#ANALYTICS", biz(scope)), format!("ENGAGEMENT#LOC#{l}")),
    }
}
/// A location's capacity model.
pub fn capacity(scope: &TenantScope, location: &Id) -> Key {
    Key::new(format!("{}#ANALYTICS", biz(scope)), format!("CAPACITY#LOC#{location}"))
}
/// The churn cache: one entry per scored member, the summaries.
pub fn churn_partition(scope: &TenantScope) -> String {
    format!("{}#CHURN", biz(scope))
}
pub fn churn_member(scope: &TenantScope, athlete_id: &Id) -> Key {
    Key::new(churn_partition(scope), format!("M#{athlete_id}"))
}
/// The prefix of [`churn_member`] sort keys.
pub const CHURN_MEMBER_PREFIX: &str = "M#";
/// The business's summary counters (`None`) or a location's: `c{p}` members and `v{p}` cents
/// of monthly value per hundredth of risk `p`, and `version`, all moved by atomic adds.
pub fn churn_summary(scope: &TenantScope, location: Option<&Id>) -> Key {
    match location {
        None => Key::new(churn_partition(scope), "TOTALS"),
        Some(l) => Key::new(churn_partition(scope), format!("TOTALS#LOC#{l}")),
    }
}
/// When a summary was last written, and in which currency (beside the counters: an add can't
/// set a time).
pub fn churn_stamp(scope: &TenantScope, location: Option<&Id>) -> Key {
    match location {
        None => Key::new(churn_partition(scope), "STAMP"),
        Some(l) => Key::new(churn_partition(scope), format!("STAMP#LOC#{l}")),
    }
}
/// The at-risk listing, highest risk first: the business's (`None`) or a location's.
pub fn churn_rank_partition(scope: &TenantScope, location: Option<&Id>) -> String {
    match location {
        None => format!("{}#CHURN#RANK", biz(scope)),
        Some(l) => format!("{}#CHURN#RANK#LOC#{l}", biz(scope)),
    }
}
/// A member's place in a listing: risk in hundredths, inverted so the highest sorts first.
pub fn churn_rank(scope: &TenantScope, location: Option<&Id>, risk_pct: u32, athlete_id: &Id) -> Key {
    Key::new(churn_rank_partition(scope, location), format!("{:03}#{athlete_id}", 100 - risk_pct.min(100)))
}
/// The highest rank sort key of the members at or above `risk_pct`.
pub fn churn_rank_upto(risk_pct: u32) -> String {
    format!("{:03}#~", 100 - risk_pct.min(100))
}

// ---- member training data (readiness, workouts, injuries, check-ins) ----

/// One member's readiness entries, by time.
pub fn readiness_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#READINESS", biz(scope))
}
pub fn readiness(scope: &TenantScope, athlete_id: &Id, at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(readiness_partition(scope, athlete_id), time_sk(at, id))
}

pub fn workout(scope: &TenantScope, id: &Id) -> Key {
    Key::new(format!("{}#WORKOUT", biz(scope)), id.as_str())
}
/// GSI1: one member's workouts by start time.
pub fn workouts_of_athlete_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#WORKOUT", biz(scope))
}
pub fn workout_of_athlete(scope: &TenantScope, athlete_id: &Id, at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(workouts_of_athlete_partition(scope, athlete_id), time_sk(at, id))
}
/// Uniqueness guard: one workout per (source, source id) in a business.
pub fn workout_source_guard(scope: &TenantScope, source: &str, source_id: &str) -> Key {
    Key::new(format!("{}#WORKOUT#SRC", biz(scope)), format!("{source}#{source_id}"))
}

/// One member's injuries (ids are time-ordered).
pub fn injuries_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#INJURY", biz(scope))
}
pub fn injury(scope: &TenantScope, athlete_id: &Id, id: &Id) -> Key {
    Key::new(injuries_partition(scope, athlete_id), id.as_str())
}

pub fn check_in(scope: &TenantScope, id: &Id) -> Key {
    Key::new(format!("{}#CHECKIN", biz(scope)), id.as_str())
}
/// A check-in's entry in its location's listing (the check-in without its workout; it carries
/// the GSI2 keys).
pub fn check_in_location_entry(scope: &TenantScope, id: &Id) -> Key {
    Key::new(format!("{}#CHECKIN#LOC", biz(scope)), id.as_str())
}
/// GSI1: one member's check-ins by time.
pub fn check_ins_of_athlete_partition(scope: &TenantScope, athlete_id: &Id) -> String {
    format!("{}#ATHLETE#{athlete_id}#CHECKIN", biz(scope))
}
pub fn check_in_of_athlete(scope: &TenantScope, athlete_id: &Id, at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(check_ins_of_athlete_partition(scope, athlete_id), time_sk(at, id))
}
/// GSI2: one location's check-ins by time (its day lists and occupancy).
pub fn check_ins_of_location_partition(scope: &TenantScope, location_id: &Id) -> String {
    format!("{}#LOC#{location_id}#CHECKIN", biz(scope))
}
pub fn check_in_of_location(scope: &TenantScope, location_id: &Id, at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(check_ins_of_location_partition(scope, location_id), time_sk(at, id))
}
/// A member's latest check-in (a copy), what a repeated scan is answered from in one read.
pub fn latest_check_in(scope: &TenantScope, athlete_id: &Id) -> Key {
    Key::new(format!("{}#CHECKIN#LATEST", biz(scope)), athlete_id.as_str())
}

// ---- import and export jobs ----

pub fn jobs_partition(scope: &TenantScope) -> String {
    format!("{}#JOB", biz(scope))
}
/// An import or export job (its id's prefix tells which; ids sort by creation time).
pub fn job(scope: &TenantScope, id: &Id) -> Key {
    Key::new(jobs_partition(scope), id.as_str())
}
/// The rows an import refused, by the checkpoint that covered them (`upTo`: the first row after).
pub fn job_errors(scope: &TenantScope, id: &Id, up_to: usize) -> Key {
    Key::new(job_errors_partition(scope, id), format!("{up_to:09}"))
}
pub fn job_errors_partition(scope: &TenantScope, id: &Id) -> String {
    format!("{}#JOBERR#{id}", biz(scope))
}
/// A job's file in the blob store, under the business's own prefix: `b/<business>/<job>/<name>`.
pub fn blob_key(scope: &TenantScope, job: &Id, name: &str) -> String {
    format!("b/{}/{job}/{name}", scope.business_id())
}

// ---- challenges ----
//
// A challenge's hot items are spread over partitions: each participant, entry, source guard and
// rank-tree node has a partition of its own or of its shard (docs/DATA_MODEL.md, "Challenges").

pub fn challenges_partition(scope: &TenantScope) -> String {
    format!("{}#CHALLENGE", biz(scope))
}
pub fn challenge(scope: &TenantScope, id: &Id) -> Key {
    Key::new(challenges_partition(scope), id.as_str())
}
fn chl(scope: &TenantScope, id: &Id) -> String {
    format!("{}#CHL#{id}", biz(scope))
}
/// A participant, in its shard's partition.
pub fn participant(scope: &TenantScope, challenge: &Id, shard: u8, member: &Id) -> Key {
    Key::new(format!("{}#P#{shard}", chl(scope, challenge)), member.as_str())
}
/// The board scope of the whole challenge (and the location boards are named by location id).
pub const BOARD_ALL: &str = "all";
/// GSI1 (everyone) or GSI2 (one location): a shard of a leaderboard, by [`board_sort_key`].
///
/// [`board_sort_key`]: iron_domain::challenge::board_sort_key
pub fn board_partition(scope: &TenantScope, challenge: &Id, board: &str, shard: u8) -> String {
    format!("{}#B#{board}#{shard}", chl(scope, challenge))
}
pub fn board_entry(scope: &TenantScope, challenge: &Id, board: &str, shard: u8, sort_key: &str) -> Key {
    Key::new(board_partition(scope, challenge, board, shard), sort_key)
}
/// A node of one shard's rank tree of one board: an item (and partition) of its own.
pub fn rank_node(scope: &TenantScope, challenge: &Id, board: &str, shard: u8, node: &str) -> Key {
    Key::new(format!("{}#T#{board}#{shard}#{node}", chl(scope, challenge)), "N")
}
/// An entry: its own partition.
pub fn challenge_entry(scope: &TenantScope, challenge: &Id, entry: &Id) -> Key {
    Key::new(format!("{}#E#{entry}", chl(scope, challenge)), "E")
}
/// GSI1: one member's entries in a challenge by time.
pub fn entries_of_member_partition(scope: &TenantScope, challenge: &Id, member: &Id) -> String {
    format!("{}#ME#{member}", chl(scope, challenge))
}
pub fn entry_of_member(scope: &TenantScope, challenge: &Id, member: &Id, at: DateTime<Utc>, entry: &Id) -> Key {
    Key::new(entries_of_member_partition(scope, challenge, member), time_sk(at, entry))
}
/// One entry per (source, source id) in a challenge.
pub fn entry_source_guard(scope: &TenantScope, challenge: &Id, source: &str, source_id: &str) -> Key {
    Key::new(format!("{}#SRC#{source}#{source_id}", chl(scope, challenge)), "G")
}
/// Teams (`T#<id>`, with their roster count) and their aggregates (`A#<id>`, counters only, so
/// entries add to them without reading).
pub fn teams_partition(scope: &TenantScope, challenge: &Id) -> String {
    format!("{}#TEAM", chl(scope, challenge))
}
pub fn team(scope: &TenantScope, challenge: &Id, team: &Id) -> Key {
    Key::new(teams_partition(scope, challenge), format!("T#{team}"))
}
pub fn team_aggregate(scope: &TenantScope, challenge: &Id, team: &Id) -> Key {
    Key::new(teams_partition(scope, challenge), format!("A#{team}"))
}
pub const TEAM_SK_PREFIX: &str = "T#";
pub const TEAM_AGGREGATE_SK_PREFIX: &str = "A#";
pub fn team_members_partition(scope: &TenantScope, challenge: &Id, team: &Id) -> String {
    format!("{}#TEAM#{team}", chl(scope, challenge))
}
pub fn team_member(scope: &TenantScope, challenge: &Id, team: &Id, member: &Id) -> Key {
    Key::new(team_members_partition(scope, challenge, team), member.as_str())
}
/// Locations' aggregates, one counter item per (location, shard).
pub fn location_aggregates_partition(scope: &TenantScope, challenge: &Id) -> String {
    format!("{}#LOCAGG", chl(scope, challenge))
}
pub fn location_aggregate(scope: &TenantScope, challenge: &Id, location: &Id, shard: u8) -> Key {
    Key::new(location_aggregates_partition(scope, challenge), format!("{location}#{shard}"))
}
/// The challenges a member joined (the workout log looks here).
pub fn member_challenges_partition(scope: &TenantScope, member: &Id) -> String {
    format!("{}#ATHLETE#{member}#CHL", biz(scope))
}
pub fn member_challenge(scope: &TenantScope, member: &Id, challenge: &Id) -> Key {
    Key::new(member_challenges_partition(scope, member), challenge.as_str())
}
/// A member's badges, by the challenge that awarded them.
pub fn badges_partition(scope: &TenantScope, member: &Id) -> String {
    format!("{}#ATHLETE#{member}#BADGE", biz(scope))
}
pub fn badge(scope: &TenantScope, member: &Id, challenge: &Id) -> Key {
    Key::new(badges_partition(scope, member), challenge.as_str())
}

// ---- internal tasks (events consumed inside the platform) ----

pub fn task(scope: &TenantScope, id: &Id) -> Key {
    Key::new(format!("{}#TASK", biz(scope)), id.as_str())
}
/// GSI2: tasks waiting to run, by when they are due (sharded like the outbox).
pub fn tasks_due_partition(shard: u8) -> String {
    format!("TASKS#{shard}")
}
pub fn task_due(shard: u8, at: DateTime<Utc>, business: &Id, id: &Id) -> Key {
    Key::new(tasks_due_partition(shard), format!("{}#{business}#{id}", ts(at)))
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
    Key::new(referrals_partition(scope), time_sk(referred_at, id))
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
/// Hourly delivery counters of a webhook (`ok` / `failed`) for the hour of `at`, kept two days.
pub fn webhook_stats(scope: &TenantScope, webhook_id: &Id, at: DateTime<Utc>) -> Key {
    Key::new(webhook_stats_partition(scope), webhook_stats_sk(webhook_id, at))
}
fn webhook_stats_sk(webhook_id: &Id, at: DateTime<Utc>) -> String {
    format!("{webhook_id}#{}", at.format("%Y%m%d%H"))
}
/// Sort-key bounds of a webhook's hourly counters from the hour of `from` to that of `to`.
pub fn webhook_stats_bounds(webhook_id: &Id, from: DateTime<Utc>, to: DateTime<Utc>) -> (String, String) {
    (webhook_stats_sk(webhook_id, from), webhook_stats_sk(webhook_id, to))
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
fn delivery_due_sk(at: DateTime<Utc>, business: &Id, id: &Id) -> String {
    format!("{}#{business}#{id}", ts(at))
}
/// GSI2: one webhook's deliveries, newest last.
pub fn deliveries_of_webhook_partition(scope: &TenantScope, webhook_id: &Id) -> String {
    format!("{}#WEBHOOK#{webhook_id}#DELIVERY", biz(scope))
}
/// A delivery's entry in [`deliveries_of_webhook_partition`].
pub fn delivery_of_webhook(scope: &TenantScope, webhook_id: &Id, created_at: DateTime<Utc>, id: &Id) -> Key {
    Key::new(deliveries_of_webhook_partition(scope, webhook_id), time_sk(created_at, id))
}
/// A pending delivery's entry in [`deliveries_due_partition`].
pub fn delivery_due(shard: u8, at: DateTime<Utc>, business: &Id, id: &Id) -> Key {
    Key::new(deliveries_due_partition(shard), delivery_due_sk(at, business, id))
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
/// A pending event's entry in [`outbox_pending_partition`].
pub fn outbox_pending(created_at: DateTime<Utc>, event_id: &Id) -> Key {
    Key::new(outbox_pending_partition(outbox_shard(event_id)), time_sk(created_at, event_id))
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
/// A record's entry in [`audit_by_key_partition`] (same sort key as the record).
pub fn audit_by_key(scope: &TenantScope, key_id: &Id, sk: &str) -> Key {
    Key::new(audit_by_key_partition(scope, key_id), sk)
}

// ---- idempotency ----

/// The remembered response of one `Idempotency-Key` of one API key (expires after 24 h).
pub fn idempotency(scope: &TenantScope, api_key_id: &Id, idempotency_key: &str) -> Key {
    Key::new(format!("{}#IDEMPOTENCY", biz(scope)), format!("{api_key_id}#{idempotency_key}"))
}

// ---- rate limiting ----

/// Per-key request counter of the UTC minute starting at `minute` (`…#M#202611220815`).
pub fn rate_minute(scope: &TenantScope, key_id: &Id, minute: DateTime<Utc>) -> Key {
    Key::new(format!("{}#RATE", biz(scope)), format!("{key_id}#M#{}", minute.format("%Y%m%d%H%M")))
}
/// Per-key request counter of the UTC day starting at `day` (`…#D#20261122`).
pub fn rate_day(scope: &TenantScope, key_id: &Id, day: DateTime<Utc>) -> Key {
    Key::new(format!("{}#RATE", biz(scope)), format!("{key_id}#D#{}", day.format("%Y%m%d")))
}

// ---- gyms and third-party sync ----

pub fn gym(scope: &TenantScope, id: &Id) -> Key {
    Key::new(biz(scope), format!("GYM#{id}"))
}
pub const GYM_SK_PREFIX: &str = "GYM#";

/// A gym's connection to a provider (`INTEGRATION#wodify#gym_…`): status, watermark, the
/// envelope-encrypted key.
pub fn connection(scope: &TenantScope, provider: &str, gym: &Id) -> Key {
    Key::new(biz(scope), format!("INTEGRATION#{provider}#{gym}"))
}
/// GSI1, platform-wide: every connection of a provider, for the scheduled fan-out.
pub fn connections_partition(provider: &str) -> String {
    format!("INTEGRATIONS#{provider}")
}
/// A connection's entry in [`connections_partition`] (`<businessId>#<gymId>`).
pub fn connection_listing(provider: &str, business: &Id, gym: &Id) -> Key {
    Key::new(connections_partition(provider), format!("{business}#{gym}"))
}
/// A gym's sync runs, by id (time-ordered).
pub fn sync_runs_partition(scope: &TenantScope, gym: &Id) -> String {
    format!("{}#SYNCRUN#{gym}", biz(scope))
}
pub fn sync_run(scope: &TenantScope, gym: &Id, run: &Id) -> Key {
    Key::new(sync_runs_partition(scope, gym), run.as_str())
}
/// The raw landing zone: one provider entity of one gym, records by the provider's id.
pub fn raw_partition(scope: &TenantScope, provider: &str, gym: &Id, entity: &str) -> String {
    format!("{}#RAW#{provider}#{gym}#{entity}", biz(scope))
}
pub fn raw_record(scope: &TenantScope, provider: &str, gym: &Id, entity: &str, external_id: &str) -> Key {
    Key::new(raw_partition(scope, provider, gym, entity), external_id)
}
/// Canonical rows of one kind of one gym (`memberships`, `attendance`, …), by
/// `<provider>#<external id>`.
pub fn canonical_partition(scope: &TenantScope, gym: &Id, kind: &str) -> String {
    format!("{}#SYNC#{gym}#{kind}", biz(scope))
}
pub fn canonical(scope: &TenantScope, gym: &Id, kind: &str, provider: &str, external_id: &str) -> Key {
    Key::new(canonical_partition(scope, gym, kind), format!("{provider}#{external_id}"))
}
/// GSI1: the canonical rows of one kind dated in one month (`2026-11`).
pub fn canonical_by_month_partition(scope: &TenantScope, gym: &Id, kind: &str, month: &str) -> String {
    format!("{}#SYNC#{gym}#{kind}#M#{month}", biz(scope))
}
pub fn canonical_by_month(
    scope: &TenantScope,
    gym: &Id,
    kind: &str,
    month: &str,
    provider: &str,
    external_id: &str,
) -> Key {
    Key::new(canonical_by_month_partition(scope, gym, kind, month), format!("{provider}#{external_id}"))
}
/// The monthly metrics cache of a gym, by month.
pub fn metrics_partition(scope: &TenantScope, gym: &Id) -> String {
    format!("{}#METRICS#{gym}", biz(scope))
}
pub fn metrics_month(scope: &TenantScope, gym: &Id, month: &str) -> Key {
    Key::new(metrics_partition(scope, gym), month)
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

/// The item with its entry in GSI1 (a key built by one of this module's index functions).
pub fn with_gsi1(mut item: Item, entry: Key) -> Item {
    item.insert(GSI1PK.into(), Value::String(entry.pk));
    item.insert(GSI1SK.into(), Value::String(entry.sk));
    item
}

/// The item with its entry in GSI2.
pub fn with_gsi2(mut item: Item, entry: Key) -> Item {
    item.insert(GSI2PK.into(), Value::String(entry.pk));
    item.insert(GSI2SK.into(), Value::String(entry.sk));
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

#[cfg(test)]
mod tests {
    /// Every key shape is built in this module: no repository formats a key, a sort key or an
    /// index entry of its own.
    #[test]
    fn repositories_build_no_keys_of_their_own() {
        let sources = [
            ("athletes", include_str!("repo/athletes.rs")),
            ("challenges", include_str!("repo/challenges.rs")),
            ("tasks", include_str!("repo/tasks.rs")),
            ("check_ins", include_str!("repo/check_ins.rs")),
            ("injuries", include_str!("repo/injuries.rs")),
            ("locations", include_str!("repo/locations.rs")),
            ("readiness", include_str!("repo/readiness.rs")),
            ("workouts", include_str!("repo/workouts.rs")),
            ("audit", include_str!("repo/audit.rs")),
            ("deliveries", include_str!("repo/deliveries.rs")),
            ("events", include_str!("repo/events.rs")),
            ("fitness_tests", include_str!("repo/fitness_tests.rs")),
            ("idempotency", include_str!("repo/idempotency.rs")),
            ("platform", include_str!("repo/platform.rs")),
            ("rate_limit", include_str!("repo/rate_limit.rs")),
            ("referrals", include_str!("repo/referrals.rs")),
            ("webhook_health", include_str!("repo/webhook_health.rs")),
            ("webhooks", include_str!("repo/webhooks.rs")),
            ("sync", include_str!("repo/sync.rs")),
            ("analytics", include_str!("repo/analytics.rs")),
        ];
        for (name, source) in sources {
            for (n, line) in source.lines().enumerate() {
                let builds_a_key = line.contains("Key::new(") || (line.contains("format!(") && line.contains('#'));
                assert!(!builds_a_key, "repo/{name}.rs:{}: {line}", n + 1);
            }
        }
    }
}
