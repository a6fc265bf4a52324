//! The workout of the day: a deterministic generator that fits a session to a member's readiness,
//! recent training, active injuries, the equipment at the location (minus what the member
//! declines), the local time of day, the requested duration and focus. Every choice carries its
//! reason. The rules are documented in `docs/WOD.md`.
//!
//! Pure: the same inputs give the same workout (kiosk and app agree); the seed is derived from
//! the inputs, so any change to them (a new injury, a readiness entry, a logged workout) can
//! change the workout.

use crate::athlete::Sex;
use crate::equipment::{Available, EquipmentType};
use crate::exercise::{Exercise, Level, LoadTag, MuscleGroup, Pattern, Role, Unit, library};
use crate::id::Id;
use crate::injury::{Injury, conflict};
use crate::readiness::ReadinessBand;
use crate::workout::Workout;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Focus {
    Strength,
    Conditioning,
    Endurance,
    Mobility,
    Mixed,
}

impl Focus {
    pub fn as_str(self) -> &'static str {
        match self {
            Focus::Strength => "strength",
            Focus::Conditioning => "conditioning",
            Focus::Endurance => "endurance",
            Focus::Mobility => "mobility",
            Focus::Mixed => "mixed",
        }
    }

    pub fn parse(s: &str) -> Option<Focus> {
        [Focus::Strength, Focus::Conditioning, Focus::Endurance, Focus::Mobility, Focus::Mixed]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Intensity {
    Low,
    Moderate,
    High,
}

impl Intensity {
    fn easier(self) -> Intensity {
        match self {
            Intensity::High => Intensity::Moderate,
            _ => Intensity::Low,
        }
    }
    fn factor(self) -> f64 {
        match self {
            Intensity::High => 1.0,
            Intensity::Moderate => 0.85,
            Intensity::Low => 0.7,
        }
    }
    fn target_rpe(self) -> u8 {
        match self {
            Intensity::High => 8,
            Intensity::Moderate => 7,
            Intensity::Low => 5,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Intensity::High => "high",
            Intensity::Moderate => "moderate",
            Intensity::Low => "low",
        }
    }
}

/// The member's level, as loads and reps are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    Beginner,
    Scaled,
    Rx,
}

impl Scaling {
    fn allows(self, level: Level) -> bool {
        match self {
            Scaling::Beginner => level == Level::Beginner,
            Scaling::Scaled => level != Level::Expert,
            Scaling::Rx => true,
        }
    }
    fn factor(self) -> f64 {
        match self {
            Scaling::Rx => 1.0,
            Scaling::Scaled => 0.8,
            Scaling::Beginner => 0.6,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Scaling::Rx => "rx",
            Scaling::Scaled => "scaled",
            Scaling::Beginner => "beginner",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WodKind {
    Workout,
    /// A mobility / recovery session instead of training.
    Mobility,
    /// Rest today (with an optional short recovery flow).
    Rest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Amrap,
    Emom,
    ForTime,
    Intervals,
    StrengthSets,
    Steady,
    Flow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Prescribed {
    pub exercise_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sets: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reps: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calories: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_kg: Option<f64>,
    pub equipment: Vec<EquipmentType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Block {
    /// `warmup`, `strength`, `conditioning`, `endurance`, `mobility`, `cooldown`, `recovery`.
    pub part: String,
    pub format: Format,
    pub minutes: u32,
    /// How to run it, e.g. `AMRAP 14 min`, `Every 3:00 × 5 sets`, `5 × (4:00 on / 2:00 off)`.
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_s: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest_s: Option<u32>,
    pub target_rpe: u8,
    pub movements: Vec<Prescribed>,
}

/// A movement swapped because an injury forbids one of its loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Substitution {
    pub from: String,
    /// `None` when nothing fitting was found and the movement was dropped.
    pub to: Option<String>,
    /// `knee, moderate`.
    pub injury: String,
    pub forbidden_tag: LoadTag,
    /// `knee, moderate: Front Box Jump → Box Step-Up (avoids impact)`.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alternative {
    pub exercise_id: String,
    /// Other movements that fit the same slot under the same rules.
    pub options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EquipmentUse {
    #[serde(rename = "type")]
    pub kind: EquipmentType,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights_kg: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Wod {
    pub kind: WodKind,
    pub title: String,
    /// The member's day at the location.
    pub date: NaiveDate,
    pub focus: Focus,
    pub intensity: Intensity,
    pub scaling: Scaling,
    pub requested_minutes: u32,
    pub estimated_minutes: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest_reason: Option<String>,
    pub blocks: Vec<Block>,
    pub equipment: Vec<EquipmentUse>,
    pub substitutions: Vec<Substitution>,
    pub alternatives: Vec<Alternative>,
    /// Why each choice was made, in order.
    pub reasons: Vec<String>,
    /// Same inputs, same fingerprint: how kiosk and app know they show the same workout.
    pub fingerprint: String,
}

/// Readiness the generator knows of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadinessSignal {
    pub score: f64,
    /// Days before the workout's day (0 = today).
    pub days_ago: i64,
}

pub struct WodInput<'a> {
    pub member_id: &'a Id,
    pub sex: Sex,
    pub now: DateTime<Utc>,
    /// `now` on the location's clock.
    pub local_now: NaiveDateTime,
    pub duration_min: u32,
    pub focus: Option<Focus>,
    /// The latest readiness entry of the last 3 days, if any.
    pub readiness: Option<ReadinessSignal>,
    /// The member's workouts of (at least) the last 28 days; older ones are ignored.
    pub history: &'a [Workout],
    /// Every injury of the member; only those active today count.
    pub injuries: &'a [Injury],
    /// The location's equipment minus what the member declined.
    pub available: &'a Available,
    pub preferred: &'a BTreeSet<EquipmentType>,
}

pub const MIN_MINUTES: u32 = 10;
pub const MAX_MINUTES: u32 = 90;
pub const DEFAULT_MINUTES: u32 = 45;
/// Readiness at or under this today means rest.
pub const REST_READINESS: f64 = 3.0;
/// This many hard days in a row, ending yesterday, means rest.
pub const REST_AFTER_HARD_DAYS: u32 = 3;
/// Residual load over this marks a muscle group unrecovered.
pub const UNRECOVERED_LOAD: f64 = 250.0;
/// Residual load halves every this many hours.
pub const RECOVERY_HALF_LIFE_H: f64 = 36.0;
pub const ACWR_DANGER: f64 = 1.5;

/// What the generator concluded from the history and readiness, before choosing movements.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub date: NaiveDate,
    pub hard_streak: u32,
    pub acwr: Option<f64>,
    pub residual: BTreeMap<MuscleGroup, f64>,
    pub unrecovered: BTreeSet<MuscleGroup>,
    pub workouts_90d: usize,
    pub scaling: Scaling,
    pub rest_reason: Option<String>,
}

fn local_date(w: &Workout, offset: Duration) -> NaiveDate {
    (w.started_at.naive_utc() + offset).date()
}

/// Reads the signals: hard-day streak, acute:chronic load, per-group residual load, level, rest.
pub fn assess(input: &WodInput<'_>) -> Assessment {
    let offset = input.local_now - input.now.naive_utc();
    let date = input.local_now.date();
    let mut daily: BTreeMap<i64, u32> = BTreeMap::new();
    let mut hard_days: BTreeSet<i64> = BTreeSet::new();
    let mut residual: BTreeMap<MuscleGroup, f64> = MuscleGroup::ALL.iter().map(|g| (*g, 0.0)).collect();
    let mut workouts_90d = 0;
    for w in input.history.iter().filter(|w| w.started_at <= input.now) {
        let days_ago = (date - local_date(w, offset)).num_days();
        if days_ago < 90 {
            workouts_90d += 1;
        }
        if days_ago < 28 {
            *daily.entry(days_ago).or_default() += w.session_load;
            if w.is_hard() {
                hard_days.insert(days_ago);
            }
        }
        let hours = (input.now - w.started_at).num_minutes() as f64 / 60.0;
        if hours < 96.0 && !w.muscle_groups.is_empty() {
            let share = f64::from(w.session_load) / w.muscle_groups.len() as f64;
            for g in &w.muscle_groups {
                *residual.entry(*g).or_default() += share * 0.5f64.powf(hours / RECOVERY_HALF_LIFE_H);
            }
        }
    }
    let mut hard_streak = 0;
    while hard_days.contains(&(i64::from(hard_streak) + 1)) {
        hard_streak += 1;
    }
    // EWMA (Williams et al. 2017) over the last 28 days, oldest first, up to and including today.
    let (la, lc) = (2.0 / 8.0, 2.0 / 29.0);
    let (mut acute, mut chronic) = (0.0f64, 0.0f64);
    for days_ago in (0..28).rev() {
        let load = f64::from(daily.get(&days_ago).copied().unwrap_or(0));
        acute = load * la + acute * (1.0 - la);
        chronic = load * lc + chronic * (1.0 - lc);
    }
    let acwr = (chronic >= 30.0).then(|| (acute / chronic * 100.0).round() / 100.0);
    let unrecovered = residual.iter().filter(|(_, v)| **v >= UNRECOVERED_LOAD).map(|(g, _)| *g).collect();
    let scaling = if workouts_90d < 8 {
        Scaling::Beginner
    } else if workouts_90d < 30 {
        Scaling::Scaled
    } else {
        Scaling::Rx
    };
    let rest_reason = match input.readiness {
        Some(r) if r.days_ago == 0 && r.score <= REST_READINESS => {
            Some(format!("readiness {:.1}/10 today (at or under {REST_READINESS}): rest and recover", r.score))
        }
        _ if hard_streak >= REST_AFTER_HARD_DAYS => {
            Some(format!("{hard_streak} hard days in a row: a rest day now lets the training count"))
        }
        _ => None,
    };
    Assessment { date, hard_streak, acwr, residual, unrecovered, workouts_90d, scaling, rest_reason }
}

/// SplitMix64: a small deterministic generator (stable across platforms and crate versions).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn time_of_day(hour: u32) -> &'static str {
    match hour {
        0..=10 => "morning",
        11..=16 => "midday",
        _ => "evening",
    }
}

fn fingerprint(input: &WodInput<'_>, date: NaiveDate) -> u64 {
    let mut s = format!(
        "{}|{}|{}|{:?}|{}|{:?}|",
        input.member_id,
        date,
        input.duration_min,
        input.focus,
        time_of_day(input.local_now.hour()),
        input.readiness.map(|r| (r.score, r.days_ago))
    );
    let mut injuries: Vec<String> = input
        .injuries
        .iter()
        .filter(|i| i.is_active_on(date))
        .map(|i| format!("{}:{:?}:{:?}", i.id, i.body_area, i.severity))
        .collect();
    injuries.sort();
    s.push_str(&injuries.join(","));
    for item in &input.available.items {
        s.push_str(&format!("|{}:{}:{:?}", item.kind.as_str(), item.count, item.all_weights()));
    }
    s.push_str(&format!("|{:?}|", input.preferred));
    let mut recent: Vec<String> = input
        .history
        .iter()
        .filter(|w| w.started_at <= input.now && (input.now - w.started_at).num_days() < 28)
        .map(|w| format!("{}:{}", w.id, w.session_load))
        .collect();
    recent.sort();
    s.push_str(&recent.join(","));
    fnv1a(s.as_bytes())
}

/// Movement slots of a piece of training, each a set of patterns and the group it loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Legs,
    Hinge,
    Push,
    Pull,
    Engine,
    Core,
}

impl Slot {
    fn patterns(self) -> &'static [Pattern] {
        match self {
            Slot::Legs => &[Pattern::Squat, Pattern::Lunge, Pattern::Plyometric],
            Slot::Hinge => &[Pattern::Hinge, Pattern::Olympic],
            Slot::Push => &[Pattern::PushHorizontal, Pattern::PushVertical],
            Slot::Pull => &[Pattern::PullVertical, Pattern::PullHorizontal],
            Slot::Engine => &[Pattern::Monostructural],
            Slot::Core => &[Pattern::Core, Pattern::Rotation, Pattern::Carry],
        }
    }
    fn group(self) -> Option<MuscleGroup> {
        match self {
            Slot::Legs | Slot::Hinge => Some(MuscleGroup::Legs),
            Slot::Push => Some(MuscleGroup::Push),
            Slot::Pull => Some(MuscleGroup::Pull),
            Slot::Core => Some(MuscleGroup::Core),
            Slot::Engine => None,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Slot::Legs => "squat / lunge",
            Slot::Hinge => "hinge",
            Slot::Push => "push",
            Slot::Pull => "pull",
            Slot::Engine => "engine",
            Slot::Core => "core",
        }
    }
}

struct Chooser<'a> {
    input: &'a WodInput<'a>,
    injuries: Vec<Injury>,
    scaling: Scaling,
    rng: Rng,
    used: BTreeSet<String>,
    substitutions: Vec<Substitution>,
    alternatives: Vec<Alternative>,
    reasons: Vec<String>,
}

impl<'a> Chooser<'a> {
    /// Whether the member may do `e` here (equipment and level), injuries aside.
    fn possible(&self, e: &Exercise, role: Role) -> bool {
        e.fits(role)
            && self.scaling.allows(e.level)
            && self.input.available.has_all(&e.equipment)
            && !self.used.contains(&e.id)
    }

    fn allowed(&self, e: &Exercise, role: Role) -> bool {
        self.possible(e, role) && conflict(e, &self.injuries).is_none()
    }

    fn pool(&self, patterns: &[Pattern], role: Role) -> Vec<&'static Exercise> {
        let all: Vec<&'static Exercise> =
            library().exercises.iter().filter(|e| patterns.contains(&e.pattern) && self.possible(e, role)).collect();
        let preferred: Vec<&'static Exercise> =
            all.iter().copied().filter(|e| e.equipment.iter().any(|k| self.input.preferred.contains(k))).collect();
        if preferred.is_empty() { all } else { preferred }
    }

    /// Picks a movement for a slot: the natural choice, or its substitution when an injury forbids it.
    fn pick(&mut self, patterns: &[Pattern], role: Role, avoid: &[LoadTag]) -> Option<&'static Exercise> {
        let pool: Vec<&'static Exercise> =
            self.pool(patterns, role).into_iter().filter(|e| !avoid.iter().any(|t| e.has_tag(*t))).collect();
        if pool.is_empty() {
            return None;
        }
        let natural = pool[self.rng.below(pool.len())];
        let chosen = match conflict(natural, &self.injuries) {
            None => Some(natural),
            Some((injury, tag)) => {
                let lib = library();
                let declared = natural
                    .scaled
                    .iter()
                    .chain(&natural.beginner)
                    .chain(&natural.alternatives)
                    .filter_map(|id| lib.get(id))
                    .find(|e| self.allowed(e, role) && !avoid.iter().any(|t| e.has_tag(*t)));
                let sub = declared.or_else(|| {
                    let mut others: Vec<&'static Exercise> = lib
                        .exercises
                        .iter()
                        .filter(|e| {
                            patterns.contains(&e.pattern)
                                && self.allowed(e, role)
                                && !avoid.iter().any(|t| e.has_tag(*t))
                        })
                        .collect();
                    others.sort_by_key(|e| {
                        (e.pattern != natural.pattern, e.tags.iter().filter(|t| !natural.tags.contains(t)).count())
                    });
                    others.first().copied()
                });
                if role == Role::Main || sub.is_none() {
                    let label = injury.label();
                    let detail = match sub {
                        Some(s) => format!("{label}: {} → {} (avoids {})", natural.name, s.name, tag.as_str()),
                        None => {
                            format!("{label}: {} left out (avoids {}; nothing else fits)", natural.name, tag.as_str())
                        }
                    };
                    self.substitutions.push(Substitution {
                        from: natural.id.clone(),
                        to: sub.map(|s| s.id.clone()),
                        injury: label,
                        forbidden_tag: tag,
                        detail,
                    });
                }
                sub
            }
        };
        if let Some(c) = chosen {
            self.used.insert(c.id.clone());
            if role == Role::Main {
                let options: Vec<String> = library()
                    .exercises
                    .iter()
                    .filter(|e| e.id != c.id && patterns.contains(&e.pattern) && self.allowed(e, role))
                    .take(3)
                    .map(|e| e.id.clone())
                    .collect();
                if !options.is_empty() {
                    self.alternatives.push(Alternative { exercise_id: c.id.clone(), options });
                }
            }
        }
        chosen
    }
}

fn snap_down(weights: &[f64], target: f64) -> Option<f64> {
    if weights.is_empty() {
        return None;
    }
    weights.iter().copied().rfind(|w| *w <= target + 1e-9).or_else(|| weights.first().copied())
}

fn load_for(
    e: &Exercise,
    scaling: Scaling,
    sex: Sex,
    intensity: Intensity,
    metcon: bool,
    available: &Available,
) -> Option<f64> {
    let female = sex == Sex::Female;
    let pick = |rx: (f64, f64), scaled: (f64, f64), beginner: (f64, f64)| {
        let t = match scaling {
            Scaling::Rx => rx,
            Scaling::Scaled => scaled,
            Scaling::Beginner => beginner,
        };
        if female { t.1 } else { t.0 }
    };
    if e.equipment.contains(&EquipmentType::Barbell) {
        let base = match e.pattern {
            Pattern::Hinge => pick((100.0, 70.0), (70.0, 50.0), (40.0, 30.0)),
            Pattern::Squat | Pattern::Lunge => pick((80.0, 55.0), (55.0, 40.0), (30.0, 20.0)),
            Pattern::Olympic => pick((60.0, 40.0), (42.5, 30.0), (25.0, 17.5)),
            Pattern::PushHorizontal => pick((70.0, 45.0), (50.0, 32.5), (30.0, 20.0)),
            Pattern::PushVertical => pick((45.0, 30.0), (35.0, 22.5), (22.5, 15.0)),
            _ => pick((50.0, 35.0), (40.0, 25.0), (25.0, 15.0)),
        };
        let lunge = if e.pattern == Pattern::Lunge { 0.6 } else { 1.0 };
        let target = base * intensity.factor() * lunge * if metcon { 0.7 } else { 1.0 };
        let bar =
            available.weights(EquipmentType::Barbell).first().copied().unwrap_or(if female { 15.0 } else { 20.0 });
        let max = available.max_barbell_kg().unwrap_or(bar);
        let kg = ((target / 2.5).floor() * 2.5).max(bar).min(max);
        return Some(kg);
    }
    for (kind, table) in [
        (EquipmentType::Kettlebell, ((24.0, 16.0), (16.0, 12.0), (12.0, 8.0))),
        (EquipmentType::Dumbbell, ((22.5, 15.0), (15.0, 10.0), (10.0, 5.0))),
        (EquipmentType::MedicineBall, ((9.0, 6.0), (6.0, 4.0), (4.0, 3.0))),
    ] {
        if e.equipment.contains(&kind) {
            let target = pick(table.0, table.1, table.2) * if intensity == Intensity::Low { 0.8 } else { 1.0 };
            let weights = available.weights(kind);
            return snap_down(&weights, target).or(Some(target));
        }
    }
    None
}

fn base_reps(p: Pattern) -> f64 {
    match p {
        Pattern::Squat => 15.0,
        Pattern::Lunge => 12.0,
        Pattern::Hinge => 15.0,
        Pattern::PushHorizontal => 10.0,
        Pattern::PushVertical => 10.0,
        Pattern::PullVertical => 8.0,
        Pattern::PullHorizontal => 12.0,
        Pattern::Olympic => 6.0,
        Pattern::Plyometric => 10.0,
        Pattern::Core => 15.0,
        Pattern::Rotation => 20.0,
        _ => 10.0,
    }
}

fn prescribe(e: &Exercise, ch: &Chooser<'_>, intensity: Intensity, share: f64, metcon: bool) -> Prescribed {
    let f = ch.scaling.factor() * intensity.factor() * share;
    let mut p = Prescribed {
        exercise_id: e.id.clone(),
        name: e.name.clone(),
        sets: None,
        reps: None,
        calories: None,
        distance_m: None,
        duration_s: None,
        load_kg: None,
        equipment: e.equipment.clone(),
    };
    match e.unit {
        Unit::Reps => p.reps = Some((base_reps(e.pattern) * f).round().max(3.0) as u32),
        Unit::Calories => p.calories = Some((14.0 * f).round().max(4.0) as u32),
        Unit::Meters => p.distance_m = Some(((400.0 * f / 50.0).round() * 50.0).max(50.0) as u32),
        Unit::Seconds => p.duration_s = Some(((45.0 * f / 5.0).round() * 5.0).max(15.0) as u32),
    }
    p.load_kg = load_for(e, ch.scaling, ch.input.sex, intensity, metcon, ch.input.available);
    p
}

fn flow(part: &str, minutes: u32, movements: Vec<Prescribed>, rounds: u32) -> Block {
    Block {
        part: part.into(),
        format: Format::Flow,
        minutes,
        scheme: format!("{rounds} easy round{} in {minutes} min", if rounds == 1 { "" } else { "s" }),
        rounds: Some(rounds),
        work_s: None,
        rest_s: None,
        target_rpe: 3,
        movements,
    }
}

fn hold(e: &Exercise, seconds: u32) -> Prescribed {
    Prescribed {
        exercise_id: e.id.clone(),
        name: e.name.clone(),
        sets: None,
        reps: None,
        calories: None,
        distance_m: None,
        duration_s: Some(seconds),
        load_kg: None,
        equipment: e.equipment.clone(),
    }
}

fn mobility_block(ch: &mut Chooser<'_>, part: &str, minutes: u32, role: Role) -> Block {
    let n = (minutes as usize).clamp(2, 8);
    let mut moves = Vec::new();
    for _ in 0..n {
        if let Some(e) = ch.pick(&[Pattern::Mobility], role, &[]) {
            moves.push(hold(e, 45));
        }
    }
    let per_round = moves.len().max(1) as u32 * 60;
    let rounds = (minutes * 60 / per_round).max(1);
    flow(part, minutes, moves, rounds)
}

fn warmup(ch: &mut Chooser<'_>, minutes: u32) -> Block {
    let mut moves = Vec::new();
    if let Some(e) = ch.pick(&[Pattern::Monostructural], Role::Warmup, &[LoadTag::Impact]) {
        let mut p = prescribe(e, ch, Intensity::Low, 0.5, false);
        p.load_kg = None;
        moves.push(p);
    }
    for _ in 0..2 {
        if let Some(e) = ch.pick(&[Pattern::Mobility], Role::Warmup, &[]) {
            moves.push(hold(e, 30));
        }
    }
    if let Some(e) = ch.pick(
        &[Pattern::Squat, Pattern::PushHorizontal, Pattern::PullHorizontal, Pattern::Core, Pattern::Hinge],
        Role::Warmup,
        &[],
    ) {
        let mut p = prescribe(e, ch, Intensity::Low, 0.6, false);
        p.load_kg = None;
        moves.push(p);
    }
    let rounds = if minutes >= 6 { 2 } else { 1 };
    flow("warmup", minutes, moves, rounds)
}

fn slots_for(ch: &mut Chooser<'_>, n: usize, unrecovered: &BTreeSet<MuscleGroup>, morning: bool) -> Vec<Slot> {
    let mut order = vec![Slot::Legs, Slot::Pull, Slot::Push, Slot::Hinge, Slot::Engine, Slot::Core];
    let k = ch.rng.below(order.len());
    order.rotate_left(k);
    if morning {
        // Mornings lean energising: an engine piece first.
        order.retain(|s| *s != Slot::Engine);
        order.insert(0, Slot::Engine);
    }
    let fresh: Vec<Slot> =
        order.iter().copied().filter(|s| s.group().is_none_or(|g| !unrecovered.contains(&g))).collect();
    let mut slots: Vec<Slot> = fresh.into_iter().take(n).collect();
    if slots.len() < n {
        let missing: Vec<Slot> = order.iter().copied().filter(|s| !slots.contains(s)).take(n - slots.len()).collect();
        slots.extend(missing);
    }
    slots
}

fn metcon(
    ch: &mut Chooser<'_>,
    part: &str,
    minutes: u32,
    intensity: Intensity,
    slots: &[Slot],
    morning: bool,
) -> Option<Block> {
    let mut picks = Vec::new();
    for s in slots {
        let avoid: &[LoadTag] = if intensity == Intensity::Low { &[LoadTag::Impact] } else { &[] };
        match ch.pick(s.patterns(), Role::Main, avoid) {
            Some(e) => picks.push(e),
            None => ch.reasons.push(format!("no {} movement fits here today: left out", s.name())),
        }
    }
    if picks.is_empty() {
        return None;
    }
    let formats = if morning {
        [Format::Emom, Format::Amrap, Format::Emom]
    } else {
        [Format::Amrap, Format::ForTime, Format::Emom]
    };
    let format = formats[ch.rng.below(formats.len())];
    let target_rpe = intensity.target_rpe();
    Some(match format {
        Format::Emom => {
            let share = 0.5;
            let movements: Vec<Prescribed> = picks.iter().map(|e| prescribe(e, ch, intensity, share, true)).collect();
            let n = movements.len() as u32;
            let rounds = (minutes / n).max(1);
            Block {
                part: part.into(),
                format,
                minutes,
                scheme: format!("EMOM {minutes} min: rotate the {n} movements, one each minute"),
                rounds: Some(rounds),
                work_s: Some(60),
                rest_s: None,
                target_rpe,
                movements,
            }
        }
        Format::ForTime => {
            let rounds = (minutes / 4).clamp(2, 8);
            let movements: Vec<Prescribed> = picks.iter().map(|e| prescribe(e, ch, intensity, 1.0, true)).collect();
            Block {
                part: part.into(),
                format,
                minutes,
                scheme: format!("{rounds} rounds for time, cap {minutes} min"),
                rounds: Some(rounds),
                work_s: None,
                rest_s: None,
                target_rpe,
                movements,
            }
        }
        _ => {
            let movements: Vec<Prescribed> = picks.iter().map(|e| prescribe(e, ch, intensity, 1.0, true)).collect();
            Block {
                part: part.into(),
                format: Format::Amrap,
                minutes,
                scheme: format!("AMRAP {minutes} min: as many rounds as possible"),
                rounds: None,
                work_s: None,
                rest_s: None,
                target_rpe,
                movements,
            }
        }
    })
}

fn strength(
    ch: &mut Chooser<'_>,
    minutes: u32,
    intensity: Intensity,
    unrecovered: &BTreeSet<MuscleGroup>,
) -> Option<Block> {
    let mut slots = [Slot::Legs, Slot::Hinge, Slot::Push, Slot::Pull];
    let k = ch.rng.below(slots.len());
    slots.rotate_left(k);
    let slot = slots.iter().copied().find(|s| s.group().is_none_or(|g| !unrecovered.contains(&g))).unwrap_or(slots[0]);
    let patterns: Vec<Pattern> = slot.patterns().iter().copied().filter(|p| *p != Pattern::Plyometric).collect();
    let e = ch.pick(&patterns, Role::Main, &[LoadTag::Impact])?;
    let sets = (minutes / 3).max(1);
    let reps = match intensity {
        Intensity::High => 3,
        Intensity::Moderate => 5,
        Intensity::Low => 8,
    };
    let mut p = prescribe(e, ch, intensity, 1.0, false);
    // Bodyweight strength and beginners work in higher reps.
    let reps = if p.load_kg.is_none() {
        reps * 2 + 4
    } else if ch.scaling == Scaling::Beginner {
        reps.max(8)
    } else {
        reps
    };
    p.sets = Some(sets);
    if e.unit == Unit::Reps {
        p.reps = Some(reps);
    }
    Some(Block {
        part: "strength".into(),
        format: Format::StrengthSets,
        minutes: sets * 3,
        scheme: format!("Every 3:00 × {sets} sets of {reps}, building to RPE {}", intensity.target_rpe()),
        rounds: Some(sets),
        work_s: None,
        rest_s: Some(120),
        target_rpe: intensity.target_rpe(),
        movements: vec![p],
    })
}

fn endurance(ch: &mut Chooser<'_>, minutes: u32, intensity: Intensity) -> Option<Block> {
    let avoid: &[LoadTag] = if intensity == Intensity::Low { &[LoadTag::Impact] } else { &[] };
    let e = ch
        .pick(&[Pattern::Monostructural], Role::Main, avoid)
        .or_else(|| ch.pick(&[Pattern::Plyometric, Pattern::Lunge], Role::Main, avoid))?;
    let (work, rest) = match intensity {
        Intensity::High => (4u32, 2u32),
        Intensity::Moderate => (5, 1),
        Intensity::Low => (minutes, 0),
    };
    let cycle = work + rest;
    let mut p = prescribe(e, ch, intensity, 1.0, false);
    p.reps = None;
    p.calories = None;
    p.distance_m = None;
    p.load_kg = None;
    if rest == 0 || minutes < cycle * 2 {
        p.duration_s = Some(minutes * 60);
        return Some(Block {
            part: "endurance".into(),
            format: Format::Steady,
            minutes,
            scheme: format!("{minutes} min steady, conversational pace (RPE {})", intensity.target_rpe().min(6)),
            rounds: None,
            work_s: Some(minutes * 60),
            rest_s: None,
            target_rpe: intensity.target_rpe().min(6),
            movements: vec![p],
        });
    }
    let rounds = minutes / cycle;
    p.duration_s = Some(work * 60);
    Some(Block {
        part: "endurance".into(),
        format: Format::Intervals,
        minutes: rounds * cycle,
        scheme: format!("{rounds} × ({work}:00 on / {rest}:00 easy)"),
        rounds: Some(rounds),
        work_s: Some(work * 60),
        rest_s: Some(rest * 60),
        target_rpe: intensity.target_rpe(),
        movements: vec![p],
    })
}

fn cooldown(ch: &mut Chooser<'_>, minutes: u32) -> Block {
    mobility_block(ch, "cooldown", minutes, Role::Cooldown)
}

/// Generates the workout of the day.
pub fn generate(input: &WodInput<'_>) -> Wod {
    let assessment = assess(input);
    let date = assessment.date;
    let seed = fingerprint(input, date);
    let duration = input.duration_min.clamp(MIN_MINUTES, MAX_MINUTES);
    let injuries: Vec<Injury> = input.injuries.iter().filter(|i| i.is_active_on(date)).cloned().collect();
    let mut ch = Chooser {
        input,
        injuries,
        scaling: assessment.scaling,
        rng: Rng(seed),
        used: BTreeSet::new(),
        substitutions: Vec::new(),
        alternatives: Vec::new(),
        reasons: Vec::new(),
    };
    let hour = input.local_now.hour();
    let morning = hour < 11;
    let evening = hour >= 19;
    let mut reasons = Vec::new();
    reasons.push(format!(
        "level {}: {} workouts in the last 90 days",
        assessment.scaling.as_str(),
        assessment.workouts_90d
    ));
    for i in &ch.injuries {
        let tags: Vec<&str> = i.forbidden().iter().map(|t| t.as_str()).collect();
        reasons.push(format!("{} injury: no {}", i.label(), tags.join(", ")));
    }

    // Intensity from readiness (today's, else recent), then the soft signals.
    let mut intensity = match input.readiness {
        Some(r) if r.days_ago == 0 => {
            let band = ReadinessBand::of(r.score);
            reasons.push(format!("readiness {:.1}/10 today ({band:?})", r.score).to_lowercase());
            match band {
                ReadinessBand::High => Intensity::High,
                ReadinessBand::Moderate => Intensity::Moderate,
                ReadinessBand::Low => Intensity::Low,
            }
        }
        Some(r) => {
            reasons.push(format!("no readiness entry today: using the {:.1}/10 of {} day(s) ago", r.score, r.days_ago));
            if r.score >= 7.0 {
                Intensity::High
            } else if r.score >= 4.0 {
                Intensity::Moderate
            } else {
                Intensity::Low
            }
        }
        None if assessment.hard_streak >= 1 => {
            reasons.push("no recent readiness entry; yesterday was hard: moderate".into());
            Intensity::Moderate
        }
        None => {
            reasons.push("no recent readiness entry; no hard session yesterday".into());
            Intensity::High
        }
    };
    if let Some(acwr) = assessment.acwr
        && acwr >= ACWR_DANGER
    {
        intensity = intensity.easier();
        reasons.push(format!("acute:chronic load {acwr:.2} (≥ {ACWR_DANGER}): one step easier"));
    }
    if evening {
        intensity = intensity.easier();
        reasons.push(format!("evening ({hour}:00 local): lower intensity, kinder to sleep"));
    } else if morning {
        reasons.push(format!("morning ({hour}:00 local): an energising format"));
    }
    for g in &assessment.unrecovered {
        reasons.push(format!(
            "{} still recovering (residual load {:.0}): no hard {} work",
            g.as_str(),
            assessment.residual.get(g).copied().unwrap_or(0.0),
            g.as_str()
        ));
    }

    let low_readiness = input.readiness.is_some_and(|r| r.days_ago == 0 && r.score < 4.0);
    let everything_tired = assessment.unrecovered.len() == MuscleGroup::ALL.len();
    let (kind, focus) = if assessment.rest_reason.is_some() {
        (WodKind::Rest, Focus::Mobility)
    } else if input.focus == Some(Focus::Mobility) {
        (WodKind::Mobility, Focus::Mobility)
    } else if low_readiness || everything_tired {
        reasons.push(if low_readiness {
            "readiness is low: mobility and recovery instead of training".into()
        } else {
            "every muscle group is still recovering: mobility today".into()
        });
        (WodKind::Mobility, Focus::Mobility)
    } else {
        let focus = input.focus.unwrap_or_else(|| {
            let f = if morning { Focus::Conditioning } else { Focus::Mixed };
            reasons.push(format!("no focus asked: {}", f.as_str()));
            f
        });
        (WodKind::Workout, focus)
    };

    let mut blocks = Vec::new();
    let rest_reason = assessment.rest_reason.clone();
    match kind {
        WodKind::Rest => {
            reasons.push(rest_reason.clone().unwrap_or_default());
            let minutes = duration.min(15);
            blocks.push(mobility_block(&mut ch, "recovery", minutes, Role::Cooldown));
            intensity = Intensity::Low;
        }
        WodKind::Mobility => {
            let w = (duration / 5).max(2);
            let c = (duration / 6).max(2);
            blocks.push(mobility_block(&mut ch, "warmup", w, Role::Warmup));
            blocks.push(mobility_block(&mut ch, "mobility", duration - w - c, Role::Cooldown));
            blocks.push(mobility_block(&mut ch, "cooldown", c, Role::Cooldown));
            intensity = Intensity::Low;
        }
        WodKind::Workout => {
            let w = ((f64::from(duration) * 0.15).round() as u32).clamp(3, 10);
            let c = ((f64::from(duration) * 0.10).round() as u32).clamp(2, 8);
            let main = duration - w - c;
            blocks.push(warmup(&mut ch, w));
            let mut pieces: Vec<Block> = Vec::new();
            let unrecovered = assessment.unrecovered.clone();
            let n_moves = if main >= 12 { 3 } else { 2 };
            match focus {
                Focus::Strength => {
                    let lift = main.min(18);
                    if let Some(b) = strength(&mut ch, lift, intensity, &unrecovered) {
                        let left = main - b.minutes;
                        pieces.push(b);
                        if left >= 5 {
                            let slots = slots_for(&mut ch, 2, &unrecovered, false);
                            pieces.extend(metcon(&mut ch, "accessory", left, intensity, &slots, false));
                        }
                    }
                }
                Focus::Endurance => pieces.extend(endurance(&mut ch, main, intensity)),
                Focus::Conditioning => {
                    if main > 25 {
                        let first = main / 2;
                        let slots = slots_for(&mut ch, n_moves, &unrecovered, morning);
                        pieces.extend(metcon(&mut ch, "conditioning", first, intensity, &slots, morning));
                        let slots = slots_for(&mut ch, n_moves, &unrecovered, false);
                        pieces.extend(metcon(&mut ch, "conditioning", main - first, intensity, &slots, morning));
                    } else {
                        let slots = slots_for(&mut ch, n_moves, &unrecovered, morning);
                        pieces.extend(metcon(&mut ch, "conditioning", main, intensity, &slots, morning));
                    }
                }
                Focus::Mixed | Focus::Mobility => {
                    let lift = ((main * 2 / 5) / 3 * 3).max(6).min(main.saturating_sub(5).max(3) / 3 * 3);
                    if main >= 11
                        && lift >= 3
                        && let Some(b) = strength(&mut ch, lift, intensity, &unrecovered)
                    {
                        pieces.push(b);
                    }
                    let used: u32 = pieces.iter().map(|b| b.minutes).sum();
                    let slots = slots_for(&mut ch, n_moves, &unrecovered, morning);
                    pieces.extend(metcon(&mut ch, "conditioning", main - used, intensity, &slots, morning));
                }
            }
            let used: u32 = pieces.iter().map(|b| b.minutes).sum();
            if pieces.is_empty() {
                reasons.push("nothing in the library fits this session's rules and equipment: mobility instead".into());
                pieces.push(mobility_block(&mut ch, "mobility", main, Role::Cooldown));
            } else if used < main {
                // Whatever the formats' time boxes leave goes to the cool-down.
                let left = main - used;
                blocks.extend(pieces);
                blocks.push(cooldown(&mut ch, c + left));
                pieces = Vec::new();
            }
            if !pieces.is_empty() {
                blocks.extend(pieces);
                blocks.push(cooldown(&mut ch, c));
            }
        }
    }
    reasons.append(&mut ch.reasons);
    for s in &ch.substitutions {
        reasons.push(s.detail.clone());
    }
    reasons.push(format!("intensity {}, target RPE {}", intensity.as_str(), intensity.target_rpe()));

    let mut equipment: BTreeMap<EquipmentType, BTreeSet<u64>> = BTreeMap::new();
    for b in &blocks {
        for m in &b.movements {
            for k in &m.equipment {
                let entry = equipment.entry(*k).or_default();
                if let Some(kg) = m.load_kg
                    && matches!(
                        k,
                        EquipmentType::Kettlebell
                            | EquipmentType::Dumbbell
                            | EquipmentType::MedicineBall
                            | EquipmentType::Barbell
                    )
                {
                    entry.insert((kg * 100.0).round() as u64);
                }
            }
        }
    }
    let equipment = equipment
        .into_iter()
        .map(|(kind, w)| EquipmentUse { kind, weights_kg: w.into_iter().map(|c| c as f64 / 100.0).collect() })
        .collect();
    let estimated_minutes = blocks.iter().map(|b| b.minutes).sum();
    let title = match kind {
        WodKind::Rest => "Rest day".to_owned(),
        WodKind::Mobility => format!("{duration}-minute mobility and recovery"),
        WodKind::Workout => format!("{duration}-minute {} ({})", focus.as_str(), intensity.as_str()),
    };
    Wod {
        kind,
        title,
        date,
        focus,
        intensity,
        scaling: assessment.scaling,
        requested_minutes: duration,
        estimated_minutes,
        rest_reason,
        blocks,
        equipment,
        substitutions: ch.substitutions,
        alternatives: ch.alternatives,
        reasons,
        fingerprint: format!("{seed:016x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdKind;
    use crate::equipment::EquipmentItem;
    use crate::injury::{BodyArea, InjuryStatus, Severity, Side};
    use crate::workout::{WorkoutSource, WorkoutType, muscle_groups};
    use proptest::prelude::*;

    fn id(kind: IdKind, n: u64) -> Id {
        let mut r = [0u8; 10];
        r[..8].copy_from_slice(&n.to_be_bytes());
        Id::from_parts(kind, 1_700_000_000_000, r)
    }

    #[derive(Debug, Clone)]
    struct Case {
        member: u64,
        sex: Sex,
        hour: u32,
        duration: u32,
        focus: Option<Focus>,
        readiness: Option<(f64, i64)>,
        injuries: Vec<(BodyArea, Severity, bool)>,
        inventory: Vec<(EquipmentType, u32)>,
        declined: Vec<EquipmentType>,
        preferred: Vec<EquipmentType>,
        history: Vec<(i64, u32, u8, WorkoutType, Vec<usize>)>,
    }

    fn case() -> impl Strategy<Value = Case> {
        let focus = prop_oneof![
            Just(None),
            Just(Some(Focus::Strength)),
            Just(Some(Focus::Conditioning)),
            Just(Some(Focus::Endurance)),
            Just(Some(Focus::Mobility)),
            Just(Some(Focus::Mixed)),
        ];
        let wtype = prop_oneof![
            Just(WorkoutType::Strength),
            Just(WorkoutType::Conditioning),
            Just(WorkoutType::Endurance),
            Just(WorkoutType::Mixed),
            Just(WorkoutType::Class),
        ];
        let eq = proptest::sample::select(EquipmentType::ALL.to_vec());
        (
            (
                any::<u64>(),
                prop_oneof![Just(Sex::Female), Just(Sex::Male), Just(Sex::Undisclosed)],
                5u32..23,
                10u32..=90,
                focus,
            ),
            proptest::option::of((1.0f64..10.0, 0i64..3)),
            proptest::collection::vec(
                (
                    proptest::sample::select(BodyArea::ALL.to_vec()),
                    proptest::sample::select(Severity::ALL.to_vec()),
                    any::<bool>(),
                ),
                0..4,
            ),
            proptest::collection::vec((eq.clone(), 0u32..6), 0..20),
            proptest::collection::vec(eq.clone(), 0..4),
            proptest::collection::vec(eq, 0..3),
            proptest::collection::vec(
                (0i64..60 * 24, 10u32..120, 1u8..=10, wtype, proptest::collection::vec(0usize..250, 0..4)),
                0..40,
            ),
        )
            .prop_map(
                |(
                    (member, sex, hour, duration, focus),
                    readiness,
                    injuries,
                    inventory,
                    declined,
                    preferred,
                    history,
                )| Case {
                    member,
                    sex,
                    hour,
                    duration,
                    focus,
                    readiness,
                    injuries,
                    inventory,
                    declined,
                    preferred,
                    history,
                },
            )
    }

    struct Built {
        now: DateTime<Utc>,
        local: NaiveDateTime,
        member: Id,
        history: Vec<Workout>,
        injuries: Vec<Injury>,
        available: Available,
        declined: BTreeSet<EquipmentType>,
        preferred: BTreeSet<EquipmentType>,
    }

    fn build(c: &Case) -> Built {
        let local = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(c.hour, 17, 0).unwrap();
        // The location is at UTC+1.
        let now = (local - Duration::hours(1)).and_utc();
        let member = id(IdKind::Athlete, c.member);
        let lib = library();
        let history = c
            .history
            .iter()
            .enumerate()
            .map(|(n, (hours_ago, minutes, rpe, t, moves))| {
                let movements: Vec<crate::workout::Movement> = moves
                    .iter()
                    .map(|i| {
                        let e = &lib.exercises[i % lib.exercises.len()];
                        crate::workout::Movement {
                            exercise_id: Some(e.id.clone()),
                            name: e.name.clone(),
                            sets: None,
                            reps: Some(10),
                            load_kg: None,
                            distance_m: None,
                            duration_s: None,
                            calories: None,
                        }
                    })
                    .collect();
                let started_at = now - Duration::hours(*hours_ago) - Duration::minutes(i64::from(*minutes));
                Workout {
                    id: id(IdKind::Workout, n as u64),
                    athlete_id: member.clone(),
                    workout_type: *t,
                    started_at,
                    duration_min: *minutes,
                    session_rpe: *rpe,
                    session_load: u32::from(*rpe) * minutes,
                    muscle_groups: muscle_groups(*t, &movements),
                    movements,
                    source: WorkoutSource::Manual,
                    source_id: None,
                    location_id: None,
                    check_in_id: None,
                    created_at: started_at,
                }
            })
            .collect();
        let injuries = c
            .injuries
            .iter()
            .enumerate()
            .map(|(n, (area, severity, active))| Injury {
                id: id(IdKind::Injury, n as u64),
                athlete_id: member.clone(),
                body_area: *area,
                side: Side::Left,
                severity: *severity,
                since: local.date() - Duration::days(3),
                expected_until: None,
                note: None,
                status: if *active { InjuryStatus::Active } else { InjuryStatus::Resolved },
                resolved_on: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let mut inventory: Vec<EquipmentItem> = Vec::new();
        for (kind, count) in &c.inventory {
            if inventory.iter().any(|i| i.kind == *kind) {
                continue;
            }
            let mut item = EquipmentItem::simple(*kind, *count);
            item.weights_kg = match kind {
                EquipmentType::Kettlebell => vec![8.0, 12.0, 16.0, 24.0],
                EquipmentType::Dumbbell => vec![5.0, 10.0, 15.0, 22.5],
                EquipmentType::Plates => vec![5.0, 10.0, 20.0],
                _ => vec![],
            };
            inventory.push(item);
        }
        let declined: BTreeSet<EquipmentType> = c.declined.iter().copied().collect();
        Built {
            now,
            local,
            member,
            history,
            injuries,
            available: Available::new(&inventory, &declined),
            declined,
            preferred: c.preferred.iter().copied().collect(),
        }
    }

    fn input<'a>(c: &Case, b: &'a Built) -> WodInput<'a> {
        WodInput {
            member_id: &b.member,
            sex: c.sex,
            now: b.now,
            local_now: b.local,
            duration_min: c.duration,
            focus: c.focus,
            readiness: c
                .readiness
                .map(|(score, days_ago)| ReadinessSignal { score: (score * 10.0).round() / 10.0, days_ago }),
            history: &b.history,
            injuries: &b.injuries,
            available: &b.available,
            preferred: &b.preferred,
        }
    }

    /// The rest rules, restated from docs/WOD.md rather than called.
    fn rest_rules_say_rest(c: &Case, b: &Built) -> bool {
        if let Some((score, 0)) = c.readiness
            && (score * 10.0).round() / 10.0 <= 3.0
        {
            return true;
        }
        let hard_on = |days_ago: i64| {
            b.history.iter().any(|w| {
                let local_day = (w.started_at + Duration::hours(1)).date_naive();
                (b.local.date() - local_day).num_days() == days_ago && (w.session_rpe >= 8 || w.session_load >= 480)
            })
        };
        hard_on(1) && hard_on(2) && hard_on(3)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

        #[test]
        fn every_workout_keeps_the_rules(c in case()) {
            let b = build(&c);
            let wod = generate(&input(&c, &b));
            let lib = library();
            let active: Vec<&Injury> = b.injuries.iter().filter(|i| i.status == InjuryStatus::Active).collect();
            for block in &wod.blocks {
                for m in &block.movements {
                    let e = lib.get(&m.exercise_id).expect("a library movement");
                    for i in &active {
                        for t in i.forbidden() {
                            prop_assert!(!e.has_tag(t), "{} has {:?}, forbidden by {}", e.id, t, i.label());
                        }
                    }
                    for k in &e.equipment {
                        prop_assert!(b.available.has(*k), "{} needs {:?}, not available", e.id, k);
                        prop_assert!(!b.declined.contains(k), "{} needs declined {:?}", e.id, k);
                    }
                }
            }
            let rest = rest_rules_say_rest(&c, &b);
            prop_assert_eq!(wod.kind == WodKind::Rest, rest, "rest rules: {:?}", wod.rest_reason);
            if wod.kind != WodKind::Rest {
                let d = f64::from(c.duration);
                let off = (f64::from(wod.estimated_minutes) - d).abs();
                prop_assert!(off <= d * 0.1, "{} min for {} asked", wod.estimated_minutes, c.duration);
                prop_assert!(wod.blocks.iter().any(|b| !b.movements.is_empty()));
            }
            prop_assert_eq!(generate(&input(&c, &b)), wod);
        }
    }

    fn demo_case() -> Case {
        Case {
            member: 7,
            sex: Sex::Female,
            hour: 7,
            duration: 45,
            focus: Some(Focus::Conditioning),
            readiness: Some((7.5, 0)),
            injuries: vec![],
            inventory: EquipmentType::ALL.iter().map(|k| (*k, 4)).collect(),
            declined: vec![],
            preferred: vec![],
            history: vec![(30, 60, 7, WorkoutType::Conditioning, vec![])],
        }
    }

    #[test]
    fn a_knee_injury_swaps_the_movements_it_forbids_and_says_so() {
        let mut c = demo_case();
        let mut swaps = 0;
        for member in 0..60 {
            c.member = member;
            c.injuries = vec![(BodyArea::Knee, Severity::Moderate, true)];
            let b = build(&c);
            let wod = generate(&input(&c, &b));
            for s in &wod.substitutions {
                assert!(s.detail.starts_with("knee, moderate: "), "{}", s.detail);
                swaps += 1;
            }
            assert!(wod.reasons.iter().any(|r| r.starts_with("knee, moderate injury: no ")));
        }
        assert!(swaps > 0, "60 members with a knee injury and not one substitution");
    }

    #[test]
    fn a_stored_workout_reads_back() {
        let c = demo_case();
        let b = build(&c);
        let wod = generate(&input(&c, &b));
        let back: Wod = serde_json::from_str(&serde_json::to_string(&wod).unwrap()).unwrap();
        assert_eq!(back, wod);
    }

    #[test]
    fn changed_inputs_change_the_workout() {
        let c = demo_case();
        let b = build(&c);
        let base = generate(&input(&c, &b));
        let mut hurt = c.clone();
        hurt.injuries = vec![(BodyArea::Shoulder, Severity::Mild, true)];
        let b2 = build(&hurt);
        assert_ne!(generate(&input(&hurt, &b2)).fingerprint, base.fingerprint);
        let mut tired = c.clone();
        tired.readiness = Some((2.0, 0));
        let b3 = build(&tired);
        let rest = generate(&input(&tired, &b3));
        assert_eq!(rest.kind, WodKind::Rest);
        assert!(rest.rest_reason.unwrap().contains("readiness 2.0/10"));
    }

    #[test]
    fn three_hard_days_mean_rest_and_a_hard_yesterday_spares_the_group() {
        let mut c = demo_case();
        c.readiness = None;
        c.history = vec![
            (20, 60, 9, WorkoutType::Strength, vec![]),
            (44, 60, 9, WorkoutType::Strength, vec![]),
            (68, 60, 9, WorkoutType::Strength, vec![]),
        ];
        let b = build(&c);
        let wod = generate(&input(&c, &b));
        assert_eq!(wod.kind, WodKind::Rest, "{:?}", wod.reasons);
        assert!(wod.rest_reason.unwrap().contains("3 hard days"));
    }
}
