//! Check-ins: a member at a location's door. The answer says whether to open and why not, and
//! carries the workout of the day when the door opens. A repeated scan within
//! [`REPEAT_WINDOW_MINUTES`] returns the same check-in.

use crate::athlete::AthleteStatus;
use crate::id::Id;
use crate::location::Location;
use crate::wod::{Focus, Wod};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub const REPEAT_WINDOW_MINUTES: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccessCode {
    Granted,
    MembershipInactive,
    LocationClosed,
    AtCapacity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// Open the door.
    pub granted: bool,
    pub code: AccessCode,
    /// For the kiosk's screen.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckIn {
    pub id: Id,
    pub athlete_id: Id,
    /// The member's privacy-safe name at check-in ("Anna S."), for door screens and occupancy.
    #[serde(default)]
    pub display_name: String,
    pub location_id: Id,
    pub checked_in_at: DateTime<Utc>,
    /// The day at the location.
    pub local_date: NaiveDate,
    pub access: Access,
    /// When occupancy stops counting the member in.
    pub expected_until: DateTime<Utc>,
    pub duration_min: u32,
    pub focus: Option<Focus>,
    pub readiness_score: Option<f64>,
    pub wod: Option<Wod>,
}

/// Whether the member may come in now.
pub fn decide(status: AthleteStatus, location: &Location, now: DateTime<Utc>, occupancy: usize) -> Access {
    if status != AthleteStatus::Active {
        let s = match status {
            AthleteStatus::Inactive => "inactive",
            _ => "a prospect's (not yet active)",
        };
        return Access {
            granted: false,
            code: AccessCode::MembershipInactive,
            message: format!("membership is {s}: please see the front desk"),
        };
    }
    if let Err(next) = location.is_open(now) {
        let message = match next {
            Some(at) => format!("{} is closed; it opens at {at}", location.name),
            None => format!("{} is closed for the rest of the day", location.name),
        };
        return Access { granted: false, code: AccessCode::LocationClosed, message };
    }
    if let Some(cap) = location.capacity
        && occupancy >= cap as usize
    {
        return Access {
            granted: false,
            code: AccessCode::AtCapacity,
            message: format!("{} is at capacity ({cap}); try again shortly", location.name),
        };
    }
    Access { granted: true, code: AccessCode::Granted, message: "welcome in".into() }
}

impl CheckIn {
    /// Whether a scan at `now` repeats this check-in (same location, door opened, within the window).
    pub fn repeats_at(&self, location_id: &Id, now: DateTime<Utc>) -> bool {
        self.access.granted
            && &self.location_id == location_id
            && now >= self.checked_in_at
            && now - self.checked_in_at <= chrono::Duration::minutes(REPEAT_WINDOW_MINUTES)
    }

    pub fn is_in_at(&self, at: DateTime<Utc>) -> bool {
        self.access.granted && self.checked_in_at <= at && at < self.expected_until
    }
}

/// A privacy-safe display name: first name and last initial ("Anna S.").
pub fn display_name(first: &str, last: &str) -> String {
    match last.chars().next() {
        Some(c) => format!("{first} {}.", c.to_uppercase()),
        None => first.to_owned(),
    }
}
