//! Athletes are the business's members. Later features (check-in, bulk import, the Wodify sync)
//! attach to the same record, so each carries the business's own external id and its source.

use crate::id::Id;
use crate::search::fold;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AthleteSource {
    /// Created through this API.
    Api,
    /// Created by a bulk import (CSV).
    Import,
    /// Synced from Wodify.
    Wodify,
    /// Entered by staff in the Iron Metrics app.
    Manual,
    /// Part of the seeded demo data.
    Demo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AthleteStatus {
    Active,
    Inactive,
    Prospect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Undisclosed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Athlete {
    pub id: Id,
    /// The business's own identifier for this member (their CRM or gym-software id).
    pub external_id: Option<String>,
    pub source: AthleteSource,
    pub first_name: String,
    pub last_name: String,
    /// As entered; comparisons use the lower-cased form.
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub status: AthleteStatus,
    pub location_id: Option<Id>,
    pub joined_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Athlete {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    /// The folded text the `q` search matches against: name and email.
    pub fn search_text(&self) -> String {
        fold(&format!("{} {} {}", self.first_name, self.last_name, self.email.as_deref().unwrap_or_default()))
    }
}
