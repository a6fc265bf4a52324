//! The pace of one connection: a token bucket (governor's GCRA) under the provider's limit.
//! Wodify allows 5 requests/s with bursts of 20; we default to 4/s with bursts of 10, so clock
//! skew between our send and their count never tips a request over.

use governor::clock::DefaultClock;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    pub per_second: f64,
    pub burst: u32,
}

/// What the connector sends at most to Wodify.
pub const WODIFY_PACE: Pace = Pace { per_second: 4.0, burst: 10 };

pub struct Limiter(RateLimiter<NotKeyed, InMemoryState, DefaultClock>);

impl Limiter {
    pub fn new(pace: Pace) -> Limiter {
        let period = Duration::from_secs_f64(1.0 / pace.per_second.max(0.001));
        let burst = NonZeroU32::new(pace.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN)).allow_burst(burst);
        Limiter(RateLimiter::direct(quota))
    }

    /// Waits for the next token.
    pub async fn ready(&self) {
        self.0.until_ready().await;
    }
}
