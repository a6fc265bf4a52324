//! The exercise library that ships with the product: movements built from the facts of the
//! public-domain free-exercise-db catalogue (names, equipment, muscles, level), with what is ours
//! added — movement pattern, the loads each puts on the body as tags (what the injury rules read),
//! impact, where it fits in a session, and scaled / beginner substitutions.
//! `data/build_exercise_library.py` builds `data/exercises.json` from the catalogue.

use crate::equipment::EquipmentType;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

/// A load a movement puts on the body. The injury rules forbid tags, never movements by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadTag {
    /// Load through the spine standing (barbell on the back or in the rack, heavy carries).
    AxialLoad,
    SpinalFlexion,
    SpinalExtension,
    /// Hip hinge under load (deadlifts, swings, the pulls of the lifts).
    Hinge,
    Rotation,
    /// Arms overhead under load or hanging.
    Overhead,
    Hanging,
    HorizontalPress,
    UpperPull,
    /// The shoulder driven behind the body under load (dips, muscle-ups).
    ShoulderExtensionLoaded,
    KneeFlexionLoaded,
    DeepKneeFlexion,
    SingleLeg,
    /// Side-to-side jumps and cuts.
    Lateral,
    Kneeling,
    WristExtension,
    Grip,
    /// Jumping, running, landing.
    Impact,
    Inverted,
}

impl LoadTag {
    pub const ALL: [LoadTag; 19] = [
        LoadTag::AxialLoad,
        LoadTag::SpinalFlexion,
        LoadTag::SpinalExtension,
        LoadTag::Hinge,
        LoadTag::Rotation,
        LoadTag::Overhead,
        LoadTag::Hanging,
        LoadTag::HorizontalPress,
        LoadTag::UpperPull,
        LoadTag::ShoulderExtensionLoaded,
        LoadTag::KneeFlexionLoaded,
        LoadTag::DeepKneeFlexion,
        LoadTag::SingleLeg,
        LoadTag::Lateral,
        LoadTag::Kneeling,
        LoadTag::WristExtension,
        LoadTag::Grip,
        LoadTag::Impact,
        LoadTag::Inverted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LoadTag::AxialLoad => "axial_load",
            LoadTag::SpinalFlexion => "spinal_flexion",
            LoadTag::SpinalExtension => "spinal_extension",
            LoadTag::Hinge => "hinge",
            LoadTag::Rotation => "rotation",
            LoadTag::Overhead => "overhead",
            LoadTag::Hanging => "hanging",
            LoadTag::HorizontalPress => "horizontal_press",
            LoadTag::UpperPull => "upper_pull",
            LoadTag::ShoulderExtensionLoaded => "shoulder_extension_loaded",
            LoadTag::KneeFlexionLoaded => "knee_flexion_loaded",
            LoadTag::DeepKneeFlexion => "deep_knee_flexion",
            LoadTag::SingleLeg => "single_leg",
            LoadTag::Lateral => "lateral",
            LoadTag::Kneeling => "kneeling",
            LoadTag::WristExtension => "wrist_extension",
            LoadTag::Grip => "grip",
            LoadTag::Impact => "impact",
            LoadTag::Inverted => "inverted",
        }
    }

    pub fn parse(s: &str) -> Option<LoadTag> {
        LoadTag::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    Squat,
    Lunge,
    Hinge,
    PushHorizontal,
    PushVertical,
    PullHorizontal,
    PullVertical,
    Olympic,
    Carry,
    Core,
    Rotation,
    Plyometric,
    /// Rowing, riding, skiing, running, skipping.
    Monostructural,
    Mobility,
}

impl Pattern {
    pub const ALL: [Pattern; 14] = [
        Pattern::Squat,
        Pattern::Lunge,
        Pattern::Hinge,
        Pattern::PushHorizontal,
        Pattern::PushVertical,
        Pattern::PullHorizontal,
        Pattern::PullVertical,
        Pattern::Olympic,
        Pattern::Carry,
        Pattern::Core,
        Pattern::Rotation,
        Pattern::Plyometric,
        Pattern::Monostructural,
        Pattern::Mobility,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::Squat => "squat",
            Pattern::Lunge => "lunge",
            Pattern::Hinge => "hinge",
            Pattern::PushHorizontal => "push_horizontal",
            Pattern::PushVertical => "push_vertical",
            Pattern::PullHorizontal => "pull_horizontal",
            Pattern::PullVertical => "pull_vertical",
            Pattern::Olympic => "olympic",
            Pattern::Carry => "carry",
            Pattern::Core => "core",
            Pattern::Rotation => "rotation",
            Pattern::Plyometric => "plyometric",
            Pattern::Monostructural => "monostructural",
            Pattern::Mobility => "mobility",
        }
    }

    pub fn parse(s: &str) -> Option<Pattern> {
        Pattern::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Beginner,
    Intermediate,
    Expert,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        [Level::Beginner, Level::Intermediate, Level::Expert].into_iter().find(|l| l.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Expert => "expert",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    None,
    Low,
    High,
}

/// The four groups recovery is tracked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MuscleGroup {
    /// Quadriceps, hamstrings, glutes, calves, adductors, abductors.
    Legs,
    /// Chest, shoulders, triceps.
    Push,
    /// Lats, middle back, biceps, traps, forearms.
    Pull,
    /// Abdominals, lower back.
    Core,
}

impl MuscleGroup {
    pub const ALL: [MuscleGroup; 4] = [MuscleGroup::Legs, MuscleGroup::Push, MuscleGroup::Pull, MuscleGroup::Core];

    pub fn as_str(self) -> &'static str {
        match self {
            MuscleGroup::Legs => "legs",
            MuscleGroup::Push => "push",
            MuscleGroup::Pull => "pull",
            MuscleGroup::Core => "core",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Warmup,
    Main,
    Cooldown,
}

/// How a movement's work is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Reps,
    Seconds,
    Meters,
    Calories,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Exercise {
    /// A stable slug, e.g. `goblet-squat`.
    pub id: String,
    pub name: String,
    /// Where its facts come from: `free-exercise-db:<id>` or `iron-metrics` (ours).
    pub source: String,
    /// Everything the movement needs (all of it); empty means bodyweight.
    pub equipment: Vec<EquipmentType>,
    pub pattern: Pattern,
    /// The catalogue's category (strength, plyometrics, cardio, stretching, …).
    pub category: String,
    pub mechanic: Option<String>,
    pub level: Level,
    pub primary_muscles: Vec<String>,
    pub secondary_muscles: Vec<String>,
    pub muscle_groups: Vec<MuscleGroup>,
    pub tags: Vec<LoadTag>,
    pub impact: Impact,
    /// Where in a session it is used.
    pub roles: Vec<Role>,
    pub unit: Unit,
    /// An easier movement of the same pattern that puts no load on the body this one doesn't.
    pub scaled: Option<String>,
    /// The beginner version.
    pub beginner: Option<String>,
    /// Other movements of the same pattern, closest first.
    pub alternatives: Vec<String>,
}

impl Exercise {
    pub fn has_tag(&self, tag: LoadTag) -> bool {
        self.tags.contains(&tag)
    }

    pub fn fits(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

pub struct Library {
    pub exercises: Vec<Exercise>,
    index: HashMap<String, usize>,
}

impl Library {
    pub fn get(&self, id: &str) -> Option<&Exercise> {
        self.index.get(id).map(|&i| &self.exercises[i])
    }
}

const DATA: &str = include_str!("../data/exercises.json");

/// The library, parsed once.
pub fn library() -> &'static Library {
    static LIBRARY: LazyLock<Library> = LazyLock::new(|| {
        let exercises: Vec<Exercise> = serde_json::from_str(DATA).unwrap_or_default();
        let index = exercises.iter().enumerate().map(|(i, e)| (e.id.clone(), i)).collect();
        Library { exercises, index }
    });
    &LIBRARY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_is_whole() {
        let lib = library();
        assert!(lib.exercises.len() >= 150, "{} movements", lib.exercises.len());
        let from_catalogue = lib.exercises.iter().filter(|e| e.source.starts_with("free-exercise-db:")).count();
        assert!(from_catalogue >= 150, "{from_catalogue} from the catalogue");
        for e in &lib.exercises {
            for id in e.scaled.iter().chain(&e.beginner).chain(&e.alternatives) {
                let sub = lib.get(id).unwrap_or_else(|| panic!("{}: substitution {id} is not in the library", e.id));
                assert_eq!(sub.pattern, e.pattern, "{} → {id}", e.id);
            }
            if let Some(s) = e.scaled.as_deref().and_then(|id| lib.get(id)) {
                assert!(s.tags.iter().all(|t| e.tags.contains(t)), "{} scaled to {} adds load", e.id, s.id);
            }
            assert!(!e.roles.is_empty() && !e.muscle_groups.is_empty(), "{}", e.id);
        }
        for staple in ["pullups", "burpee", "kettlebell-swing", "rowing-stationary", "barbell-deadlift", "box-step-up"]
        {
            assert!(lib.get(staple).is_some(), "{staple}");
        }
    }
}
