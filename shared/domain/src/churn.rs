//! The churn-risk model: who is about to leave, why, and what to do about it.
//!
//! A member's [`History`] (visits, the personalised sessions offered and done, app opens,
//! challenge activity, payments, the membership) becomes six factors, each a risk in 0–1 with a
//! plain-language detail, or *missing* when the business has no data for it. The score is the
//! weighted mean of the factors that are present (the weights of missing ones are left out, not
//! counted as zero risk), so a gym without an app is scored on the other five. The default
//! weights are the roadmap's; a business may set its own ([`Weights::validate`]).
//!
//! Everything here is pure: the same function scores the synthetic cohort the model is
//! measured on (`iron-analytics`) and the members the API serves.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// The window "this month" and "last month" mean for visit trends and completion.
pub const MONTH_DAYS: i64 = 28;
/// How many months before this one make the member's usual month.
pub const BASELINE_MONTHS: i64 = 3;
/// A member whose earlier window this short has no baseline for a trend.
pub const MIN_BASELINE_DAYS: i64 = 14;
/// How far back payments count.
pub const PAYMENT_DAYS: i64 = 60;
/// A participant of a running challenge with no activity for this long has dropped out.
pub const DROPPED_OUT_DAYS: i64 = 14;
/// Scores at or above are high risk.
pub const HIGH: f64 = 0.6;
/// Scores at or above (and below [`HIGH`]) are medium risk.
pub const MEDIUM: f64 = 0.35;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum FactorKind {
    DaysSinceVisit,
    VisitTrend,
    WorkoutCompletion,
    AppEngagement,
    SocialActivity,
    PaymentIssues,
}

impl FactorKind {
    pub const ALL: [FactorKind; 6] = [
        FactorKind::DaysSinceVisit,
        FactorKind::VisitTrend,
        FactorKind::WorkoutCompletion,
        FactorKind::AppEngagement,
        FactorKind::SocialActivity,
        FactorKind::PaymentIssues,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::DaysSinceVisit => "daysSinceVisit",
            FactorKind::VisitTrend => "visitTrend",
            FactorKind::WorkoutCompletion => "workoutCompletion",
            FactorKind::AppEngagement => "appEngagement",
            FactorKind::SocialActivity => "socialActivity",
            FactorKind::PaymentIssues => "paymentIssues",
        }
    }
}

/// Each factor's share of the score. They sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Weights {
    #[schema(minimum = 0, maximum = 1, example = 0.30)]
    pub days_since_visit: f64,
    #[schema(minimum = 0, maximum = 1, example = 0.25)]
    pub visit_trend: f64,
    #[schema(minimum = 0, maximum = 1, example = 0.15)]
    pub workout_completion: f64,
    #[schema(minimum = 0, maximum = 1, example = 0.10)]
    pub app_engagement: f64,
    #[schema(minimum = 0, maximum = 1, example = 0.10)]
    pub social_activity: f64,
    #[schema(minimum = 0, maximum = 1, example = 0.10)]
    pub payment_issues: f64,
}

impl Default for Weights {
    /// The roadmap's: 30 / 25 / 15 / 10 / 10 / 10 %.
    fn default() -> Weights {
        Weights {
            days_since_visit: 0.30,
            visit_trend: 0.25,
            workout_completion: 0.15,
            app_engagement: 0.10,
            social_activity: 0.10,
            payment_issues: 0.10,
        }
    }
}

impl Weights {
    pub fn of(&self, kind: FactorKind) -> f64 {
        match kind {
            FactorKind::DaysSinceVisit => self.days_since_visit,
            FactorKind::VisitTrend => self.visit_trend,
            FactorKind::WorkoutCompletion => self.workout_completion,
            FactorKind::AppEngagement => self.app_engagement,
            FactorKind::SocialActivity => self.social_activity,
            FactorKind::PaymentIssues => self.payment_issues,
        }
    }

    /// From six non-negative numbers in [`FactorKind::ALL`]'s order, scaled to sum to 1.
    pub fn normalised(raw: [f64; 6]) -> Option<Weights> {
        let sum: f64 = raw.iter().map(|w| w.max(0.0)).sum();
        (sum > 0.0).then(|| {
            let w = |i: usize| round4(raw[i].max(0.0) / sum);
            Weights {
                days_since_visit: w(0),
                visit_trend: w(1),
                workout_completion: w(2),
                app_engagement: w(3),
                social_activity: w(4),
                payment_issues: w(5),
            }
        })
    }

    /// Every weight in 0–1 and the six summing to 1 (within 0.001).
    pub fn validate(&self) -> Result<(), crate::ValidationError> {
        let mut errors = Vec::new();
        let mut sum = 0.0;
        for kind in FactorKind::ALL {
            let w = self.of(kind);
            if !(0.0..=1.0).contains(&w) {
                errors.push(crate::FieldError {
                    field: format!("/weights/{}", kind.as_str()),
                    message: "must be between 0 and 1".into(),
                });
            }
            sum += w;
        }
        if errors.is_empty() && (sum - 1.0).abs() > 0.001 {
            errors.push(crate::FieldError {
                field: "/weights".into(),
                message: format!("must sum to 1 (they sum to {})", round4(sum)),
            });
        }
        if errors.is_empty() { Ok(()) } else { Err(crate::ValidationError { errors }) }
    }
}

/// A challenge the member joined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeActivity {
    pub joined_on: NaiveDate,
    /// The last day their tally moved (the join day if never).
    pub last_activity: NaiveDate,
    /// The challenge is running on the day scored.
    pub running: bool,
}

/// One payment attempt.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAttempt {
    pub on: NaiveDate,
    pub succeeded: bool,
}

/// What the model knows of one member on the day scored. Lists may be in any order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct History {
    pub joined_on: Option<NaiveDate>,
    /// Days with a visit (door check-ins and class sign-ins).
    pub visits: Vec<NaiveDate>,
    /// Personalised sessions offered at check-in, and whether a workout was logged for each.
    pub sessions: Vec<(NaiveDate, bool)>,
    /// Days the gym's app was opened.
    pub app_opens: Vec<NaiveDate>,
    /// The business sends app events at all (else app engagement is missing, not zero).
    pub app_tracked: bool,
    pub challenges: Vec<ChallengeActivity>,
    /// The business runs challenges at all (else social activity is missing).
    pub challenges_offered: bool,
    pub payments: Vec<PaymentAttempt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FactorImpact)]
pub enum Impact {
    None,
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChurnRiskLevel)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn of(score: f64) -> RiskLevel {
        if score >= HIGH {
            RiskLevel::High
        } else if score >= MEDIUM {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }
}

/// One factor of one member's score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChurnFactor)]
pub struct Factor {
    pub factor: FactorKind,
    /// The factor's configured weight.
    pub weight: f64,
    /// The factor's own risk, 0–1; absent when the factor is missing.
    pub risk: Option<f64>,
    /// What it adds to the score (its risk × its share of the weights present); absent when
    /// missing.
    pub contribution: Option<f64>,
    pub impact: Impact,
    /// No data for this factor: it is left out of the score, not counted as zero.
    pub missing: bool,
    /// "Down 60% from last month", "No data: the gym sends no app events".
    pub detail: String,
}

/// A member's score with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Score {
    /// 0–1, two decimals.
    pub risk_score: f64,
    pub risk_level: RiskLevel,
    /// Days since the last visit (since joining when never seen); absent when unknown.
    pub days_since_visit: Option<i64>,
    pub factors: Vec<Factor>,
    pub recommended_actions: Vec<String>,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn within(day: NaiveDate, from: NaiveDate, to_exclusive: NaiveDate) -> bool {
    from <= day && day < to_exclusive
}

/// A factor's risk and its detail (`None` risk: missing).
struct Reading {
    risk: Option<f64>,
    impact: Impact,
    detail: String,
}

fn missing(detail: &str) -> Reading {
    Reading { risk: None, impact: Impact::None, detail: detail.to_owned() }
}

fn impact_of(risk: f64) -> Impact {
    if risk >= 0.75 {
        Impact::High
    } else if risk >= 0.4 {
        Impact::Medium
    } else if risk > 0.0 {
        Impact::Low
    } else {
        Impact::None
    }
}

/// Days since the last visit: none up to the member's usual gap between visits (3 days when
/// unknown, at most 9), rising to full risk past 10 days (high) whatever the habit.
pub fn days_since_visit_risk(days: i64, usual_gap: Option<f64>) -> f64 {
    let start = usual_gap.map_or(3.0, |g| (g * 1.5).clamp(1.0, 9.0));
    ((days as f64 - start) / (11.0 - start)).clamp(0.0, 1.0)
}

/// The member's usual gap between visits: the median over the eight weeks before the last
/// visit (needs four visits).
pub fn usual_gap(visits: &[NaiveDate], last: NaiveDate) -> Option<f64> {
    let from = last - Duration::days(2 * MONTH_DAYS);
    let mut days: Vec<NaiveDate> = visits.iter().filter(|d| from <= **d && **d <= last).copied().collect();
    days.sort();
    days.dedup();
    if days.len() < 4 {
        return None;
    }
    let mut gaps: Vec<i64> = days.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
    gaps.sort();
    let mid = gaps.len() / 2;
    Some(if gaps.len() % 2 == 1 { gaps[mid] as f64 } else { (gaps[mid - 1] + gaps[mid]) as f64 / 2.0 })
}

/// The visit-frequency trend: full risk at a 50 % drop against the previous month.
pub fn visit_trend_risk(change: f64) -> f64 {
    (-change / 0.5).clamp(0.0, 1.0)
}

/// Workout completion: none at 80 % or more, 0.5 (a warning) at 50 %, full at 20 % or less.
pub fn completion_risk(rate: f64) -> f64 {
    ((0.8 - rate) / 0.6).clamp(0.0, 1.0)
}

/// App opens in the last 7 days: none is full risk, one is half, two or more none.
pub fn app_risk(opens_last_week: usize) -> f64 {
    match opens_last_week {
        0 => 1.0,
        1 => 0.5,
        _ => 0.0,
    }
}

fn days_since_visit(h: &History, today: NaiveDate) -> (Option<i64>, Reading) {
    let last = h.visits.iter().filter(|d| **d <= today).max().copied();
    let (days, seen) = match (last, h.joined_on) {
        (Some(d), _) => ((today - d).num_days(), true),
        (None, Some(j)) if j <= today => ((today - j).num_days(), false),
        _ => return (None, missing("No visits recorded and no join date")),
    };
    let gap = last.and_then(|l| usual_gap(&h.visits, l));
    let risk = days_since_visit_risk(days, gap);
    let impact = if days > 10 { Impact::High } else { impact_of(risk) };
    let detail = match (seen, days) {
        (false, d) => format!("No visit since joining {d} days ago"),
        (true, 0) => "Visited today".to_owned(),
        (true, 1) => "Last visit yesterday".to_owned(),
        (true, d) => match gap {
            Some(g) => format!("Last visit {d} days ago (usually every {} days)", g.round()),
            None => format!("Last visit {d} days ago"),
        },
    };
    (Some(days), Reading { risk: Some(risk), impact, detail })
}

fn visit_trend(h: &History, today: NaiveDate) -> Reading {
    let end = today + Duration::days(1);
    let recent_from = end - Duration::days(MONTH_DAYS);
    let previous_from = recent_from - Duration::days(BASELINE_MONTHS * MONTH_DAYS);
    // "Last month" is the member's usual month: the mean over the three before this one (from
    // the join day when they are newer); too short a stretch is no baseline.
    let baseline_from = h.joined_on.map_or(previous_from, |j| j.max(previous_from));
    let baseline_days = (recent_from - baseline_from).num_days();
    if baseline_days < MIN_BASELINE_DAYS {
        return missing("Too new for a trend: less than two weeks before this month");
    }
    let recent = h.visits.iter().filter(|d| within(**d, recent_from, end)).count() as f64;
    let previous = h.visits.iter().filter(|d| within(**d, baseline_from, recent_from)).count() as f64
        * MONTH_DAYS as f64
        / baseline_days as f64;
    if previous < 0.5 {
        return if recent == 0.0 {
            Reading { risk: Some(1.0), impact: Impact::High, detail: "No visits this month or before".to_owned() }
        } else {
            Reading {
                risk: Some(0.0),
                impact: Impact::None,
                detail: format!("{recent} visits this month, none in the months before"),
            }
        };
    }
    let change = (recent - previous) / previous;
    let risk = visit_trend_risk(change);
    let pct = (change * 100.0).round() as i64;
    let detail = match pct {
        p if p < 0 => format!("Down {}% from their usual month ({recent} visits vs {})", -p, round1(previous)),
        0 => format!("Steady: {recent} visits, as usual"),
        p => format!("Up {p}% from their usual month ({recent} visits vs {})", round1(previous)),
    };
    let impact = if change <= -0.5 { Impact::High } else { impact_of(risk) };
    Reading { risk: Some(risk), impact, detail }
}

fn completion(h: &History, today: NaiveDate) -> Reading {
    let end = today + Duration::days(1);
    let from = end - Duration::days(MONTH_DAYS);
    let offered: Vec<bool> = h.sessions.iter().filter(|(d, _)| within(*d, from, end)).map(|(_, done)| *done).collect();
    if offered.is_empty() {
        return missing("No personalised sessions in the last 4 weeks");
    }
    let done = offered.iter().filter(|d| **d).count();
    let rate = done as f64 / offered.len() as f64;
    let risk = completion_risk(rate);
    let impact = if rate < 0.5 { Impact::Medium.max_with(impact_of(risk)) } else { impact_of(risk) };
    Reading {
        risk: Some(risk),
        impact,
        detail: format!("Completed {done} of {} personalised sessions ({}%)", offered.len(), (rate * 100.0).round()),
    }
}

impl Impact {
    fn rank(self) -> u8 {
        self as u8
    }
    fn max_with(self, other: Impact) -> Impact {
        if other.rank() > self.rank() { other } else { self }
    }
}

fn app(h: &History, today: NaiveDate) -> Reading {
    if !h.app_tracked {
        return missing("No data: the gym sends no app events");
    }
    if h.app_opens.iter().all(|d| *d > today || (today - *d).num_days() >= 90) {
        return missing("No data: no app opens in 90 days (not an app user)");
    }
    let from = today - Duration::days(6);
    let opens = h.app_opens.iter().filter(|d| within(**d, from, today + Duration::days(1))).count();
    let risk = app_risk(opens);
    let detail = match opens {
        0 => "No app opens in 7 days".to_owned(),
        1 => "Opened the app once in 7 days".to_owned(),
        n => format!("Opened the app {n} times in 7 days"),
    };
    Reading { risk: Some(risk), impact: impact_of(risk), detail }
}

fn social(h: &History, today: NaiveDate) -> Reading {
    if !h.challenges_offered {
        return missing("No data: the gym runs no challenges");
    }
    let running: Vec<&ChallengeActivity> = h.challenges.iter().filter(|c| c.running && c.joined_on <= today).collect();
    let active = running.iter().filter(|c| (today - c.last_activity).num_days() < DROPPED_OUT_DAYS).count();
    let dropped = running.len() - active;
    if active > 0 {
        let detail =
            if active == 1 { "Active in a challenge".to_owned() } else { format!("Active in {active} challenges") };
        return Reading { risk: Some(0.0), impact: Impact::None, detail };
    }
    if dropped > 0 {
        return Reading {
            risk: Some(1.0),
            impact: Impact::High,
            detail: format!(
                "Stopped taking part: no challenge activity in {DROPPED_OUT_DAYS}+ days ({dropped} joined)"
            ),
        };
    }
    Reading { risk: Some(0.3), impact: Impact::Low, detail: "Not in any running challenge".to_owned() }
}

fn payments(h: &History, today: NaiveDate) -> Reading {
    if h.payments.is_empty() {
        return missing("No payments recorded");
    }
    let from = today - Duration::days(PAYMENT_DAYS);
    let mut recent: Vec<&PaymentAttempt> = h.payments.iter().filter(|p| from < p.on && p.on <= today).collect();
    recent.sort_by_key(|p| (p.on, p.succeeded));
    let failed = recent.iter().filter(|p| !p.succeeded).count();
    if failed == 0 {
        return Reading { risk: Some(0.0), impact: Impact::None, detail: "Payments up to date".to_owned() };
    }
    let last_failed = recent.iter().rev().find(|p| !p.succeeded).map(|p| p.on).unwrap_or(today);
    let recovered = recent.iter().any(|p| p.succeeded && p.on >= last_failed);
    if recovered {
        Reading {
            risk: Some(0.4),
            impact: Impact::Medium,
            detail: format!("{failed} failed payment(s) in {PAYMENT_DAYS} days, since paid"),
        }
    } else {
        Reading {
            risk: Some(1.0),
            impact: Impact::Critical,
            detail: format!("Payment failed on {last_failed} and is still unpaid"),
        }
    }
}

fn action(kind: FactorKind) -> &'static str {
    match kind {
        FactorKind::DaysSinceVisit => "Call or text them this week: a personal check-in from their coach",
        FactorKind::VisitTrend => "Offer a goal-setting session to rebuild their routine",
        FactorKind::WorkoutCompletion => "Review their programming: scale sessions to what they finish",
        FactorKind::AppEngagement => "Send a push with their progress and next class",
        FactorKind::SocialActivity => "Invite them to a team challenge or a community event",
        FactorKind::PaymentIssues => "Ask them to update their payment method before the next bill",
    }
}

/// Scores a member on `today` with `weights`.
pub fn score(h: &History, weights: &Weights, today: NaiveDate) -> Score {
    let (days, dsv) = days_since_visit(h, today);
    let readings = [
        (FactorKind::DaysSinceVisit, dsv),
        (FactorKind::VisitTrend, visit_trend(h, today)),
        (FactorKind::WorkoutCompletion, completion(h, today)),
        (FactorKind::AppEngagement, app(h, today)),
        (FactorKind::SocialActivity, social(h, today)),
        (FactorKind::PaymentIssues, payments(h, today)),
    ];
    let present: f64 = readings.iter().filter(|(_, r)| r.risk.is_some()).map(|(k, _)| weights.of(*k)).sum();
    let mut total = 0.0;
    let factors: Vec<Factor> = readings
        .into_iter()
        .map(|(kind, r)| {
            let weight = weights.of(kind);
            let contribution = r.risk.map(|risk| if present > 0.0 { risk * weight / present } else { 0.0 });
            total += contribution.unwrap_or(0.0);
            Factor {
                factor: kind,
                weight,
                risk: r.risk.map(round4),
                contribution: contribution.map(round4),
                impact: r.impact,
                missing: r.risk.is_none(),
                detail: r.detail,
            }
        })
        .collect();
    let risk_score = round2(total.clamp(0.0, 1.0));
    // The actions for the factors that weigh most, biggest first.
    let mut ranked: Vec<&Factor> =
        factors.iter().filter(|f| f.contribution.is_some_and(|c| c > 0.0) && f.impact >= Impact::Medium).collect();
    ranked.sort_by(|a, b| b.contribution.partial_cmp(&a.contribution).unwrap_or(std::cmp::Ordering::Equal));
    let recommended_actions = ranked.iter().take(3).map(|f| action(f.factor).to_owned()).collect();
    Score { risk_score, risk_level: RiskLevel::of(risk_score), days_since_visit: days, factors, recommended_actions }
}

/// The health score is the other side of the risk: 0–100, higher is healthier.
pub fn health(score: &Score) -> u32 {
    ((1.0 - score.risk_score) * 100.0).round() as u32
}

/// Impact is ordered None < Low < Medium < High < Critical.
impl PartialOrd for Impact {
    fn partial_cmp(&self, other: &Impact) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Impact {
    fn cmp(&self, other: &Impact) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }
    const TODAY: &str = "2026-12-01";

    fn factor(s: &Score, k: FactorKind) -> &Factor {
        s.factors.iter().find(|f| f.factor == k).unwrap()
    }

    fn visits_every(from: &str, to: &str, step: i64) -> Vec<NaiveDate> {
        let (mut d, to) = (day(from), day(to));
        let mut out = vec![];
        while d <= to {
            out.push(d);
            d += Duration::days(step);
        }
        out
    }

    #[test]
    fn days_since_visit_is_high_past_ten_days() {
        let today = day(TODAY);
        // No habit known (one visit): the ramp starts at 3 days.
        for (days, risk) in [(0, 0.0), (3, 0.0), (7, 0.5), (10, 0.875), (11, 1.0), (40, 1.0)] {
            let h = History { visits: vec![today - Duration::days(days)], ..History::default() };
            let s = score(&h, &Weights::default(), today);
            let f = factor(&s, FactorKind::DaysSinceVisit);
            assert_eq!((f.risk, s.days_since_visit), (Some(risk), Some(days)), "{days} days");
            assert_eq!(f.impact == Impact::High, days > 10 || risk >= 0.75, "{days} days");
        }
        // A member who comes every 2 days: 3 days away is their habit, 6 is notable, past 10 high.
        let habit = |days_ago: i64| History {
            visits: (0..12).map(|i| today - Duration::days(days_ago + 2 * i)).collect(),
            ..History::default()
        };
        let risk =
            |days: i64| factor(&score(&habit(days), &Weights::default(), today), FactorKind::DaysSinceVisit).risk;
        assert_eq!(risk(3), Some(0.0));
        assert_eq!(risk(6), Some(0.375));
        assert_eq!(risk(11), Some(1.0));
        // A member who comes weekly: 8 days is barely late, 11 is high anyway.
        let weekly = |days_ago: i64| History {
            visits: (0..8).map(|i| today - Duration::days(days_ago + 7 * i)).collect(),
            ..History::default()
        };
        let f = factor(&score(&weekly(8), &Weights::default(), today), FactorKind::DaysSinceVisit).clone();
        assert_eq!(f.risk, Some(0.0));
        assert_eq!(f.detail, "Last visit 8 days ago (usually every 7 days)");
        let f = factor(&score(&weekly(11), &Weights::default(), today), FactorKind::DaysSinceVisit).clone();
        assert_eq!((f.risk, f.impact), (Some(1.0), Impact::High));
        // Never seen: counted from the join day; nothing known at all: missing.
        let h = History { joined_on: Some(day("2026-11-16")), ..History::default() };
        let s = score(&h, &Weights::default(), today);
        assert_eq!(s.days_since_visit, Some(15));
        assert_eq!(factor(&s, FactorKind::DaysSinceVisit).detail, "No visit since joining 15 days ago");
        let s = score(&History::default(), &Weights::default(), today);
        assert!(factor(&s, FactorKind::DaysSinceVisit).missing);
    }

    #[test]
    fn visit_trend_is_full_risk_at_half_of_last_month() {
        let today = day(TODAY);
        // The usual month: the three 28-day windows before this one (Aug 12 → Nov 3), 30
        // visits, 10 a month; this month (Nov 4 → Dec 1) 5: down 50 %.
        let mut visits = visits_every("2026-08-12", "2026-11-03", 2)[..30].to_vec();
        visits.extend(visits_every("2026-11-04", "2026-12-01", 5)[..5].to_vec());
        let h = History { joined_on: Some(day("2025-01-01")), visits, ..History::default() };
        let f = factor(&score(&h, &Weights::default(), today), FactorKind::VisitTrend).clone();
        assert_eq!(f.risk, Some(1.0));
        assert_eq!(f.impact, Impact::High);
        assert_eq!(f.detail, "Down 50% from their usual month (5 visits vs 10)");
        // 8 a month before, 6 now: down 25 %, half the risk.
        let mut visits = visits_every("2026-08-12", "2026-11-03", 3)[..24].to_vec();
        visits.extend(visits_every("2026-11-04", "2026-12-01", 4)[..6].to_vec());
        let h = History { joined_on: Some(day("2025-01-01")), visits, ..History::default() };
        assert_eq!(factor(&score(&h, &Weights::default(), today), FactorKind::VisitTrend).risk, Some(0.5));
        // A member who joined on Oct 1 has five weeks of baseline, scaled to a month.
        let mut visits = visits_every("2026-10-01", "2026-11-03", 3)[..10].to_vec();
        visits.extend(visits_every("2026-11-04", "2026-12-01", 7)[..4].to_vec());
        let h = History { joined_on: Some(day("2026-10-01")), visits, ..History::default() };
        let f = factor(&score(&h, &Weights::default(), today), FactorKind::VisitTrend).clone();
        assert_eq!(f.detail, "Down 51% from their usual month (4 visits vs 8.2)");
        // Joined ten days before this month: too short a baseline.
        let h = History { joined_on: Some(day("2026-10-25")), visits: vec![day("2026-11-20")], ..History::default() };
        assert!(factor(&score(&h, &Weights::default(), today), FactorKind::VisitTrend).missing);
    }

    #[test]
    fn completion_warns_below_half() {
        let today = day(TODAY);
        let sessions = |done: usize, of: usize| -> Vec<(NaiveDate, bool)> {
            (0..of).map(|i| (today - Duration::days(i as i64), i < done)).collect()
        };
        for (done, of, risk) in [(4, 5, 0.0), (1, 2, 0.5), (2, 5, 0.6667), (1, 5, 1.0)] {
            let h = History { sessions: sessions(done, of), ..History::default() };
            let f = factor(&score(&h, &Weights::default(), today), FactorKind::WorkoutCompletion).clone();
            assert_eq!(f.risk, Some(risk), "{done}/{of}");
            if (done as f64) / (of as f64) < 0.5 {
                assert!(f.impact >= Impact::Medium, "below 50 % is at least a warning");
            }
        }
        // Sessions older than four weeks don't count.
        let h = History { sessions: vec![(today - Duration::days(28), false)], ..History::default() };
        assert!(factor(&score(&h, &Weights::default(), today), FactorKind::WorkoutCompletion).missing);
    }

    #[test]
    fn app_engagement_is_full_risk_with_no_opens_in_seven_days() {
        let today = day(TODAY);
        let with = |opens: Vec<i64>| History {
            app_tracked: true,
            app_opens: opens.into_iter().map(|d| today - Duration::days(d)).collect(),
            ..History::default()
        };
        let risk = |h: History| factor(&score(&h, &Weights::default(), today), FactorKind::AppEngagement).risk;
        assert_eq!(risk(with(vec![7, 20])), Some(1.0), "the 8th day back is outside the week");
        assert_eq!(risk(with(vec![90])), None, "no opens in 90 days: not an app user");
        assert_eq!(risk(with(vec![6])), Some(0.5));
        assert_eq!(risk(with(vec![0, 6])), Some(0.0));
        assert_eq!(risk(History::default()), None, "an untracked app is missing, not zero");
    }

    #[test]
    fn social_activity_flags_dropping_out() {
        let today = day(TODAY);
        let c = |last: i64, running: bool| ChallengeActivity {
            joined_on: today - Duration::days(40),
            last_activity: today - Duration::days(last),
            running,
        };
        let risk = |cs: Vec<ChallengeActivity>| {
            let h = History { challenges_offered: true, challenges: cs, ..History::default() };
            factor(&score(&h, &Weights::default(), today), FactorKind::SocialActivity).risk
        };
        assert_eq!(risk(vec![c(13, true)]), Some(0.0));
        assert_eq!(risk(vec![c(14, true)]), Some(1.0), "14 days without activity: dropped out");
        assert_eq!(risk(vec![c(14, true), c(2, true)]), Some(0.0), "still active in another");
        assert_eq!(risk(vec![c(30, false)]), Some(0.3), "only finished challenges");
        assert_eq!(risk(vec![]), Some(0.3));
        let h = History::default();
        assert!(factor(&score(&h, &Weights::default(), today), FactorKind::SocialActivity).missing);
    }

    #[test]
    fn a_failed_payment_is_critical_until_paid() {
        let today = day(TODAY);
        let p = |d: i64, ok: bool| PaymentAttempt { on: today - Duration::days(d), succeeded: ok };
        let read = |ps: Vec<PaymentAttempt>| {
            let h = History { payments: ps, ..History::default() };
            factor(&score(&h, &Weights::default(), today), FactorKind::PaymentIssues).clone()
        };
        let f = read(vec![p(30, true), p(2, false)]);
        assert_eq!((f.risk, f.impact), (Some(1.0), Impact::Critical));
        assert_eq!(read(vec![p(5, false), p(3, true)]).risk, Some(0.4));
        assert_eq!(read(vec![p(30, true), p(1, true)]).risk, Some(0.0));
        assert_eq!(read(vec![p(60, false), p(90, true)]).risk, Some(0.0), "60 days back is outside the window");
        assert!(read(vec![]).missing);
    }

    #[test]
    fn missing_factors_are_left_out_and_contributions_sum_to_the_score() {
        let today = day(TODAY);
        // Only days-since-visit known, at full risk: the score is 1, not 0.3.
        let h = History { visits: vec![today - Duration::days(30)], ..History::default() };
        let s = score(&h, &Weights::default(), today);
        assert_eq!(s.risk_score, 1.0);
        assert_eq!(s.risk_level, RiskLevel::High);
        assert_eq!(s.factors.iter().filter(|f| f.missing).count(), 4, "trend is present (none either month)");
        assert_eq!(health(&s), 0);
        assert!(!s.recommended_actions.is_empty());
    }

    #[test]
    fn weights_validate() {
        assert!(Weights::default().validate().is_ok());
        let mut w = Weights { payment_issues: 0.2, ..Weights::default() };
        let e = w.validate().unwrap_err();
        assert_eq!(e.errors[0].field, "/weights");
        w.payment_issues = -0.1;
        assert_eq!(w.validate().unwrap_err().errors[0].field, "/weights/paymentIssues");
        let n = Weights::normalised([3.0, 2.5, 1.5, 1.0, 1.0, 1.0]).unwrap();
        assert_eq!(n, Weights::default());
    }

    fn history() -> impl Strategy<Value = History> {
        let today = day(TODAY);
        let d = move |n: i64| today - Duration::days(n);
        (
            proptest::option::of(0i64..400),
            proptest::collection::vec(0i64..120, 0..40),
            proptest::collection::vec((0i64..60, any::<bool>()), 0..20),
            proptest::collection::vec(0i64..30, 0..10),
            any::<bool>(),
            proptest::collection::vec((0i64..60, 0i64..60, any::<bool>()), 0..4),
            any::<bool>(),
            proptest::collection::vec((0i64..120, any::<bool>()), 0..8),
        )
            .prop_map(move |(joined, visits, sessions, opens, app, challenges, offered, payments)| History {
                joined_on: joined.map(d),
                visits: visits.into_iter().map(d).collect(),
                sessions: sessions.into_iter().map(|(n, b)| (d(n), b)).collect(),
                app_opens: opens.into_iter().map(d).collect(),
                app_tracked: app,
                challenges: challenges
                    .into_iter()
                    .map(|(j, l, running)| ChallengeActivity {
                        joined_on: d(j.max(l)),
                        last_activity: d(l.min(j)),
                        running,
                    })
                    .collect(),
                challenges_offered: offered,
                payments: payments.into_iter().map(|(n, ok)| PaymentAttempt { on: d(n), succeeded: ok }).collect(),
            })
    }

    proptest! {
        /// For every history: the score is in 0–1, equals the sum of the contributions, each
        /// present factor's risk is in 0–1, missing factors contribute nothing, and the level
        /// matches the score.
        #[test]
        fn the_score_is_the_sum_of_its_contributions(h in history()) {
            let s = score(&h, &Weights::default(), day(TODAY));
            prop_assert!((0.0..=1.0).contains(&s.risk_score));
            let sum: f64 = s.factors.iter().filter_map(|f| f.contribution).sum();
            prop_assert!((sum - s.risk_score).abs() <= 0.006, "{} vs {}", sum, s.risk_score);
            for f in &s.factors {
                prop_assert_eq!(f.missing, f.risk.is_none());
                prop_assert_eq!(f.missing, f.contribution.is_none());
                if let Some(r) = f.risk { prop_assert!((0.0..=1.0).contains(&r)); }
            }
            prop_assert_eq!(s.risk_level, RiskLevel::of(s.risk_score));
        }

        /// More time since the last visit never lowers that factor's risk, and past 10 days
        /// it is full whatever the habit.
        #[test]
        fn days_since_visit_risk_is_monotone(a in 0i64..100, b in 0i64..100, gap in proptest::option::of(0.0f64..30.0)) {
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(days_since_visit_risk(lo, gap) <= days_since_visit_risk(hi, gap));
            if hi > 10 { prop_assert_eq!(days_since_visit_risk(hi, gap), 1.0); }
        }
    }
}
