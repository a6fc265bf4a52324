//! Readiness: how ready a member is to train today, from an established wellness questionnaire,
//! optionally adjusted by resting heart rate and HRV against the member's own recent baseline.
//!
//! - **Hooper index** (Hooper & Mackinnon 1995): sleep, fatigue, stress and muscle soreness, each
//!   1 (very, very good) to 7 (very, very bad); the index is their sum, 4–28.
//!   Score = 1 + 9 × (28 − index) / 24.
//! - **McLean wellness** (McLean et al. 2010): fatigue, sleep quality, muscle soreness, stress and
//!   mood, each 1 (worst) to 5 (best); total 5–25. Score = 1 + 9 × (total − 5) / 20.
//! - Adjustments (only with a baseline of at least 3 earlier readings in 28 days): HRV more than
//!   10 % under baseline −1 (more than 20 %: −1.5); resting HR 5+ bpm over baseline −0.5 (10+: −1).
//!
//! The score is clamped to 1–10 and rounded to one decimal; bands: low < 4, moderate < 7, high.
//! Health data: readable only with `read:members`, never logged.

use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Questionnaire {
    Hooper,
    Mclean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadinessBand {
    Low,
    Moderate,
    High,
}

impl ReadinessBand {
    pub fn of(score: f64) -> ReadinessBand {
        if score < 4.0 {
            ReadinessBand::Low
        } else if score < 7.0 {
            ReadinessBand::Moderate
        } else {
            ReadinessBand::High
        }
    }
}

/// The questionnaire's answers (the items each questionnaire asks; `mood` is McLean's only).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Answers {
    pub sleep: u8,
    pub fatigue: u8,
    pub stress: u8,
    pub soreness: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Adjustment {
    pub factor: String,
    pub delta: f64,
    pub detail: String,
}

/// How the score was reached, step by step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Computation {
    /// The questionnaire's own total (Hooper index 4–28, lower is better; McLean total 5–25, higher is better).
    pub raw_total: u32,
    pub formula: String,
    pub base_score: f64,
    pub adjustments: Vec<Adjustment>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessEntry {
    pub id: Id,
    pub athlete_id: Id,
    pub recorded_at: DateTime<Utc>,
    pub questionnaire: Questionnaire,
    pub answers: Answers,
    pub resting_hr: Option<u32>,
    pub hrv_ms: Option<f64>,
    pub score: f64,
    pub band: ReadinessBand,
    pub computation: Computation,
}

impl std::fmt::Debug for ReadinessEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadinessEntry").field("id", &self.id).finish_non_exhaustive()
    }
}

/// The member's recent physiological baseline (means of earlier readings).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Baseline {
    pub resting_hr: Option<f64>,
    pub hrv_ms: Option<f64>,
}

impl Baseline {
    /// From earlier entries (needs 3 readings of a value to count it).
    pub fn of(earlier: &[ReadinessEntry]) -> Baseline {
        let mean = |xs: Vec<f64>| (xs.len() >= 3).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
        Baseline {
            resting_hr: mean(earlier.iter().filter_map(|e| e.resting_hr.map(f64::from)).collect()),
            hrv_ms: mean(earlier.iter().filter_map(|e| e.hrv_ms).collect()),
        }
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Scores a questionnaire (answers already range-checked by [`item_range`]).
pub fn score(
    questionnaire: Questionnaire,
    answers: &Answers,
    resting_hr: Option<u32>,
    hrv_ms: Option<f64>,
    baseline: Baseline,
) -> (f64, ReadinessBand, Computation) {
    let (raw, base, formula) = match questionnaire {
        Questionnaire::Hooper => {
            let index = u32::from(answers.sleep + answers.fatigue + answers.stress + answers.soreness);
            (index, 1.0 + 9.0 * (28.0 - f64::from(index)) / 24.0, "1 + 9 × (28 − Hooper index) / 24")
        }
        Questionnaire::Mclean => {
            let total = u32::from(
                answers.sleep + answers.fatigue + answers.stress + answers.soreness + answers.mood.unwrap_or(3),
            );
            (total, 1.0 + 9.0 * (f64::from(total) - 5.0) / 20.0, "1 + 9 × (McLean total − 5) / 20")
        }
    };
    let mut adjustments = Vec::new();
    if let (Some(hrv), Some(base_hrv)) = (hrv_ms, baseline.hrv_ms)
        && base_hrv > 0.0
    {
        let drop = (base_hrv - hrv) / base_hrv;
        let delta = if drop > 0.2 {
            -1.5
        } else if drop > 0.1 {
            -1.0
        } else {
            0.0
        };
        if delta != 0.0 {
            adjustments.push(Adjustment {
                factor: "hrv".into(),
                delta,
                detail: format!("HRV {hrv:.0} ms is {:.0} % under your {base_hrv:.0} ms baseline", drop * 100.0),
            });
        }
    }
    if let (Some(hr), Some(base_hr)) = (resting_hr, baseline.resting_hr) {
        let rise = f64::from(hr) - base_hr;
        let delta = if rise >= 10.0 {
            -1.0
        } else if rise >= 5.0 {
            -0.5
        } else {
            0.0
        };
        if delta != 0.0 {
            adjustments.push(Adjustment {
                factor: "restingHr".into(),
                delta,
                detail: format!("resting HR {hr} bpm is {rise:.0} bpm over your {base_hr:.0} bpm baseline"),
            });
        }
    }
    let total = (base + adjustments.iter().map(|a| a.delta).sum::<f64>()).clamp(1.0, 10.0);
    let score = round1(total);
    (
        score,
        ReadinessBand::of(score),
        Computation { raw_total: raw, formula: formula.into(), base_score: round1(base), adjustments },
    )
}

/// The valid range of each item of a questionnaire.
pub fn item_range(questionnaire: Questionnaire) -> (i64, i64) {
    match questionnaire {
        Questionnaire::Hooper => (1, 7),
        Questionnaire::Mclean => (1, 5),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(s: u8, f: u8, st: u8, so: u8, mood: Option<u8>) -> Answers {
        Answers { sleep: s, fatigue: f, stress: st, soreness: so, mood }
    }

    #[test]
    fn scores_span_one_to_ten_and_bands_follow() {
        let best = score(Questionnaire::Hooper, &answers(1, 1, 1, 1, None), None, None, Baseline::default());
        let worst = score(Questionnaire::Hooper, &answers(7, 7, 7, 7, None), None, None, Baseline::default());
        assert_eq!((best.0, best.1), (10.0, ReadinessBand::High));
        assert_eq!((worst.0, worst.1), (1.0, ReadinessBand::Low));
        let mid = score(Questionnaire::Mclean, &answers(3, 3, 3, 3, Some(3)), None, None, Baseline::default());
        assert_eq!((mid.0, mid.1, mid.2.raw_total), (5.5, ReadinessBand::Moderate, 15));
    }

    #[test]
    fn physiology_lowers_the_score_only_against_a_baseline() {
        let a = answers(2, 2, 2, 2, None);
        let none = score(Questionnaire::Hooper, &a, Some(70), Some(40.0), Baseline::default());
        assert!(none.2.adjustments.is_empty());
        let base = Baseline { resting_hr: Some(55.0), hrv_ms: Some(60.0) };
        let (s, _, c) = score(Questionnaire::Hooper, &a, Some(66), Some(45.0), base);
        assert_eq!(c.adjustments.len(), 2);
        assert_eq!(s, round1(c.base_score - 2.5));
    }
}
