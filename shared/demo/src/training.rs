//! The demo gym's equipment and ~90 days of member training: check-ins at the door, the workouts
//! logged at the kiosk, readiness questionnaires from the app, and a few injuries (most resolved,
//! some active), so a first `POST /check-in` returns an explained, personal workout.

use chrono::{DateTime, Duration, Utc};
use iron_domain::check_in::{Access, AccessCode, CheckIn};
use iron_domain::equipment::{EquipmentItem, EquipmentType, WeightRange};
use iron_domain::exercise::{Pattern, library};
use iron_domain::injury::{BodyArea, Injury, InjuryStatus, Severity, Side};
use iron_domain::location::{Day, OpeningHours};
use iron_domain::readiness::{Answers, Baseline, Questionnaire, ReadinessEntry, score};
use iron_domain::workout::{Movement, Workout, WorkoutSource, WorkoutType, muscle_groups};
use iron_domain::{Athlete, AthleteStatus, Id, IdKind, Location};
use iron_store::repo::{RepoResult, check_ins, injuries, readiness, workouts};
use iron_store::{Condition, TableStore, TenantScope, TxOp};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

fn id(rng: &mut StdRng, kind: IdKind, at: DateTime<Utc>) -> Id {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    Id::from_parts(kind, at.timestamp_millis(), random)
}

fn item(kind: EquipmentType, count: u32) -> EquipmentItem {
    EquipmentItem::simple(kind, count)
}

fn weights(kind: EquipmentType, count: u32, w: &[f64]) -> EquipmentItem {
    EquipmentItem { weights_kg: w.to_vec(), ..item(kind, count) }
}

/// Centro: the flagship, open around the clock (member fobs), fully equipped.
pub fn centro_equipment() -> Vec<EquipmentItem> {
    vec![
        weights(EquipmentType::Barbell, 16, &[15.0, 20.0]),
        weights(EquipmentType::Plates, 80, &[5.0, 10.0, 15.0, 20.0, 25.0]),
        item(EquipmentType::SquatRack, 8),
        item(EquipmentType::Bench, 8),
        EquipmentItem {
            range_kg: Some(WeightRange { min: 2.5, max: 40.0, step: 2.5 }),
            note: Some("pairs, fixed-weight rack".into()),
            ..item(EquipmentType::Dumbbell, 16)
        },
        weights(EquipmentType::Kettlebell, 30, &[8.0, 12.0, 16.0, 20.0, 24.0, 28.0, 32.0]),
        weights(EquipmentType::MedicineBall, 12, &[4.0, 6.0, 9.0, 12.0]),
        item(EquipmentType::Band, 20),
        EquipmentItem { heights_cm: vec![50, 60, 75], ..item(EquipmentType::Box, 12) },
        item(EquipmentType::PullUpRig, 1),
        item(EquipmentType::Rings, 6),
        item(EquipmentType::JumpRope, 20),
        item(EquipmentType::Rower, 10),
        item(EquipmentType::Bike, 6),
        item(EquipmentType::SkiErg, 4),
        item(EquipmentType::Treadmill, 3),
        item(EquipmentType::Sled, 2),
        item(EquipmentType::AbWheel, 6),
    ]
}

/// Río: a smaller box with opening hours, dumbbells to 25 kg, no barbells or ski ergs.
pub fn rio_equipment() -> Vec<EquipmentItem> {
    vec![
        EquipmentItem {
            range_kg: Some(WeightRange { min: 5.0, max: 25.0, step: 2.5 }),
            ..item(EquipmentType::Dumbbell, 10)
        },
        weights(EquipmentType::Kettlebell, 16, &[8.0, 12.0, 16.0, 24.0]),
        weights(EquipmentType::MedicineBall, 8, &[4.0, 6.0, 9.0]),
        item(EquipmentType::Band, 12),
        EquipmentItem { heights_cm: vec![50, 60], ..item(EquipmentType::Box, 8) },
        item(EquipmentType::PullUpRig, 1),
        item(EquipmentType::Rings, 4),
        item(EquipmentType::JumpRope, 12),
        item(EquipmentType::Rower, 4),
        item(EquipmentType::Bike, 4),
    ]
}

pub fn rio_hours() -> Vec<OpeningHours> {
    let mut h = Vec::new();
    for day in [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri] {
        h.push(OpeningHours { day, opens: "06:30".into(), closes: "13:30".into() });
        h.push(OpeningHours { day, opens: "16:00".into(), closes: "22:00".into() });
    }
    h.push(OpeningHours { day: Day::Sat, opens: "09:00".into(), closes: "14:00".into() });
    h
}

/// The demo's two locations, equipped.
pub fn equip(locations: &mut [Location]) {
    if let Some(centro) = locations.get_mut(0) {
        centro.capacity = Some(60);
        centro.typical_visit_minutes = 75;
        centro.equipment = centro_equipment();
    }
    if let Some(rio) = locations.get_mut(1) {
        rio.capacity = Some(30);
        rio.typical_visit_minutes = 70;
        rio.opening_hours = rio_hours();
        rio.equipment = rio_equipment();
    }
}

const INJURY_AREAS: &[(BodyArea, Side)] = &[
    (BodyArea::Knee, Side::Left),
    (BodyArea::Shoulder, Side::Right),
    (BodyArea::LowerBack, Side::None),
    (BodyArea::Wrist, Side::Left),
    (BodyArea::Ankle, Side::Right),
    (BodyArea::Hamstring, Side::Left),
    (BodyArea::Elbow, Side::Right),
];

#[derive(Debug, Default, Clone, Copy)]
pub struct TrainingSummary {
    /// Active members steady, fading, stopped, in a dip.
    pub patterns: [usize; 4],
    pub check_ins: usize,
    pub workouts: usize,
    pub readiness: usize,
    pub injuries: usize,
    pub active_injuries: usize,
}

fn movements_for(rng: &mut StdRng, t: WorkoutType) -> Vec<Movement> {
    let lib = library();
    let patterns: &[Pattern] = match t {
        WorkoutType::Strength => &[Pattern::Squat, Pattern::Hinge, Pattern::PushHorizontal, Pattern::PullVertical],
        WorkoutType::Endurance => &[Pattern::Monostructural],
        _ => &[Pattern::Squat, Pattern::Plyometric, Pattern::Monostructural, Pattern::PullHorizontal, Pattern::Core],
    };
    let n = rng.random_range(2..=4usize).min(patterns.len() + 1);
    let mut out = Vec::new();
    for _ in 0..n {
        let p = patterns[rng.random_range(0..patterns.len())];
        let pool: Vec<_> = lib
            .exercises
            .iter()
            .filter(|e| e.pattern == p && e.level != iron_domain::exercise::Level::Expert)
            .collect();
        if pool.is_empty() {
            continue;
        }
        let e = pool[rng.random_range(0..pool.len())];
        let timed = e.unit != iron_domain::exercise::Unit::Reps;
        out.push(Movement {
            exercise_id: Some(e.id.clone()),
            name: e.name.clone(),
            sets: Some(rng.random_range(3..=5)),
            reps: (!timed).then(|| rng.random_range(5..=15)),
            load_kg: (!e.equipment.is_empty() && !timed).then(|| f64::from(rng.random_range(4..=30)) * 2.5),
            distance_m: None,
            duration_s: timed.then(|| rng.random_range(6..=20) * 30),
            calories: None,
        });
    }
    out
}

/// How an active member's attendance goes over the demo's last weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// As usual throughout.
    Steady,
    /// Fading over the last 3–6 weeks.
    Fading { over_days: i64 },
    /// Stopped coming 11–30 days ago.
    Stopped { days_ago: i64 },
    /// A dip (holidays, a cold) of one or two weeks, ending 0–10 days ago.
    Dip { from: i64, to: i64 },
}

impl Drift {
    fn of(rng: &mut StdRng) -> Drift {
        match rng.random_range(0..100) {
            0..70 => Drift::Steady,
            70..84 => Drift::Fading { over_days: rng.random_range(21..=42) },
            84..92 => Drift::Stopped { days_ago: rng.random_range(11..=30) },
            _ => {
                let to = rng.random_range(0..=10);
                Drift::Dip { from: to + rng.random_range(7..=14), to }
            }
        }
    }

    /// Whether a visit `day` days ago happens.
    fn keeps(self, day: i64, rng: &mut StdRng) -> bool {
        match self {
            Drift::Steady => true,
            Drift::Fading { over_days } => {
                day >= over_days || rng.random_bool(((day as f64) / over_days as f64).powf(1.5).clamp(0.02, 1.0))
            }
            Drift::Stopped { days_ago } => day > days_ago,
            Drift::Dip { from, to } => !(to..=from).contains(&day) || rng.random_bool(0.25),
        }
    }
}

impl From<Drift> for usize {
    fn from(p: Drift) -> usize {
        match p {
            Drift::Steady => 0,
            Drift::Fading { .. } => 1,
            Drift::Stopped { .. } => 2,
            Drift::Dip { .. } => 3,
        }
    }
}

/// Seeds `days` of training for the members, as of `now`.
pub async fn seed(
    store: &dyn TableStore,
    scope: &TenantScope,
    members: &[Athlete],
    locations: &[Location],
    now: DateTime<Utc>,
    days: i64,
    rng: &mut StdRng,
) -> RepoResult<TrainingSummary> {
    let mut summary = TrainingSummary::default();
    let mut injured = 0usize;
    for (n, member) in members.iter().enumerate() {
        let regular = member.status == AthleteStatus::Active;
        let per_week: f64 = if regular { [1.0, 2.0, 3.0, 3.0, 4.0, 5.0][rng.random_range(0..6)] } else { 0.7 };
        // Members who left stopped coming a while ago.
        let last_day = if regular { 0 } else { rng.random_range(20..days.max(21)) };
        let uses_app = rng.random_bool(0.55);
        let hour = [6, 7, 7, 8, 12, 13, 17, 18, 18, 19, 20][rng.random_range(0..11)];
        let location =
            member.location_id.as_ref().and_then(|l| locations.iter().find(|x| &x.id == l)).unwrap_or(&locations[0]);
        let favourite = [
            WorkoutType::Conditioning,
            WorkoutType::Strength,
            WorkoutType::Mixed,
            WorkoutType::Class,
            WorkoutType::Endurance,
        ][rng.random_range(0..5)];
        let mut ops: Vec<TxOp> = Vec::new();
        let mut latest: Option<CheckIn> = None;
        let mut history: Vec<ReadinessEntry> = Vec::new();
        // Some active members are drifting away (what the churn model is for), on a generator
        // of their own so the rest of the demo stays as it was.
        let mut drift_rng = StdRng::seed_from_u64(0xD71F_u64 ^ n as u64);
        let pattern = if regular { Drift::of(&mut drift_rng) } else { Drift::Steady };
        if regular {
            summary.patterns[usize::from(pattern)] += 1;
        }
        for day in (last_day..days).rev() {
            if !rng.random_bool((per_week / 7.0).min(1.0)) {
                continue;
            }
            let base = now - Duration::days(day);
            let local_offset = location.local(base) - base.naive_utc();
            let start_local =
                (location.local(base).date()).and_hms_opt(hour, rng.random_range(0..50), 0).unwrap_or_default();
            let at = DateTime::from_naive_utc_and_offset(start_local - local_offset, Utc);
            if at > now - Duration::minutes(90) || location.is_open(at).is_err() {
                continue;
            }
            let duration = [45u32, 50, 60, 60, 75][rng.random_range(0..5)];
            let kept = pattern.keeps(day, &mut drift_rng);
            let before_day = (ops.len(), summary.readiness, history.len());
            let check_in = CheckIn {
                id: id(rng, IdKind::CheckIn, at),
                athlete_id: member.id.clone(),
                display_name: iron_domain::check_in::display_name(&member.first_name, &member.last_name),
                location_id: location.id.clone(),
                checked_in_at: at,
                local_date: start_local.date(),
                access: Access { granted: true, code: AccessCode::Granted, message: "welcome in".into() },
                expected_until: at + Duration::minutes(i64::from(duration) + 15),
                duration_min: duration,
                focus: None,
                readiness_score: None,
                wod: None,
            };
            ops.extend(check_ins::record_ops(scope, &check_in));
            summary.check_ins += 1;
            let workout_type = if rng.random_bool(0.7) { favourite } else { WorkoutType::Conditioning };
            let movements = movements_for(rng, workout_type);
            let rpe: u8 = rng.random_range(5..=9);
            let started_at = at + Duration::minutes(5);
            let workout = Workout {
                id: id(rng, IdKind::Workout, started_at),
                athlete_id: member.id.clone(),
                workout_type,
                started_at,
                duration_min: duration,
                session_rpe: rpe,
                session_load: u32::from(rpe) * duration,
                muscle_groups: muscle_groups(workout_type, &movements),
                movements,
                source: WorkoutSource::Kiosk,
                source_id: Some(format!("kiosk-{}", check_in.id)),
                location_id: Some(location.id.clone()),
                check_in_id: Some(check_in.id.clone()),
                created_at: started_at + Duration::minutes(i64::from(duration)),
            };
            ops.extend(workouts::create_ops(scope, &workout));
            summary.workouts += 1;
            if uses_app && rng.random_bool(0.7) {
                let tired = u8::from(rpe >= 8);
                let answers = Answers {
                    sleep: rng.random_range(1..=5),
                    fatigue: (rng.random_range(1..=5) + tired).min(7),
                    stress: rng.random_range(1..=5),
                    soreness: (rng.random_range(1..=4) + tired).min(7),
                    mood: None,
                };
                let hr = rng.random_range(52..66);
                let hrv = f64::from(rng.random_range(45..80));
                let recorded_at = at - Duration::minutes(rng.random_range(30..120));
                let (s, band, computation) =
                    score(Questionnaire::Hooper, &answers, Some(hr), Some(hrv), Baseline::of(&history));
                let entry = ReadinessEntry {
                    id: id(rng, IdKind::Readiness, recorded_at),
                    athlete_id: member.id.clone(),
                    recorded_at,
                    questionnaire: Questionnaire::Hooper,
                    answers,
                    resting_hr: Some(hr),
                    hrv_ms: Some(hrv),
                    score: s,
                    band,
                    computation,
                };
                ops.push(readiness::create_op(scope, &entry));
                history.push(entry);
                if history.len() > 10 {
                    history.remove(0);
                }
                summary.readiness += 1;
            }
            if kept {
                latest = Some(check_in);
            } else {
                // Generated (so the seed's sequence is unchanged) but not kept: a visit that didn't happen.
                ops.truncate(before_day.0);
                summary.check_ins -= 1;
                summary.workouts -= 1;
                summary.readiness = before_day.1;
                history.truncate(before_day.2);
            }
        }
        // A few injuries: most healed, one in eight members with one still active.
        if rng.random_bool(0.2) || (regular && n % 8 == 3) {
            let (area, side) = INJURY_AREAS[injured % INJURY_AREAS.len()];
            injured += 1;
            let active = regular && n % 8 == 3;
            let since = (now - Duration::days(rng.random_range(3..if active { 20 } else { 80 }))).date_naive();
            let created_at = now - Duration::days((now.date_naive() - since).num_days()) + Duration::hours(9);
            let severity =
                [Severity::Mild, Severity::Moderate, Severity::Moderate, Severity::Severe][rng.random_range(0..4)];
            let injury = Injury {
                id: id(rng, IdKind::Injury, created_at),
                athlete_id: member.id.clone(),
                body_area: area,
                side,
                severity,
                since,
                expected_until: Some(since + Duration::days(rng.random_range(14..42))),
                note: Some("reported at the front desk".into()),
                status: if active { InjuryStatus::Active } else { InjuryStatus::Resolved },
                resolved_on: (!active).then(|| since + Duration::days(rng.random_range(7..30))),
                created_at,
                updated_at: created_at,
            };
            ops.push(injuries::create_op(scope, &injury));
            summary.injuries += 1;
            summary.active_injuries += usize::from(active);
        }
        if let Some(c) = &latest {
            ops.push(check_ins::latest_op(scope, c, Condition::None));
        }
        for chunk in ops.chunks(100) {
            store.transact(chunk.to_vec()).await?;
        }
    }
    Ok(summary)
}
