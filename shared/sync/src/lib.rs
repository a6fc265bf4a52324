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
