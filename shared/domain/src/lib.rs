//! The Iron Metrics domain: what a gym's data *is*, independent of where it is stored or how it
//! travels. Nothing here performs I/O, reads the clock or the environment: callers pass `now`.

pub mod api_key;
pub mod athlete;
pub mod audit;
pub mod business;
pub mod event;
pub mod fitness_test;
pub mod id;
pub mod referral;
pub mod search;
pub mod validation;
pub mod webhook;

pub use api_key::{ApiKey, ApiKeySecret, ApiKeyStatus, KeyHash, RateTier, Scope};
pub use athlete::{Athlete, AthleteSource, AthleteStatus, Sex};
pub use audit::AuditRecord;
pub use business::{Business, Location};
pub use event::Event;
pub use fitness_test::{DerivedResults, FitnessTest, Modality, Stage, TestType};
pub use id::{Id, IdKind};
pub use referral::{Partner, Referral, ReferralStats, ReferralStatus};
pub use validation::{FieldError, ValidationError};
pub use webhook::{RetryPolicyName, Webhook};
