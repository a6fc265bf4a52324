//! Challenges and leaderboards: the rules, with no storage. What a challenge measures, how an
//! entry is validated, how a participant's entries become one ranked score, and the rank tree
//! that answers "how many participants score more than this?" in a fixed number of reads.
//!
//! # Scores
//! Every metric is ranked as an unsigned 32-bit score, higher first:
//! distance in whole metres, time in seconds, workouts and PRs as counts, consistency in days,
//! improvement in basis points (0.01 %) offset by [`IMPROVEMENT_BIAS`] so that −100 % is 1 and a
//! participant with no measurement yet is 0 (below everyone measured).
//!
//! # Ties
//! Competition ranking: a participant's rank is 1 + the number of participants with a strictly
//! higher score (1, 2, 2, 4). Within a tie the order everywhere (leaderboard pages, exports) is
//! who reached the score first, then the member id: [`board_sort_key`].
//!
//! # The rank tree
//! A 256-ary tree of counters over the score's four bytes ([`DEPTH`] levels). The node at level
//! `L` on a score's path is named by the score's top `L` bytes; its counter `c<d>` counts the
//! participants whose score continues with byte `d`. The participants above a score are, at each
//! level, the counters of the path node right of the score's byte ([`count_above`]): four node
//! reads per tree, whatever the rank. A score change adds −1 and +1 along the old and new paths;
//! the levels both paths share cancel out and are not written ([`tree_deltas`]). Each challenge
//! keeps [`SHARDS`] trees (a participant's shard is fixed by their member id), so writes spread
//! over that many items per node and a rank reads `SHARDS × DEPTH` items in one batch.

use crate::id::Id;
use crate::validation::{FieldError, FieldReader, parse};
use crate::workout::{Workout, WorkoutType};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Levels of the rank tree (one per byte of the score).
pub const DEPTH: usize = 4;
/// Rank trees (and leaderboard partitions) per challenge and scope.
pub const SHARDS: u8 = 8;
/// Improvement scores are basis points plus this, so −100 % (−10,000 bp) is 1 and "no
/// measurement yet" (0) sorts below every measured participant.
pub const IMPROVEMENT_BIAS: i64 = 10_001;
/// The highest improvement counted: +10,000 %.
pub const MAX_IMPROVEMENT_BP: i64 = 1_000_000;
/// Entries whose time is in the window may still be posted this long after the challenge ends
/// (late syncs, staff corrections); after that the challenge is closed.
pub const GRACE_DAYS: i64 = 3;
/// Most teams in one challenge (team leaderboards are ranked in memory from one partition).
pub const MAX_TEAMS: usize = 500;
/// The longest challenge.
pub const MAX_DAYS: i64 = 366;
/// Measurements kept per participant of an improvement challenge.
pub const MAX_MEASUREMENTS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeType {
    /// Total metres.
    Distance,
    /// Total duration, seconds.
    Time,
    /// Workouts logged.
    Workouts,
    /// Personal records set.
    PrCount,
    /// The longest (or current) streak of active days, in the business's time zone.
    Consistency,
    /// Teams compete on `teamMetric`, summed or averaged over their members.
    Team,
    /// % change of a fitness-test result from the member's baseline.
    Improvement,
}

/// What is counted per participant: a challenge's type, or a team challenge's `teamMetric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Distance,
    Time,
    Workouts,
    PrCount,
    Consistency,
    Improvement,
}

impl Metric {
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Distance => "m",
            Metric::Time => "s",
            Metric::Workouts => "workouts",
            Metric::PrCount => "prs",
            Metric::Consistency => "days",
            Metric::Improvement => "%",
        }
    }

    /// The largest value one entry may carry (the plausibility ceiling), and the smallest.
    pub fn entry_range(self) -> (f64, f64) {
        match self {
            // A 250 km ride is the longest session a gym logs.
            Metric::Distance => (1.0, 250_000.0),
            // No 30-hour row: 12 hours per entry.
            Metric::Time => (1.0, 43_200.0),
            Metric::Workouts => (1.0, 5.0),
            Metric::PrCount => (1.0, 10.0),
            Metric::Consistency => (1.0, 1.0),
            // A test result (VO2max in ml/kg/min, power in W, a 2k time in s …).
            Metric::Improvement => (0.1, 10_000.0),
        }
    }

    /// Whether the metric adds entries up (the others are days or measurements).
    pub fn is_sum(self) -> bool {
        matches!(self, Metric::Distance | Metric::Time | Metric::Workouts | Metric::PrCount)
    }

    fn parse_name(s: &str) -> Option<Metric> {
        serde_json::from_value(Value::String(s.to_owned())).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Members ranked against each other.
    Individual,
    /// Teams ranked by their members' aggregate.
    Team,
    /// Locations ranked by their members' aggregate.
    Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Sum,
    /// Over the members with a value.
    Average,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Streak {
    /// The longest run of consecutive active days in the window.
    Longest,
    /// The run ending on the member's latest active day.
    Latest,
}

/// How an improvement is measured: a fitness test's result, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// VO2max, ml/kg/min (vo2max_ramp, lactate_step with gas, cooper_12min): higher is better.
    Vo2max,
    /// Peak power, W: higher is better.
    PeakPower,
    /// 2,000 m row time, s: lower is better.
    Row2kTime,
}

impl Measure {
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Measure::Row2kTime)
    }

    /// The measurement a fitness test gives, if it gives this one.
    pub fn of_test(self, test: &crate::FitnessTest) -> Option<f64> {
        match self {
            Measure::Vo2max => test.results.vo2max_ml_kg_min,
            Measure::PeakPower => test.results.peak_power_w,
            Measure::Row2kTime => test.results.split_500m_s.map(|s| s * 4.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntrySource {
    Manual,
    /// The member's workout log (`workout.completed`); the source id is the workout id.
    Workout,
    /// Connected equipment.
    Equipment,
    /// A bulk import or a third-party sync.
    Import,
    /// A fitness test (improvement and PR challenges); the source id is the test id.
    Test,
}

impl EntrySource {
    pub fn as_str(self) -> &'static str {
        match self {
            EntrySource::Manual => "manual",
            EntrySource::Workout => "workout",
            EntrySource::Equipment => "equipment",
            EntrySource::Import => "import",
            EntrySource::Test => "test",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Prize {
    /// First place is 1. Prizes are for places `place` to `toPlace` (default: just `place`).
    #[schema(minimum = 1, maximum = 1000)]
    pub place: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000)]
    pub to_place: Option<u32>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Badge {
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 300, pattern = r"\S")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 9, max_length = 500, pattern = "^https://")]
    pub image_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Challenge {
    pub id: Id,
    pub name: String,
    pub description: Option<String>,
    pub challenge_type: ChallengeType,
    /// What each participant scores (the type, or a team challenge's metric).
    pub metric: Metric,
    pub mode: Mode,
    pub aggregate: Aggregate,
    pub streak: Option<Streak>,
    pub measure: Option<Measure>,
    /// In the metric's unit (`%` for improvement).
    pub target: Option<f64>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The business's time zone when the challenge was set up (the window's days are its days).
    pub timezone: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub location_ids: Vec<Id>,
    pub public: bool,
    pub team_size: Option<u32>,
    pub prizes: Vec<Prize>,
    pub badge: Option<Badge>,
    /// Workouts count only with one of these types (empty: any).
    pub workout_types: Vec<WorkoutType>,
    /// Distance and time count only from these library exercises (empty: the whole workout).
    pub exercise_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeStatus {
    Upcoming,
    Active,
    /// Past its end; in-window entries are still accepted for [`GRACE_DAYS`].
    Ended,
}

impl Challenge {
    pub fn status(&self, now: DateTime<Utc>) -> ChallengeStatus {
        if now < self.starts_at {
            ChallengeStatus::Upcoming
        } else if now < self.ends_at {
            ChallengeStatus::Active
        } else {
            ChallengeStatus::Ended
        }
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// The day of the window `at` falls on (0 = the start date), in the challenge's time zone.
    pub fn day_index(&self, at: DateTime<Utc>) -> i64 {
        (at.with_timezone(&self.tz()).date_naive() - self.start_date).num_days()
    }

    /// Why an entry at `at`, posted at `now`, can't count (`None`: it can).
    pub fn refuse_time(&self, at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
        if at < self.starts_at {
            return Some(format!("is before the challenge starts ({})", self.starts_at.to_rfc3339()));
        }
        if at >= self.ends_at {
            return Some(format!("is after the challenge ends ({})", self.ends_at.to_rfc3339()));
        }
        if at > now + Duration::minutes(5) {
            return Some("is in the future".into());
        }
        if now >= self.ends_at + Duration::days(GRACE_DAYS) {
            return Some(format!("is too late: the challenge closed {GRACE_DAYS} days after it ended"));
        }
        None
    }

    /// Whether joining is still possible at `now` (until the end; late joins are welcome).
    pub fn open_to_join(&self, now: DateTime<Utc>) -> bool {
        now < self.ends_at
    }

    /// The value a workout enters, if it fits this challenge.
    pub fn workout_value(&self, w: &Workout) -> Option<f64> {
        if !self.workout_types.is_empty() && !self.workout_types.contains(&w.workout_type) {
            return None;
        }
        let chosen = |id: &Option<String>| {
            self.exercise_ids.is_empty() || id.as_ref().is_some_and(|e| self.exercise_ids.contains(e))
        };
        let value = match self.metric {
            Metric::Distance => {
                w.movements.iter().filter(|m| chosen(&m.exercise_id)).filter_map(|m| m.distance_m).sum()
            }
            Metric::Time if self.exercise_ids.is_empty() => f64::from(w.duration_min) * 60.0,
            Metric::Time => {
                w.movements.iter().filter(|m| chosen(&m.exercise_id)).filter_map(|m| m.duration_s).map(f64::from).sum()
            }
            Metric::Workouts | Metric::Consistency => 1.0,
            Metric::PrCount | Metric::Improvement => return None,
        };
        let (_, max) = self.metric.entry_range();
        (value >= 1.0).then_some(value.min(max).round())
    }

    /// `value` as a share of the target, 0–100 (`None` without a target or a value).
    pub fn progress(&self, value: Option<f64>) -> Option<f64> {
        let (target, value) = (self.target?, value?);
        (target > 0.0).then(|| ((value / target * 100.0).clamp(0.0, 100.0) * 10.0).round() / 10.0)
    }

    pub fn reached_target(&self, value: Option<f64>) -> bool {
        matches!((self.target, value), (Some(t), Some(v)) if v >= t)
    }
}

/// The fields of a challenge body (`POST` and `PUT` take the whole challenge).
pub const FIELDS: &[&str] = &[
    "name",
    "description",
    "type",
    "teamMetric",
    "mode",
    "aggregate",
    "streak",
    "measure",
    "target",
    "startDate",
    "endDate",
    "locationIds",
    "public",
    "teamSize",
    "prizes",
    "badge",
    "workoutTypes",
    "exerciseIds",
];

/// A prize as a request spells it: places are whole numbers (`3.0` is 3), `toPlace` not before
/// `place`, no other fields.
fn parse_prize(v: &Value) -> Option<Prize> {
    let o = v.as_object()?;
    if o.keys().any(|k| !matches!(k.as_str(), "place" | "toPlace" | "description")) {
        return None;
    }
    let place = parse::int(1, 1000)(o.get("place")?).ok()? as u32;
    let to_place = match o.get("toPlace") {
        None | Some(Value::Null) => None,
        Some(t) => Some(parse::int(i64::from(place), 1000)(t).ok()? as u32),
    };
    let description = parse::text(200)(o.get("description")?).ok()?;
    Some(Prize { place, to_place, description })
}

/// Reads a challenge body into `c` (a new challenge's defaults, or the stored one for `PUT`),
/// with the business's `timezone` and `today` there. `locked` (it has participants) refuses
/// changing what participants' scores mean: type, metric, mode, aggregate, streak, measure and
/// the start date.
pub fn apply_fields(
    body: &Map<String, Value>,
    c: &mut Challenge,
    timezone: &str,
    today: NaiveDate,
    locked: bool,
    is_location: impl Fn(&str) -> bool,
) -> Vec<FieldError> {
    let mut r = FieldReader::new(body, "", "a challenge", FIELDS);
    let name = r.required("name", parse::text(120));
    let description = r.optional("description", parse::text(2000)).flatten();
    let kind = r.required(
        "type",
        parse::one_of::<ChallengeType>("distance, time, workouts, pr_count, consistency, team, improvement"),
    );
    let team_metric = r
        .optional("teamMetric", |v| {
            v.as_str()
                .and_then(Metric::parse_name)
                .ok_or_else(|| "must be one of distance, time, workouts, pr_count, consistency, improvement".to_owned())
        })
        .flatten();
    let mode = r.present("mode", parse::one_of::<Mode>("individual, team, location"));
    let aggregate = r.present("aggregate", parse::one_of::<Aggregate>("sum, average"));
    let streak = r.present("streak", parse::one_of::<Streak>("longest, latest"));
    let measure = r.present("measure", parse::one_of::<Measure>("vo2max, peak_power, row2k_time"));
    let target = r.optional("target", parse::number(0.1, 1e9)).flatten();
    let earliest = today - Duration::days(MAX_DAYS);
    let latest = today + Duration::days(2 * MAX_DAYS);
    let start = r.required("startDate", parse::date(earliest, latest));
    let end = r.required("endDate", parse::date(earliest, latest));
    let locations = r.present("locationIds", parse::array(50)).unwrap_or_default();
    let public = r.present("public", |v| v.as_bool().ok_or_else(|| "must be true or false".to_owned()));
    let team_size = r.optional("teamSize", parse::int(1, 1000)).flatten().map(|n| n as u32);
    let prizes = r.present("prizes", parse::array(20)).unwrap_or_default();
    let badge = r.optional("badge", parse::object).flatten();
    let workout_types = r.present("workoutTypes", parse::array(8)).unwrap_or_default();
    let exercise_ids = r.present("exerciseIds", parse::array(50)).unwrap_or_default();
    let pointer = |f: &str, i: usize| format!("/{f}/{i}");
    let mut errors = std::mem::take(&mut r.errors);

    let mut location_ids = Vec::new();
    for (i, v) in locations.iter().enumerate() {
        match v.as_str().and_then(|s| Id::parse_kind(crate::IdKind::Location, s)) {
            Some(id) if is_location(id.as_str()) => location_ids.push(id),
            Some(_) => errors.push(FieldError {
                field: pointer("locationIds", i),
                message: "is not a location of this business".into(),
            }),
            None => errors.push(FieldError {
                field: pointer("locationIds", i),
                message: "must be a location id (`loc_…`)".into(),
            }),
        }
    }
    location_ids.sort();
    location_ids.dedup();
    let mut prize_list = Vec::new();
    for (i, v) in prizes.iter().enumerate() {
        match parse_prize(v) {
            Some(p) => prize_list.push(p),
            None => errors.push(FieldError {
                field: pointer("prizes", i),
                message: "must be {place: 1–1000, toPlace?: place–1000, description: 1–200 characters}".into(),
            }),
        }
    }
    let badge = match badge {
        None => None,
        Some(b) => match serde_json::from_value::<Badge>(Value::Object(b)) {
            Ok(b)
                if !b.name.trim().is_empty()
                    && b.name.chars().count() <= 80
                    && b.description.as_ref().is_none_or(|d| !d.trim().is_empty() && d.chars().count() <= 300)
                    && b.image_url
                        .as_ref()
                        .is_none_or(|u| u.starts_with("https://") && (9..=500).contains(&u.len())) =>
            {
                Some(b)
            }
            _ => {
                errors.push(FieldError {
                    field: "/badge".into(),
                    message: "must be {name: 1–80 characters, description?: 1–300, imageUrl?: an https URL}".into(),
                });
                None
            }
        },
    };
    let mut types = Vec::new();
    for (i, v) in workout_types.iter().enumerate() {
        match serde_json::from_value::<WorkoutType>(v.clone()) {
            Ok(t) if !types.contains(&t) => types.push(t),
            Ok(_) => errors.push(FieldError { field: pointer("workoutTypes", i), message: "is listed twice".into() }),
            Err(_) => errors.push(FieldError { field: pointer("workoutTypes", i), message: "must be a workout type (strength, conditioning, endurance, mobility, mixed, class, open_gym, other)".into() }),
        }
    }
    let mut exercises = Vec::new();
    for (i, v) in exercise_ids.iter().enumerate() {
        match v.as_str() {
            Some(id) if crate::exercise::library().get(id).is_some() => exercises.push(id.to_owned()),
            _ => errors.push(FieldError {
                field: pointer("exerciseIds", i),
                message: "is not an exercise of the library (GET /exercises)".into(),
            }),
        }
    }

    let Some(kind) = kind else { return errors };
    let metric = match (kind, team_metric) {
        (ChallengeType::Team, Some(m)) => Some(m),
        (ChallengeType::Team, None) => {
            errors.push(FieldError { field: "/teamMetric".into(), message: "is required for a team challenge".into() });
            None
        }
        (_, Some(_)) => {
            errors.push(FieldError { field: "/teamMetric".into(), message: "is only for `type: team`".into() });
            None
        }
        (k, None) => Some(match k {
            ChallengeType::Distance => Metric::Distance,
            ChallengeType::Time => Metric::Time,
            ChallengeType::Workouts => Metric::Workouts,
            ChallengeType::PrCount => Metric::PrCount,
            ChallengeType::Consistency => Metric::Consistency,
            _ => Metric::Improvement,
        }),
    };
    let mode = match (kind, mode) {
        (ChallengeType::Team, None | Some(Mode::Team)) => Mode::Team,
        (ChallengeType::Team, Some(_)) => {
            errors.push(FieldError { field: "/mode".into(), message: "must be `team` for a team challenge".into() });
            Mode::Team
        }
        (_, m) => m.unwrap_or(Mode::Individual),
    };
    if aggregate.is_some() && mode == Mode::Individual {
        errors.push(FieldError { field: "/aggregate".into(), message: "is for team and location modes".into() });
    }
    if team_size.is_some() && mode != Mode::Team {
        errors.push(FieldError { field: "/teamSize".into(), message: "is for team mode".into() });
    }
    let Some(metric) = metric else { return errors };
    if streak.is_some() && metric != Metric::Consistency {
        errors.push(FieldError { field: "/streak".into(), message: "is for consistency challenges".into() });
    }
    match (metric, measure) {
        (Metric::Improvement, None) => errors.push(FieldError {
            field: "/measure".into(),
            message: "is required for an improvement challenge (vo2max, peak_power, row2k_time)".into(),
        }),
        (Metric::Improvement, Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            errors.push(FieldError { field: "/measure".into(), message: "is for improvement challenges".into() })
        }
    }
    if !exercises.is_empty() && !matches!(metric, Metric::Distance | Metric::Time) {
        errors.push(FieldError { field: "/exerciseIds".into(), message: "is for distance and time challenges".into() });
    }
    if !types.is_empty() && matches!(metric, Metric::PrCount | Metric::Improvement) {
        errors.push(FieldError { field: "/workoutTypes".into(), message: "is for challenges workouts enter".into() });
    }
    if let Some(t) = target {
        let max = match metric {
            Metric::Improvement => (MAX_IMPROVEMENT_BP / 100) as f64,
            Metric::Consistency => MAX_DAYS as f64,
            _ => f64::from(u32::MAX),
        };
        if t > max {
            errors.push(FieldError {
                field: "/target".into(),
                message: format!("must be at most {max} {}", metric.unit()),
            });
        }
    }
    let (Some(name), Some(start), Some(end)) = (name, start, end) else { return errors };
    if end < start {
        errors.push(FieldError { field: "/endDate".into(), message: "must be on or after `startDate`".into() });
    } else if (end - start).num_days() + 1 > MAX_DAYS {
        errors.push(FieldError {
            field: "/endDate".into(),
            message: format!("a challenge lasts at most {MAX_DAYS} days"),
        });
    }
    if locked {
        let same = c.challenge_type == kind
            && c.metric == metric
            && c.mode == mode
            && c.aggregate == aggregate.unwrap_or(Aggregate::Sum)
            && c.streak == streak.or((metric == Metric::Consistency).then_some(Streak::Longest))
            && c.measure == measure;
        if !same {
            errors.push(FieldError {
                field: "/type".into(),
                message: "type, teamMetric, mode, aggregate, streak and measure can't change once members have joined"
                    .into(),
            });
        }
        if c.start_date != start {
            errors.push(FieldError {
                field: "/startDate".into(),
                message: "can't change once members have joined".into(),
            });
        }
    }
    if !errors.is_empty() {
        return errors;
    }
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    c.name = name;
    c.description = description;
    c.challenge_type = kind;
    c.metric = metric;
    c.mode = mode;
    c.aggregate = aggregate.unwrap_or(Aggregate::Sum);
    c.streak = streak.or((metric == Metric::Consistency).then_some(Streak::Longest));
    c.measure = measure;
    c.target = target;
    c.start_date = start;
    c.end_date = end;
    c.timezone = timezone.to_owned();
    c.starts_at = local_midnight(tz, start);
    c.ends_at = local_midnight(tz, end + Duration::days(1));
    c.location_ids = location_ids;
    c.public = public.unwrap_or(true);
    c.team_size = team_size;
    c.prizes = prize_list;
    c.badge = badge;
    c.workout_types = types;
    c.exercise_ids = exercises;
    Vec::new()
}

/// The first instant of `day` in `tz` (the earliest, when midnight is skipped or repeated).
pub fn local_midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        // A gap at midnight (a few zones): the first hour that exists.
        None => tz
            .from_local_datetime(&(midnight + Duration::hours(1)))
            .earliest()
            .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc)),
    }
}

/// A new challenge with empty fields, to fill with [`apply_fields`].
pub fn blank(id: Id, now: DateTime<Utc>) -> Challenge {
    Challenge {
        id,
        name: String::new(),
        description: None,
        challenge_type: ChallengeType::Workouts,
        metric: Metric::Workouts,
        mode: Mode::Individual,
        aggregate: Aggregate::Sum,
        streak: None,
        measure: None,
        target: None,
        start_date: now.date_naive(),
        end_date: now.date_naive(),
        timezone: "UTC".into(),
        starts_at: now,
        ends_at: now,
        location_ids: Vec::new(),
        public: true,
        team_size: None,
        prizes: Vec::new(),
        badge: None,
        workout_types: Vec::new(),
        exercise_ids: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

/// "Anna S.": a first name and the last name's initial, never the whole name.
pub fn display_name(first: &str, last: &str) -> String {
    let first = first.trim();
    match last.trim().chars().next() {
        Some(initial) => format!("{first} {}.", initial.to_uppercase()),
        None => first.to_owned(),
    }
}

/// The shard of a member's trees and leaderboard partition: fixed by the member id.
pub fn shard_of(member: &Id) -> u8 {
    let h =
        member.as_str().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (h % u64::from(SHARDS)) as u8
}

// ---- a participant's state and score ----

/// One measurement of an improvement challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    /// The entry that carried it (`None`: the baseline taken from a test before the start).
    pub entry_id: Option<Id>,
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// What a participant's entries add up to, kept on the participant so that a correction or a
/// deletion changes the score exactly.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Sum metrics: the total, in whole units.
    #[serde(default)]
    pub total: i64,
    /// Consistency: entries per active day (day index of the window → count).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub days: BTreeMap<u16, u32>,
    /// Improvement: the measurements, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub measurements: Vec<Measurement>,
    #[serde(default)]
    pub entries: u32,
}

/// What one entry contributes to a tally.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub entry_id: Id,
    pub at: DateTime<Utc>,
    pub value: f64,
    pub day: u16,
}

impl Tally {
    pub fn add(&mut self, metric: Metric, c: &Contribution) {
        self.entries += 1;
        match metric {
            Metric::Consistency => *self.days.entry(c.day).or_default() += 1,
            Metric::Improvement => {
                self.measurements.push(Measurement { entry_id: Some(c.entry_id.clone()), at: c.at, value: c.value });
                self.measurements.sort_by(|a, b| a.at.cmp(&b.at).then(a.entry_id.cmp(&b.entry_id)));
            }
            _ => self.total += c.value.round() as i64,
        }
    }

    pub fn remove(&mut self, metric: Metric, c: &Contribution) {
        self.entries = self.entries.saturating_sub(1);
        match metric {
            Metric::Consistency => {
                if let Some(n) = self.days.get_mut(&c.day) {
                    *n -= 1;
                    if *n == 0 {
                        self.days.remove(&c.day);
                    }
                }
            }
            Metric::Improvement => self.measurements.retain(|m| m.entry_id.as_ref() != Some(&c.entry_id)),
            _ => self.total -= c.value.round() as i64,
        }
    }

    /// The participant's value in the metric's unit (`None`: nothing to rank yet, improvement
    /// only).
    pub fn value(&self, challenge: &Challenge) -> Option<f64> {
        match challenge.metric {
            Metric::Consistency => Some(streak(&self.days, challenge.streak.unwrap_or(Streak::Longest)) as f64),
            Metric::Improvement => {
                let first = self.measurements.first()?;
                let last = self.measurements.last()?;
                let higher = challenge.measure.is_none_or(Measure::higher_is_better);
                let change = if higher { last.value - first.value } else { first.value - last.value };
                let bp = (change / first.value * 10_000.0).round() as i64;
                Some(bp.clamp(-10_000, MAX_IMPROVEMENT_BP) as f64 / 100.0)
            }
            _ => Some(self.total as f64),
        }
    }
}

/// The longest run of consecutive days, or the run ending on the latest day.
pub fn streak(days: &BTreeMap<u16, u32>, kind: Streak) -> u32 {
    let (mut best, mut run, mut prev) = (0u32, 0u32, None::<u16>);
    for &d in days.keys() {
        run = if prev.is_some_and(|p| p + 1 == d) { run + 1 } else { 1 };
        best = best.max(run);
        prev = Some(d);
    }
    match kind {
        Streak::Longest => best,
        Streak::Latest => run,
    }
}

/// The ranked score of a value (see the module's "Scores").
pub fn score(metric: Metric, value: Option<f64>) -> u32 {
    match (metric, value) {
        (_, None) => 0,
        (Metric::Improvement, Some(pct)) => {
            let bp = ((pct * 100.0).round() as i64).clamp(-10_000, MAX_IMPROVEMENT_BP);
            (bp + IMPROVEMENT_BIAS) as u32
        }
        (_, Some(v)) => v.clamp(0.0, f64::from(u32::MAX)).round() as u32,
    }
}

/// The value a score stands for (the inverse of [`score`]).
pub fn value_of(metric: Metric, score: u32) -> Option<f64> {
    match metric {
        Metric::Improvement if score == 0 => None,
        Metric::Improvement => Some((i64::from(score) - IMPROVEMENT_BIAS) as f64 / 100.0),
        _ => Some(f64::from(score)),
    }
}

/// A participant's sort key on a leaderboard: score descending, then who reached it first, then
/// the member id. Fixed width, so byte order is leaderboard order.
pub fn board_sort_key(score: u32, reached_at: DateTime<Utc>, member: &Id) -> String {
    format!("{:010}#{:013}#{}", u32::MAX - score, reached_at.timestamp_millis().max(0), member.as_str())
}

/// Whether `s` has the shape of a [`board_sort_key`] (a cursor is one).
pub fn is_board_sort_key(s: &str) -> bool {
    let mut parts = s.splitn(3, '#');
    let (Some(a), Some(b), Some(c)) = (parts.next(), parts.next(), parts.next()) else { return false };
    a.len() == 10
        && a.bytes().all(|x| x.is_ascii_digit())
        && a.parse::<u64>().is_ok_and(|n| n <= u64::from(u32::MAX))
        && b.len() == 13
        && b.bytes().all(|x| x.is_ascii_digit())
        && Id::parse_kind(crate::IdKind::Athlete, c).is_some()
}

/// The score a sort key holds.
pub fn score_of_sort_key(s: &str) -> Option<u32> {
    s.get(..10)?.parse::<u32>().ok().map(|inv| u32::MAX - inv)
}

/// Competition ranks ("1224") of values sorted best first.
pub fn competition_ranks<T: PartialEq>(sorted: &[T]) -> Vec<u64> {
    let mut ranks = Vec::with_capacity(sorted.len());
    for (i, v) in sorted.iter().enumerate() {
        let rank = if i > 0 && sorted[i - 1] == *v { ranks[i - 1] } else { i as u64 + 1 };
        ranks.push(rank);
    }
    ranks
}

/// A member in a challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub challenge_id: Id,
    pub member_id: Id,
    /// "Anna S." (see [`display_name`]), fixed at join.
    pub display_name: String,
    pub team_id: Option<Id>,
    /// The member's home location at join (location boards and aggregates).
    pub location_id: Option<Id>,
    pub shard: u8,
    pub joined_at: DateTime<Utc>,
    pub tally: Tally,
    /// The ranked score ([`score`] of [`Tally::value`]).
    pub score: u32,
    /// When the score last changed (the tie-break: who got there first).
    pub reached_at: DateTime<Utc>,
    /// When the member first reached the target (`goal.achieved` fires once).
    pub goal_achieved_at: Option<DateTime<Utc>>,
    pub version: u64,
}

impl Participant {
    pub fn value(&self, challenge: &Challenge) -> Option<f64> {
        value_of(challenge.metric, self.score)
    }

    pub fn sort_key(&self) -> String {
        board_sort_key(self.score, self.reached_at, &self.member_id)
    }
}

/// A team or location aggregate's counter contribution of a value: whole units (basis points
/// for improvement), and whether it counts toward an average.
pub fn aggregate_units(metric: Metric, value: Option<f64>) -> (i64, i64) {
    match value {
        None => (0, 0),
        Some(v) if metric == Metric::Improvement => ((v * 100.0).round() as i64, 1),
        Some(v) => (v.round() as i64, 1),
    }
}

/// An aggregate's value from its counters (total units, members with a value).
pub fn aggregate_value(metric: Metric, aggregate: Aggregate, total: i64, counted: i64) -> Option<f64> {
    if counted <= 0 {
        return None;
    }
    let total = if metric == Metric::Improvement { total as f64 / 100.0 } else { total as f64 };
    Some(match aggregate {
        Aggregate::Sum => total,
        Aggregate::Average => ((total / counted as f64) * 100.0).round() / 100.0,
    })
}

/// One logged contribution to a challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub id: Id,
    pub challenge_id: Id,
    pub member_id: Id,
    /// In the metric's unit (a measurement for improvement).
    pub value: f64,
    pub occurred_at: DateTime<Utc>,
    pub source: EntrySource,
    pub source_id: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Entry {
    pub fn contribution(&self, challenge: &Challenge) -> Contribution {
        Contribution {
            entry_id: self.id.clone(),
            at: self.occurred_at,
            value: self.value,
            day: challenge.day_index(self.occurred_at).clamp(0, MAX_DAYS) as u16,
        }
    }
}

/// Checks an entry's value for the metric: its plausibility ceiling and whole units where the
/// metric counts.
pub fn check_value(metric: Metric, value: f64) -> Result<f64, String> {
    let (min, max) = metric.entry_range();
    let unit = metric.unit();
    if !value.is_finite() || value < min || value > max {
        return Err(format!("must be from {min} to {max} {unit} for a {} challenge", metric_name(metric)));
    }
    if matches!(metric, Metric::Workouts | Metric::PrCount | Metric::Consistency) && value.fract() != 0.0 {
        return Err(format!("must be a whole number of {unit}"));
    }
    Ok(if metric == Metric::Improvement { value } else { value.round() })
}

fn metric_name(metric: Metric) -> &'static str {
    match metric {
        Metric::Distance => "distance",
        Metric::Time => "time",
        Metric::Workouts => "workouts",
        Metric::PrCount => "pr_count",
        Metric::Consistency => "consistency",
        Metric::Improvement => "improvement",
    }
}

// ---- the rank tree ----

/// A node of a rank tree: its level (0 = the root) and the score bytes above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub level: u8,
    pub prefix: u32,
}

impl Node {
    /// The node at `level` on `score`'s path, and the child (byte) the path takes there.
    pub fn on_path(score: u32, level: usize) -> (Node, u8) {
        let prefix = if level == 0 { 0 } else { score >> (8 * (DEPTH - level)) };
        let digit = (score >> (8 * (DEPTH - 1 - level))) as u8;
        (Node { level: level as u8, prefix }, digit)
    }

    /// Every node on a score's path, root first.
    pub fn path(score: u32) -> [Node; DEPTH] {
        std::array::from_fn(|l| Node::on_path(score, l).0)
    }

    /// A stable name for storage keys: level and prefix in hex.
    pub fn name(&self) -> String {
        format!("{}-{:x}", self.level, self.prefix)
    }
}

/// The counter attribute of child `digit`.
pub fn counter(digit: u8) -> String {
    format!("c{digit}")
}

/// The counter changes that move a participant from `old` to `new` (`None`: not in the tree),
/// per node, with the levels both paths share left out (they cancel).
pub fn tree_deltas(old: Option<u32>, new: Option<u32>) -> Vec<(Node, Vec<(u8, i64)>)> {
    let mut by_node: BTreeMap<Node, BTreeMap<u8, i64>> = BTreeMap::new();
    for (score, delta) in [(old, -1i64), (new, 1)] {
        let Some(score) = score else { continue };
        for level in 0..DEPTH {
            let (node, digit) = Node::on_path(score, level);
            *by_node.entry(node).or_default().entry(digit).or_default() += delta;
        }
    }
    by_node
        .into_iter()
        .filter_map(|(node, digits)| {
            let changes: Vec<(u8, i64)> = digits.into_iter().filter(|(_, d)| *d != 0).collect();
            (!changes.is_empty()).then_some((node, changes))
        })
        .collect()
}

/// Counters of one node as read (child byte → count); absent nodes are empty.
pub type Counts = BTreeMap<u8, i64>;

/// How many participants score above `score` and exactly `score`, from the nodes on its path
/// (`nodes[level]`), in one tree.
pub fn count_around(score: u32, nodes: &[Counts; DEPTH]) -> (u64, u64) {
    let mut above = 0i64;
    for (level, counts) in nodes.iter().enumerate() {
        let (_, digit) = Node::on_path(score, level);
        above += counts.range(digit.saturating_add(1)..).filter(|(d, _)| **d > digit).map(|(_, n)| *n).sum::<i64>();
    }
    let (_, last) = Node::on_path(score, DEPTH - 1);
    let equal = nodes[DEPTH - 1].get(&last).copied().unwrap_or(0);
    (above.max(0) as u64, equal.max(0) as u64)
}

/// Participants in a tree: the root's counters summed.
pub fn tree_total(root: &Counts) -> u64 {
    root.values().sum::<i64>().max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Tree(HashMap<Node, Counts>);

    impl Tree {
        fn apply(&mut self, old: Option<u32>, new: Option<u32>) {
            for (node, changes) in tree_deltas(old, new) {
                let counts = self.0.entry(node).or_default();
                for (d, n) in changes {
                    *counts.entry(d).or_default() += n;
                }
            }
        }
        fn around(&self, score: u32) -> (u64, u64) {
            let nodes: [Counts; DEPTH] = Node::path(score).map(|n| self.0.get(&n).cloned().unwrap_or_default());
            count_around(score, &nodes)
        }
    }

    fn scores() -> impl Strategy<Value = u32> {
        prop_oneof![0u32..20, 0u32..70_000, any::<u32>()]
    }

    proptest! {
        /// After any sequence of joins, moves and leaves, the tree's counts equal a brute-force
        /// count over every participant's current score.
        #[test]
        fn tree_counts_match_brute_force(moves in proptest::collection::vec((0usize..30, proptest::option::of(scores())), 1..200), probes in proptest::collection::vec(scores(), 1..20)) {
            let mut tree = Tree::default();
            let mut current: HashMap<usize, u32> = HashMap::new();
            for (who, new) in moves {
                let old = current.get(&who).copied();
                tree.apply(old, new);
                match new { Some(s) => current.insert(who, s), None => current.remove(&who) };
            }
            let all: Vec<u32> = current.values().copied().collect();
            for probe in probes.into_iter().chain(all.iter().copied()) {
                let above = all.iter().filter(|s| **s > probe).count() as u64;
                let equal = all.iter().filter(|s| **s == probe).count() as u64;
                prop_assert_eq!(tree.around(probe), (above, equal));
            }
            let root = tree.0.get(&Node { level: 0, prefix: 0 }).cloned().unwrap_or_default();
            prop_assert_eq!(tree_total(&root), all.len() as u64);
        }

        /// Sort keys order like (score desc, reached asc, id asc) and score survives the round trip.
        #[test]
        fn sort_keys_order_the_leaderboard(a in any::<u32>(), b in any::<u32>(), ta in 0i64..4_000_000_000_000, tb in 0i64..4_000_000_000_000) {
            let id = Id::from_parts(crate::IdKind::Athlete, 1, [1; 10]);
            let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
            let (ka, kb) = (board_sort_key(a, at(ta), &id), board_sort_key(b, at(tb), &id));
            prop_assert!(is_board_sort_key(&ka));
            prop_assert_eq!(score_of_sort_key(&ka), Some(a));
            let expected = b.cmp(&a).then(ta.cmp(&tb));
            prop_assert_eq!(ka.cmp(&kb), expected);
        }
    }

    #[test]
    fn a_move_within_one_leaf_writes_one_node() {
        let deltas = tree_deltas(Some(1000), Some(1001));
        assert_eq!(deltas.len(), 1, "{deltas:?}");
        assert_eq!(deltas[0].1, vec![(0xe8, -1), (0xe9, 1)]);
        assert_eq!(tree_deltas(Some(5), Some(5)), vec![]);
        assert_eq!(tree_deltas(None, Some(0)).len(), DEPTH);
    }

    #[test]
    fn competition_ranking_shares_ranks() {
        assert_eq!(competition_ranks(&[9, 7, 7, 5, 5, 5, 1]), vec![1, 2, 2, 4, 4, 4, 7]);
    }

    #[test]
    fn streaks_and_improvement() {
        let days: BTreeMap<u16, u32> = [0, 1, 2, 5, 6, 9].into_iter().map(|d| (d, 1)).collect();
        assert_eq!(streak(&days, Streak::Longest), 3);
        assert_eq!(streak(&days, Streak::Latest), 1);
        assert_eq!(score(Metric::Improvement, None), 0);
        assert_eq!(score(Metric::Improvement, Some(-100.0)), 1);
        assert_eq!(value_of(Metric::Improvement, score(Metric::Improvement, Some(12.34))), Some(12.34));
        assert_eq!(display_name("anna", "smith"), "anna S.");
        assert_eq!(display_name("Bo", " "), "Bo");
    }
}
