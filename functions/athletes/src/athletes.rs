//! `/athletes`: list and read members (scope `read:athletes`), create and update them one at a
//! time (scope `write:athletes`). Creating one emits `member.created` through the outbox, in
//! the same transaction as the member. The validation rules are the domain's
//! ([`iron_domain::athlete::apply_fields`]), shared with every other way members arrive.

use crate::tests::TestSummaryOut;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::athlete::apply_fields;
use iron_domain::{Athlete, AthleteSource, AthleteStatus, Event, FieldError, Id, IdKind, Scope, Sex};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::athletes::{self, AthleteFilter};
use iron_store::repo::{RepoError, fitness_tests};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AthleteOut {
    #[schema(example = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    /// The business's own id for this member (CRM, gym software).
    pub external_id: Option<String>,
    pub source: AthleteSource,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Sex,
    pub status: AthleteStatus,
    pub location_id: Option<String>,
    pub joined_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Athlete> for AthleteOut {
    fn from(a: Athlete) -> Self {
        AthleteOut {
            id: a.id.into(),
            external_id: a.external_id,
            source: a.source,
            first_name: a.first_name,
            last_name: a.last_name,
            email: a.email,
            phone: a.phone,
            birth_date: a.birth_date,
            sex: a.sex,
            status: a.status,
            location_id: a.location_id.map(Into::into),
            joined_on: a.joined_on,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AthleteDetailOut {
    #[serde(flatten)]
    pub athlete: AthleteOut,
    /// The five most recent tests, newest first.
    pub recent_tests: Vec<TestSummaryOut>,
}

/// A new member. The body is validated field by field (every problem is listed in `errors`);
/// this schema states the same rules. `null` is the same as leaving an optional field out.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"firstName": "José", "lastName": "Núñez", "email": "Jose.Nunez@Example.com", "externalId": "CRM-1042"}))]
#[allow(dead_code)]
pub struct AthleteIn {
    /// 1–100 characters (trimmed).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    first_name: String,
    /// 1–100 characters (trimmed).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    last_name: String,
    /// Unique in the business, compared case- and accent-insensitively.
    #[schema(max_length = 254, format = Email)]
    email: Option<String>,
    /// Digits, spaces and `+ - ( ) .`
    #[schema(min_length = 1, max_length = 40, pattern = r"^ *[0-9+\-().][0-9 +\-().]*$")]
    phone: Option<String>,
    /// 1900-01-01 to today.
    birth_date: Option<NaiveDate>,
    sex: Option<Sex>,
    /// Can't be null.
    #[schema(nullable = false)]
    status: Option<AthleteStatus>,
    /// A location of this business (`loc_…`).
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: Option<String>,
    /// The business's own id; unique in the business.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    external_id: Option<String>,
    /// 1900-01-01 to today; default today.
    joined_on: Option<NaiveDate>,
}

/// The fields to change; absent ones stay, `null` clears an optional one.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"status": "inactive", "phone": null}))]
#[allow(dead_code)]
pub struct AthletePatch {
    /// Can't be cleared.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", nullable = false)]
    first_name: Option<String>,
    /// Can't be cleared.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", nullable = false)]
    last_name: Option<String>,
    #[schema(max_length = 254, format = Email)]
    email: Option<String>,
    #[schema(min_length = 1, max_length = 40, pattern = r"^ *[0-9+\-().][0-9 +\-().]*$")]
    phone: Option<String>,
    birth_date: Option<NaiveDate>,
    /// `null` means `undisclosed`.
    sex: Option<Sex>,
    /// Can't be cleared.
    #[schema(nullable = false)]
    status: Option<AthleteStatus>,
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    external_id: Option<String>,
    joined_on: Option<NaiveDate>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no athlete `{id}` in this business"))
}

/// List athletes
///
/// Stable order: by creation (id) — or by last update when `updatedSince` is given, which is the
/// way to sync incrementally: keep the largest `updatedAt` you have seen and pass it next time.
#[utoipa::path(
    get, path = "/api/external/v1/athletes", operation_id = "listAthletes", tag = "athletes",
    params(
        ("q" = Option<String>, Query, max_length = 100, description = "Search name or email; case- and accent-insensitive (`jose nunez` finds `José Núñez`). 1–100 characters."),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only athletes of this location (`loc_…`)."),
        ("updatedSince" = Option<String>, Query, format = DateTime, description = "Only athletes updated at or after this RFC 3339 time; results are then ordered by `updatedAt`."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page, unchanged (with the same filters)."),
    ),
    responses(
        (status = 200, description = "A page of athletes", body = ListEnvelope<AthleteOut>),
        (status = 400, description = "A malformed parameter (named in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing, invalid, revoked or expired key", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:athletes`", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Rate limit exceeded; see `Retry-After`", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn list(principal: Principal, params: QueryParams) -> Result<Json<ListEnvelope<AthleteOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadAthletes)?;
    params.allow(&["q", "locationId", "updatedSince", "limit", "cursor"])?;
    let q = params.string("q", 100)?;
    let filter = AthleteFilter {
        q,
        location_id: params.id("locationId", IdKind::Location)?,
        updated_since: params.timestamp("updatedSince")?,
    };
    let page = PageParams::from_query(&params)?;
    if page.cursor.as_ref().is_some_and(|c| !athletes::cursor_fits(&filter, c)) {
        return Err(PageParams::mismatched_cursor());
    }
    let result = athletes::list(tenant.db(), &filter, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(result.athletes.into_iter().map(AthleteOut::from).collect(), result.next)))
}

/// Get an athlete
///
/// The athlete with a summary of their five most recent tests.
#[utoipa::path(
    get, path = "/api/external/v1/athletes/{id}", operation_id = "getAthlete", tag = "athletes",
    params(("id" = String, Path, description = "Athlete id (`ath_…`)")),
    responses(
        (status = 200, description = "The athlete", body = AthleteDetailOut),
        (status = 404, description = "No such athlete in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn get_one(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<AthleteDetailOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAthletes)?;
    params.allow(&[])?;
    let athlete_id = Id::parse_kind(IdKind::Athlete, &id).ok_or_else(|| not_found(&id))?;
    let athlete = match athletes::get(tenant.db(), &athlete_id).await {
        Err(RepoError::NotFound) => return Err(not_found(&id)),
        other => other?,
    };
    let recent = fitness_tests::recent_for_athlete(tenant.db(), &athlete_id, 5).await?;
    Ok(Json(AthleteDetailOut {
        athlete: athlete.into(),
        recent_tests: recent.iter().map(TestSummaryOut::from).collect(),
    }))
}

fn repo_error(e: RepoError) -> ApiError {
    match e {
        RepoError::Conflict { field, message } if field == "locationId" => {
            ApiError::Validation(vec![FieldError { field: "/locationId".into(), message }])
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
    request_body = AthleteIn,
    responses((status = 201, description = "The athlete", body = AthleteOut),
              (status = 409, description = "Email or external id already used in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::WriteAthletes)?;
    let mut athlete = Athlete::new_member(AthleteSource::Api, api.clock.now());
    let today = athlete.created_at.date_naive();
    let errors = apply_fields(&body, &mut athlete, true, today);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let out = AthleteOut::from(athlete.clone());
    let data = serde_json::to_value(&out).unwrap_or_default();
    let event = Event::new("member.created", tenant.business_id(), athlete.created_at, data);
    athletes::create(tenant.db(), &athlete, &[event]).await.map_err(repo_error)?;
    Ok(iron_http::created(&format!("/athletes/{}", athlete.id), out))
}

/// Update an athlete
///
/// Only the fields sent change; `null` clears an optional one. 409 if the email or external id
/// belongs to another athlete, or if the athlete changed while the update ran.
#[utoipa::path(patch, path = "/api/external/v1/athletes/{id}", operation_id = "updateAthlete", tag = "athletes",
    params(("id" = String, Path, description = "Athlete id (`ath_…`)")),
    request_body = AthletePatch,
    responses((status = 200, description = "The updated athlete", body = AthleteOut),
              (status = 404, description = "No such athlete in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Duplicate email or external id, or a concurrent change", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<AthleteOut>, ApiError> {
    let tenant = principal.require(Scope::WriteAthletes)?;
    let athlete_id = Id::parse_kind(IdKind::Athlete, &id).ok_or_else(|| not_found(&id))?;
    let before = match athletes::get(tenant.db(), &athlete_id).await {
        Err(RepoError::NotFound) => return Err(not_found(&id)),
        other => other?,
    };
    let now = api.now();
    let mut after = before.clone();
    let errors = apply_fields(&body, &mut after, false, now.date_naive());
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if after == before {
        return Ok(Json(after.into()));
    }
    after.updated_at = now.max(before.updated_at + chrono::Duration::milliseconds(1));
    athletes::update(tenant.db(), &before, &after).await.map_err(repo_error)?;
    Ok(Json(after.into()))
}
