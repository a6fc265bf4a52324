//! Equipment: what a location has (its inventory, with the variants that decide loads: kettlebells
//! by weight, a dumbbell range, box heights, bars and plates) and what a movement needs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EquipmentType {
    Barbell,
    /// Bumper or iron plates; the heaviest barbell load is the heaviest bar plus every plate.
    Plates,
    SquatRack,
    Bench,
    Dumbbell,
    Kettlebell,
    MedicineBall,
    Band,
    Box,
    PullUpRig,
    Rings,
    JumpRope,
    Rower,
    Bike,
    SkiErg,
    Treadmill,
    /// Stair climber, elliptical.
    CardioMachine,
    Sled,
    BattleRope,
    AbWheel,
}

impl EquipmentType {
    pub const ALL: [EquipmentType; 20] = [
        EquipmentType::Barbell,
        EquipmentType::Plates,
        EquipmentType::SquatRack,
        EquipmentType::Bench,
        EquipmentType::Dumbbell,
        EquipmentType::Kettlebell,
        EquipmentType::MedicineBall,
        EquipmentType::Band,
        EquipmentType::Box,
        EquipmentType::PullUpRig,
        EquipmentType::Rings,
        EquipmentType::JumpRope,
        EquipmentType::Rower,
        EquipmentType::Bike,
        EquipmentType::SkiErg,
        EquipmentType::Treadmill,
        EquipmentType::CardioMachine,
        EquipmentType::Sled,
        EquipmentType::BattleRope,
        EquipmentType::AbWheel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EquipmentType::Barbell => "barbell",
            EquipmentType::Plates => "plates",
            EquipmentType::SquatRack => "squat_rack",
            EquipmentType::Bench => "bench",
            EquipmentType::Dumbbell => "dumbbell",
            EquipmentType::Kettlebell => "kettlebell",
            EquipmentType::MedicineBall => "medicine_ball",
            EquipmentType::Band => "band",
            EquipmentType::Box => "box",
            EquipmentType::PullUpRig => "pull_up_rig",
            EquipmentType::Rings => "rings",
            EquipmentType::JumpRope => "jump_rope",
            EquipmentType::Rower => "rower",
            EquipmentType::Bike => "bike",
            EquipmentType::SkiErg => "ski_erg",
            EquipmentType::Treadmill => "treadmill",
            EquipmentType::CardioMachine => "cardio_machine",
            EquipmentType::Sled => "sled",
            EquipmentType::BattleRope => "battle_rope",
            EquipmentType::AbWheel => "ab_wheel",
        }
    }

    pub fn known() -> String {
        EquipmentType::ALL.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// A dumbbell (or kettlebell) range: every weight from `min` to `max` in steps of `step` kg.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WeightRange {
    #[schema(minimum = 0.5, maximum = 200)]
    pub min: f64,
    #[schema(minimum = 0.5, maximum = 200)]
    pub max: f64,
    #[schema(minimum = 0.5, maximum = 50)]
    pub step: f64,
}

impl WeightRange {
    pub fn weights(&self) -> Vec<f64> {
        let mut out = Vec::new();
        let mut w = self.min;
        while w <= self.max + 1e-9 && out.len() < 400 {
            out.push((w * 100.0).round() / 100.0);
            w += self.step;
        }
        out
    }
}

/// A weight in an inventory (schema only): above 0 and at most 500 kg.
pub struct Kg;

impl utoipa::PartialSchema for Kg {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new().schema_type(Type::Number).exclusive_minimum(Some(0.0)).maximum(Some(500.0)).into()
    }
}

impl utoipa::ToSchema for Kg {}

/// A box height (schema only): a whole number of cm from 10 to 150.
pub struct BoxHeightCm;

impl utoipa::PartialSchema for BoxHeightCm {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(10)).maximum(Some(150)).into()
    }
}

impl utoipa::ToSchema for BoxHeightCm {}

/// One line of a location's inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EquipmentItem {
    #[serde(rename = "type")]
    pub kind: EquipmentType,
    /// How many (pairs for dumbbells; plates count singly).
    #[schema(minimum = 0, maximum = 10000)]
    pub count: u32,
    /// The weights there are, in kg: kettlebells, dumbbells, medicine balls, bars, plates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(inline, value_type = Vec<Kg>, max_items = 100)]
    pub weights_kg: Vec<f64>,
    /// A dumbbell or kettlebell range, instead of listing each weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range_kg: Option<WeightRange>,
    /// Box heights, in cm.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(inline, value_type = Vec<BoxHeightCm>, max_items = 20)]
    pub heights_cm: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub note: Option<String>,
}

impl EquipmentItem {
    pub fn simple(kind: EquipmentType, count: u32) -> EquipmentItem {
        EquipmentItem { kind, count, weights_kg: Vec::new(), range_kg: None, heights_cm: Vec::new(), note: None }
    }

    /// Every weight of this line: the listed ones and the range's, ascending.
    pub fn all_weights(&self) -> Vec<f64> {
        let mut w = self.weights_kg.clone();
        if let Some(r) = &self.range_kg {
            w.extend(r.weights());
        }
        w.sort_by(f64::total_cmp);
        w.dedup();
        w
    }
}

/// What a member may use at a location today: the inventory minus what the member declined.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Available {
    pub items: Vec<EquipmentItem>,
}

impl Available {
    pub fn new(inventory: &[EquipmentItem], declined: &BTreeSet<EquipmentType>) -> Available {
        Available { items: inventory.iter().filter(|i| i.count > 0 && !declined.contains(&i.kind)).cloned().collect() }
    }

    pub fn has(&self, kind: EquipmentType) -> bool {
        self.items.iter().any(|i| i.kind == kind && i.count > 0)
    }

    pub fn has_all(&self, kinds: &[EquipmentType]) -> bool {
        kinds.iter().all(|k| self.has(*k))
    }

    /// Every weight of one kind the location has (ascending).
    pub fn weights(&self, kind: EquipmentType) -> Vec<f64> {
        let mut w: Vec<f64> = self.items.iter().filter(|i| i.kind == kind).flat_map(|i| i.all_weights()).collect();
        w.sort_by(f64::total_cmp);
        w.dedup();
        w
    }

    /// The heaviest load a barbell can carry here (heaviest bar plus every plate), if known.
    pub fn max_barbell_kg(&self) -> Option<f64> {
        let bar = self.weights(EquipmentType::Barbell).last().copied().unwrap_or(20.0);
        let plates: f64 = self
            .items
            .iter()
            .filter(|i| i.kind == EquipmentType::Plates)
            .map(|i| {
                let w = i.all_weights();
                if w.is_empty() { 0.0 } else { w.iter().sum::<f64>() / w.len() as f64 * f64::from(i.count) }
            })
            .sum();
        self.has(EquipmentType::Plates).then_some(bar + plates)
    }
}
