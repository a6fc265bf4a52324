//! `POST /athletes` and `PATCH /athletes/{id}` (scope `write:athletes`): integrators create and
//! update members one at a time. Creating one emits `member.created` through the outbox, in the
//! same transaction as the member.

use crate::dto::AthleteOut;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use iron_domain::{Athlete, AthleteSource, AthleteStatus, Event, FieldError, Id, IdKind, Scope, Sex};
use iron_http::{ApiError, AppState, JsonBody, Principal};
use iron_store::repo::{RepoError, athletes};
use serde_json::{Map, Value};

const FIELDS: &[&str] =
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

fn valid_email(e: &str) -> bool {
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
fn apply(body: &Map<String, Value>, a: &mut Athlete, creating: bool, today: NaiveDate) -> Vec<FieldError> {
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

fn repo_error(e: RepoError) -> ApiError {
    match e {
        RepoError::Conflict { field, message } if field == "locationId" => {
            ApiError::Validation(vec![err("locationId", message)])
        }
        RepoError::Conflict { field, message } if field == "updatedAt" => ApiError::Conflict(format!(
            "the athlete changed while this update ran; read it again and retry ({message})"
        )),
        RepoError::Conflict { field, message } => ApiError::Conflict(format!("{field}: {message}")),
        other => other.into(),
    }
}

/// Create an athlete
///
/// Emits `member.created`. Email (compared case- and accent-insensitively) and `externalId` are
/// unique within the business: a duplicate is 409. Send an `Idempotency-Key` to retry safely.
#[utoipa::path(post, path = "/api/external/v1/athletes", operation_id = "createAthlete", tag = "athletes",
    request_body(content = Object, description = "firstName and lastName required; email, phone, birthDate, sex, status, locationId, externalId, joinedOn optional",
        example = json!({"firstName": "José", "lastName": "Núñez", "email": "Jose.Nunez@Example.com", "locationId": "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "externalId": "CRM-1042"})),
    responses((status = 201, description = "The athlete", body = AthleteOut),
              (status = 409, description = "Email or external id already used in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::WriteAthletes)?;
    let now = state.clock.now();
    let now = chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let mut athlete = Athlete {
        id: Id::generate(IdKind::Athlete, now.timestamp_millis()),
        external_id: None,
        source: AthleteSource::Api,
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
    };
    let errors = apply(&body, &mut athlete, true, now.date_naive());
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let out = AthleteOut::from(athlete.clone());
    let event = Event::new("member.created", tenant.business_id(), now, serde_json::to_value(&out).unwrap_or_default());
    athletes::create(state.store.as_ref(), tenant, &athlete, &[event]).await.map_err(repo_error)?;
    let mut resp = (StatusCode::CREATED, Json(out)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("{}/athletes/{}", iron_http::API_PREFIX, athlete.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// Update an athlete
///
/// Only the fields sent change; `null` clears an optional one. 409 if the email or external id
/// belongs to another athlete, or if the athlete changed while the update ran.
#[utoipa::path(patch, path = "/api/external/v1/athletes/{id}", operation_id = "updateAthlete", tag = "athletes",
    params(("id" = String, Path, description = "Athlete id (`ath_…`)")),
    request_body(content = Object, description = "Any of the athlete's writable fields", example = json!({"status": "inactive", "phone": null})),
    responses((status = 200, description = "The updated athlete", body = AthleteOut),
              (status = 404, description = "No such athlete in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Duplicate email or external id, or a concurrent change", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<AthleteOut>, ApiError> {
    let tenant = principal.require(Scope::WriteAthletes)?;
    let not_found = || ApiError::NotFound(format!("no athlete `{id}` in this business"));
    let athlete_id = Id::parse_kind(IdKind::Athlete, &id).ok_or_else(not_found)?;
    let before = match athletes::get(state.store.as_ref(), tenant, &athlete_id).await {
        Err(RepoError::NotFound) => return Err(not_found()),
        other => other?,
    };
    let now = state.clock.now();
    let now = chrono::DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now);
    let mut after = before.clone();
    let errors = apply(&body, &mut after, false, now.date_naive());
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if after == before {
        return Ok(Json(after.into()));
    }
    after.updated_at = now.max(before.updated_at + chrono::Duration::milliseconds(1));
    athletes::update(state.store.as_ref(), tenant, &before, &after).await.map_err(repo_error)?;
    Ok(Json(after.into()))
}
