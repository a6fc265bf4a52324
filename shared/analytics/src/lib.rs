//! How the churn model is measured (docs/ANALYTICS.md): a seeded, labelled synthetic cohort
//! ([`cohort`]), ROC AUC and precision in the top decile of a score, and a logistic-regression
//! fit of the factor weights on a training cohort, compared with the roadmap's defaults on a
//! held-out one. `cargo run -p iron-analytics --release --example evaluate` prints the figures.

pub mod cohort;

use iron_domain::churn::{FactorKind, Weights, score};

/// ROC AUC: the chance a random positive scores above a random negative (ties count half).
pub fn auc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut pairs: Vec<(f64, bool)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
    let (pos, neg) = (labels.iter().filter(|l| **l).count() as f64, labels.iter().filter(|l| !**l).count() as f64);
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    // Mann–Whitney U with average ranks for ties.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < pairs.len() {
        let mut j = i;
        while j < pairs.len() && pairs[j].0 == pairs[i].0 {
            j += 1;
        }
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += pairs[i..j].iter().filter(|p| p.1).count() as f64 * avg_rank;
        i = j;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// The share of positives among the top 10 % by score.
pub fn precision_top_decile(scores: &[f64], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*b].partial_cmp(&scores[*a]).unwrap_or(std::cmp::Ordering::Equal));
    let k = (scores.len() / 10).max(1);
    idx[..k].iter().filter(|i| labels[**i]).count() as f64 / k as f64
}

/// Each member's six factor risks (missing as 0) on the cohort's snapshot day.
pub fn features(c: &cohort::Cohort) -> Vec<[f64; 6]> {
    c.members
        .iter()
        .map(|m| {
            let s = score(&m.history, &Weights::default(), c.snapshot);
            let mut x = [0.0; 6];
            for (i, kind) in FactorKind::ALL.iter().enumerate() {
                x[i] = s.factors.iter().find(|f| f.factor == *kind).and_then(|f| f.risk).unwrap_or(0.0);
            }
            x
        })
        .collect()
}

/// A logistic regression on the six factor risks.
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    pub intercept: f64,
    pub coefficients: [f64; 6],
}

impl Logistic {
    /// Batch gradient descent on the mean log-loss with a little L2 (deterministic).
    pub fn fit(x: &[[f64; 6]], y: &[bool]) -> Logistic {
        let n = x.len() as f64;
        let (mut b, mut w) = (0.0f64, [0.0f64; 6]);
        let (rate, l2) = (1.0, 1e-4);
        for _ in 0..3000 {
            let (mut gb, mut gw) = (0.0, [0.0; 6]);
            for (xi, yi) in x.iter().zip(y) {
                let z = b + (0..6).map(|k| w[k] * xi[k]).sum::<f64>();
                let err = 1.0 / (1.0 + (-z).exp()) - if *yi { 1.0 } else { 0.0 };
                gb += err;
                for k in 0..6 {
                    gw[k] += err * xi[k];
                }
            }
            b -= rate * gb / n;
            for k in 0..6 {
                w[k] -= rate * (gw[k] / n + l2 * w[k]);
            }
        }
        Logistic { intercept: b, coefficients: w }
    }

    pub fn predict(&self, x: &[f64; 6]) -> f64 {
        let z = self.intercept + (0..6).map(|k| self.coefficients[k] * x[k]).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }

    /// The coefficients as weights the scorer can use (negative ones at 0, scaled to sum to 1).
    pub fn weights(&self) -> Option<Weights> {
        Weights::normalised(self.coefficients)
    }
}

/// What one evaluation measured.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub train_members: usize,
    pub test_members: usize,
    pub test_positives: usize,
    pub auc_default: f64,
    pub top_decile_default: f64,
    pub auc_fitted_weights: f64,
    pub top_decile_fitted_weights: f64,
    pub auc_logistic: f64,
    /// Each factor's risk alone, ranked on the held-out cohort.
    pub factor_auc: [(FactorKind, f64); 6],
    /// The members' true engagement on the snapshot day (which the generator knows and no
    /// model can see): the ceiling the visible signals are measured against.
    pub auc_oracle: f64,
    pub fitted: Logistic,
    pub fitted_weights: Weights,
    pub retention: [(f64, f64); 3],
}

/// The scores of `c`'s members with `weights`.
pub fn scores_with(c: &cohort::Cohort, weights: &Weights) -> Vec<f64> {
    c.members.iter().map(|m| score(&m.history, weights, c.snapshot).risk_score).collect()
}

/// Trains on one seeded cohort, measures on another.
pub fn evaluate(train_seed: u64, test_seed: u64, n: usize) -> Evaluation {
    let snapshot = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date");
    let train = cohort::generate(train_seed, n, snapshot);
    let test = cohort::generate(test_seed, n, snapshot);
    let labels = |c: &cohort::Cohort| c.members.iter().map(|m| m.label).collect::<Vec<_>>();
    let (train_y, test_y) = (labels(&train), labels(&test));
    let fitted = Logistic::fit(&features(&train), &train_y);
    let fitted_weights = fitted.weights().unwrap_or_default();
    let default_scores = scores_with(&test, &Weights::default());
    let fitted_scores = scores_with(&test, &fitted_weights);
    let test_x = features(&test);
    let logistic_scores: Vec<f64> = test_x.iter().map(|x| fitted.predict(x)).collect();
    let oracle: Vec<f64> = test.members.iter().map(|m| 1.0 - m.engagement).collect();
    let factor_auc = std::array::from_fn(|k| {
        let col: Vec<f64> = test_x.iter().map(|x| x[k]).collect();
        (FactorKind::ALL[k], auc(&col, &test_y))
    });
    Evaluation {
        train_members: train.members.len(),
        test_members: test.members.len(),
        test_positives: test_y.iter().filter(|l| **l).count(),
        auc_default: auc(&default_scores, &test_y),
        top_decile_default: precision_top_decile(&default_scores, &test_y),
        auc_fitted_weights: auc(&fitted_scores, &test_y),
        top_decile_fitted_weights: precision_top_decile(&fitted_scores, &test_y),
        auc_logistic: auc(&logistic_scores, &test_y),
        factor_auc,
        auc_oracle: auc(&oracle, &test_y),
        fitted,
        fitted_weights,
        retention: [3.0, 6.0, 12.0].map(|m| (m, cohort::observed_retention(&train, m))),
    }
}

/// The seeds and size docs/ANALYTICS.md reports (and the test checks).
pub const TRAIN_SEED: u64 = 20_261_201;
pub const TEST_SEED: u64 = 20_261_202;
pub const COHORT_SIZE: usize = 12_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_orderings() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), 0.0);
        assert_eq!(auc(&[0.5, 0.5, 0.5, 0.5], &[false, true, false, true]), 0.5);
        assert_eq!(auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), 0.75);
        assert_eq!(precision_top_decile(&[0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.05], &[true; 10]), 1.0);
    }

    #[test]
    fn the_generator_matches_published_retention() {
        let c = cohort::generate(TRAIN_SEED, COHORT_SIZE, chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        for (months, published) in [(3.0, 0.88), (6.0, 0.74), (12.0, 0.53)] {
            assert!((cohort::expected_retention(months) - published).abs() < 0.001, "the hazard at {months} months");
            let seen = cohort::observed_retention(&c, months);
            assert!((seen - published).abs() < 0.02, "{months} months: {seen} vs {published}");
        }
        // The same seed gives the same cohort.
        let again = cohort::generate(TRAIN_SEED, 500, c.snapshot);
        let once = cohort::generate(TRAIN_SEED, 500, c.snapshot);
        assert_eq!(again.members.len(), once.members.len());
        assert_eq!(again.members[0].history, once.members[0].history);
    }

    /// The regression floor: the default (explainable) score on the held-out cohort. Above 0.95
    /// would mean the generator leaks the label.
    #[test]
    fn the_default_score_ranks_leavers_on_a_held_out_cohort() {
        let e = evaluate(TRAIN_SEED, TEST_SEED, COHORT_SIZE);
        eprintln!("{e:#?}");
        assert!(e.test_positives >= 100, "enough leavers to measure: {}", e.test_positives);
        assert!(e.auc_default >= 0.75, "AUC {:.3} below the floor", e.auc_default);
        assert!(e.auc_default <= 0.95, "AUC {:.3}: the generator leaks the label", e.auc_default);
        assert!(e.auc_logistic <= 0.95, "AUC {:.3}: the generator leaks the label", e.auc_logistic);
    }
}
