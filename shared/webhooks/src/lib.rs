//! Webhook delivery rules that don't depend on where events are stored or how they travel:
//! signing per the Standard Webhooks specification, SSRF-safe destination checks, and retry
//! schedules with backoff and jitter.

pub mod destination;
pub mod retry;
pub mod signing;

pub use destination::{DestinationError, DestinationPolicy, Resolve, StaticResolver, SystemResolver};
pub use retry::{Outcome, RetryPolicy};
pub use signing::{SignatureError, WebhookSecret};
