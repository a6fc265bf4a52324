//! A seeded generator of labelled synthetic gym cohorts.
//!
//! Shaped by published retention data: of the members who join, about 88 % are still enrolled
//! at month 3, 74 % at month 6 and 53 % at month 12 (a piecewise-constant monthly hazard fitted
//! to those three points). Each member has a habitual weekly visit rate (log-normal around 2.6),
//! week-to-week noise, and dips that have nothing to do with leaving (holidays, illness, work:
//! about one a quarter, one to four weeks long, at 0–50 % of the habit). Most members who cancel
//! fade first: their attendance decays over the 3–6 weeks before the cancellation, and with it
//! their app use, workout completion and challenge activity; some (one in six) leave abruptly
//! with no warning (a move, an injury). One in five cancellations follows a failed payment that
//! is never recovered; members who stay also see failed payments now and then, mostly paid
//! again a few days later. Nothing in a member's history after the snapshot day is visible.
//!
//! The label is "cancels within the 30 days after the snapshot", for members enrolled on it.

use chrono::{Duration, NaiveDate};
use iron_domain::churn::{ChallengeActivity, History, PaymentAttempt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Days in an average month.
const MONTH: f64 = 30.44;
/// Monthly hazards (months 0–3, 3–6, 6–12, after 12) fitted to 88 / 74 / 53 % retention.
const HAZARDS: [(f64, f64); 4] = [
    (3.0, 0.042_611),  // −ln(0.88)/3
    (6.0, 0.057_779),  // −ln(0.74/0.88)/3
    (12.0, 0.055_699), // −ln(0.53/0.74)/6
    (f64::INFINITY, 0.045),
];
/// How far ahead the label looks.
pub const HORIZON_DAYS: i64 = 30;

#[derive(Debug, Clone)]
pub struct Member {
    pub history: History,
    pub joined_on: NaiveDate,
    /// The day the membership ends; `None` when it outlives the simulation.
    pub cancels_on: Option<NaiveDate>,
    /// Monthly price (for the summary's potential loss).
    pub monthly_price: f64,
    /// Cancels within [`HORIZON_DAYS`] after the snapshot.
    pub label: bool,
    /// The member's true engagement on the snapshot day (fade × dip, 0–1): what the visible
    /// signals estimate, for measuring how much of it they recover.
    pub engagement: f64,
}

#[derive(Debug, Clone)]
pub struct Cohort {
    pub snapshot: NaiveDate,
    /// Members enrolled on the snapshot day (joined at least two weeks before it).
    pub members: Vec<Member>,
    /// Every member simulated, enrolled on the snapshot or not, for the retention check.
    pub tenures_days: Vec<Option<i64>>,
}

fn normal(rng: &mut StdRng) -> f64 {
    // Box–Muller.
    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Months until cancellation, drawn from the piecewise hazard.
fn tenure_months(rng: &mut StdRng) -> f64 {
    // Exp(1): the cumulative hazard at cancellation.
    let mut e = -rng.random::<f64>().max(1e-12).ln();
    let mut start = 0.0;
    for (end, rate) in HAZARDS {
        let span = end - start;
        if e <= rate * span {
            return start + e / rate;
        }
        e -= rate * span;
        start = end;
    }
    unreachable!("the last span is unbounded")
}

/// The share of members still enrolled `months` after joining, by the hazard.
pub fn expected_retention(months: f64) -> f64 {
    let mut h = 0.0;
    let mut start = 0.0;
    for (end, rate) in HAZARDS {
        let to = months.min(end);
        if to > start {
            h += rate * (to - start);
        }
        start = end;
    }
    (-h).exp()
}

/// Generates `n` members joining over the two years before `snapshot`, from `seed`.
pub fn generate(seed: u64, n: usize, snapshot: NaiveDate) -> Cohort {
    let mut rng = StdRng::seed_from_u64(seed);
    let span_days = 730i64;
    let start = snapshot - Duration::days(span_days);
    // Challenges: four weeks long, one starting every eight weeks.
    let challenge_of = |day: i64| -> Option<(i64, i64)> {
        let k = day.div_euclid(56);
        let from = k * 56;
        (day - from < 28).then_some((from, from + 28))
    };
    let mut members = Vec::new();
    let mut tenures = Vec::new();
    for _ in 0..n {
        let joined = rng.random_range(0..span_days - 14);
        let habit = (2.6f64.ln() + 0.45 * normal(&mut rng)).exp().clamp(0.5, 6.0);
        // Habits are routines: the member's usual weekdays (as many as their weekly habit),
        // kept most weeks, plus the odd extra visit; a habit under once a week is a weekday
        // kept some weeks.
        let mut weekdays = [false; 7];
        let usual = (habit.round() as usize).clamp(1, 6);
        while weekdays.iter().filter(|d| **d).count() < usual {
            weekdays[rng.random_range(0..7)] = true;
        }
        let keep = (habit / usual as f64 * 0.85).min(0.95);
        let tenure = (tenure_months(&mut rng) * MONTH).round() as i64;
        let cancel = joined + tenure.max(1);
        tenures.push(Some(tenure.max(1)));
        let snap = span_days;
        // How this member's membership would end: fading first (most), abruptly with no
        // warning (one in ten), and for one in five of the faders with a failed payment never
        // recovered (dunning cancels the membership 1–4 weeks later).
        let ending = rng.random::<f64>();
        let abrupt = ending < 0.1;
        let involuntary = (0.1..0.28).contains(&ending);
        let dunning_days = rng.random_range(7..=30);
        let decay_days = rng.random_range(21..=42) as f64;
        let completion_habit = rng.random_range(0.55..0.95);
        let app_user = rng.random::<f64>() < 0.8;
        let app_habit = rng.random_range(0.15..0.6);
        let joins_challenges = rng.random::<f64>() < 0.4;
        let price = [89.0, 129.0, 159.0, 189.0][rng.random_range(0..4)];
        // Visits day by day up to the snapshot (or the cancellation).
        let last = cancel.min(snap + 1);
        let mut history = History {
            joined_on: Some(start + Duration::days(joined)),
            app_tracked: true,
            challenges_offered: true,
            ..History::default()
        };
        let mut dip_until = -1i64;
        let mut dip_factor = 1.0;
        let mut week_factor = 1.0;
        let mut challenge: Option<(i64, i64, i64, i64)> = None; // (from, to, joined, last activity)
        let mut challenges: Vec<ChallengeActivity> = Vec::new();
        let mut missed_payment: Option<i64> = None;
        let mut engagement_at_snapshot = 1.0;
        for day in joined..last {
            let date = start + Duration::days(day);
            if (day - joined) % 7 == 0 {
                week_factor = (0.15 * normal(&mut rng)).exp();
                if day > dip_until && rng.random::<f64>() < 0.02 {
                    dip_until = day + 7 * rng.random_range(1..=3);
                    dip_factor = rng.random_range(0.1..0.6);
                }
            }
            let to_cancel = (cancel - day) as f64;
            let fade =
                if !abrupt && to_cancel <= decay_days { (to_cancel / decay_days).powf(1.6).max(0.02) } else { 1.0 };
            let dip = if day <= dip_until { dip_factor } else { 1.0 };
            let engagement = fade * dip;
            if day == snap {
                engagement_at_snapshot = engagement;
            }
            let scheduled = weekdays[day.rem_euclid(7) as usize];
            let p_visit = if scheduled { keep * week_factor * engagement } else { 0.03 * engagement }.min(0.97);
            let visited = rng.random::<f64>() < p_visit;
            if visited {
                history.visits.push(date);
                if rng.random::<f64>() < 0.85 {
                    let done = rng.random::<f64>() < completion_habit * (0.45 + 0.55 * fade);
                    history.sessions.push((date, done));
                }
            }
            if app_user {
                let p_open =
                    (app_habit * (0.3 + 0.7 * fade) * dip.max(0.5) + if visited { 0.4 } else { 0.0 }).min(0.95);
                if rng.random::<f64>() < p_open {
                    history.app_opens.push(date);
                }
            }
            // Challenges: joined in the first week of one, active while visiting.
            match (challenge_of(day), challenge) {
                (Some((from, to)), None)
                    if day - from < 7 && joins_challenges && fade > 0.6 && rng.random::<f64>() < 0.25 =>
                {
                    challenge = Some((from, to, day, day));
                }
                (Some(_), Some((from, to, j, _))) if visited => challenge = Some((from, to, j, day)),
                (None, Some((from, to, j, l))) => {
                    challenges.push(ChallengeActivity {
                        joined_on: start + Duration::days(j),
                        last_activity: start + Duration::days(l),
                        running: false,
                    });
                    let _ = (from, to);
                    challenge = None;
                }
                _ => {}
            }
            // The failed payment that ends an involuntary cancellation.
            if involuntary && cancel - day == dunning_days && missed_payment.is_none() {
                missed_payment = Some(day);
                history.payments.push(PaymentAttempt { on: date, succeeded: false });
            }
            // Monthly billing on the join day of the month (none while dunning).
            if (day - joined) % 30 == 0 && day > joined && missed_payment.is_none() {
                if rng.random::<f64>() < 0.03 {
                    history.payments.push(PaymentAttempt { on: date, succeeded: false });
                    if rng.random::<f64>() < 0.8 {
                        let retry = day + rng.random_range(2..6);
                        history.payments.push(PaymentAttempt { on: start + Duration::days(retry), succeeded: true });
                    }
                } else {
                    history.payments.push(PaymentAttempt { on: date, succeeded: true });
                }
            }
        }
        if let Some((_, to, j, l)) = challenge {
            challenges.push(ChallengeActivity {
                joined_on: start + Duration::days(j),
                last_activity: start + Duration::days(l),
                running: to > snap,
            });
        }
        history.challenges = challenges;
        let snapshot_day = start + Duration::days(snap);
        // Nothing after the snapshot is visible (a retry paid "in the future" is not yet known).
        history.payments.retain(|p| p.on <= snapshot_day);
        if cancel > snap && joined <= snap - 14 {
            members.push(Member {
                history,
                joined_on: start + Duration::days(joined),
                cancels_on: Some(start + Duration::days(cancel)),
                monthly_price: price,
                label: cancel - snap <= HORIZON_DAYS,
                engagement: engagement_at_snapshot,
            });
        }
    }
    Cohort { snapshot, members, tenures_days: tenures }
}

/// The share of simulated members whose tenure reached `months` (the generator's retention).
pub fn observed_retention(c: &Cohort, months: f64) -> f64 {
    let days = (months * MONTH).round() as i64;
    let all = c.tenures_days.len() as f64;
    c.tenures_days.iter().filter(|t| t.is_some_and(|t| t > days)).count() as f64 / all
}
