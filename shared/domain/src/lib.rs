//! The Iron Metrics domain: what a gym's data *is*, independent of where it is stored or how it
//! travels. Nothing here performs I/O, reads the clock or the environment: callers pass `now`.

pub mod api_key;
pub mod athlete;
pub mod audit;
pub mod billing;
pub mod bulk;
pub mod business;
pub mod challenge;
pub mod check_in;
pub mod churn;
pub mod engagement;
pub mod equipment;
pub mod event;
pub mod exercise;
pub mod fitness_test;
pub mod id;
pub mod injury;
pub mod job;
pub mod location;
pub mod readiness;
pub mod referral;
pub mod search;
pub mod sync;
pub mod validation;
pub mod webhook;
pub mod wod;
pub mod workout;

pub use api_key::{ApiKey, ApiKeySecret, ApiKeyStatus, KeyHash, RateTier, Scope};
pub use athlete::{Athlete, AthleteSource, AthleteStatus, Sex};
pub use audit::AuditRecord;
pub use business::Business;
pub use event::Event;
pub use fitness_test::{DerivedResults, FitnessTest, Modality, Stage, TestType};
pub use id::{Id, IdKind};
pub use location::Location;
pub use referral::{Partner, Referral, ReferralStats, ReferralStatus};
pub use validation::{FieldError, ValidationError};
pub use webhook::{RetryPolicyName, Webhook};
