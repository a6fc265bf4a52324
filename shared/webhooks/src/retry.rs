//! Retry schedules: exponential backoff with jitter, longer waits for overload answers, and
//! `Retry-After` honoured. The default policy makes the roadmap's 3 attempts; a webhook may opt
//! into the extended one (8 attempts over about a day).

use std::time::Duration;

/// What one delivery attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// 410 Gone: the receiver asks us to stop; the webhook is disabled.
    Gone,
    /// 429, 502, 503, 504 or a timeout: the receiver is overloaded; back off longer.
    Overloaded,
    /// Anything else (3xx included: redirects are not followed), or a connection error.
    Failed,
}

impl Outcome {
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=299 => Outcome::Delivered,
            410 => Outcome::Gone,
            429 | 502 | 503 | 504 => Outcome::Overloaded,
            _ => Outcome::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait before each retry; attempts = waits + 1.
    pub waits: Vec<Duration>,
}

impl RetryPolicy {
    /// 3 attempts: now, after 1 min, after 10 min.
    pub fn standard() -> RetryPolicy {
        RetryPolicy { waits: vec![Duration::from_secs(60), Duration::from_secs(600)] }
    }

    /// 8 attempts over about a day: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    pub fn extended() -> RetryPolicy {
        let h = 3600;
        RetryPolicy {
            waits: [5, 300, 1800, 2 * h, 5 * h, 10 * h, 10 * h].into_iter().map(Duration::from_secs).collect(),
        }
    }

    pub fn attempts(&self) -> usize {
        self.waits.len() + 1
    }

    /// The wait before the next attempt after attempt number `attempt` (1-based) failed with
    /// `outcome`, or `None` when the delivery is finished (delivered, gone, or out of attempts).
    /// `jitter` is a number in [0, 1) (random in production): ±20 % spreads retries out.
    pub fn next_wait(
        &self,
        attempt: usize,
        outcome: Outcome,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if matches!(outcome, Outcome::Delivered | Outcome::Gone) {
            return None;
        }
        let base = *self.waits.get(attempt.checked_sub(1)?)?;
        let base = if outcome == Outcome::Overloaded { base * 2 } else { base };
        let jittered = base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
        // Honour Retry-After, up to a day.
        Some(retry_after.map_or(jittered, |ra| jittered.max(ra.min(Duration::from_secs(86_400)))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_policy_makes_three_attempts() {
        let p = RetryPolicy::standard();
        assert_eq!(p.attempts(), 3);
        assert_eq!(p.next_wait(1, Outcome::Failed, None, 0.5), Some(Duration::from_secs(60)));
        assert_eq!(p.next_wait(2, Outcome::Failed, None, 0.5), Some(Duration::from_secs(600)));
        assert_eq!(p.next_wait(3, Outcome::Failed, None, 0.5), None, "out of attempts");
        assert_eq!(p.next_wait(1, Outcome::Delivered, None, 0.5), None);
        assert_eq!(p.next_wait(1, Outcome::Gone, None, 0.5), None);
    }

    #[test]
    fn jitter_overload_and_retry_after() {
        let p = RetryPolicy::standard();
        assert_eq!(p.next_wait(1, Outcome::Failed, None, 0.0), Some(Duration::from_secs(48)));
        assert_eq!(p.next_wait(1, Outcome::Failed, None, 0.999_999).map(|d| d.as_secs()), Some(71));
        assert_eq!(p.next_wait(1, Outcome::Overloaded, None, 0.5), Some(Duration::from_secs(120)));
        assert_eq!(
            p.next_wait(1, Outcome::Overloaded, Some(Duration::from_secs(900)), 0.5),
            Some(Duration::from_secs(900))
        );
        assert_eq!(
            p.next_wait(1, Outcome::Failed, Some(Duration::from_secs(10)), 0.5),
            Some(Duration::from_secs(60)),
            "never sooner than the schedule"
        );
        let long = RetryPolicy::extended();
        assert_eq!(long.attempts(), 8);
        let total: u64 = long.waits.iter().map(|d| d.as_secs()).sum();
        assert!((20 * 3600..=30 * 3600).contains(&total), "about a day: {total} s");
        assert_eq!(Outcome::of_status(302), Outcome::Failed);
        assert_eq!(Outcome::of_status(503), Outcome::Overloaded);
        assert_eq!(Outcome::of_status(204), Outcome::Delivered);
    }
}
