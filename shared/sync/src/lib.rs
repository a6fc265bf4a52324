//! Third-party sync (roadmap 4.1). A provider is one module behind the same endpoints and the
//! same orchestrator: [`wodify`] is the first. Layers, outside in:
//!
//! - **connector** (`wodify::connector`): the integration boundary, with no storage of its
//!   own: requests, pagination, error bodies, a token bucket per connection ([`limit`]),
//!   retries with backoff and jitter, hard timeouts, a circuit breaker ([`breaker`]) and the
//!   request latency histograms ([`metrics`]).

pub mod breaker;
pub mod limit;
pub mod metrics;
pub mod wodify;

/// Now, to the millisecond: the precision every stored timestamp has (as the API's), so what
/// is read back equals what was written.
pub fn now_ms(clock: &dyn iron_store::Clock) -> chrono::DateTime<chrono::Utc> {
    let now = clock.now();
    chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}
