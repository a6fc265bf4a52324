//! Request latency histograms per endpoint (the route template, `/clients/{id}`), and counts
//! of responses by outcome: what a run reports and what the worker publishes.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds of the buckets, in milliseconds (the last bucket is everything slower).
pub const BUCKETS_MS: [u64; 8] = [25, 50, 100, 250, 500, 1000, 2500, 5000];

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    pub count: u64,
    pub total_ms: u64,
    pub max_ms: u64,
    /// Counts per bucket of [`BUCKETS_MS`], then the overflow.
    pub buckets: Vec<u64>,
    /// Responses that were errors (after which the attempt may have been retried).
    pub errors: u64,
    pub throttled: u64,
}

impl Histogram {
    fn record(&mut self, took: Duration, outcome: Outcome) {
        let ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS_MS.len() + 1];
        }
        let i = BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(BUCKETS_MS.len());
        self.buckets[i] += 1;
        self.count += 1;
        self.total_ms = self.total_ms.saturating_add(ms);
        self.max_ms = self.max_ms.max(ms);
        match outcome {
            Outcome::Ok => {}
            Outcome::Throttled => self.throttled += 1,
            Outcome::Error => self.errors += 1,
        }
    }

    /// Both histograms' requests together.
    pub fn merged(&self, other: &Histogram) -> Histogram {
        let n = self.buckets.len().max(other.buckets.len());
        Histogram {
            count: self.count + other.count,
            total_ms: self.total_ms.saturating_add(other.total_ms),
            max_ms: self.max_ms.max(other.max_ms),
            buckets: (0..n).map(|i| self.buckets.get(i).unwrap_or(&0) + other.buckets.get(i).unwrap_or(&0)).collect(),
            errors: self.errors + other.errors,
            throttled: self.throttled + other.throttled,
        }
    }

    /// The smallest bucket bound under which `q` (0–1) of the requests fall.
    pub fn quantile_ms(&self, q: f64) -> Option<u64> {
        let want = (self.count as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want.max(1) {
                return Some(BUCKETS_MS.get(i).copied().unwrap_or(u64::MAX));
            }
        }
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Throttled,
    Error,
}

/// One run's histograms, by endpoint.
#[derive(Debug, Default)]
pub struct RequestMetrics(Mutex<BTreeMap<String, Histogram>>);

impl RequestMetrics {
    pub fn record(&self, endpoint: &str, took: Duration, outcome: Outcome) {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(endpoint.to_string()).or_default().record(took, outcome);
    }
    pub fn snapshot(&self) -> BTreeMap<String, Histogram> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    /// Empties the histograms (once merged into a run).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
    pub fn requests(&self) -> u64 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).values().map(|h| h.count).sum()
    }
}
