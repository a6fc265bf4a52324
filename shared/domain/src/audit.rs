//! The audit record of one authenticated request. Never holds the key, only its id.

use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub at: DateTime<Utc>,
    #[schema(value_type = String)]
    pub business_id: Id,
    #[schema(value_type = String)]
    pub key_id: Id,
    pub method: String,
    /// The route template, e.g. `/api/external/v1/athletes/{id}`.
    pub route: String,
    pub path: String,
    pub status: u16,
    pub latency_ms: f64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: String,
}

impl AuditRecord {
    /// `2xx`, `4xx`, …
    pub fn status_class(&self) -> String {
        format!("{}xx", self.status / 100)
    }
}
