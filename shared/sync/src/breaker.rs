//! The circuit breaker of one connection's run: after `threshold` failed attempts in a row
//! (5xx, timeouts, connection errors — not 429s, which are the provider pacing us) it opens,
//! and every further call fails at once. It stays open for the rest of the run: the
//! orchestrator marks the connection `error` until the next scheduled window.

use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug)]
pub struct Breaker {
    threshold: u32,
    failures: AtomicU32,
}

impl Breaker {
    pub fn new(threshold: u32) -> Breaker {
        Breaker { threshold: threshold.max(1), failures: AtomicU32::new(0) }
    }
    pub fn is_open(&self) -> bool {
        self.failures.load(Ordering::Relaxed) >= self.threshold
    }
    pub fn failure(&self) {
        self.failures.fetch_add(1, Ordering::Relaxed);
    }
    pub fn success(&self) {
        if !self.is_open() {
            self.failures.store(0, Ordering::Relaxed);
        }
    }
    pub fn failures(&self) -> u32 {
        self.failures.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_stays_open() {
        let b = Breaker::new(3);
        b.failure();
        b.failure();
        b.success();
        b.failure();
        b.failure();
        assert!(!b.is_open());
        b.failure();
        assert!(b.is_open());
        b.success();
        assert!(b.is_open(), "a run's breaker does not close by itself");
    }
}
