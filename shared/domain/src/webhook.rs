//! Webhooks: a business's endpoints that receive its events.

use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetryPolicyName {
    /// 3 attempts over about 11 minutes.
    Standard,
    /// 8 attempts over about a day.
    Extended,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: Id,
    pub business_id: Id,
    pub url: String,
    /// Event types delivered to this endpoint.
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// Why it was disabled, when it was disabled automatically (410, failing for days).
    pub disabled_reason: Option<String>,
    pub retry_policy: RetryPolicyName,
    /// Deliveries per second to this endpoint at most.
    pub rate_limit_per_second: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    pub fn wants(&self, event_type: &str) -> bool {
        self.active && self.events.iter().any(|e| e == event_type)
    }
}
