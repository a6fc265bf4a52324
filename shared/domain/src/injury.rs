//! Injuries: health data. Readable only with `read:members`, never logged (the `Debug` form
//! leaves the note out). The rules of which loads each body area and severity forbid are data
//! ([`INJURY_RULES`]), published in `docs/WOD.md` and by `GET /injury-rules`, so anyone can check
//! a workout against them.

use crate::exercise::{Exercise, LoadTag};
use crate::id::Id;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BodyArea {
    Neck,
    Shoulder,
    Elbow,
    Wrist,
    Hand,
    Chest,
    UpperBack,
    LowerBack,
    Abdomen,
    Hip,
    Hamstring,
    Knee,
    Ankle,
    Foot,
}

impl BodyArea {
    pub const ALL: [BodyArea; 14] = [
        BodyArea::Neck,
        BodyArea::Shoulder,
        BodyArea::Elbow,
        BodyArea::Wrist,
        BodyArea::Hand,
        BodyArea::Chest,
        BodyArea::UpperBack,
        BodyArea::LowerBack,
        BodyArea::Abdomen,
        BodyArea::Hip,
        BodyArea::Hamstring,
        BodyArea::Knee,
        BodyArea::Ankle,
        BodyArea::Foot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BodyArea::Neck => "neck",
            BodyArea::Shoulder => "shoulder",
            BodyArea::Elbow => "elbow",
            BodyArea::Wrist => "wrist",
            BodyArea::Hand => "hand",
            BodyArea::Chest => "chest",
            BodyArea::UpperBack => "upper_back",
            BodyArea::LowerBack => "lower_back",
            BodyArea::Abdomen => "abdomen",
            BodyArea::Hip => "hip",
            BodyArea::Hamstring => "hamstring",
            BodyArea::Knee => "knee",
            BodyArea::Ankle => "ankle",
            BodyArea::Foot => "foot",
        }
    }

    pub fn known() -> String {
        BodyArea::ALL.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Mild,
    Moderate,
    Severe,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Mild, Severity::Moderate, Severity::Severe];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Mild => "mild",
            Severity::Moderate => "moderate",
            Severity::Severe => "severe",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
    Both,
    /// Midline areas (neck, back, abdomen).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InjuryStatus {
    Active,
    Resolved,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Injury {
    pub id: Id,
    pub athlete_id: Id,
    pub body_area: BodyArea,
    pub side: Side,
    pub severity: Severity,
    pub since: NaiveDate,
    pub expected_until: Option<NaiveDate>,
    pub note: Option<String>,
    pub status: InjuryStatus,
    pub resolved_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for Injury {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injury").field("id", &self.id).field("status", &self.status).finish_non_exhaustive()
    }
}

impl Injury {
    /// Whether the injury limits training on `date` (until it is resolved; `expectedUntil` is
    /// the member's estimate, not a release).
    pub fn is_active_on(&self, date: NaiveDate) -> bool {
        self.status == InjuryStatus::Active && self.since <= date
    }

    pub fn forbidden(&self) -> Vec<LoadTag> {
        forbidden_tags(self.body_area, self.severity)
    }

    pub fn label(&self) -> String {
        format!("{}, {}", self.body_area.as_str().replace('_', " "), self.severity.as_str())
    }
}

/// For each body area, the load tags each severity adds to those of the severities below it:
/// mild, moderate, severe.
pub const INJURY_RULES: &[(BodyArea, [&[LoadTag]; 3])] = {
    use LoadTag::*;
    &[
        (BodyArea::Neck, [&[AxialLoad, Inverted], &[Overhead, Hanging, Impact], &[SpinalFlexion, Rotation, Grip]]),
        (
            BodyArea::Shoulder,
            [&[Overhead, Inverted], &[Hanging, ShoulderExtensionLoaded, HorizontalPress], &[UpperPull, WristExtension]],
        ),
        (
            BodyArea::Elbow,
            [&[Hanging, ShoulderExtensionLoaded], &[UpperPull, HorizontalPress], &[Grip, Overhead, WristExtension]],
        ),
        (BodyArea::Wrist, [&[WristExtension], &[HorizontalPress, Inverted], &[Grip, Overhead, Hanging]]),
        (BodyArea::Hand, [&[Hanging], &[Grip], &[WristExtension, UpperPull]]),
        (BodyArea::Chest, [&[HorizontalPress, ShoulderExtensionLoaded], &[Overhead, Inverted], &[UpperPull, Hanging]]),
        (BodyArea::UpperBack, [&[AxialLoad], &[Rotation, UpperPull, Inverted], &[Overhead, Hinge, Hanging]]),
        (
            BodyArea::LowerBack,
            [
                &[AxialLoad, SpinalFlexion],
                &[Hinge, Rotation, SpinalExtension, Inverted],
                &[Impact, KneeFlexionLoaded, Overhead],
            ],
        ),
        (BodyArea::Abdomen, [&[SpinalFlexion], &[Rotation, AxialLoad, Hanging], &[Hinge, Impact, Overhead]]),
        (BodyArea::Hip, [&[DeepKneeFlexion], &[Impact, SingleLeg, Lateral], &[Hinge, KneeFlexionLoaded, AxialLoad]]),
        (BodyArea::Hamstring, [&[Hinge], &[Impact, SpinalExtension], &[SingleLeg, KneeFlexionLoaded, Lateral]]),
        (BodyArea::Knee, [&[Impact, Kneeling], &[DeepKneeFlexion, SingleLeg, Lateral], &[KneeFlexionLoaded]]),
        (BodyArea::Ankle, [&[Impact], &[Lateral, SingleLeg], &[KneeFlexionLoaded, AxialLoad, DeepKneeFlexion]]),
        (BodyArea::Foot, [&[Impact], &[SingleLeg, Lateral], &[KneeFlexionLoaded, AxialLoad]]),
    ]
};

/// Every tag an injury of `area` at `severity` forbids (its own and the milder severities').
pub fn forbidden_tags(area: BodyArea, severity: Severity) -> Vec<LoadTag> {
    let Some((_, levels)) = INJURY_RULES.iter().find(|(a, _)| *a == area) else { return Vec::new() };
    let upto = match severity {
        Severity::Mild => 1,
        Severity::Moderate => 2,
        Severity::Severe => 3,
    };
    let mut tags: Vec<LoadTag> = levels[..upto].iter().flat_map(|l| l.iter().copied()).collect();
    tags.sort();
    tags.dedup();
    tags
}

/// The first active injury among `injuries` that forbids a load of `exercise`, with that load.
pub fn conflict<'a>(exercise: &Exercise, injuries: &'a [Injury]) -> Option<(&'a Injury, LoadTag)> {
    injuries.iter().find_map(|i| i.forbidden().into_iter().find(|t| exercise.has_tag(*t)).map(|t| (i, t)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_area_has_rules_and_severity_only_adds() {
        for area in BodyArea::ALL {
            let (mild, moderate, severe) = (
                forbidden_tags(area, Severity::Mild),
                forbidden_tags(area, Severity::Moderate),
                forbidden_tags(area, Severity::Severe),
            );
            assert!(!mild.is_empty(), "{area:?}");
            assert!(mild.iter().all(|t| moderate.contains(t)) && moderate.iter().all(|t| severe.contains(t)));
        }
    }

    /// docs/WOD.md publishes the rules; it must say what the code does.
    #[test]
    fn the_documented_rules_are_the_rules() {
        let doc = include_str!("../../../docs/WOD.md");
        for (area, levels) in INJURY_RULES {
            let row = format!(
                "| {} | {} | {} | {} |",
                area.as_str(),
                levels[0].iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
                levels[1].iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
                levels[2].iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "),
            );
            assert!(doc.contains(&row), "docs/WOD.md lacks the row\n{row}");
        }
    }
}
