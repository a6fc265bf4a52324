//! Prints the churn model's figures for docs/ANALYTICS.md:
//! `cargo run -p iron-analytics --release --example evaluate`.

use iron_analytics::{COHORT_SIZE, TEST_SEED, TRAIN_SEED, evaluate};
use iron_domain::churn::{FactorKind, Weights};

fn main() {
    let started = std::time::Instant::now();
    let e = evaluate(TRAIN_SEED, TEST_SEED, COHORT_SIZE);
    println!("cohorts: {COHORT_SIZE} members simulated each (seeds {TRAIN_SEED} train, {TEST_SEED} held out)");
    println!(
        "enrolled on the snapshot: {} train, {} held out ({} cancel within 30 days, {:.1} %)",
        e.train_members,
        e.test_members,
        e.test_positives,
        100.0 * e.test_positives as f64 / e.test_members as f64
    );
    for (m, r) in e.retention {
        println!("retention at {m} months: {:.1} %", 100.0 * r);
    }
    println!("| score | ROC AUC | precision, top decile |\n|---|---|---|");
    println!("| default weights | {:.3} | {:.1} % |", e.auc_default, 100.0 * e.top_decile_default);
    println!("| fitted weights | {:.3} | {:.1} % |", e.auc_fitted_weights, 100.0 * e.top_decile_fitted_weights);
    println!("| logistic regression (its own link) | {:.3} | |", e.auc_logistic);
    println!("| true engagement (the generator's ceiling) | {:.3} | |", e.auc_oracle);
    println!("| factor | default weight | fitted weight | coefficient | AUC alone |\n|---|---|---|---|---|");
    let d = Weights::default();
    for (i, (kind, auc)) in e.factor_auc.iter().enumerate() {
        let k: FactorKind = *kind;
        println!(
            "| {} | {:.2} | {:.2} | {:.3} | {:.3} |",
            k.as_str(),
            d.of(k),
            e.fitted_weights.of(k),
            e.fitted.coefficients[i],
            auc
        );
    }
    println!("intercept {:.3}; took {:.1} s", e.fitted.intercept, started.elapsed().as_secs_f64());
}
