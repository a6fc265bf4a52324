//! Engagement and capacity, computed from members' visits (pure: the analytics recompute feeds
//! it, the cache keeps the result).
//!
//! Engagement compares a period (the last 7 or 28 days up to the day computed) with the one
//! before: active members, visits per active member, the share of visits that were classes
//! (synced class sign-ins) against open-gym door check-ins, challenge participation, and new
//! against returning members.
//!
//! Capacity predicts a location's occupancy per hour of a weekday from its check-ins: the mean
//! of the same weekday and hour over the last [`CAPACITY_WEEKS`] weeks, scaled by the recent
//! trend (the last four weeks against the four before). Its error is measured by holding out
//! the last [`HELD_OUT_WEEKS`] weeks and predicting them from the weeks before. Seasonality
//! beyond the week needs a year of history, which the model does not yet use.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, Weekday};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum Period {
    Week,
    Month,
}

impl Period {
    pub fn days(self) -> i64 {
        match self {
            Period::Week => 7,
            Period::Month => 28,
        }
    }
}

/// What one member did, as engagement needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberVisits {
    pub joined_on: Option<NaiveDate>,
    /// Days with a door check-in (open gym).
    pub door: Vec<NaiveDate>,
    /// Days with a class sign-in (synced).
    pub class: Vec<NaiveDate>,
    /// (joined on, last day of the challenge) of each challenge joined.
    pub challenges: Vec<(NaiveDate, NaiveDate)>,
}

/// One period's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Figures {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
    pub active_members: u64,
    pub visits: u64,
    pub visits_per_member: f64,
    /// Of all visits, the share that were classes (0–1).
    pub class_share: f64,
    pub open_gym_share: f64,
    /// Of the active members, the share in a challenge running in the period.
    pub challenge_participation: f64,
    /// Active members who joined in the period.
    pub new_members: u64,
    pub returning_members: u64,
}

fn share(part: u64, all: u64) -> f64 {
    if all == 0 { 0.0 } else { ((part as f64 / all as f64) * 10_000.0).round() / 10_000.0 }
}

/// The figures of `from..=to`.
pub fn figures(members: &[MemberVisits], from: NaiveDate, to: NaiveDate) -> Figures {
    let inside = |d: &&NaiveDate| from <= **d && **d <= to;
    let (mut active, mut visits, mut class, mut in_challenge, mut new) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for m in members {
        let door = m.door.iter().filter(inside).count() as u64;
        let classes = m.class.iter().filter(inside).count() as u64;
        if door + classes == 0 {
            continue;
        }
        active += 1;
        visits += door + classes;
        class += classes;
        if m.challenges.iter().any(|(joined, ends)| *joined <= to && *ends >= from) {
            in_challenge += 1;
        }
        if m.joined_on.is_some_and(|j| from <= j && j <= to) {
            new += 1;
        }
    }
    Figures {
        from,
        to,
        active_members: active,
        visits,
        visits_per_member: if active == 0 { 0.0 } else { ((visits as f64 / active as f64) * 100.0).round() / 100.0 },
        class_share: share(class, visits),
        open_gym_share: if visits == 0 { 0.0 } else { share(visits - class, visits) },
        challenge_participation: share(in_challenge, active),
        new_members: new,
        returning_members: active - new,
    }
}

/// The period ending on `today` and the one before it.
pub fn compare(members: &[MemberVisits], period: Period, today: NaiveDate) -> (Figures, Figures) {
    let n = period.days();
    let from = today - Duration::days(n - 1);
    let current = figures(members, from, today);
    let previous = figures(members, from - Duration::days(n), from - Duration::days(1));
    (current, previous)
}

/// Relative change, as a fraction (−0.25 = down 25 %); none from zero.
pub fn change(now: f64, before: f64) -> Option<f64> {
    (before != 0.0).then(|| (((now - before) / before) * 10_000.0).round() / 10_000.0)
}

// ---- capacity ----

/// Weeks of check-ins the prediction averages.
pub const CAPACITY_WEEKS: i64 = 8;
/// Weeks held out to measure the error.
pub const HELD_OUT_WEEKS: i64 = 2;

/// A visit at a location, in its local time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stay {
    pub from: NaiveDateTime,
    pub until: NaiveDateTime,
}

/// Occupancy of each hour of one local day: members present at any time in the hour.
fn day_profile(stays: &[Stay], day: NaiveDate) -> [f64; 24] {
    let mut out = [0.0; 24];
    for (h, slot) in out.iter_mut().enumerate() {
        let Some(start) = day.and_hms_opt(h as u32, 0, 0) else { continue };
        let end = start + Duration::hours(1);
        *slot = stays.iter().filter(|s| s.from < end && s.until > start).count() as f64;
    }
    out
}

/// Mean hourly occupancy per weekday over `weeks` weeks ending the day before `until` (days
/// before the first check-in on record don't count: no data is not an empty gym).
fn weekday_means(stays: &[Stay], until: NaiveDate, weeks: i64) -> [[f64; 24]; 7] {
    let mut sum = [[0.0; 24]; 7];
    let mut n = [0.0; 7];
    let first = stays.iter().map(|s| s.from.date()).min();
    for back in 1..=weeks * 7 {
        let day = until - Duration::days(back);
        if first.is_none_or(|f| day < f) {
            continue;
        }
        let wd = day.weekday().num_days_from_monday() as usize;
        let p = day_profile(stays, day);
        for (slot, v) in sum[wd].iter_mut().zip(p) {
            *slot += v;
        }
        n[wd] += 1.0;
    }
    for (row, n) in sum.iter_mut().zip(n) {
        if n > 0.0 {
            row.iter_mut().for_each(|v| *v /= n);
        }
    }
    sum
}

fn total(stays: &[Stay], from: NaiveDate, to_exclusive: NaiveDate) -> f64 {
    stays.iter().filter(|s| from <= s.from.date() && s.from.date() < to_exclusive).count() as f64
}

/// The model: per weekday and hour, the predicted occupancy, from the stays before `until`.
pub fn predict(stays: &[Stay], until: NaiveDate) -> [[f64; 24]; 7] {
    let means = weekday_means(stays, until, CAPACITY_WEEKS);
    // The recent trend: the last 4 weeks against the 4 before (bounded, 1 without data).
    let recent = total(stays, until - Duration::days(28), until);
    let before = total(stays, until - Duration::days(56), until - Duration::days(28));
    // Only with eight full weeks of data (a new location's first weeks are no trend).
    let covered = stays.iter().map(|s| s.from.date()).min().is_some_and(|f| f <= until - Duration::days(56));
    let trend = if covered && before > 0.0 && recent > 0.0 { (recent / before).clamp(0.5, 2.0).sqrt() } else { 1.0 };
    let mut out = means;
    for row in out.iter_mut() {
        for v in row.iter_mut() {
            *v = (*v * trend * 10.0).round() / 10.0;
        }
    }
    out
}

/// The error of predicting the last [`HELD_OUT_WEEKS`] weeks before `until` from the weeks
/// before them: mean absolute error in members per open hour, over the hours that had anyone
/// (predicted or actual).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldOut {
    pub weeks: i64,
    /// Hours compared.
    pub hours: u64,
    /// Mean absolute error, members.
    pub mae: f64,
    /// Mean actual occupancy of those hours, for scale.
    pub mean_actual: f64,
}

pub fn held_out(stays: &[Stay], until: NaiveDate) -> HeldOut {
    let cut = until - Duration::days(HELD_OUT_WEEKS * 7);
    let model = predict(stays, cut);
    let (mut err, mut actual, mut n) = (0.0, 0.0, 0u64);
    for back in 0..HELD_OUT_WEEKS * 7 {
        let day = cut + Duration::days(back);
        let p = day_profile(stays, day);
        let wd = day.weekday().num_days_from_monday() as usize;
        for h in 0..24 {
            if p[h] > 0.0 || model[wd][h] > 0.0 {
                err += (p[h] - model[wd][h]).abs();
                actual += p[h];
                n += 1;
            }
        }
    }
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    HeldOut {
        weeks: HELD_OUT_WEEKS,
        hours: n,
        mae: if n == 0 { 0.0 } else { r2(err / n as f64) },
        mean_actual: if n == 0 { 0.0 } else { r2(actual / n as f64) },
    }
}

/// A recommendation from the predicted week: the busiest hours near or over capacity ("add a
/// class"), and quiet stretches of hours the location is open anyway.
pub fn recommendations(model: &[[f64; 24]; 7], capacity: Option<u32>) -> Vec<String> {
    let days = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri, Weekday::Sat, Weekday::Sun];
    let name = |wd: usize| match days[wd] {
        Weekday::Mon => "Mondays",
        Weekday::Tue => "Tuesdays",
        Weekday::Wed => "Wednesdays",
        Weekday::Thu => "Thursdays",
        Weekday::Fri => "Fridays",
        Weekday::Sat => "Saturdays",
        Weekday::Sun => "Sundays",
    };
    let mut out = Vec::new();
    let mut slots: Vec<(usize, usize, f64)> =
        (0..7).flat_map(|wd| (0..24).map(move |h| (wd, h))).map(|(wd, h)| (wd, h, model[wd][h])).collect();
    slots.sort_by(|a, b| b.2.partial_cmp(&a.2).unwrap_or(std::cmp::Ordering::Equal));
    match capacity.filter(|c| *c > 0) {
        Some(c) => {
            for (wd, h, v) in slots.iter().filter(|s| s.2 / f64::from(c) >= 0.85).take(3) {
                let pct = (v / f64::from(c) * 100.0).round();
                out.push(format!(
                    "{} {h:02}:00 run at {pct} % of capacity: add a class or open a second room",
                    name(*wd)
                ));
            }
            if out.is_empty()
                && let Some((wd, h, v)) = slots.first().filter(|s| s.2 > 0.0)
            {
                let pct = (v / f64::from(c) * 100.0).round();
                out.push(format!(
                    "The busiest hour, {} {h:02}:00, runs at {pct} % of capacity: room to grow",
                    name(*wd)
                ));
            }
        }
        None => {
            if let Some((wd, h, v)) = slots.first().filter(|s| s.2 > 0.0) {
                out.push(format!(
                    "The busiest hour is {} {h:02}:00 (about {v} members): set the location's capacity to see how full it runs",
                    name(*wd)
                ));
            }
        }
    }
    out
}

/// A local stay from a check-in's times.
pub fn stay(checked_in_local: NaiveDateTime, minutes: i64) -> Stay {
    Stay { from: checked_in_local, until: checked_in_local + Duration::minutes(minutes) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn engagement_arithmetic() {
        let members = vec![
            // Ana: 3 door visits this week, 2 last week, in a challenge.
            MemberVisits {
                joined_on: Some(d("2025-01-01")),
                door: vec![d("2026-11-25"), d("2026-11-27"), d("2026-11-30"), d("2026-11-20"), d("2026-11-22")],
                class: vec![],
                challenges: vec![(d("2026-11-01"), d("2026-11-30"))],
            },
            // Bruno: 1 class this week, joined this week.
            MemberVisits {
                joined_on: Some(d("2026-11-28")),
                door: vec![],
                class: vec![d("2026-11-29")],
                challenges: vec![],
            },
            // Carla: only last week.
            MemberVisits {
                joined_on: Some(d("2025-06-01")),
                door: vec![d("2026-11-21")],
                class: vec![d("2026-11-23")],
                challenges: vec![],
            },
        ];
        let (now, before) = compare(&members, Period::Week, d("2026-12-01"));
        assert_eq!((now.from, now.to), (d("2026-11-25"), d("2026-12-01")));
        assert_eq!((now.active_members, now.visits, now.visits_per_member), (2, 4, 2.0));
        assert_eq!((now.class_share, now.open_gym_share), (0.25, 0.75));
        assert_eq!(now.challenge_participation, 0.5);
        assert_eq!((now.new_members, now.returning_members), (1, 1));
        assert_eq!((before.from, before.to), (d("2026-11-18"), d("2026-11-24")));
        assert_eq!((before.active_members, before.visits), (2, 4));
        assert_eq!(change(now.visits_per_member, before.visits_per_member), Some(0.0));
        assert_eq!(change(2.0, 0.0), None);
    }

    #[test]
    fn capacity_predicts_the_weekly_pattern_and_recommends() {
        // Eight weeks of Tuesdays at 17:00: 19 members for an hour; nothing else.
        let mut stays = vec![];
        let mut day = d("2026-10-06"); // a Tuesday
        while day < d("2026-12-01") {
            for _ in 0..19 {
                stays.push(stay(day.and_hms_opt(17, 0, 0).unwrap(), 60));
            }
            day += Duration::days(7);
        }
        let model = predict(&stays, d("2026-12-01"));
        assert_eq!(model[1][17], 19.0, "Tuesday 17:00");
        assert_eq!(model[1][18], 0.0, "a stay ending at 18:00 is not in the 18:00 hour");
        assert_eq!(model[0][17], 0.0);
        let recs = recommendations(&model, Some(20));
        assert_eq!(recs, vec!["Tuesdays 17:00 run at 95 % of capacity: add a class or open a second room"]);
        let e = held_out(&stays, d("2026-12-01"));
        assert_eq!((e.weeks, e.hours, e.mae), (2, 2, 0.0), "a perfectly regular week is predicted exactly");
        assert!(recommendations(&model, None)[0].contains("Tuesdays 17:00"));
    }
}
