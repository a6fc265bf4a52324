//! Gathers what the workout generator reads for one member at one location — readiness, 90 days
//! of workouts, injuries, the inventory minus what the member declines — and runs it.

use chrono::{DateTime, Duration, Utc};
use iron_domain::equipment::{Available, EquipmentType};
use iron_domain::validation::{FieldError, FieldReader, parse};
use iron_domain::wod::{Focus, ReadinessSignal, Wod, WodInput, generate};
use iron_domain::{Athlete, Location};
use iron_http::ApiError;
use iron_store::TenantDb;
use iron_store::repo::{injuries, readiness, workouts};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// Equipment the member wants to avoid or use today.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EquipmentPrefs {
    /// Never prescribe these.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub exclude: Vec<EquipmentType>,
    /// Choose these first where they fit.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub prefer: Vec<EquipmentType>,
}

/// What a workout is asked for with.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    pub duration: Option<u32>,
    pub focus: Option<Focus>,
    pub prefs: EquipmentPrefs,
}

pub fn equipment_prefs(v: &Value, r: &mut FieldReader<'_>) -> Option<EquipmentPrefs> {
    let known = EquipmentType::known();
    match serde_json::from_value::<EquipmentPrefs>(v.clone()) {
        Ok(p) if p.exclude.len() <= 20 && p.prefer.len() <= 20 => Some(p),
        _ => {
            r.fail(
                "equipmentPrefs",
                format!("must be {{exclude?: [...], prefer?: [...]}} of at most 20 equipment types each: {known}"),
            );
            None
        }
    }
}

pub fn focus_of(v: &Value) -> Result<Focus, String> {
    v.as_str()
        .and_then(Focus::parse)
        .ok_or_else(|| "must be one of strength, conditioning, endurance, mobility, mixed".into())
}

pub fn duration_of(v: &Value) -> Result<u32, String> {
    parse::int(10, 90)(v).map(|n| n as u32)
}

pub fn field_error(field: &str, message: &str) -> ApiError {
    ApiError::Validation(vec![FieldError { field: field.into(), message: message.into() }])
}

/// Builds the member's workout of the day at `location` at `now`.
pub async fn workout_of_the_day(
    db: TenantDb<'_>,
    member: &Athlete,
    location: &Location,
    now: DateTime<Utc>,
    ask: &Ask,
) -> Result<(Wod, Option<ReadinessSignal>, Available), ApiError> {
    let local_now = location.local(now);
    let (recent, history, all_injuries) = tokio::try_join!(
        readiness::list(db, &member.id, Some(now - Duration::days(3)), Some(now), 1, None),
        workouts::since(db, &member.id, now - Duration::days(90)),
        injuries::all(db, &member.id),
    )?;
    let signal = recent.0.first().map(|e| ReadinessSignal {
        score: e.score,
        days_ago: (local_now.date() - location.local(e.recorded_at).date()).num_days().max(0),
    });
    let declined: BTreeSet<EquipmentType> = ask.prefs.exclude.iter().copied().collect();
    let preferred: BTreeSet<EquipmentType> = ask.prefs.prefer.iter().copied().collect();
    let available = Available::new(&location.equipment, &declined);
    let input = WodInput {
        member_id: &member.id,
        sex: member.sex,
        now,
        local_now,
        duration_min: ask.duration.unwrap_or(iron_domain::wod::DEFAULT_MINUTES),
        focus: ask.focus,
        readiness: signal,
        history: &history,
        injuries: &all_injuries,
        available: &available,
        preferred: &preferred,
    };
    Ok((generate(&input), signal, available))
}
