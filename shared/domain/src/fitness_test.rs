//! Fitness tests: incremental step tests with lactate and gas exchange, ramp VO2max tests, and
//! field tests. A test holds its raw stages; derived results (VO2max, lactate thresholds, peak
//! load) are computed here from those stages, so every adapter and endpoint agrees on them.

use crate::id::{Id, IdKind};
use crate::validation::{FieldError, FieldReader, parse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TestType {
    /// Incremental step test (3–5 min stages) with capillary lactate and heart rate, optionally
    /// with gas exchange: gives LT1/LT2 and, with gas, VO2max.
    LactateStep,
    /// Ramp test to exhaustion with gas exchange (1 min stages): gives VO2max and peak power.
    Vo2maxRamp,
    /// Cooper 12-minute run: distance estimates VO2max.
    #[serde(rename = "cooper_12min", alias = "cooper12min")]
    Cooper12min,
    /// 2,000 m row on an ergometer: time and average power.
    #[serde(rename = "row_2k", alias = "row2k")]
    Row2k,
}

impl TestType {
    pub const ALL: [TestType; 4] =
        [TestType::LactateStep, TestType::Vo2maxRamp, TestType::Cooper12min, TestType::Row2k];

    pub const fn as_str(self) -> &'static str {
        match self {
            TestType::LactateStep => "lactate_step",
            TestType::Vo2maxRamp => "vo2max_ramp",
            TestType::Cooper12min => "cooper_12min",
            TestType::Row2k => "row_2k",
        }
    }

    pub fn parse(s: &str) -> Option<TestType> {
        TestType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    Cycling,
    Running,
    Rowing,
}

impl Modality {
    /// The unit a stage's load is measured in: power for ergometers, speed for running.
    pub const fn load_unit(self) -> &'static str {
        match self {
            Modality::Cycling | Modality::Rowing => "W",
            Modality::Running => "km/h",
        }
    }
}

/// One stage of a test, as measured at its end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stage {
    /// 1-based position in the protocol.
    pub number: u16,
    pub duration_s: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kmh: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incline_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heart_rate_bpm: Option<u16>,
    /// Capillary blood lactate, mmol/L.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lactate_mmol: Option<f64>,
    /// Oxygen uptake, ml/kg/min (averaged over the stage's last 30 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vo2_ml_kg_min: Option<f64>,
    /// Respiratory exchange ratio (VCO2/VO2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rer: Option<f64>,
    /// Borg rating of perceived exertion, 6–20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpe: Option<u8>,
}

impl Stage {
    fn load(&self, modality: Modality) -> Option<f64> {
        match modality {
            Modality::Cycling | Modality::Rowing => self.power_w,
            Modality::Running => self.speed_kmh,
        }
    }
}

/// A lactate threshold located on the load axis by linear interpolation between stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Threshold {
    pub load: f64,
    /// `W` or `km/h`.
    pub unit: String,
    pub heart_rate_bpm: Option<f64>,
    pub lactate_mmol: f64,
    /// `baseline_plus_0_5` (LT1) or `obla_4` (LT2, onset of blood lactate accumulation).
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DerivedResults {
    /// Highest stage VO2 (measured), or the Cooper estimate; ml/kg/min.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vo2max_ml_kg_min: Option<f64>,
    /// `measured` or `estimated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vo2max_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_heart_rate_bpm: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_power_w: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_power_w_per_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_speed_kmh: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lactate_mmol: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt1: Option<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt2: Option<Threshold>,
    /// For a 2k row: time per 500 m, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_500m_s: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FitnessTest {
    pub id: Id,
    pub athlete_id: Id,
    pub test_type: TestType,
    pub modality: Modality,
    pub performed_at: DateTime<Utc>,
    pub location_id: Option<Id>,
    pub body_mass_kg: Option<f64>,
    pub stages: Vec<Stage>,
    pub results: DerivedResults,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Load and heart rate where lactate first reaches `target`, interpolated between the stage
/// below and the stage at or above it. `None` if lactate never gets there.
fn interpolate_at_lactate(stages: &[&Stage], modality: Modality, target: f64) -> Option<(f64, Option<f64>)> {
    let points: Vec<(f64, f64, Option<f64>)> = stages
        .iter()
        .filter_map(|s| Some((s.load(modality)?, s.lactate_mmol?, s.heart_rate_bpm.map(f64::from))))
        .collect();
    for pair in points.windows(2) {
        let ((l0, la0, h0), (l1, la1, h1)) = (pair[0], pair[1]);
        if la0 < target && la1 >= target && la1 > la0 {
            let t = (target - la0) / (la1 - la0);
            let hr = match (h0, h1) {
                (Some(a), Some(b)) => Some(round1(a + t * (b - a))),
                _ => None,
            };
            return Some((round1(l0 + t * (l1 - l0)), hr));
        }
    }
    None
}

/// Computes every result the stages support. Pure and total: missing data gives `None`s.
pub fn derive_results(
    test_type: TestType,
    modality: Modality,
    body_mass_kg: Option<f64>,
    stages: &[Stage],
) -> DerivedResults {
    let mut ordered: Vec<&Stage> = stages.iter().collect();
    ordered.sort_by_key(|s| s.number);
    let mut r = DerivedResults {
        max_heart_rate_bpm: ordered.iter().filter_map(|s| s.heart_rate_bpm).max(),
        max_lactate_mmol: ordered.iter().filter_map(|s| s.lactate_mmol).max_by(f64::total_cmp),
        ..DerivedResults::default()
    };
    let peak_load = ordered.iter().filter_map(|s| s.load(modality)).max_by(f64::total_cmp);
    match modality {
        Modality::Cycling | Modality::Rowing => {
            r.peak_power_w = peak_load;
            r.peak_power_w_per_kg = match (peak_load, body_mass_kg) {
                (Some(p), Some(kg)) if kg > 0.0 => Some((p / kg * 100.0).round() / 100.0),
                _ => None,
            };
        }
        Modality::Running => r.peak_speed_kmh = peak_load,
    }
    if let Some(v) = ordered.iter().filter_map(|s| s.vo2_ml_kg_min).max_by(f64::total_cmp) {
        r.vo2max_ml_kg_min = Some(round1(v));
        r.vo2max_method = Some("measured".into());
    }
    match test_type {
        TestType::Cooper12min => {
            let distance: f64 = ordered.iter().filter_map(|s| s.distance_m).sum();
            if distance > 0.0 && r.vo2max_ml_kg_min.is_none() {
                // Cooper (1968): VO2max = (d − 504.9) / 44.73.
                r.vo2max_ml_kg_min = Some(round1(((distance - 504.9) / 44.73).max(0.0)));
                r.vo2max_method = Some("estimated".into());
            }
        }
        TestType::Row2k => {
            let time: u32 = ordered.iter().map(|s| s.duration_s).sum();
            let distance: f64 = ordered.iter().filter_map(|s| s.distance_m).sum();
            if time > 0 && distance > 0.0 {
                r.split_500m_s = Some(round1(time as f64 * 500.0 / distance));
            }
        }
        TestType::LactateStep | TestType::Vo2maxRamp => {}
    }
    let baseline = ordered.iter().take(2).filter_map(|s| s.lactate_mmol).min_by(f64::total_cmp);
    let unit = modality.load_unit().to_owned();
    if let Some(base) = baseline {
        let target = base + 0.5;
        r.lt1 = interpolate_at_lactate(&ordered, modality, target).map(|(load, hr)| Threshold {
            load,
            unit: unit.clone(),
            heart_rate_bpm: hr,
            lactate_mmol: round1(target),
            method: "baseline_plus_0_5".into(),
        });
    }
    r.lt2 = interpolate_at_lactate(&ordered, modality, 4.0).map(|(load, hr)| Threshold {
        load,
        unit,
        heart_rate_bpm: hr,
        lactate_mmol: 4.0,
        method: "obla_4".into(),
    });
    r
}

/// A heart-rate training zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingZone {
    pub zone: u8,
    pub name: String,
    pub min_bpm: u16,
    pub max_bpm: u16,
}

/// Five heart-rate zones anchored on the lactate thresholds (needs LT1 and LT2 with heart rates):
/// recovery below 90 % of LT1, endurance up to LT1, tempo to midway between the thresholds,
/// threshold up to LT2, and VO2max above it, up to the test's maximum heart rate.
pub fn training_zones(results: &DerivedResults) -> Option<Vec<TrainingZone>> {
    let lt1 = results.lt1.as_ref()?.heart_rate_bpm?;
    let lt2 = results.lt2.as_ref()?.heart_rate_bpm?;
    let max = f64::from(results.max_heart_rate_bpm?);
    if !(lt1 < lt2 && lt2 <= max) {
        return None;
    }
    let bounds = [0.0, (lt1 * 0.9).round(), lt1.round(), ((lt1 + lt2) / 2.0).round(), lt2.round(), max];
    let names = ["recovery", "endurance", "tempo", "threshold", "vo2max"];
    Some(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| TrainingZone {
                zone: i as u8 + 1,
                name: (*name).into(),
                min_bpm: if i == 0 { 0 } else { bounds[i] as u16 + 1 },
                max_bpm: bounds[i + 1] as u16,
            })
            .collect(),
    )
}

// ---- validation: the rules every way of recording a test shares (the API, bulk, imports) ----

/// The writable fields of a test, as named on the wire.
pub const FIELDS: &[&str] = &[
    "athleteId",
    "athleteExternalId",
    "testType",
    "modality",
    "performedAt",
    "locationId",
    "bodyMassKg",
    "stages",
    "notes",
];
/// A stage's fields (all numbers).
pub const STAGE_FIELDS: &[&str] = &[
    "number",
    "durationS",
    "powerW",
    "speedKmh",
    "inclinePct",
    "distanceM",
    "heartRateBpm",
    "lactateMmol",
    "vo2MlKgMin",
    "rer",
    "rpe",
];
/// The most stages one test may hold.
pub const MAX_STAGES: usize = 40;

/// Who a test belongs to, as the client named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AthleteRef {
    Id(Id),
    /// The business's own id for the member (bulk and imports only).
    External(String),
}

/// A validated test, before its athlete is resolved and its id given.
#[derive(Debug, Clone, PartialEq)]
pub struct TestInput {
    pub athlete: AthleteRef,
    pub test_type: TestType,
    pub modality: Modality,
    pub performed_at: DateTime<Utc>,
    pub location_id: Option<Id>,
    pub body_mass_kg: Option<f64>,
    pub stages: Vec<Stage>,
    pub notes: Option<String>,
}

impl TestInput {
    /// The test, with its results derived, recorded at `now`.
    pub fn into_test(self, id: Id, athlete_id: Id, now: DateTime<Utc>) -> FitnessTest {
        let results = derive_results(self.test_type, self.modality, self.body_mass_kg, &self.stages);
        FitnessTest {
            id,
            athlete_id,
            test_type: self.test_type,
            modality: self.modality,
            performed_at: self.performed_at,
            location_id: self.location_id,
            body_mass_kg: self.body_mass_kg,
            stages: self.stages,
            results,
            notes: self.notes,
            created_at: now,
            updated_at: now,
        }
    }
}

/// The modality a test type implies, if it implies one.
pub fn implied_modality(t: TestType) -> Option<Modality> {
    match t {
        TestType::Cooper12min => Some(Modality::Running),
        TestType::Row2k => Some(Modality::Rowing),
        TestType::LactateStep | TestType::Vo2maxRamp => None,
    }
}

fn stage(v: &Value, prefix: &str, errors: &mut Vec<FieldError>) -> Option<Stage> {
    let Some(obj) = v.as_object() else {
        errors.push(FieldError { field: prefix.into(), message: "must be an object".into() });
        return None;
    };
    let mut r = FieldReader::new(obj, prefix, "a stage", STAGE_FIELDS);
    let number = r.required("number", parse::int(1, MAX_STAGES as i64));
    let duration = r.required("durationS", parse::int(1, 7200));
    let num = |r: &mut FieldReader, f: &str, min: f64, max: f64| r.optional(f, parse::number(min, max)).flatten();
    let power_w = num(&mut r, "powerW", 0.0, 2500.0);
    let speed_kmh = num(&mut r, "speedKmh", 0.0, 45.0);
    let incline_pct = num(&mut r, "inclinePct", -10.0, 40.0);
    let distance_m = num(&mut r, "distanceM", 0.0, 100_000.0);
    let lactate_mmol = num(&mut r, "lactateMmol", 0.0, 30.0);
    let vo2 = num(&mut r, "vo2MlKgMin", 5.0, 100.0);
    let rer = num(&mut r, "rer", 0.5, 2.0);
    let hr = r.optional("heartRateBpm", parse::int(30, 250)).flatten();
    let rpe = r.optional("rpe", parse::int(6, 20)).flatten();
    let ok = r.errors.is_empty();
    errors.extend(r.errors);
    ok.then(|| Stage {
        number: number.unwrap_or(1) as u16,
        duration_s: duration.unwrap_or(1) as u32,
        power_w,
        speed_kmh,
        incline_pct,
        distance_m,
        heart_rate_bpm: hr.map(|h| h as u16),
        lactate_mmol,
        vo2_ml_kg_min: vo2,
        rer,
        rpe: rpe.map(|r| r as u8),
    })
}

/// Validates a new test. `external_ref` allows `athleteExternalId` (bulk and imports) besides
/// `athleteId`; exactly one of them names the athlete. Every problem is returned.
pub fn validate_new(
    body: &Map<String, Value>,
    now: DateTime<Utc>,
    external_ref: bool,
) -> Result<TestInput, Vec<FieldError>> {
    let known: Vec<&str> = FIELDS.iter().copied().filter(|f| external_ref || *f != "athleteExternalId").collect();
    let mut r = FieldReader::new(body, "", "a test", &known);
    let by_id = r.optional("athleteId", |v| {
        v.as_str()
            .and_then(|s| Id::parse_kind(IdKind::Athlete, s))
            .ok_or_else(|| "must be an athlete id (`ath_…`)".to_owned())
    });
    let by_ext = if external_ref { r.optional("athleteExternalId", parse::text(100)) } else { None };
    let athlete = match (by_id.flatten(), by_ext.flatten()) {
        (Some(id), None) => Some(AthleteRef::Id(id)),
        (None, Some(ext)) => Some(AthleteRef::External(ext)),
        (Some(_), Some(_)) => {
            r.fail("athleteExternalId", "name the athlete by `athleteId` or `athleteExternalId`, not both");
            None
        }
        (None, None) => {
            if r.errors.is_empty() || !(r.has("athleteId") || r.has("athleteExternalId")) {
                let message = if external_ref { "is required (or `athleteExternalId`)" } else { "is required" };
                r.fail("athleteId", message);
            }
            None
        }
    };
    let types = TestType::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ");
    let test_type = r.required("testType", parse::one_of::<TestType>(&types));
    let modality = r.optional("modality", parse::one_of::<Modality>("cycling, running, rowing")).flatten();
    let modality = match (test_type, modality) {
        (Some(t), m) => match (implied_modality(t), m) {
            (Some(implied), Some(m)) if m != implied => {
                r.fail("modality", format!("a {} test is {}", t.as_str(), encode_modality(implied)));
                None
            }
            (Some(implied), _) => Some(implied),
            (None, Some(m)) => Some(m),
            (None, None) => {
                r.fail("modality", format!("is required for a {} test: cycling, running or rowing", t.as_str()));
                None
            }
        },
        (None, _) => None,
    };
    let earliest = DateTime::from_timestamp(946_684_800, 0).unwrap_or(now); // 2000-01-01
    let performed_at = r.required("performedAt", parse::timestamp(earliest, now + chrono::Duration::minutes(5)));
    let location_id = r
        .optional("locationId", |v| {
            v.as_str()
                .and_then(|s| Id::parse_kind(IdKind::Location, s))
                .ok_or_else(|| "must be a location id (`loc_…`)".to_owned())
        })
        .flatten();
    let body_mass_kg = r.optional("bodyMassKg", parse::number(20.0, 300.0)).flatten();
    let notes = r.optional("notes", parse::text(1000)).flatten();
    let mut nested = Vec::new();
    let stages = r.required("stages", parse::array(MAX_STAGES)).map(|list| {
        if list.is_empty() {
            nested.push(FieldError { field: "/stages".into(), message: "needs at least one stage".into() });
        }
        let stages: Vec<Option<Stage>> =
            list.iter().enumerate().map(|(i, v)| stage(v, &format!("/stages/{i}"), &mut nested)).collect();
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in stages.iter().enumerate() {
            if let Some(s) = s
                && !seen.insert(s.number)
            {
                nested.push(FieldError {
                    field: format!("/stages/{i}/number"),
                    message: format!("stage {} is listed twice", s.number),
                });
            }
        }
        stages.into_iter().flatten().collect::<Vec<_>>()
    });
    if let (Some(t), Some(stages)) = (test_type, stages.as_ref().filter(|s| !s.is_empty())) {
        let has = |f: fn(&Stage) -> bool| stages.iter().any(f);
        match t {
            TestType::Cooper12min if !has(|s| s.distance_m.is_some()) => nested.push(FieldError {
                field: "/stages".into(),
                message: "a Cooper test needs the distance run (`distanceM`)".into(),
            }),
            TestType::Row2k if !has(|s| s.distance_m.is_some()) => nested.push(FieldError {
                field: "/stages".into(),
                message: "a 2k row needs `distanceM` (and the time as `durationS`)".into(),
            }),
            _ => {}
        }
    }
    let mut errors = r.errors;
    errors.extend(nested);
    if !errors.is_empty() {
        return Err(errors);
    }
    match (athlete, test_type, modality, performed_at, stages) {
        (Some(athlete), Some(test_type), Some(modality), Some(performed_at), Some(mut stages)) => {
            stages.sort_by_key(|s| s.number);
            Ok(TestInput { athlete, test_type, modality, performed_at, location_id, body_mass_kg, stages, notes })
        }
        _ => Err(vec![FieldError { field: "".into(), message: "is not a valid test".into() }]),
    }
}

fn encode_modality(m: Modality) -> &'static str {
    match m {
        Modality::Cycling => "cycling",
        Modality::Running => "running",
        Modality::Rowing => "rowing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_follow_the_thresholds() {
        let stages = vec![
            stage(1, 100.0, 110, 1.0, None),
            stage(2, 150.0, 125, 1.1, None),
            stage(3, 200.0, 140, 1.9, None),
            stage(4, 250.0, 158, 3.0, None),
            stage(5, 300.0, 172, 5.0, None),
        ];
        let r = derive_results(TestType::LactateStep, Modality::Cycling, None, &stages);
        let zones = training_zones(&r).expect("zones");
        assert_eq!(zones.len(), 5);
        // LT1 at 132.5 bpm, LT2 at 165 bpm, max 172.
        assert_eq!((zones[0].min_bpm, zones[0].max_bpm), (0, 119));
        assert_eq!((zones[1].min_bpm, zones[1].max_bpm), (120, 133));
        assert_eq!((zones[3].max_bpm, zones[4].min_bpm, zones[4].max_bpm), (165, 166, 172));
        assert!(training_zones(&DerivedResults::default()).is_none());
    }

    fn stage(n: u16, power: f64, hr: u16, lac: f64, vo2: Option<f64>) -> Stage {
        Stage {
            number: n,
            duration_s: 240,
            power_w: Some(power),
            speed_kmh: None,
            incline_pct: None,
            distance_m: None,
            heart_rate_bpm: Some(hr),
            lactate_mmol: Some(lac),
            vo2_ml_kg_min: vo2,
            rer: None,
            rpe: None,
        }
    }

    #[test]
    fn lactate_step_test_thresholds_interpolate() {
        let stages = vec![
            stage(1, 100.0, 110, 1.0, Some(20.0)),
            stage(2, 150.0, 125, 1.1, Some(27.0)),
            stage(3, 200.0, 140, 1.9, Some(34.0)),
            stage(4, 250.0, 158, 3.0, Some(41.0)),
            stage(5, 300.0, 172, 5.0, Some(48.5)),
        ];
        let r = derive_results(TestType::LactateStep, Modality::Cycling, Some(75.0), &stages);
        let lt1 = r.lt1.expect("LT1");
        // baseline 1.0 → target 1.5, between 150 W (1.1) and 200 W (1.9): 150 + 0.5 × 50 = 175 W.
        assert_eq!(lt1.load, 175.0);
        assert_eq!(lt1.heart_rate_bpm, Some(132.5));
        let lt2 = r.lt2.expect("LT2");
        // 4.0 between 250 W (3.0) and 300 W (5.0): 275 W.
        assert_eq!(lt2.load, 275.0);
        assert_eq!(lt2.unit, "W");
        assert_eq!(r.vo2max_ml_kg_min, Some(48.5));
        assert_eq!(r.peak_power_w, Some(300.0));
        assert_eq!(r.peak_power_w_per_kg, Some(4.0));
        assert_eq!(r.max_heart_rate_bpm, Some(172));
    }

    #[test]
    fn cooper_estimate_and_missing_data() {
        let run = Stage {
            number: 1,
            duration_s: 720,
            power_w: None,
            speed_kmh: None,
            incline_pct: None,
            distance_m: Some(2800.0),
            heart_rate_bpm: None,
            lactate_mmol: None,
            vo2_ml_kg_min: None,
            rer: None,
            rpe: Some(18),
        };
        let r = derive_results(TestType::Cooper12min, Modality::Running, None, &[run]);
        assert_eq!(r.vo2max_ml_kg_min, Some(51.3));
        assert_eq!(r.vo2max_method.as_deref(), Some("estimated"));
        assert!(r.lt1.is_none() && r.lt2.is_none());
        assert_eq!(derive_results(TestType::LactateStep, Modality::Running, None, &[]), DerivedResults::default());
    }

    #[test]
    fn row_2k_split() {
        let row = Stage {
            number: 1,
            duration_s: 420,
            power_w: Some(300.0),
            speed_kmh: None,
            incline_pct: None,
            distance_m: Some(2000.0),
            heart_rate_bpm: Some(185),
            lactate_mmol: None,
            vo2_ml_kg_min: None,
            rer: None,
            rpe: None,
        };
        let r = derive_results(TestType::Row2k, Modality::Rowing, Some(80.0), &[row]);
        assert_eq!(r.split_500m_s, Some(105.0));
        assert_eq!(r.peak_power_w_per_kg, Some(3.75));
    }
}
