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

/// A delivery that is due, named by business and id: the body of a delivery-queue message,
/// which the webhooks API (test events), the fan-out and the dispatcher all read and write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRef {
    pub business_id: Id,
    pub delivery_id: Id,
    /// The second of the webhook's per-second budget already reserved for this attempt (a
    /// message waiting for its turn carries it, so it doesn't queue for a slot again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<i64>,
}

impl DeliveryRef {
    pub fn new(business_id: Id, delivery_id: Id) -> DeliveryRef {
        DeliveryRef { business_id, delivery_id, slot: None }
    }

    pub fn with_slot(&self, slot: Option<i64>) -> DeliveryRef {
        DeliveryRef { slot, ..self.clone() }
    }

    /// The queue message body (JSON).
    pub fn to_message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_message(body: &str) -> Result<DeliveryRef, String> {
        serde_json::from_str(body).map_err(|e| format!("not a delivery reference: {e}"))
    }
}
