//! HTTP plumbing every endpoint group shares: authentication and rate limits, problem+json
//! errors, request ids and the request span, query parsing and pagination, telemetry.

pub mod auth;
pub mod error;
pub mod pagination;
pub mod params;
pub mod request;
pub mod telemetry;

pub use auth::{Principal, authenticate};
pub use error::ApiError;
pub use pagination::{ListEnvelope, PageParams};
pub use params::QueryParams;
pub use request::{RequestId, finish};

use iron_store::{Clock, TableStore};
use std::sync::Arc;

/// What every handler may reach: the ports, never an AWS type.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TableStore>,
    pub clock: Arc<dyn Clock>,
}

impl AppState {
    pub fn new(store: Arc<dyn TableStore>, clock: Arc<dyn Clock>) -> AppState {
        AppState { store, clock }
    }
}

/// The version prefix of the External API.
pub const API_PREFIX: &str = "/api/external/v1";

/// The largest request body accepted (413 above it). API Gateway and Lambda allow 6 MB; no
/// endpoint of this API needs more than this.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
