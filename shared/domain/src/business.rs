//! A business is a tenant: a gym or gym group. Every other record belongs to exactly one.

use crate::id::Id;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Business {
    #[schema(value_type = String, example = "biz_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: Id,
    pub name: String,
    /// IANA time zone the business reports in, e.g. `Europe/Madrid`.
    pub timezone: String,
    pub created_at: DateTime<Utc>,
}
