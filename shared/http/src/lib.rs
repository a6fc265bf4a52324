//! HTTP plumbing every endpoint group shares: authentication and rate limits, problem+json
//! errors, request ids and the request span, query parsing and pagination, telemetry.

pub mod audit;
pub mod auth;
pub mod body;
pub mod client_ip;
pub mod error;
pub mod idempotency;
pub mod pagination;
pub mod params;
pub mod request;
pub mod telemetry;
pub mod versioning;

pub use audit::{AuditSink, BatchedAudit, InlineAudit, NoAudit};
pub use auth::{Principal, Tenant, authenticate};
pub use body::JsonBody;
pub use client_ip::{ClientIp, ClientIpConfig};
pub use error::ApiError;
pub use pagination::{ListEnvelope, PageParams};
pub use params::QueryParams;
pub use request::{RequestId, finish};
pub use versioning::{BetaFeatures, deprecated};

use axum::middleware::{from_fn, from_fn_with_state};
use iron_store::{Clock, TableStore};
use std::sync::Arc;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};

/// What every endpoint group shares: the table, the clock, where audit records go, and how the
/// client IP is found. Each group's own state holds one of these beside what only it uses
/// (`FromRef`), so no function carries another group's clients.
///
/// The table is not public: handlers reach tenant data only through
/// [`Principal::require`](auth::Principal::require), which hands out a [`Tenant`] handle.
#[derive(Clone)]
pub struct ApiContext {
    pub(crate) store: Arc<dyn TableStore>,
    pub clock: Arc<dyn Clock>,
    pub(crate) audit: Arc<dyn AuditSink>,
    pub(crate) client_ip: ClientIpConfig,
    /// Throttles the "last used" write to once a minute per key in this process.
    pub(crate) key_use: Arc<auth::KeyUseThrottle>,
}

impl ApiContext {
    /// A context with audit records written inline, kept [`DEFAULT_AUDIT_RETENTION_DAYS`].
    pub fn new(store: Arc<dyn TableStore>, clock: Arc<dyn Clock>) -> ApiContext {
        let audit = Arc::new(InlineAudit::new(store.clone(), chrono::Duration::days(DEFAULT_AUDIT_RETENTION_DAYS)));
        ApiContext { store, clock, audit, client_ip: ClientIpConfig::default(), key_use: Arc::default() }
    }

    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> ApiContext {
        self.audit = audit;
        self
    }

    /// Now, to the millisecond: the precision every stored timestamp has, so what a handler
    /// answers equals what it stored.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let now = self.clock.now();
        chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    pub fn with_client_ip(mut self, config: ClientIpConfig) -> ApiContext {
        self.client_ip = config;
        self
    }
}

/// Wraps one path's handlers in authentication (and, inside it, idempotency for mutating
/// methods). The layers wrap each method's handler, not the path: a wrong method gets its 405
/// before any key is checked.
pub fn authed<S: Clone + Send + Sync + 'static>(
    api: &ApiContext,
    routes: UtoipaMethodRouter<S>,
) -> UtoipaMethodRouter<S> {
    routes.map(|route| {
        route
            .route_layer(from_fn_with_state(api.clone(), idempotency::idempotency))
            .route_layer(from_fn_with_state(api.clone(), authenticate))
    })
}

/// The layers every endpoint group's API routes share (beta-feature names checked, the client
/// IP resolved), applied by the group to its own routes. The outer layers of a whole binary are
/// [`finish`]'s.
pub fn api_group(api: &ApiContext, routes: OpenApiRouter) -> OpenApiRouter {
    routes.layer(from_fn(versioning::check_beta_features)).layer(from_fn_with_state(api.client_ip, client_ip::resolve))
}

/// A whole binary's router from its endpoint groups' routes: the OpenAPI parts dropped (the
/// docs entry serves the document) and the outer layers applied once.
pub fn into_app(routes: OpenApiRouter) -> axum::Router {
    finish(routes.split_for_parts().0)
}

/// `201 Created`: the new resource as JSON, with its `Location` (`path` under [`API_PREFIX`]).
pub fn created<T: serde::Serialize>(path: &str, body: T) -> axum::response::Response {
    located(axum::http::StatusCode::CREATED, path, body)
}

/// `202 Accepted`: work queued, the resource that tracks it as JSON, with its `Location`.
pub fn accepted<T: serde::Serialize>(path: &str, body: T) -> axum::response::Response {
    located(axum::http::StatusCode::ACCEPTED, path, body)
}

fn located<T: serde::Serialize>(status: axum::http::StatusCode, path: &str, body: T) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut resp = (status, axum::Json(body)).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&format!("{API_PREFIX}{path}")) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

/// An id from the path: one of `kind`, else the resource doesn't exist here (404 naming it).
pub fn path_id(kind: iron_domain::IdKind, raw: &str, what: &str) -> Result<iron_domain::Id, ApiError> {
    iron_domain::Id::parse_kind(kind, raw)
        .ok_or_else(|| ApiError::NotFound(format!("no {what} `{raw}` in this business")))
}

/// How long audit records are kept unless configured (`IRON_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 90;

/// The version prefix of the External API.
pub const API_PREFIX: &str = "/api/external/v1";

/// The largest request body accepted (413 above it), but on the bulk endpoints. API Gateway and
/// Lambda allow 6 MB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The largest body of a bulk request (`…/bulk`, up to 1,000 rows): 5 MB, inside Lambda's 6 MB
/// payload with room for the event around it.
pub const MAX_BULK_BODY_BYTES: usize = 5 * 1024 * 1024;

/// The body limit of a path.
pub fn body_limit(path: &str) -> usize {
    if path.ends_with("/bulk") || path == concat!("/api/external/v1", "/imports") {
        MAX_BULK_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}
