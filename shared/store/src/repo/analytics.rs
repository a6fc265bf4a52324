//! Analytics: the native sources of the churn model (memberships, payments, app opens), the
//! business's model settings, and the churn cache the analytics endpoints read.
//!
//! The cache holds one entry per scored member (the score with its explanation, the member's
//! name, home location and monthly price), a copy of it in the at-risk listing (the business's
//! and its location's, ordered by risk, highest first, so a page is one query), and a summary
//! per business and per location: counts and monthly value per hundredth of risk, so any
//! threshold's totals are a sum over one item. A member's recompute rewrites their entry (on
//! the condition that it is still the one read), moves their listing copies and moves the
//! summaries' counters by the difference (atomic adds) in one transaction: recomputes of
//! different members never conflict, and the summaries stay the sum of the entries. The full
//! recompute writes many members to a transaction the same way and then repairs any summary
//! that drifted from the entries.
//!
//! A member's history merges what the business recorded through the API (check-ins, the
//! personalised sessions and workouts logged for them, app opens, challenges, payments,
//! memberships) with what its Wodify sync brought (class sign-ins, memberships, payments) for
//! members synced from Wodify.

use super::{RepoError, RepoResult, decode, decode_json, decode_page, encode};
use crate::item::{Cursor, Index, Item, Query, SkCondition};
use crate::keys;
use crate::table::{Condition, StoreError, TxOp};
use crate::tenant::TenantDb;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use iron_domain::billing::{MemberMembership, Payment, PaymentStatus};
use iron_domain::churn::{ChallengeActivity, History, PaymentAttempt, Score, Weights};
use iron_domain::engagement;
use iron_domain::{Athlete, AthleteSource, AthleteStatus, Event, Id};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;

/// How far back a member's history is read (the model looks at most 120 days back).
pub const HISTORY_DAYS: i64 = 120;

// ---- memberships ----

/// Records a membership; the member must exist in this business.
pub async fn create_membership(db: TenantDb<'_>, m: &MemberMembership) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of("membership", encode(m), keys::membership(scope, &m.athlete_id, &m.id));
    store
        .transact(vec![
            TxOp::Check { key: keys::athlete(scope, &m.athlete_id), condition: Condition::Exists },
            TxOp::Put { item, condition: Condition::NotExists },
        ])
        .await
        .map_err(member_missing)
}

fn member_missing(e: StoreError) -> RepoError {
    match e {
        StoreError::TransactionCanceled { failed } if failed.contains(&0) => RepoError::NotFound,
        other => other.into(),
    }
}

/// A page of a member's memberships, newest first.
pub async fn list_memberships(
    db: TenantDb<'_>,
    athlete_id: &Id,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<MemberMembership>, Option<Cursor>)> {
    let q = Query::new(Index::Table, keys::memberships_partition(db.scope(), athlete_id)).backward();
    decode_page(db.store().query_json(q.limit(limit).after(cursor)).await?)
}

async fn read_all<T: serde::de::DeserializeOwned>(db: TenantDb<'_>, query: Query, cap: usize) -> RepoResult<Vec<T>> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = db.store().query_json(query.clone().limit(500).after(cursor)).await?;
        for json in &page.items {
            out.push(decode_json(json)?);
        }
        match page.next {
            Some(c) if out.len() < cap => cursor = Some(c),
            _ => return Ok(out),
        }
    }
}

// ---- payments ----

/// Records a payment with its events; the member must exist in this business.
pub async fn create_payment(db: TenantDb<'_>, p: &Payment, events: &[Event]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let item = keys::item_of("payment", encode(p), keys::payment(scope, &p.athlete_id, p.date, &p.id));
    let mut ops = vec![
        TxOp::Check { key: keys::athlete(scope, &p.athlete_id), condition: Condition::Exists },
        TxOp::Put { item, condition: Condition::NotExists },
    ];
    ops.extend(events.iter().map(|e| super::events::outbox_op(scope, e)));
    store.transact(ops).await.map_err(member_missing)
}

/// A page of a member's payments charged `from..=to`, newest first.
pub async fn list_payments(
    db: TenantDb<'_>,
    athlete_id: &Id,
    from: NaiveDate,
    to: NaiveDate,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<Payment>, Option<Cursor>)> {
    let (lo, hi) = keys::date_bounds(from, to);
    let q = Query::new(Index::Table, keys::payments_partition(db.scope(), athlete_id))
        .sk(SkCondition::Between(lo, hi))
        .backward();
    decode_page(db.store().query_json(q.limit(limit).after(cursor)).await?)
}

// ---- app opens ----

/// Counts app opens per day (the member must exist) and marks the business as one that sends
/// app events (from then on, a member without opens is at risk on that factor, not missing).
pub async fn record_app_opens(db: TenantDb<'_>, athlete_id: &Id, per_day: &[(NaiveDate, i64)]) -> RepoResult<()> {
    let (store, scope) = (db.store(), db.scope());
    let mut ops = vec![TxOp::Check { key: keys::athlete(scope, athlete_id), condition: Condition::Exists }];
    for (day, n) in per_day {
        ops.push(TxOp::Add { key: keys::app_open_day(scope, athlete_id, *day), deltas: vec![("opens".into(), *n)] });
    }
    ops.push(TxOp::Add { key: keys::app_tracked(scope), deltas: vec![("events".into(), per_day.len() as i64)] });
    store.transact(ops).await.map_err(member_missing)
}

/// The days in `from..=to` with at least one app open.
pub async fn app_open_days(
    db: TenantDb<'_>,
    athlete_id: &Id,
    from: NaiveDate,
    to: NaiveDate,
) -> RepoResult<Vec<NaiveDate>> {
    let (lo, hi) = keys::date_bounds(from, to);
    let q =
        Query::new(Index::Table, keys::app_opens_partition(db.scope(), athlete_id)).sk(SkCondition::Between(lo, hi));
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = db.store().query(q.clone().limit(500).after(cursor)).await?;
        out.extend(
            page.items.iter().filter_map(|i| i.get(crate::item::SK).and_then(Value::as_str)?.parse::<NaiveDate>().ok()),
        );
        match page.next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

// ---- the model's settings ----

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChurnModel {
    pub weights: Weights,
    /// How many days before a membership ends `subscription.expiring` fires (1–90).
    #[serde(default = "default_notice_days")]
    pub expiry_notice_days: u32,
    /// `None`: the defaults, never changed.
    pub updated_at: Option<DateTime<Utc>>,
}

/// The default notice before a membership ends.
pub const DEFAULT_NOTICE_DAYS: u32 = 14;

fn default_notice_days() -> u32 {
    DEFAULT_NOTICE_DAYS
}

impl Default for ChurnModel {
    fn default() -> ChurnModel {
        ChurnModel { weights: Weights::default(), expiry_notice_days: DEFAULT_NOTICE_DAYS, updated_at: None }
    }
}

pub async fn churn_model(db: TenantDb<'_>) -> RepoResult<ChurnModel> {
    match db.store().get(&keys::churn_model(db.scope())).await? {
        Some(item) => decode(item),
        None => Ok(ChurnModel::default()),
    }
}

pub async fn set_churn_model(db: TenantDb<'_>, model: &ChurnModel) -> RepoResult<()> {
    let item = keys::item_of("churnModel", encode(model), keys::churn_model(db.scope()));
    Ok(db.store().put(item, Condition::None).await?)
}

// ---- histories ----

/// What a business's members are scored against, read once per recompute.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub weights: Weights,
    pub expiry_notice_days: u32,
    pub app_tracked: bool,
    pub challenges_offered: bool,
    /// Running state of the business's challenges, by id.
    pub challenges: HashMap<Id, (NaiveDate, NaiveDate)>,
    /// The ISO 4217 code amounts are summed in.
    pub currency: String,
    pub wodify: WodifyData,
    /// Every member's check-ins in the history window, read in one pass (the full recompute's);
    /// `None`: each member's are read on their own (the incremental path).
    pub visits: Option<HashMap<Id, Vec<Visit>>>,
}

/// A granted check-in, as scoring needs it: its local day, and its id when a personalised
/// session (not a rest day) was offered.
#[derive(Debug, Clone)]
pub struct Visit {
    pub day: NaiveDate,
    pub session: Option<Id>,
}

impl Visit {
    fn of(c: &iron_domain::check_in::CheckIn) -> Option<Visit> {
        c.access.granted.then(|| Visit {
            day: c.local_date,
            session: c.wod.as_ref().filter(|w| w.kind != iron_domain::wod::WodKind::Rest).map(|_| c.id.clone()),
        })
    }
}

/// The times a member's history covers: from the start of the day [`HISTORY_DAYS`] ago to the
/// end of `today` (UTC days).
fn history_window(today: NaiveDate) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let from = (today - Duration::days(HISTORY_DAYS)).and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    let to = (today + Duration::days(1)).and_hms_opt(0, 0, 0).map(|t| t.and_utc() - Duration::milliseconds(1));
    (from, to)
}

/// The business's check-ins of the history window in one pass over each location's, in time
/// order (a seek per page, not one per check-in per member): every member's visits, and each
/// location's stays of the capacity window.
async fn read_visits(
    db: TenantDb<'_>,
    locations: &[iron_domain::Location],
    now: DateTime<Utc>,
) -> RepoResult<(HashMap<Id, Vec<Visit>>, HashMap<Id, Vec<engagement::Stay>>)> {
    let (from, to) = history_window(now.date_naive());
    let stays_from = now - Duration::days((engagement::CAPACITY_WEEKS + engagement::HELD_OUT_WEEKS) * 7 + 1);
    let mut visits: HashMap<Id, Vec<Visit>> = HashMap::new();
    let mut stays: HashMap<Id, Vec<engagement::Stay>> = HashMap::new();
    for l in locations {
        let here = stays.entry(l.id.clone()).or_default();
        let mut cursor = None;
        loop {
            let (page, next) = super::check_ins::of_location(db, &l.id, from, to, 500, cursor).await?;
            for c in &page {
                let Some(v) = Visit::of(c) else { continue };
                visits.entry(c.athlete_id.clone()).or_default().push(v);
                if c.checked_in_at >= stays_from && c.checked_in_at <= now && here.len() < 200_000 {
                    let minutes = (c.expected_until - c.checked_in_at).num_minutes().clamp(1, 600);
                    here.push(engagement::stay(l.local(c.checked_in_at), minutes));
                }
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    Ok((visits, stays))
}

/// What Wodify syncs brought, by the athlete it maps to.
#[derive(Debug, Clone, Default)]
pub struct WodifyData {
    pub visits: HashMap<Id, Vec<NaiveDate>>,
    pub payments: HashMap<Id, Vec<PaymentAttempt>>,
    /// (monthly value, ends on) of each membership.
    pub memberships: HashMap<Id, Vec<iron_domain::sync::Membership>>,
}

fn months_back(today: NaiveDate, n: u32) -> Vec<String> {
    let mut out = Vec::new();
    let (mut y, mut m) = (today.year(), today.month());
    for _ in 0..n {
        out.push(format!("{y:04}-{m:02}"));
        if m == 1 {
            (y, m) = (y - 1, 12);
        } else {
            m -= 1;
        }
    }
    out
}

/// The Wodify data of every gym of the business, for the last [`HISTORY_DAYS`].
pub async fn wodify_data(db: TenantDb<'_>, today: NaiveDate) -> RepoResult<WodifyData> {
    use iron_domain::sync::{Attendance, CanonicalMember, Membership, Transaction, TransactionKind};
    let mut data = WodifyData::default();
    let (gyms, _) = super::sync::list_gyms(db, 100, None).await?;
    let months = months_back(today, (HISTORY_DAYS / 28) as u32 + 1);
    for gym in gyms {
        let members = super::sync::canonical_all(db, &gym.id, "members").await?;
        if members.is_empty() {
            continue;
        }
        let mut athlete_of: HashMap<String, Id> = HashMap::new();
        for json in &members {
            let m: CanonicalMember = decode_json(json)?;
            if let Some(a) = m.athlete_id {
                athlete_of.insert(m.external_id, a);
            }
        }
        for month in &months {
            for json in super::sync::canonical_month(db, &gym.id, "attendance", month).await? {
                let a: Attendance = decode_json(&json)?;
                if let Some(id) = athlete_of.get(&a.member_external_id) {
                    data.visits.entry(id.clone()).or_default().push(a.class_start.date());
                }
            }
            for json in super::sync::canonical_month(db, &gym.id, "transactions", month).await? {
                let t: Transaction = decode_json(&json)?;
                if t.kind != TransactionKind::Payment {
                    continue;
                }
                if let Some(id) = t.member_external_id.as_ref().and_then(|m| athlete_of.get(m)) {
                    data.payments
                        .entry(id.clone())
                        .or_default()
                        .push(PaymentAttempt { on: t.at.date(), succeeded: t.succeeded });
                }
            }
        }
        for json in super::sync::canonical_all(db, &gym.id, "memberships").await? {
            let m: Membership = decode_json(&json)?;
            if let Some(id) = athlete_of.get(&m.member_external_id) {
                data.memberships.entry(id.clone()).or_default().push(m);
            }
        }
    }
    Ok(data)
}

/// The currency the business bills in: its (first) gym's; USD for a business without one.
pub async fn business_currency(db: TenantDb<'_>) -> RepoResult<String> {
    let (gyms, _) = super::sync::list_gyms(db, 1, None).await?;
    Ok(gyms.first().map_or_else(|| "USD".to_owned(), |g| g.currency.clone()))
}

/// The business's scoring context on `today`; with `wodify`, what its syncs brought too (a
/// read of the last months of every gym's synced rows: the full recompute's, and a synced
/// member's).
pub async fn context(db: TenantDb<'_>, today: NaiveDate, wodify: bool) -> RepoResult<Context> {
    let model = churn_model(db).await?;
    let app_tracked = db.store().get(&keys::app_tracked(db.scope())).await?.is_some();
    let (list, _) = super::challenges::list(db, 200, None, |_| true).await?;
    let challenges = list.iter().map(|c| (c.id.clone(), (c.start_date, c.end_date))).collect();
    let currency = business_currency(db).await?;
    Ok(Context {
        weights: model.weights,
        expiry_notice_days: model.expiry_notice_days,
        app_tracked,
        challenges_offered: !list.is_empty(),
        challenges,
        currency,
        wodify: if wodify { wodify_data(db, today).await? } else { WodifyData::default() },
        visits: None,
    })
}

/// The monthly value of a member's paying memberships on `today` (native and Wodify).
fn monthly_value(native: &[MemberMembership], wodify: &[iron_domain::sync::Membership], today: NaiveDate) -> f64 {
    let n: f64 = native.iter().filter(|m| m.covers(today)).map(MemberMembership::monthly_value).sum();
    let w: f64 = wodify.iter().filter(|m| m.active_on(today)).map(|m| m.monthly_value()).sum();
    ((n + w) * 100.0).round() / 100.0
}

/// What a member's recompute reads.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub history: History,
    /// Days with a door check-in, and with a synced class sign-in (engagement's split).
    pub door_days: Vec<NaiveDate>,
    pub class_days: Vec<NaiveDate>,
    /// The monthly value of their paying memberships on the day.
    pub monthly_value: f64,
    pub memberships: Vec<MemberMembership>,
    pub synced_memberships: Vec<iron_domain::sync::Membership>,
}

/// A member's history up to `today`, and their memberships.
pub async fn history(db: TenantDb<'_>, a: &Athlete, ctx: &Context, today: NaiveDate) -> RepoResult<Loaded> {
    let from_day = today - Duration::days(HISTORY_DAYS);
    let (from, to) = history_window(today);
    let mut own = Vec::new();
    let checked_in: &[Visit] = match &ctx.visits {
        Some(all) => all.get(&a.id).map_or(&[], Vec::as_slice),
        None => {
            let mut cursor = None;
            loop {
                let (page, next) = super::check_ins::of_athlete(db, &a.id, from, to, 500, cursor).await?;
                own.extend(page.iter().filter_map(Visit::of));
                match next {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            &own
        }
    };
    let visits: Vec<NaiveDate> = checked_in.iter().map(|v| v.day).collect();
    let sessions: Vec<(NaiveDate, Id)> =
        checked_in.iter().filter_map(|v| v.session.clone().map(|id| (v.day, id))).collect();
    let workouts = match from {
        Some(f) => super::workouts::since(db, &a.id, f).await?,
        None => Vec::new(),
    };
    let done: std::collections::HashSet<&Id> = workouts.iter().filter_map(|w| w.check_in_id.as_ref()).collect();
    let sessions = sessions.into_iter().map(|(d, id)| (d, done.contains(&id))).collect();
    let app_opens = if ctx.app_tracked { app_open_days(db, &a.id, from_day, today).await? } else { Vec::new() };
    let mut challenges = Vec::new();
    for cid in super::challenges::joined(db, &a.id).await? {
        let Some((start, end)) = ctx.challenges.get(&cid) else { continue };
        let Ok(c) = super::challenges::get(db, &cid).await else { continue };
        if let Some(p) = super::challenges::participant(db, &c, &a.id).await? {
            challenges.push(ChallengeActivity {
                joined_on: p.joined_at.date_naive(),
                last_activity: p.reached_at.date_naive().max(p.joined_at.date_naive()),
                running: *start <= today && today <= *end,
            });
        }
    }
    let payments_q = Query::new(Index::Table, keys::payments_partition(db.scope(), &a.id))
        .sk(SkCondition::Between(keys::date_bounds(from_day, today).0, keys::date_bounds(from_day, today).1));
    let native_payments: Vec<Payment> = read_all(db, payments_q, 2000).await?;
    let mut payments: Vec<PaymentAttempt> = native_payments
        .iter()
        .map(|p| PaymentAttempt { on: p.date, succeeded: p.status == PaymentStatus::Succeeded })
        .collect();
    let memberships: Vec<MemberMembership> =
        read_all(db, Query::new(Index::Table, keys::memberships_partition(db.scope(), &a.id)), 500).await?;
    let mut all_visits = visits.clone();
    let mut class_days = Vec::new();
    let mut wodify_memberships: &[iron_domain::sync::Membership] = &[];
    if a.source == AthleteSource::Wodify {
        if let Some(v) = ctx.wodify.visits.get(&a.id) {
            class_days.extend(v.iter().copied().filter(|d| from_day <= *d && *d <= today));
            all_visits.extend(class_days.iter().copied());
        }
        if let Some(p) = ctx.wodify.payments.get(&a.id) {
            payments.extend(p.iter().filter(|p| from_day <= p.on && p.on <= today));
        }
        if let Some(m) = ctx.wodify.memberships.get(&a.id) {
            wodify_memberships = m;
        }
    }
    all_visits.sort();
    all_visits.dedup();
    let value = monthly_value(&memberships, wodify_memberships, today);
    let joined_on = a.joined_on.or(Some(a.created_at.date_naive()));
    Ok(Loaded {
        history: History {
            joined_on,
            visits: all_visits,
            sessions,
            app_opens,
            app_tracked: ctx.app_tracked,
            challenges,
            challenges_offered: ctx.challenges_offered,
            payments,
        },
        monthly_value: value,
        memberships,
        synced_memberships: wodify_memberships.to_vec(),
        door_days: visits,
        class_days,
    })
}

/// A membership about to end: what `subscription.expiring` says.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expiring {
    pub member_id: Id,
    /// Ours (`mbr_…`), or the provider's id for a synced one.
    pub membership_id: String,
    pub source: &'static str,
    pub plan: String,
    pub ends_on: NaiveDate,
    pub days_left: i64,
    pub monthly_value: f64,
    pub currency: String,
}

/// The memberships of a member that end within `notice_days` of `today` (the last day they
/// cover; a synced one's end is exclusive) and are not renewed.
pub fn expiring(a: &Athlete, l: &Loaded, notice_days: u32, currency: &str, today: NaiveDate) -> Vec<Expiring> {
    use iron_domain::billing::MembershipStatus;
    let window = |end: NaiveDate| {
        let left = (end - today).num_days();
        (0..=i64::from(notice_days)).contains(&left).then_some(left)
    };
    let mut out = Vec::new();
    for m in &l.memberships {
        let Some(end) = m.end else { continue };
        // Renewed: another membership starts the day after it ends.
        let renewed = l.memberships.iter().any(|n| n.id != m.id && n.start == end + Duration::days(1));
        if renewed || !matches!(m.status, MembershipStatus::Active | MembershipStatus::Paused) {
            continue;
        }
        if let Some(left) = window(end) {
            out.push(Expiring {
                member_id: a.id.clone(),
                membership_id: m.id.to_string(),
                source: "api",
                plan: m.plan.clone(),
                ends_on: end,
                days_left: left,
                monthly_value: (m.monthly_value() * 100.0).round() / 100.0,
                currency: m.currency.clone(),
            });
        }
    }
    for m in &l.synced_memberships {
        let Some(end) = m.end.map(|e| e - Duration::days(1)) else { continue };
        let renewed = l.synced_memberships.iter().any(|n| n.renewed_from.as_deref() == Some(m.external_id.as_str()));
        if renewed || m.deleted {
            continue;
        }
        if let Some(left) = window(end) {
            out.push(Expiring {
                member_id: a.id.clone(),
                membership_id: m.external_id.clone(),
                source: "wodify",
                plan: m.name.clone(),
                ends_on: end,
                days_left: left,
                monthly_value: (m.monthly_value() * 100.0).round() / 100.0,
                currency: currency.to_owned(),
            });
        }
    }
    out
}

/// Fires `subscription.expiring` for each, once per membership period: a guard item per
/// (membership, end date) is written with the outbox event, so a second run of the day (or a
/// redelivered message) sends nothing twice, and an extended membership is announced again
/// before its new end. Answers how many fired.
pub async fn announce_expiring(db: TenantDb<'_>, due: &[Expiring], now: DateTime<Utc>) -> RepoResult<usize> {
    let mut fired = 0;
    for e in due {
        let event = Event::new("subscription.expiring", db.scope().business_id(), now, encode(e));
        let guard = keys::item_of(
            "expiryNotice",
            json!({"eventId": event.id, "at": now}),
            keys::expiry_notice(db.scope(), &e.membership_id, e.ends_on),
        );
        let ops = vec![
            TxOp::Put { item: guard, condition: Condition::NotExists },
            super::events::outbox_op(db.scope(), &event),
        ];
        match db.store().transact(ops).await {
            Ok(()) => fired += 1,
            Err(StoreError::TransactionCanceled { failed }) if failed.contains(&0) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(fired)
}

// ---- the cache ----

/// A member's cached score, as the endpoints serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedScore {
    pub member_id: Id,
    pub first_name: String,
    pub last_name: String,
    pub location_id: Option<Id>,
    /// The monthly value of the member's paying memberships on the day scored.
    pub monthly_value: f64,
    pub currency: String,
    pub score: Score,
    /// The day scored (the business's time zone is not applied: UTC).
    pub scored_on: NaiveDate,
    pub computed_at: DateTime<Utc>,
    #[serde(default)]
    pub version: u64,
}

impl CachedScore {
    pub fn risk_pct(&self) -> u32 {
        (self.score.risk_score * 100.0).round().clamp(0.0, 100.0) as u32
    }
}

/// Totals per hundredth of risk: `count[p]` members scored `p / 100`, worth `value[p]` a month.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: Vec<u64>,
    pub value: Vec<f64>,
    pub currency: String,
    pub computed_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Summary {
    /// Members scored at or above `pct`, and their monthly value.
    pub fn at_or_above(&self, pct: u32) -> (u64, f64) {
        let from = pct.min(100) as usize;
        let n = self.count[from..].iter().sum();
        let v: f64 = self.value[from..].iter().sum();
        (n, (v * 100.0).round() / 100.0)
    }
    /// Members in `lo..hi` hundredths.
    pub fn between(&self, lo: u32, hi: u32) -> u64 {
        self.count[(lo.min(101) as usize)..(hi.min(101) as usize)].iter().sum()
    }
    /// Every member scored.
    pub fn total(&self) -> u64 {
        self.count.iter().sum()
    }
}

/// Hundredths of risk, 0 to 100.
const BUCKETS: usize = 101;

/// A summary's counters as stored (`c{p}` members, `v{p}` cents a month), or a change to them.
#[derive(Debug, Clone, PartialEq)]
struct Totals {
    count: Vec<i64>,
    cents: Vec<i64>,
}

impl Totals {
    fn zero() -> Totals {
        Totals { count: vec![0; BUCKETS], cents: vec![0; BUCKETS] }
    }
    fn of_item(item: &Item) -> Totals {
        let get = |name: String| item.get(&name).and_then(Value::as_i64).unwrap_or(0);
        Totals {
            count: (0..BUCKETS).map(|p| get(format!("c{p}"))).collect(),
            cents: (0..BUCKETS).map(|p| get(format!("v{p}"))).collect(),
        }
    }
    fn add(&mut self, s: &CachedScore, sign: i64) {
        let p = s.risk_pct() as usize;
        self.count[p] += sign;
        self.cents[p] += sign * (s.monthly_value * 100.0).round() as i64;
    }
    /// The add that turns `self` into `to`: its non-zero counters.
    fn deltas_to(&self, to: &Totals) -> Vec<(String, i64)> {
        let mut out = Vec::new();
        for p in 0..BUCKETS {
            if to.count[p] != self.count[p] {
                out.push((format!("c{p}"), to.count[p] - self.count[p]));
            }
            if to.cents[p] != self.cents[p] {
                out.push((format!("v{p}"), to.cents[p] - self.cents[p]));
            }
        }
        out
    }
}

/// Adds a score to (`sign` 1) or takes it from (−1) the totals of the scopes it counts in: the
/// business's and its home location's.
fn count_in(acc: &mut HashMap<Option<Id>, Totals>, s: &CachedScore, sign: i64) {
    acc.entry(None).or_insert_with(Totals::zero).add(s, sign);
    if let Some(l) = &s.location_id {
        acc.entry(Some(l.clone())).or_insert_with(Totals::zero).add(s, sign);
    }
}

/// The summary writes of a change: an atomic add to each scope's counters that moved (with its
/// version), and each touched scope's stamp.
fn summary_ops(db: TenantDb<'_>, change: HashMap<Option<Id>, Totals>, currency: &str, now: DateTime<Utc>) -> Vec<TxOp> {
    let mut ops = Vec::new();
    for (loc, delta) in change {
        let mut deltas = Totals::zero().deltas_to(&delta);
        if !deltas.is_empty() {
            deltas.push(("version".into(), 1));
            ops.push(TxOp::Add { key: keys::churn_summary(db.scope(), loc.as_ref()), deltas });
        }
        ops.push(TxOp::Put { item: stamp_item(db, loc.as_ref(), currency, now), condition: Condition::None });
    }
    ops
}

fn stamp_item(db: TenantDb<'_>, location: Option<&Id>, currency: &str, now: DateTime<Utc>) -> Item {
    keys::item_of(
        "churnStamp",
        json!({"computedAt": now, "currency": currency}),
        keys::churn_stamp(db.scope(), location),
    )
}

fn version_condition(version: u64) -> Condition {
    if version == 0 { Condition::NotExists } else { Condition::AttrEquals("version".into(), json!(version)) }
}

/// The stored `version` (a storage attribute decoding leaves out).
fn version_of(item: &Item) -> u64 {
    item.get("version").and_then(Value::as_u64).unwrap_or(0)
}

/// A scope's counters and their version.
async fn totals(db: TenantDb<'_>, location: Option<&Id>) -> RepoResult<(Totals, u64)> {
    Ok(match db.store().get(&keys::churn_summary(db.scope(), location)).await? {
        Some(item) => (Totals::of_item(&item), version_of(&item)),
        None => (Totals::zero(), 0),
    })
}

/// The business's summary (`None`) or a location's; `None` before anything was scored there.
pub async fn summary(db: TenantDb<'_>, location: Option<&Id>) -> RepoResult<Option<Summary>> {
    let scope = db.scope();
    let mut got =
        db.store().get_many(&[keys::churn_summary(scope, location), keys::churn_stamp(scope, location)]).await?;
    let (stamp, counters) = (got.pop().flatten(), got.pop().flatten());
    if stamp.is_none() && counters.is_none() {
        return Ok(None);
    }
    let t = counters.as_ref().map_or_else(Totals::zero, Totals::of_item);
    let currency = match stamp.as_ref().and_then(|s| s.get("currency")).and_then(Value::as_str) {
        Some(c) => c.to_owned(),
        None => business_currency(db).await?,
    };
    let computed_at = stamp
        .as_ref()
        .and_then(|s| s.get("computedAt"))
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(Some(Summary {
        count: t.count.iter().map(|c| (*c).max(0) as u64).collect(),
        value: t.cents.iter().map(|c| *c as f64 / 100.0).collect(),
        currency,
        computed_at,
        version: counters.as_ref().map_or(0, version_of),
    }))
}

pub async fn cached(db: TenantDb<'_>, athlete_id: &Id) -> RepoResult<Option<CachedScore>> {
    let Some(item) = db.store().get(&keys::churn_member(db.scope(), athlete_id)).await? else { return Ok(None) };
    let version = version_of(&item);
    Ok(Some(CachedScore { version, ..decode(item)? }))
}

/// A page of the at-risk listing (scores at or above `threshold_pct`), highest risk first.
pub async fn at_risk(
    db: TenantDb<'_>,
    location: Option<&Id>,
    threshold_pct: u32,
    limit: usize,
    cursor: Option<Cursor>,
) -> RepoResult<(Vec<CachedScore>, Option<Cursor>)> {
    let q = Query::new(Index::Table, keys::churn_rank_partition(db.scope(), location))
        .sk(SkCondition::Le(keys::churn_rank_upto(threshold_pct)))
        .limit(limit)
        .after(cursor);
    decode_page(db.store().query_json(q).await?)
}

/// The listing entries of a score: the business's, and its location's when it has one.
fn rank_items(db: TenantDb<'_>, s: &CachedScore) -> Vec<Item> {
    rank_keys(db, s).into_iter().map(|k| keys::item_of("churnRank", encode(s), k)).collect()
}

/// The keys of [`rank_items`].
fn rank_keys(db: TenantDb<'_>, s: &CachedScore) -> Vec<crate::item::Key> {
    let mut out = vec![keys::churn_rank(db.scope(), None, s.risk_pct(), &s.member_id)];
    if let Some(l) = &s.location_id {
        out.push(keys::churn_rank(db.scope(), Some(l), s.risk_pct(), &s.member_id));
    }
    out
}

/// Every cached score of the business, by member (with their stored versions).
async fn cached_all(db: TenantDb<'_>) -> RepoResult<HashMap<Id, CachedScore>> {
    let q = Query::new(Index::Table, keys::churn_partition(db.scope()))
        .sk(SkCondition::BeginsWith(keys::CHURN_MEMBER_PREFIX.into()));
    let all: Vec<CachedScore> = read_all(db, q, usize::MAX).await?;
    Ok(all.into_iter().map(|s| (s.member_id.clone(), s)).collect())
}

/// The writes that turn a member's entry `before` into `next` (`None`: none), on the condition
/// that `before` is still what is stored: the entry itself and its listing copies, not the
/// summaries.
fn entry_ops(db: TenantDb<'_>, athlete_id: &Id, before: Option<&CachedScore>, next: Option<&CachedScore>) -> Vec<TxOp> {
    let member_key = keys::churn_member(db.scope(), athlete_id);
    let before_version = before.map_or(0, |b| b.version);
    let next = next.map(|n| CachedScore { version: before_version + 1, ..n.clone() });
    let mut ops = vec![match &next {
        Some(n) => TxOp::Put {
            item: keys::item_of("churnScore", encode(n), member_key),
            condition: version_condition(before_version),
        },
        None => TxOp::Delete { key: member_key, condition: version_condition(before_version) },
    }];
    let new_keys: Vec<crate::item::Key> = next.as_ref().map(|n| rank_keys(db, n)).unwrap_or_default();
    if let Some(b) = before {
        for k in rank_keys(db, b).into_iter().filter(|k| !new_keys.contains(k)) {
            ops.push(TxOp::Delete { key: k, condition: Condition::None });
        }
    }
    if let Some(n) = &next {
        ops.extend(rank_items(db, n).into_iter().map(|item| TxOp::Put { item, condition: Condition::None }));
    }
    ops
}

/// Replaces a member's cached score (`None`: removes it, for a member no longer scored): the
/// entry on the condition that it is still the one read, its listing copies moved and the
/// summaries' counters moved by the difference, in one transaction; retried (with backoff)
/// when another recompute of this member got there first. The counters are atomic adds, so
/// recomputes of different members never conflict on them.
async fn replace(
    db: TenantDb<'_>,
    athlete_id: &Id,
    next: Option<CachedScore>,
    currency: &str,
    now: DateTime<Utc>,
) -> RepoResult<()> {
    for attempt in 0..8 {
        let before = cached(db, athlete_id).await?;
        if before.is_none() && next.is_none() {
            return Ok(());
        }
        let mut ops = entry_ops(db, athlete_id, before.as_ref(), next.as_ref());
        let mut change = HashMap::new();
        if let Some(b) = &before {
            count_in(&mut change, b, -1);
        }
        if let Some(n) = &next {
            count_in(&mut change, n, 1);
        }
        ops.extend(summary_ops(db, change, currency, now));
        match db.store().transact(ops).await {
            Ok(()) => return Ok(()),
            Err(StoreError::TransactionCanceled { .. } | StoreError::Throttled) => {
                super::conflict_backoff(attempt).await
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(RepoError::Conflict { field: "churnScore".into(), message: "the member's score kept changing".into() })
}

/// A full recompute's writes, many members to a transaction: their entries and listing copies,
/// and the summed change to the counters of the scopes they count in. A batch cancelled because
/// one of its members was rescored meanwhile (a check-in's task) is redone member by member
/// through the incremental path, which reads each member's history again.
struct EntryBatch<'c> {
    ops: Vec<TxOp>,
    change: HashMap<Option<Id>, Totals>,
    members: Vec<Id>,
    currency: &'c str,
    now: DateTime<Utc>,
}

impl<'c> EntryBatch<'c> {
    fn new(currency: &'c str, now: DateTime<Utc>) -> EntryBatch<'c> {
        EntryBatch { ops: Vec::new(), change: HashMap::new(), members: Vec::new(), currency, now }
    }

    async fn push(
        &mut self,
        db: TenantDb<'_>,
        id: &Id,
        before: Option<&CachedScore>,
        next: Option<CachedScore>,
    ) -> RepoResult<()> {
        let entry = entry_ops(db, id, before, next.as_ref());
        let mut scopes: std::collections::HashSet<Option<Id>> = self.change.keys().cloned().collect();
        for s in before.iter().copied().chain(next.iter()) {
            scopes.insert(None);
            scopes.insert(s.location_id.clone());
        }
        // Each scope takes two operations (its counters and its stamp).
        if !self.members.is_empty()
            && self.ops.len() + entry.len() + 2 * scopes.len() > crate::table::MAX_TRANSACTION_OPS
        {
            self.flush(db).await?;
        }
        self.ops.extend(entry);
        if let Some(b) = before {
            count_in(&mut self.change, b, -1);
        }
        if let Some(n) = &next {
            count_in(&mut self.change, n, 1);
        }
        self.members.push(id.clone());
        Ok(())
    }

    async fn flush(&mut self, db: TenantDb<'_>) -> RepoResult<()> {
        if self.members.is_empty() {
            return Ok(());
        }
        let members = std::mem::take(&mut self.members);
        let mut ops = std::mem::take(&mut self.ops);
        ops.extend(summary_ops(db, std::mem::take(&mut self.change), self.currency, self.now));
        match db.store().transact(ops).await {
            Ok(()) => Ok(()),
            Err(StoreError::TransactionCanceled { .. } | StoreError::Throttled) => {
                // A member was rescored since the snapshot (or DynamoDB cancelled a transaction
                // in flight beside ours): each member of the batch is recomputed afresh.
                for id in members {
                    recompute_member(db, &id, self.now).await?;
                }
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Repairs summaries that drifted from the entries (a summary lost, data from before the
/// counters): reads the counters' versions, then every entry, then the versions again, and when
/// nothing moved in between adds the difference. Every other write moves an entry and its
/// counters together, so the difference is the same whenever it is applied: the repair never
/// undoes a concurrent recompute. Stamps every scope. Answers how many scopes were repaired.
async fn reconcile_summaries(
    db: TenantDb<'_>,
    locations: &[Id],
    currency: &str,
    now: DateTime<Utc>,
) -> RepoResult<usize> {
    let mut scopes: Vec<Option<Id>> = vec![None];
    scopes.extend(locations.iter().cloned().map(Some));
    for attempt in 0..4 {
        let mut stored = Vec::with_capacity(scopes.len());
        for loc in &scopes {
            stored.push(totals(db, loc.as_ref()).await?);
        }
        let entries = cached_all(db).await?;
        // A home location not listed (deleted since): its summary is repaired too.
        let listed = scopes.len();
        for l in entries.values().filter_map(|e| e.location_id.clone()).map(Some) {
            if !scopes.contains(&l) {
                scopes.push(l);
            }
        }
        if scopes.len() > listed {
            continue;
        }
        let mut moved = false;
        for (loc, (_, v)) in scopes.iter().zip(&stored) {
            moved |= totals(db, loc.as_ref()).await?.1 != *v;
        }
        if moved {
            super::conflict_backoff(attempt).await;
            continue;
        }
        let mut expected = HashMap::new();
        for e in entries.values() {
            count_in(&mut expected, e, 1);
        }
        let mut repaired = 0;
        let mut stamps = Vec::new();
        for (loc, (have, _)) in scopes.iter().zip(&stored) {
            let want = expected.remove(loc).unwrap_or_else(Totals::zero);
            let mut deltas = have.deltas_to(&want);
            if !deltas.is_empty() {
                tracing::warn!(location = ?loc, counters = deltas.len(), "churn summary repaired");
                deltas.push(("version".into(), 1));
                db.store()
                    .transact(vec![TxOp::Add { key: keys::churn_summary(db.scope(), loc.as_ref()), deltas }])
                    .await?;
                repaired += 1;
            }
            stamps.push(TxOp::Put { item: stamp_item(db, loc.as_ref(), currency, now), condition: Condition::None });
        }
        for chunk in stamps.chunks(crate::table::MAX_TRANSACTION_OPS) {
            db.store().transact(chunk.to_vec()).await?;
        }
        return Ok(repaired);
    }
    tracing::warn!("churn summaries not reconciled: scores kept changing");
    Ok(0)
}

/// Whether a member is scored: active members only (prospects haven't joined; inactive
/// members have left).
pub fn is_scored(a: &Athlete) -> bool {
    a.status == AthleteStatus::Active
}

/// Scores one member on `now`'s day with the business's context.
pub async fn score_member(db: TenantDb<'_>, a: &Athlete, ctx: &Context, now: DateTime<Utc>) -> RepoResult<CachedScore> {
    let today = now.date_naive();
    let l = history(db, a, ctx, today).await?;
    Ok(scored(a, &l, ctx, now))
}

fn scored(a: &Athlete, l: &Loaded, ctx: &Context, now: DateTime<Utc>) -> CachedScore {
    let today = now.date_naive();
    CachedScore {
        member_id: a.id.clone(),
        first_name: a.first_name.clone(),
        last_name: a.last_name.clone(),
        location_id: a.location_id.clone(),
        monthly_value: l.monthly_value,
        currency: ctx.currency.clone(),
        score: iron_domain::churn::score(&l.history, &ctx.weights, today),
        scored_on: today,
        computed_at: now,
        version: 0,
    }
}

/// Recomputes one member's score (after a check-in, a payment, a workout): the incremental
/// path. A member who is gone or no longer active leaves the cache.
pub async fn recompute_member(
    db: TenantDb<'_>,
    athlete_id: &Id,
    now: DateTime<Utc>,
) -> RepoResult<Option<CachedScore>> {
    let athlete = match super::athletes::get(db, athlete_id).await {
        Ok(a) => Some(a),
        Err(RepoError::NotFound) => None,
        Err(e) => return Err(e),
    };
    let synced = athlete.as_ref().is_some_and(|a| a.source == AthleteSource::Wodify);
    let ctx = context(db, now.date_naive(), synced).await?;
    let next = match athlete.filter(is_scored) {
        Some(a) => Some(score_member(db, &a, &ctx, now).await?),
        None => None,
    };
    replace(db, athlete_id, next.clone(), &ctx.currency, now).await?;
    Ok(next)
}

// ---- engagement and capacity (recomputed with the scores) ----

/// One period's comparison, as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngagementCache {
    pub week: (engagement::Figures, engagement::Figures),
    pub month: (engagement::Figures, engagement::Figures),
    pub computed_at: DateTime<Utc>,
}

/// A location's predicted week, as cached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityCache {
    pub location_id: Id,
    pub timezone: String,
    pub capacity: Option<u32>,
    /// `[weekday from Monday][hour]`: predicted members present.
    pub model: Vec<Vec<f64>>,
    pub held_out: engagement::HeldOut,
    pub recommendations: Vec<String>,
    /// Check-ins the model was built from.
    pub check_ins: u64,
    pub computed_at: DateTime<Utc>,
}

pub async fn engagement_cache(db: TenantDb<'_>, location: Option<&Id>) -> RepoResult<Option<EngagementCache>> {
    db.store().get(&keys::engagement(db.scope(), location)).await?.map(decode).transpose()
}

pub async fn capacity_cache(db: TenantDb<'_>, location: &Id) -> RepoResult<Option<CapacityCache>> {
    db.store().get(&keys::capacity(db.scope(), location)).await?.map(decode).transpose()
}

async fn put_engagement(
    db: TenantDb<'_>,
    location: Option<&Id>,
    members: &[engagement::MemberVisits],
    now: DateTime<Utc>,
) -> RepoResult<()> {
    let today = now.date_naive();
    let e = EngagementCache {
        week: engagement::compare(members, engagement::Period::Week, today),
        month: engagement::compare(members, engagement::Period::Month, today),
        computed_at: now,
    };
    let item = keys::item_of("engagement", encode(&e), keys::engagement(db.scope(), location));
    Ok(db.store().put(item, Condition::None).await?)
}

/// Rebuilds each location's capacity model from its last weeks of check-ins (`stays`, by
/// location, from [`read_visits`]).
async fn put_capacity(
    db: TenantDb<'_>,
    locations: &[iron_domain::Location],
    stays: &HashMap<Id, Vec<engagement::Stay>>,
    now: DateTime<Utc>,
) -> RepoResult<usize> {
    for l in locations {
        let stays = stays.get(&l.id).map_or(&[][..], Vec::as_slice);
        let today = l.local(now).date();
        let model = engagement::predict(stays, today);
        let c = CapacityCache {
            location_id: l.id.clone(),
            timezone: l.timezone.clone(),
            capacity: l.capacity,
            model: model.iter().map(|row| row.to_vec()).collect(),
            held_out: engagement::held_out(stays, today),
            recommendations: engagement::recommendations(&model, l.capacity),
            check_ins: stays.len() as u64,
            computed_at: now,
        };
        let item = keys::item_of("capacity", encode(&c), keys::capacity(db.scope(), &l.id));
        db.store().put(item, Condition::None).await?;
    }
    Ok(locations.len())
}

/// What a full recompute did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recomputed {
    pub scored: usize,
    pub removed: usize,
    /// `subscription.expiring` events fired (only when asked).
    pub expiring: usize,
    /// Locations whose capacity model was rebuilt.
    pub locations: usize,
}

/// How many members' histories a full recompute reads at once (their queries overlap: on
/// DynamoDB each is a round trip).
const READ_AHEAD: usize = 16;

/// Recomputes every member's score of the business (the daily schedule, the end of a sync run);
/// with `announce`, also fires the `subscription.expiring` notices due (the daily run).
///
/// The entries are written as many members to a transaction as fit, each on the condition that
/// the member's entry is still the one read at the start (a member rescored meanwhile keeps the
/// newer score), with the summed change to the summaries; then drifted summaries are repaired.
pub async fn recompute_business(db: TenantDb<'_>, now: DateTime<Utc>, announce: bool) -> RepoResult<Recomputed> {
    let started = std::time::Instant::now();
    let today = now.date_naive();
    let mut ctx = context(db, today, true).await?;
    let mut locations = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) = super::locations::list(db, 100, cursor).await?;
        locations.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // The entries first: one a task rewrites after this read (with what it read after ours)
    // fails its batch's condition and is recomputed afresh, never overwritten with older data.
    let mut before = cached_all(db).await?;
    let (visits_of, stays) = read_visits(db, &locations, now).await?;
    ctx.visits = Some(visits_of);
    let visits_ms = started.elapsed().as_millis();
    // Every home location an entry counts in, before and after: the summaries to check.
    let mut home_locations: std::collections::HashSet<Id> =
        before.values().filter_map(|s| s.location_id.clone()).collect();
    let mut done = Recomputed::default();
    let mut batch = EntryBatch::new(&ctx.currency, now);
    let mut visits: Vec<(Option<Id>, engagement::MemberVisits)> = Vec::new();
    let mut cursor = None;
    loop {
        let page = super::athletes::list(db, &super::athletes::AthleteFilter::default(), 100, cursor).await?;
        for group in page.athletes.chunks(READ_AHEAD) {
            let loaded = futures_util::future::join_all(
                group.iter().filter(|a| is_scored(a)).map(|a| history(db, a, &ctx, today)),
            )
            .await;
            let mut loaded = loaded.into_iter();
            for a in group {
                let prior = before.remove(&a.id);
                if !is_scored(a) {
                    if prior.is_some() {
                        batch.push(db, &a.id, prior.as_ref(), None).await?;
                        done.removed += 1;
                    }
                    continue;
                }
                let l = loaded.next().expect("one history per scored member")?;
                if announce {
                    let due = expiring(a, &l, ctx.expiry_notice_days, &ctx.currency, today);
                    done.expiring += announce_expiring(db, &due, now).await?;
                }
                let challenges = l
                    .history
                    .challenges
                    .iter()
                    .map(|c| (c.joined_on, if c.running { today } else { c.last_activity }))
                    .collect();
                home_locations.extend(a.location_id.clone());
                visits.push((
                    a.location_id.clone(),
                    engagement::MemberVisits {
                        joined_on: l.history.joined_on,
                        door: l.door_days.clone(),
                        class: l.class_days.clone(),
                        challenges,
                    },
                ));
                batch.push(db, &a.id, prior.as_ref(), Some(scored(a, &l, &ctx, now))).await?;
                done.scored += 1;
            }
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    // Entries of members deleted since the last run.
    for (id, prior) in std::mem::take(&mut before) {
        batch.push(db, &id, Some(&prior), None).await?;
        done.removed += 1;
    }
    batch.flush(db).await?;
    let mut location_ids: Vec<Id> = locations.iter().map(|l| l.id.clone()).collect();
    for l in home_locations {
        if !location_ids.contains(&l) {
            location_ids.push(l);
        }
    }
    let repaired = reconcile_summaries(db, &location_ids, &ctx.currency, now).await?;
    let scores_ms = started.elapsed().as_millis();
    // Engagement: the business's and each location's (by home location).
    let all: Vec<engagement::MemberVisits> = visits.iter().map(|(_, v)| v.clone()).collect();
    put_engagement(db, None, &all, now).await?;
    let mut by_location: HashMap<Id, Vec<engagement::MemberVisits>> = HashMap::new();
    for (l, v) in visits {
        if let Some(l) = l {
            by_location.entry(l).or_default().push(v);
        }
    }
    for l in &locations {
        put_engagement(db, Some(&l.id), by_location.get(&l.id).map_or(&[][..], |v| v.as_slice()), now).await?;
    }
    done.locations = put_capacity(db, &locations, &stays, now).await?;
    tracing::info!(
        scored = done.scored,
        removed = done.removed,
        expiring = done.expiring,
        locations = done.locations,
        repaired,
        visits_ms,
        scores_ms,
        total_ms = started.elapsed().as_millis(),
        "business recomputed"
    );
    Ok(done)
}

/// The member an event is about, for the events that change a score.
pub fn member_of(event: &Event) -> Option<Id> {
    let d = &event.data;
    [d.get("memberId"), d.pointer("/checkIn/memberId"), d.get("athleteId")]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().and_then(Id::parse))
}

/// The internal task of a new member, a check-in, a payment or a workout: that member's score
/// (again).
pub async fn on_event(db: TenantDb<'_>, event: &Event, now: DateTime<Utc>) -> RepoResult<()> {
    if !matches!(
        event.event_type.as_str(),
        "member.created"
            | "member.checked_in"
            | "payment.recorded"
            | "workout.completed"
            | "workout.updated"
            | "workout.deleted"
    ) {
        return Ok(());
    }
    if let Some(member) = member_of(event) {
        recompute_member(db, &member, now).await?;
    }
    Ok(())
}
