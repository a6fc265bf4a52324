//! Athletes are the business's members. Later features (check-in, bulk import, the Wodify sync)
//! attach to the same record, so each carries the business's own external id and its source.

use crate::id::{Id, IdKind};
use crate::search::fold;
use crate::validation::FieldError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

    /// A new member from `source` at `now` (milliseconds kept, as stored), before its fields are
    /// applied with [`apply_fields`]: active, joined today, sex undisclosed.
    pub fn new_member(source: AthleteSource, now: DateTime<Utc>) -> Athlete {
        let now = DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
        Athlete {
            id: Id::generate(IdKind::Athlete, now.timestamp_millis()),
            external_id: None,
            source,
            first_name: String::new(),
            last_name: String::new(),
            email: None,
            phone: None,
            birth_date: None,
            sex: Sex::Undisclosed,
            status: AthleteStatus::Active,
            location_id: None,
            joined_on: Some(now.date_naive()),
            created_at: now,
            updated_at: now,
        }
    }
}

// ---- validation: the rules every way of creating or changing a member shares (the API, bulk
// import, third-party syncs) ----

/// The writable fields of an athlete, as named on the wire.
pub const FIELDS: &[&str] =
    &["firstName", "lastName", "email", "phone", "birthDate", "sex", "status", "locationId", "externalId", "joinedOn"];

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: format!("/{field}"), message: message.into() }
}

fn text(v: &Value, field: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() && s.trim().chars().count() <= max => Some(s.trim().to_owned()),
        Value::String(_) => {
            errors.push(err(field, format!("must be 1 to {max} characters")));
            None
        }
        _ => {
            errors.push(err(field, "must be a string"));
            None
        }
    }
}

pub fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
        && !domain.contains('@')
}

fn date(v: &Value, field: &str, today: NaiveDate, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    let parsed = v.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    match parsed {
        Some(d) if d >= NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(d) && d <= today => Some(d),
        Some(_) => {
            errors.push(err(field, format!("must be between 1900-01-01 and {today}")));
            None
        }
        None => {
            errors.push(err(field, "must be a date as YYYY-MM-DD"));
            None
        }
    }
}

fn enum_value<T: serde::de::DeserializeOwned>(
    v: &Value,
    field: &str,
    known: &str,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    match serde_json::from_value(v.clone()) {
        Ok(t) => Some(t),
        Err(_) => {
            errors.push(err(field, format!("must be one of {known}")));
            None
        }
    }
}

/// Applies the fields of `body` to `a`. On create, names are required; `null` clears an optional
/// field. Returns every problem found.
pub fn apply_fields(body: &Map<String, Value>, a: &mut Athlete, creating: bool, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for key in body.keys().filter(|k| !FIELDS.contains(&k.as_str())) {
        errors.push(err(key, format!("is not a field of an athlete; fields: {}", FIELDS.join(", "))));
    }
    for required in ["firstName", "lastName"] {
        if creating && !body.contains_key(required) {
            errors.push(err(required, "is required"));
        }
    }
    for (key, v) in body {
        let clear = v.is_null();
        match key.as_str() {
            "firstName" | "lastName" if clear => errors.push(err(key, "can't be null")),
            "firstName" => a.first_name = text(v, key, 100, &mut errors).unwrap_or_default(),
            "lastName" => a.last_name = text(v, key, 100, &mut errors).unwrap_or_default(),
            "email" if clear => a.email = None,
            "email" => match text(v, key, 254, &mut errors) {
                Some(e) if valid_email(&e) => a.email = Some(e),
                Some(_) => errors.push(err(key, "is not an email address")),
                None => {}
            },
            "phone" if clear => a.phone = None,
            "phone" => match text(v, key, 40, &mut errors) {
                Some(p) if p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c)) => a.phone = Some(p),
                Some(_) => errors.push(err(key, "may hold digits, spaces and + - ( ) . only")),
                None => {}
            },
            "birthDate" if clear => a.birth_date = None,
            "birthDate" => a.birth_date = date(v, key, today, &mut errors),
            "joinedOn" if clear => a.joined_on = None,
            "joinedOn" => a.joined_on = date(v, key, today, &mut errors),
            "sex" => {
                a.sex = if clear {
                    Sex::Undisclosed
                } else {
                    enum_value(v, key, "female, male, other, undisclosed", &mut errors).unwrap_or(a.sex)
                }
            }
            "status" if clear => errors.push(err(key, "can't be null")),
            "status" => a.status = enum_value(v, key, "active, inactive, prospect", &mut errors).unwrap_or(a.status),
            "locationId" if clear => a.location_id = None,
            "locationId" => match v.as_str().and_then(|s| Id::parse_kind(IdKind::Location, s)) {
                Some(id) => a.location_id = Some(id),
                None => errors.push(err(key, "must be a location id (`loc_…`)")),
            },
            "externalId" if clear => a.external_id = None,
            "externalId" => a.external_id = text(v, key, 100, &mut errors),
            _ => {}
        }
    }
    errors
}
