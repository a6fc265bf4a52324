//! Third-party sync (roadmap 4.1), provider-neutral: gyms, connections, runs, the canonical rows
//! a provider's records become, and the monthly metrics computed from them.
//!
//! Dates in canonical rows are the gym's wall-clock dates (providers such as Wodify send local
//! times without a zone), so months are the gym's calendar months with no conversion.

use crate::id::Id;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A gym: some of a business's locations, run under one gym-management account (one Wodify key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gym {
    pub id: Id,
    pub name: String,
    pub location_ids: Vec<Id>,
    /// ISO 4217; the currency of the gym's provider amounts.
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The id of the gym a business gets made for it (a business of one gym has one without asking):
/// the same for every caller, so two requests that both find none make one.
pub fn default_gym_id(business: &Id, created_at: DateTime<Utc>) -> Id {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("default-gym:{business}"));
    let mut random = [0u8; 10];
    random.copy_from_slice(&digest[..10]);
    Id::from_parts(crate::IdKind::Gym, created_at.timestamp_millis(), random)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Wodify,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Wodify => "wodify",
        }
    }
    pub fn parse(s: &str) -> Option<Provider> {
        (s == "wodify").then_some(Provider::Wodify)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    /// Syncing on schedule.
    Connected,
    /// The last run failed (key refused, the provider down): retried at the next window.
    Error,
    /// Paused by the business: no scheduled or manual runs.
    Paused,
    /// Disconnected: the key is gone.
    Disconnected,
}

/// What a provider holds, in the order a run pulls it (each later one refers to earlier ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    Locations,
    Programs,
    Clients,
    Memberships,
    Attendance,
    Invoices,
    Transactions,
}

impl Entity {
    pub const ALL: [Entity; 7] = [
        Entity::Locations,
        Entity::Programs,
        Entity::Clients,
        Entity::Memberships,
        Entity::Attendance,
        Entity::Invoices,
        Entity::Transactions,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Locations => "locations",
            Entity::Programs => "programs",
            Entity::Clients => "clients",
            Entity::Memberships => "memberships",
            Entity::Attendance => "attendance",
            Entity::Invoices => "invoices",
            Entity::Transactions => "transactions",
        }
    }
    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub available: bool,
    /// Why not, in words a gym owner can act on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A sanitised failure: no key, no provider internals beyond its own short message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncError {
    pub at: DateTime<Utc>,
    #[schema(value_type = Option<String>)]
    pub run_id: Option<Id>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// The whole roster and `syncWindowDays` of attendance and financials.
    Backfill,
    /// From the watermark minus the look-back.
    Incremental,
    /// The last `reconcileDays`, pulled again and rebuilt.
    Reconcile,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Backfill => "backfill",
            RunMode::Incremental => "incremental",
            RunMode::Reconcile => "reconcile",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn is_final(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    Manual,
    Schedule,
    Connect,
}

/// What a run did with one entity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntityCounts {
    /// Records received from the provider.
    pub pulled: u64,
    /// Raw records written (new or changed); the rest were already landed as they are.
    pub upserted: u64,
    /// Canonical rows written from them.
    pub transformed: u64,
    /// Records the transformer could not use (kept raw, counted here, reasons in the log).
    pub skipped: u64,
    /// Pages and detail requests done.
    pub requests: u64,
    pub completed: bool,
}

/// Where a run is: the entity it is on and the next page (1-based) of it. A page's details are
/// fetched with the page, so a resumed run redoes at most that one page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub entity: usize,
    pub page: u32,
}

/// Days of attendance and financials a backfill pulls (24 months).
pub const DEFAULT_SYNC_WINDOW_DAYS: u32 = 730;
/// Days a weekly reconciliation pulls again.
pub const DEFAULT_RECONCILE_DAYS: u32 = 45;
/// Days before the watermark a nightly run starts from (records edited after they were read).
pub const LOOK_BACK_DAYS: i64 = 3;

/// A gym's connection to a provider. The key itself is stored beside it, envelope-encrypted;
/// this holds only its fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub provider: Provider,
    pub gym_id: Id,
    pub status: ConnectionStatus,
    /// The key's last four characters (`…a1b2`).
    pub key_fingerprint: Option<String>,
    pub key_set_at: Option<DateTime<Utc>>,
    /// Bumped by each new key (a run started on an older key finishes on it).
    pub key_version: u32,
    pub sync_window_days: u32,
    pub reconcile_days: u32,
    pub currency: String,
    pub availability: BTreeMap<Entity, Availability>,
    /// The day up to which every entity was pulled by a run that completed cleanly.
    pub watermark: Option<NaiveDate>,
    /// Whether a backfill has completed (the nightly runs start after it).
    pub backfilled: bool,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_error: Option<SyncError>,
    /// Runs failed in a row.
    pub consecutive_failures: u32,
    /// The run holding the gym (one at a time), and until when its claim holds without news.
    pub current_run: Option<Id>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// A connection with no successful sync for this long is stale (the `SyncStale` alarm, and
/// `status`).
pub const STALE_AFTER: chrono::Duration = chrono::Duration::hours(24);

impl Connection {
    /// The last successful sync (since the connection was made, if none yet).
    pub fn last_success_or_created(&self) -> DateTime<Utc> {
        self.last_success_at.unwrap_or(self.created_at)
    }

    /// Whether a connection that should be syncing (connected, or failed and to be retried) has
    /// gone [`STALE_AFTER`] without a success.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        matches!(self.status, ConnectionStatus::Connected | ConnectionStatus::Error)
            && now - self.last_success_or_created() > STALE_AFTER
    }

    /// Whether a run may start now: not paused or disconnected, and no other run's claim holds.
    pub fn is_free(&self, now: DateTime<Utc>) -> bool {
        self.current_run.is_none() || self.lease_until.is_none_or(|l| l < now)
    }
}

/// One sync run of one gym.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub id: Id,
    pub gym_id: Id,
    pub provider: Provider,
    pub mode: RunMode,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// The dated entities' window (`from` inclusive, `to` exclusive): the cursor's start and end.
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    pub watermark_before: Option<NaiveDate>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub checkpoint: Checkpoint,
    pub counts: BTreeMap<Entity, EntityCounts>,
    /// Requests to the provider, all invocations together.
    pub requests: u64,
    /// Request latency histograms by endpoint (the connector's), merged across invocations.
    pub latency: serde_json::Value,
    /// Months of the metrics cache this run recomputed.
    pub months_recomputed: Vec<String>,
    pub error: Option<String>,
    /// Invocations the run has taken (each continues from the checkpoint).
    pub invocations: u32,
    pub key_version: u32,
    pub version: u64,
}

/// The pure arithmetic of a run's window.
pub fn incremental_from(watermark: NaiveDate, look_back_days: i64) -> NaiveDate {
    watermark - Duration::days(look_back_days)
}

// ---- canonical rows ----

/// How a plan bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    Monthly,
    Weekly,
    PaidInFull,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanonicalMember {
    pub external_id: String,
    pub athlete_id: Option<Id>,
    pub active: bool,
    pub joined_on: Option<NaiveDate>,
    /// The last Active → Inactive change, when the member is inactive.
    pub cancelled_on: Option<NaiveDate>,
    pub location_external_id: Option<String>,
    pub run_id: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub external_id: String,
    pub member_external_id: String,
    pub name: String,
    pub kind: String,
    pub start: NaiveDate,
    /// Exclusive: a renewal starts on its predecessor's end date.
    pub end: Option<NaiveDate>,
    pub renewed_from: Option<String>,
    /// The first row of its renewal chain.
    pub chain: String,
    pub holds: Vec<(NaiveDate, NaiveDate)>,
    pub billing: Billing,
    /// The price of one billing period of this row (the renewal price on renewals).
    pub price: f64,
    /// The commitment, in months (weeks as 12/52 of a month), for paid-in-full plans.
    pub commitment_months: f64,
    pub deleted: bool,
    pub run_id: Id,
}

impl Membership {
    /// Whether the membership covers `day` (not deleted, started, not ended, not on hold).
    pub fn active_on(&self, day: NaiveDate) -> bool {
        !self.deleted
            && self.start <= day
            && self.end.is_none_or(|e| day < e)
            && !self.holds.iter().any(|(a, b)| *a <= day && day < *b)
    }
    /// The recurring revenue this row brings in a month.
    pub fn monthly_value(&self) -> f64 {
        match self.billing {
            Billing::Monthly => self.price,
            Billing::Weekly => self.price * 52.0 / 12.0,
            Billing::PaidInFull => self.price / self.commitment_months.max(1.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attendance {
    pub external_id: String,
    pub member_external_id: String,
    /// The class's local start.
    pub class_start: NaiveDateTime,
    pub program_external_id: Option<String>,
    pub location_external_id: Option<String>,
    pub membership_external_id: Option<String>,
    pub drop_in: bool,
    pub run_id: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    pub external_id: String,
    pub member_external_id: Option<String>,
    pub due: NaiveDate,
    pub status: String,
    pub charge: f64,
    pub paid: f64,
    /// Negative or zero.
    pub refunded: f64,
    pub run_id: Id,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Payment,
    Refund,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    pub external_id: String,
    pub member_external_id: Option<String>,
    pub invoice_external_id: Option<String>,
    pub at: NaiveDateTime,
    /// Refunds are negative.
    pub amount: f64,
    pub kind: TransactionKind,
    pub succeeded: bool,
    pub run_id: Id,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedRecord {
    pub external_id: String,
    pub name: String,
    pub active: bool,
    /// Our location a provider location maps to.
    pub location_id: Option<Id>,
    pub run_id: Id,
}

/// A month of a gym (`2026-11`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(day: NaiveDate) -> Month {
        Month { year: day.year(), month: day.month() }
    }
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        (y.len() == 4 && m.len() == 2 && NaiveDate::from_ymd_opt(year, month, 1).is_some())
            .then_some(Month { year, month })
    }
    pub fn first(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
    }
    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month { year: self.year - 1, month: 12 }
        } else {
            Month { year: self.year, month: self.month - 1 }
        }
    }
    /// The last day.
    pub fn last(self) -> NaiveDate {
        self.next().first().pred_opt().unwrap_or(NaiveDate::MIN)
    }
    pub fn range(from: Month, to: Month) -> Vec<Month> {
        let mut out = vec![];
        let mut m = from;
        while m <= to && out.len() < 1200 {
            out.push(m);
            m = m.next();
        }
        out
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Days without a sign-in after which an active member counts as at risk.
pub const AT_RISK_DAYS: i64 = 14;

/// One month of a gym's figures, and what they were computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyMetrics {
    /// `YYYY-MM`.
    pub month: String,
    /// Members with a membership covering the month's last day (or today, in the current month).
    pub active_members: u64,
    /// Members with a membership covering the month's first day.
    pub active_at_start: u64,
    /// Members whose first membership started this month.
    pub new_members: u64,
    /// Members whose membership ended for good this month (Active → Inactive).
    pub cancellations: u64,
    /// Cancellations over the members active at the month's start, a ratio to four places (0 when
    /// none were active).
    pub churn_rate: f64,
    /// Recurring revenue of the memberships active at the month's end, per month.
    pub mrr: f64,
    /// Successful payments minus refunds made this month.
    pub revenue_collected: f64,
    pub failed_payments: u64,
    pub sign_ins: u64,
    pub sign_ins_per_active_member: f64,
    /// Active members with no sign-in in the last 14 days up to the month's end (or today).
    pub members_at_risk: u64,
    pub currency: String,
    pub trace: MetricsTrace,
}

/// Where a month's figures came from: the run and the canonical rows each figure counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsTrace {
    #[schema(value_type = Option<String>)]
    pub run_id: Option<Id>,
    pub computed_at: Option<DateTime<Utc>>,
    /// Canonical rows read, by kind.
    pub rows: BTreeMap<String, u64>,
    /// The rows behind each figure (external ids of memberships, transactions, …), at most
    /// [`TRACE_IDS`] per figure.
    pub sources: BTreeMap<String, Vec<String>>,
    /// `transactions`, or `invoices` when the provider's plan does not give transactions.
    pub revenue_basis: String,
}

pub const TRACE_IDS: usize = 50;

/// A gym's canonical rows, as the metrics read them.
#[derive(Debug, Clone, Default)]
pub struct CanonicalSet {
    pub members: Vec<CanonicalMember>,
    pub memberships: Vec<Membership>,
    pub attendance: Vec<Attendance>,
    pub invoices: Vec<Invoice>,
    pub transactions: Vec<Transaction>,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn note(sources: &mut BTreeMap<String, Vec<String>>, figure: &str, id: &str) {
    let list = sources.entry(figure.to_string()).or_default();
    if list.len() < TRACE_IDS {
        list.push(id.to_string());
    }
}

/// The figures of `month`, as of `today` (a month still running is measured up to today).
/// Deterministic: the same rows give the same figures, whatever their order.
pub fn compute_month(
    set: &CanonicalSet,
    month: Month,
    today: NaiveDate,
    currency: &str,
    transactions_available: bool,
) -> MonthlyMetrics {
    let first = month.first();
    let last = month.last().min(today);
    let mut sources: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let by_member = |day: NaiveDate| -> BTreeSet<&str> {
        set.memberships.iter().filter(|m| m.active_on(day)).map(|m| m.member_external_id.as_str()).collect()
    };
    let active_end = by_member(last);
    let active_start = by_member(first);
    // First start per member.
    let mut first_start: HashMap<&str, NaiveDate> = HashMap::new();
    for m in set.memberships.iter().filter(|m| !m.deleted) {
        let e = first_start.entry(m.member_external_id.as_str()).or_insert(m.start);
        *e = (*e).min(m.start);
    }
    let mut new_members: Vec<&str> =
        first_start.iter().filter(|(_, d)| **d >= first && **d <= last).map(|(id, _)| *id).collect();
    new_members.sort_unstable();
    for id in &new_members {
        note(&mut sources, "newMembers", id);
    }
    let mut cancelled: Vec<&str> = set
        .members
        .iter()
        .filter(|m| !m.active && m.cancelled_on.is_some_and(|c| c >= first && c <= last))
        .map(|m| m.external_id.as_str())
        .collect();
    cancelled.sort_unstable();
    for id in &cancelled {
        note(&mut sources, "cancellations", id);
    }
    let mut mrr = 0.0;
    let mut mrr_rows: Vec<&Membership> = set.memberships.iter().filter(|m| m.active_on(last)).collect();
    mrr_rows.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    for m in &mrr_rows {
        mrr += m.monthly_value();
        note(&mut sources, "mrr", &m.external_id);
    }
    let in_month = |at: NaiveDateTime| at.date() >= first && at.date() <= last;
    let (mut revenue, mut failed) = (0.0, 0u64);
    let mut tx: Vec<&Transaction> = set.transactions.iter().filter(|t| in_month(t.at)).collect();
    tx.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    let revenue_basis = if transactions_available {
        for t in &tx {
            if t.succeeded {
                revenue += t.amount;
                note(&mut sources, "revenueCollected", &t.external_id);
            } else if t.kind == TransactionKind::Payment {
                failed += 1;
                note(&mut sources, "failedPayments", &t.external_id);
            }
        }
        "transactions"
    } else {
        let mut inv: Vec<&Invoice> = set.invoices.iter().filter(|i| i.due >= first && i.due <= last).collect();
        inv.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        for i in inv {
            revenue += i.paid + i.refunded;
            if i.status == "Unpaid" {
                failed += 1;
                note(&mut sources, "failedPayments", &i.external_id);
            }
            note(&mut sources, "revenueCollected", &i.external_id);
        }
        "invoices"
    };
    let sign_ins = set.attendance.iter().filter(|a| in_month(a.class_start)).count() as u64;
    // At risk: active at the end with no sign-in in the 14 days up to it.
    let since = last - Duration::days(AT_RISK_DAYS);
    let recent: BTreeSet<&str> = set
        .attendance
        .iter()
        .filter(|a| a.class_start.date() > since && a.class_start.date() <= last)
        .map(|a| a.member_external_id.as_str())
        .collect();
    let at_risk: Vec<&&str> = active_end.iter().filter(|m| !recent.contains(**m)).collect();
    for id in &at_risk {
        note(&mut sources, "membersAtRisk", id);
    }
    let mut rows = BTreeMap::new();
    rows.insert("members".to_string(), set.members.len() as u64);
    rows.insert("memberships".to_string(), set.memberships.len() as u64);
    rows.insert("attendance".to_string(), sign_ins);
    rows.insert("transactions".to_string(), tx.len() as u64);
    rows.insert("invoices".to_string(), set.invoices.iter().filter(|i| i.due >= first && i.due <= last).count() as u64);
    let active_members = active_end.len() as u64;
    MonthlyMetrics {
        month: month.to_string(),
        active_members,
        active_at_start: active_start.len() as u64,
        new_members: new_members.len() as u64,
        cancellations: cancelled.len() as u64,
        churn_rate: if active_start.is_empty() {
            0.0
        } else {
            round2(cancelled.len() as f64 / active_start.len() as f64 * 100.0) / 100.0
        },
        mrr: round2(mrr),
        revenue_collected: round2(revenue),
        failed_payments: failed,
        sign_ins,
        sign_ins_per_active_member: if active_members == 0 {
            0.0
        } else {
            round2(sign_ins as f64 / active_members as f64)
        },
        members_at_risk: at_risk.len() as u64,
        currency: currency.to_string(),
        trace: MetricsTrace { run_id: None, computed_at: None, rows, sources, revenue_basis: revenue_basis.into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }
    fn run() -> Id {
        Id::from_parts(crate::IdKind::SyncRun, 1, [0; 10])
    }
    fn membership(id: &str, member: &str, start: &str, end: Option<&str>, price: f64) -> Membership {
        Membership {
            external_id: id.into(),
            member_external_id: member.into(),
            name: "Unlimited".into(),
            kind: "Class Plan".into(),
            start: d(start),
            end: end.map(d),
            renewed_from: None,
            chain: id.into(),
            holds: vec![],
            billing: Billing::Monthly,
            price,
            commitment_months: 12.0,
            deleted: false,
            run_id: run(),
        }
    }

    #[test]
    fn a_month_of_figures() {
        let mut set = CanonicalSet::default();
        set.memberships.push(membership("m1", "a", "2026-01-10", Some("2026-10-15"), 150.0));
        set.memberships.push(membership("m2", "b", "2026-10-03", None, 120.0));
        let mut annual = membership("m3", "c", "2025-06-01", None, 1200.0);
        annual.billing = Billing::PaidInFull;
        set.memberships.push(annual);
        let mut held = membership("m4", "d", "2025-01-01", None, 100.0);
        held.holds.push((d("2026-10-20"), d("2026-11-20")));
        set.memberships.push(held);
        set.members.push(CanonicalMember {
            external_id: "a".into(),
            athlete_id: None,
            active: false,
            joined_on: Some(d("2026-01-10")),
            cancelled_on: Some(d("2026-10-15")),
            location_external_id: None,
            run_id: run(),
        });
        let at = |day: &str, h: u32| d(day).and_hms_opt(h, 0, 0).expect("time");
        for (i, (member, day)) in
            [("b", "2026-10-28"), ("b", "2026-10-05"), ("c", "2026-10-02"), ("a", "2026-09-30")].iter().enumerate()
        {
            set.attendance.push(Attendance {
                external_id: format!("s{i}"),
                member_external_id: member.to_string(),
                class_start: at(day, 17),
                program_external_id: None,
                location_external_id: None,
                membership_external_id: None,
                drop_in: false,
                run_id: run(),
            });
        }
        let tx = |id: &str, day: &str, amount: f64, kind: TransactionKind, ok: bool| Transaction {
            external_id: id.into(),
            member_external_id: None,
            invoice_external_id: None,
            at: at(day, 9),
            amount,
            kind,
            succeeded: ok,
            run_id: run(),
        };
        set.transactions.push(tx("t1", "2026-10-01", 150.0, TransactionKind::Payment, true));
        set.transactions.push(tx("t2", "2026-10-03", 120.0, TransactionKind::Payment, false));
        set.transactions.push(tx("t3", "2026-10-06", 120.0, TransactionKind::Payment, true));
        set.transactions.push(tx("t4", "2026-10-09", -50.0, TransactionKind::Refund, true));
        set.transactions.push(tx("t5", "2026-11-01", 99.0, TransactionKind::Payment, true));
        let m = compute_month(&set, Month { year: 2026, month: 10 }, d("2026-12-01"), "USD", true);
        // Start of October: a, c, d; end (31st): b, c (d on hold, a ended on the 15th).
        assert_eq!((m.active_at_start, m.active_members), (3, 2));
        assert_eq!(m.new_members, 1, "b");
        assert_eq!(m.cancellations, 1, "a");
        assert_eq!(m.churn_rate, 0.3333, "a ratio, four places");
        assert_eq!(m.mrr, 220.0, "b 120 + c 1200/12");
        assert_eq!(m.revenue_collected, 220.0, "150 + 120 − 50");
        assert_eq!(m.failed_payments, 1);
        assert_eq!(m.sign_ins, 3);
        assert_eq!(m.sign_ins_per_active_member, 1.5);
        assert_eq!(m.members_at_risk, 1, "c: last seen the 2nd");
        assert_eq!(m.trace.sources["mrr"], vec!["m2", "m3"]);
        // Order does not matter.
        set.memberships.reverse();
        set.transactions.reverse();
        assert_eq!(compute_month(&set, Month { year: 2026, month: 10 }, d("2026-12-01"), "USD", true), m);
    }

    #[test]
    fn months_parse_and_step() {
        let m = Month::parse("2026-12").expect("month");
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.last(), d("2026-12-31"));
        assert!(Month::parse("2026-13").is_none());
        assert!(Month::parse("26-01").is_none());
        assert_eq!(Month::range(Month::parse("2025-11").expect("m"), m).len(), 14);
    }
}
