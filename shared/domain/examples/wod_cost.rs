//! The workout generator's own cost per workout (no storage, no HTTP), over varied members:
//! `cargo run --release -p iron-domain --example wod_cost [n=20000]`. Figures in docs/PERFORMANCE.md.

use chrono::{Duration, NaiveDate};
use iron_domain::equipment::{Available, EquipmentItem, EquipmentType};
use iron_domain::injury::{BodyArea, Injury, InjuryStatus, Severity, Side};
use iron_domain::wod::{Focus, ReadinessSignal, WodInput, generate};
use iron_domain::workout::{Workout, WorkoutSource, WorkoutType};
use iron_domain::{Id, IdKind, Sex};
use std::collections::BTreeSet;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let local = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(7, 30, 0).unwrap();
    let now = (local - Duration::hours(1)).and_utc();
    let inventory: Vec<EquipmentItem> = EquipmentType::ALL.iter().map(|k| EquipmentItem::simple(*k, 4)).collect();
    let available = Available::new(&inventory, &BTreeSet::new());
    let preferred = BTreeSet::new();
    let members: Vec<Id> = (0..64u8).map(|i| Id::from_parts(IdKind::Athlete, 1_700_000_000_000, [i; 10])).collect();
    // 40 workouts over 90 days, one active injury, a readiness entry: a regular member.
    let history: Vec<Workout> = (0..40)
        .map(|i| Workout {
            id: Id::from_parts(IdKind::Workout, 1_700_000_000_000 + i, [0; 10]),
            athlete_id: members[0].clone(),
            workout_type: WorkoutType::Conditioning,
            started_at: now - Duration::hours(50 * i),
            duration_min: 55,
            session_rpe: 7,
            session_load: 385,
            movements: vec![],
            source: WorkoutSource::Kiosk,
            source_id: None,
            location_id: None,
            check_in_id: None,
            muscle_groups: WorkoutType::Conditioning.default_groups(),
            created_at: now,
        })
        .collect();
    let injuries = vec![Injury {
        id: Id::from_parts(IdKind::Injury, 1_700_000_000_000, [1; 10]),
        athlete_id: members[0].clone(),
        body_area: BodyArea::Knee,
        side: Side::Left,
        severity: Severity::Moderate,
        since: local.date() - Duration::days(5),
        expected_until: None,
        note: None,
        status: InjuryStatus::Active,
        resolved_on: None,
        created_at: now,
        updated_at: now,
    }];
    let focuses = [None, Some(Focus::Strength), Some(Focus::Conditioning), Some(Focus::Endurance), Some(Focus::Mixed)];
    let started = std::time::Instant::now();
    let mut movements = 0usize;
    for i in 0..n {
        let input = WodInput {
            member_id: &members[i % members.len()],
            sex: if i % 2 == 0 { Sex::Female } else { Sex::Male },
            now,
            local_now: local,
            duration_min: 20 + (i % 8) as u32 * 10,
            focus: focuses[i % focuses.len()],
            readiness: Some(ReadinessSignal { score: 7.2, days_ago: 0 }),
            history: &history,
            injuries: &injuries,
            available: &available,
            preferred: &preferred,
        };
        movements += generate(&input).blocks.iter().map(|b| b.movements.len()).sum::<usize>();
    }
    let per = started.elapsed().as_secs_f64() / n as f64;
    println!("{n} workouts, {:.1} movements each: {:.1} µs per workout", movements as f64 / n as f64, per * 1e6);
}
