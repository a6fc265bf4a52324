//! `/locations`: create, list, read and change a business's locations. The validation rules are
//! the domain's ([`iron_domain::location::apply_fields`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use iron_domain::equipment::EquipmentItem;
use iron_domain::location::{OpeningHours, apply_fields};
use iron_domain::{Id, IdKind, Location, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::TenantDb;
use iron_store::repo::{RepoError, locations};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

const READ: &[Scope] = &[Scope::ReadMembers, Scope::ManageLocations];

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationOut {
    #[schema(example = "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub name: String,
    pub timezone: String,
    /// None listed: always open.
    pub opening_hours: Vec<OpeningHours>,
    pub capacity: Option<u32>,
    pub typical_visit_minutes: u32,
    pub equipment: Vec<EquipmentItem>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Location> for LocationOut {
    fn from(l: Location) -> Self {
        LocationOut {
            id: l.id.into(),
            name: l.name,
            timezone: l.timezone,
            opening_hours: l.opening_hours,
            capacity: l.capacity,
            typical_visit_minutes: l.typical_visit_minutes,
            equipment: l.equipment,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

/// A new location.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Iron Box Norte", "timezone": "Europe/Madrid", "capacity": 40,
    "openingHours": [{"day": "mon", "opens": "06:30", "closes": "22:00"}],
    "equipment": [{"type": "kettlebell", "count": 12, "weightsKg": [8, 12, 16, 24]}, {"type": "dumbbell", "count": 10, "rangeKg": {"min": 2.5, "max": 30, "step": 2.5}}, {"type": "rower", "count": 6}, {"type": "box", "count": 8, "heightsCm": [50, 60]}]}))]
#[allow(dead_code)]
pub struct LocationIn {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: String,
    /// An IANA time zone, e.g. `Europe/Madrid`.
    #[schema(min_length = 1, max_length = 64)]
    timezone: String,
    /// Windows per weekday; none means always open. A window past midnight is two windows.
    #[schema(max_items = 28)]
    opening_hours: Option<Vec<OpeningHours>>,
    #[schema(minimum = 1, maximum = 100000)]
    capacity: Option<u32>,
    /// 10–480; default 75.
    #[schema(minimum = 10, maximum = 480, nullable = false)]
    typical_visit_minutes: Option<u32>,
    /// One line per equipment type.
    #[schema(max_items = 100)]
    equipment: Option<Vec<EquipmentItem>>,
}

/// The fields to change; `equipment` and `openingHours` are replaced whole, `null` clears them
/// (and `capacity`).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"equipment": [{"type": "ski_erg", "count": 4}, {"type": "rower", "count": 8}]}))]
#[allow(dead_code)]
pub struct LocationPatch {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", nullable = false)]
    name: Option<String>,
    #[schema(min_length = 1, max_length = 64, nullable = false)]
    timezone: Option<String>,
    #[schema(max_items = 28)]
    opening_hours: Option<Vec<OpeningHours>>,
    #[schema(minimum = 1, maximum = 100000)]
    capacity: Option<u32>,
    #[schema(minimum = 10, maximum = 480, nullable = false)]
    typical_visit_minutes: Option<u32>,
    #[schema(max_items = 100)]
    equipment: Option<Vec<EquipmentItem>>,
}

pub(crate) async fn location(db: TenantDb<'_>, raw: &str) -> Result<Location, ApiError> {
    let id: Id = iron_http::path_id(IdKind::Location, raw, "location")?;
    match locations::get(db, &id).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no location `{raw}` in this business"))),
        other => Ok(other?),
    }
}

/// List locations
///
/// In creation order. Needs `read:members` or `manage:locations`.
#[utoipa::path(get, path = "/api/external/v1/locations", operation_id = "listLocations", tag = "locations",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of locations", body = ListEnvelope<LocationOut>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(principal: Principal, params: QueryParams) -> Result<Json<ListEnvelope<LocationOut>>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["limit", "cursor"])?;
    let page = PageParams::from_query(&params)?;
    if page.cursor.as_ref().is_some_and(|c| !locations::cursor_fits(c)) {
        return Err(PageParams::mismatched_cursor());
    }
    let (items, next) = locations::list(tenant.db(), page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}

/// Get a location
#[utoipa::path(get, path = "/api/external/v1/locations/{id}", operation_id = "getLocation", tag = "locations",
    params(("id" = String, Path, description = "Location id (`loc_…`)")),
    responses((status = 200, description = "The location", body = LocationOut),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<LocationOut>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&[])?;
    Ok(Json(location(tenant.db(), &id).await?.into()))
}

/// Create a location
///
/// With its time zone (every "today" and "this morning" of a check-in is the location's), opening
/// hours, capacity and equipment inventory.
#[utoipa::path(post, path = "/api/external/v1/locations", operation_id = "createLocation", tag = "locations",
    request_body = LocationIn,
    responses((status = 201, description = "The location", body = LocationOut),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageLocations)?;
    let now = api.now();
    let mut loc = Location::new(Id::generate(IdKind::Location, now.timestamp_millis()), "", "UTC", Some(now));
    let errors = apply_fields(&body, &mut loc, true);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    locations::create(tenant.db(), &loc).await?;
    Ok(iron_http::created(&format!("/locations/{}", loc.id), LocationOut::from(loc)))
}

/// Update a location
///
/// Only the fields sent change; `equipment` and `openingHours` are replaced whole (send the new
/// inventory as the gym changes). 409 if it changed while the update ran.
#[utoipa::path(patch, path = "/api/external/v1/locations/{id}", operation_id = "updateLocation", tag = "locations",
    params(("id" = String, Path, description = "Location id (`loc_…`)")),
    request_body = LocationPatch,
    responses((status = 200, description = "The updated location", body = LocationOut),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "It changed while this update ran", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<LocationOut>, ApiError> {
    let tenant = principal.require(Scope::ManageLocations)?;
    let before = location(tenant.db(), &id).await?;
    let mut after = before.clone();
    let errors = apply_fields(&body, &mut after, false);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if after == before {
        return Ok(Json(after.into()));
    }
    let now = api.now();
    after.updated_at = Some(before.updated_at.map_or(now, |b| now.max(b + Duration::milliseconds(1))));
    locations::update(tenant.db(), &before, &after).await?;
    Ok(Json(after.into()))
}
