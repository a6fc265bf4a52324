//! Workouts a member did: the training history the workout generator, challenges and analytics
//! read. Session load (Foster's session RPE) = RPE × minutes.

use crate::exercise::{MuscleGroup, library};
use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkoutType {
    Strength,
    Conditioning,
    Endurance,
    Mobility,
    Mixed,
    Class,
    OpenGym,
    Other,
}

impl WorkoutType {
    /// The muscle groups a workout of this type works when it lists no movements.
    pub fn default_groups(self) -> Vec<MuscleGroup> {
        match self {
            WorkoutType::Endurance => vec![MuscleGroup::Legs],
            WorkoutType::Mobility => vec![],
            _ => MuscleGroup::ALL.to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorkoutSource {
    /// Entered by the member or staff.
    Manual,
    /// Logged at the gym's kiosk.
    Kiosk,
    /// Sent by connected equipment (rower, bike, …).
    Equipment,
    /// From a bulk import or a third-party sync.
    Import,
}

impl WorkoutSource {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkoutSource::Manual => "manual",
            WorkoutSource::Kiosk => "kiosk",
            WorkoutSource::Equipment => "equipment",
            WorkoutSource::Import => "import",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    /// A library exercise id, when the movement is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exercise_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sets: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calories: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Workout {
    pub id: Id,
    pub athlete_id: Id,
    pub workout_type: WorkoutType,
    pub started_at: DateTime<Utc>,
    pub duration_min: u32,
    pub session_rpe: u8,
    /// RPE × minutes (arbitrary units).
    pub session_load: u32,
    pub movements: Vec<Movement>,
    pub source: WorkoutSource,
    pub source_id: Option<String>,
    pub location_id: Option<Id>,
    pub check_in_id: Option<Id>,
    /// The muscle groups it worked: from its movements' library entries, else from its type.
    pub muscle_groups: Vec<MuscleGroup>,
    pub created_at: DateTime<Utc>,
}

impl Workout {
    pub fn is_hard(&self) -> bool {
        self.session_rpe >= HARD_RPE || self.session_load >= HARD_LOAD
    }
}

/// A session at or above this RPE is hard.
pub const HARD_RPE: u8 = 8;
/// A session at or above this load (e.g. 60 min at RPE 8) is hard.
pub const HARD_LOAD: u32 = 480;

/// The muscle groups a workout works.
pub fn muscle_groups(workout_type: WorkoutType, movements: &[Movement]) -> Vec<MuscleGroup> {
    let lib = library();
    let mut groups: Vec<MuscleGroup> = movements
        .iter()
        .filter_map(|m| m.exercise_id.as_deref().and_then(|id| lib.get(id)))
        .flat_map(|e| e.muscle_groups.iter().copied())
        .collect();
    if groups.is_empty() {
        groups = workout_type.default_groups();
    }
    groups.sort();
    groups.dedup();
    groups
}
