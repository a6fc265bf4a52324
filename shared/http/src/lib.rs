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
pub use auth::{Principal, authenticate};
pub use body::JsonBody;
pub use client_ip::{ClientIp, ClientIpConfig};
pub use error::ApiError;
pub use pagination::{ListEnvelope, PageParams};
pub use params::QueryParams;
pub use request::{RequestId, finish};
pub use versioning::{BetaFeatures, deprecated};

use iron_store::{Clock, KeyCipher, Queue, TableStore};
use iron_webhooks::DestinationPolicy;
use std::sync::Arc;

/// What every handler may reach: the ports, never an AWS type.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn TableStore>,
    pub clock: Arc<dyn Clock>,
    pub audit: Arc<dyn AuditSink>,
    pub client_ip: ClientIpConfig,
    /// Throttles the "last used" write to once a minute per key in this process.
    pub key_use: Arc<auth::KeyUseThrottle>,
    /// Encrypts stored secrets (webhook signing secrets). None: such endpoints answer 503.
    pub cipher: Option<Arc<dyn KeyCipher>>,
    /// Where webhooks may point.
    pub destinations: DestinationPolicy,
    /// The webhook delivery queue, for deliveries made outside the outbox fan-out (test events).
    /// Without it they wait for the dispatcher's sweep.
    pub delivery_queue: Option<Arc<dyn Queue>>,
}

impl AppState {
    /// State with audit records written inline, kept [`DEFAULT_AUDIT_RETENTION_DAYS`].
    pub fn new(store: Arc<dyn TableStore>, clock: Arc<dyn Clock>) -> AppState {
        let audit = Arc::new(InlineAudit::new(store.clone(), chrono::Duration::days(DEFAULT_AUDIT_RETENTION_DAYS)));
        AppState {
            store,
            clock,
            audit,
            client_ip: ClientIpConfig::default(),
            key_use: Arc::default(),
            cipher: None,
            destinations: DestinationPolicy::default(),
            delivery_queue: None,
        }
    }

    pub fn with_audit(mut self, audit: Arc<dyn AuditSink>) -> AppState {
        self.audit = audit;
        self
    }

    pub fn with_cipher(mut self, cipher: Arc<dyn KeyCipher>) -> AppState {
        self.cipher = Some(cipher);
        self
    }

    /// Local development only: allow http and loopback webhook receivers.
    pub fn with_destinations(mut self, policy: DestinationPolicy) -> AppState {
        self.destinations = policy;
        self
    }

    pub fn with_delivery_queue(mut self, queue: Arc<dyn Queue>) -> AppState {
        self.delivery_queue = Some(queue);
        self
    }

    /// The key cipher, or 503 when this deployment has none.
    pub fn cipher(&self) -> Result<&dyn KeyCipher, ApiError> {
        self.cipher.as_deref().ok_or(ApiError::Unavailable)
    }

    pub fn with_client_ip(mut self, config: ClientIpConfig) -> AppState {
        self.client_ip = config;
        self
    }
}

/// How long audit records are kept unless configured (`IRON_AUDIT_RETENTION_DAYS`).
pub const DEFAULT_AUDIT_RETENTION_DAYS: i64 = 90;

/// The version prefix of the External API.
pub const API_PREFIX: &str = "/api/external/v1";

/// The largest request body accepted (413 above it). API Gateway and Lambda allow 6 MB; no
/// endpoint of this API needs more than this.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
