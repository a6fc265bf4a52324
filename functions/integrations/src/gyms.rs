//! `/gyms`: a business's gyms, each grouping some of its locations. A provider connection (one
//! Wodify key) belongs to one gym. A business that never made one gets one made for it (all its
//! locations, named after it) the first time it lists them.

use crate::IntegrationsState;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use iron_domain::sync::{Gym, default_gym_id};
use iron_domain::{FieldError, Id, IdKind, Scope};
use iron_http::{ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::TenantDb;
use iron_store::repo::sync as repo;
use iron_store::repo::{RepoError, locations, platform};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub(crate) const READ: &[Scope] = &[Scope::ManageIntegrations, Scope::ReadAnalytics];

/// Locations a gym may group.
pub const MAX_LOCATIONS: usize = 50;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GymOut {
    #[schema(example = "gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub name: String,
    /// The business's locations this gym groups (a provider's locations map to them).
    pub location_ids: Vec<String>,
    /// ISO 4217: the currency its metrics are in.
    #[schema(example = "USD")]
    pub currency: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn out(g: &Gym) -> GymOut {
    GymOut {
        id: g.id.to_string(),
        name: g.name.clone(),
        location_ids: g.location_ids.iter().map(ToString::to_string).collect(),
        currency: g.currency.clone(),
        created_at: g.created_at,
        updated_at: g.updated_at,
    }
}

/// A gym.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Iron Harbor CrossFit", "locationIds": [], "currency": "USD"}))]
#[allow(dead_code)]
pub struct GymIn {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    name: String,
    /// The business's locations it groups (default none).
    #[schema(max_items = 50, nullable = false)]
    location_ids: Option<Vec<String>>,
    /// ISO 4217, three capital letters (default `USD`).
    #[schema(min_length = 3, max_length = 3, pattern = "^[A-Z]{3}$", nullable = false)]
    currency: Option<String>,
}

/// A change to a gym: any of its fields.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"locationIds": ["loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"]}))]
#[allow(dead_code)]
pub struct GymPatch {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S", nullable = false)]
    name: Option<String>,
    #[schema(max_items = 50, nullable = false)]
    location_ids: Option<Vec<String>>,
    #[schema(min_length = 3, max_length = 3, pattern = "^[A-Z]{3}$", nullable = false)]
    currency: Option<String>,
}

fn err(field: &str, message: &str) -> FieldError {
    FieldError { field: format!("/{field}"), message: message.into() }
}

/// An ISO 4217 code: three capital letters.
pub(crate) fn currency(v: &Value) -> Result<String, String> {
    match v.as_str() {
        Some(s) if s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()) => Ok(s.to_owned()),
        _ => Err("must be an ISO 4217 currency code (three capital letters, such as `USD`)".into()),
    }
}

/// Applies a body's fields to `g`; `create` requires the name.
async fn apply(db: TenantDb<'_>, body: &Map<String, Value>, g: &mut Gym, create: bool) -> Result<(), ApiError> {
    let mut errors = vec![];
    for key in body.keys() {
        if !matches!(key.as_str(), "name" | "locationIds" | "currency") {
            errors.push(err(key, "is not a field of a gym (name, locationIds, currency)"));
        }
    }
    match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= 120 => g.name = s.trim().to_owned(),
        Some(_) => errors.push(err("name", "must be a non-blank string of at most 120 characters")),
        None if create => errors.push(err("name", "is required")),
        None => {}
    }
    if let Some(v) = body.get("currency") {
        match currency(v) {
            Ok(c) => g.currency = c,
            Err(m) => errors.push(err("currency", &m)),
        }
    }
    if let Some(v) = body.get("locationIds") {
        match v.as_array() {
            Some(list) if list.len() <= MAX_LOCATIONS => {
                let mut ids = vec![];
                for (i, item) in list.iter().enumerate() {
                    let Some(id) = item.as_str().and_then(|s| Id::parse_kind(IdKind::Location, s)) else {
                        errors.push(err(&format!("locationIds/{i}"), "must be a location id (`loc_…`)"));
                        continue;
                    };
                    match locations::get(db, &id).await {
                        Ok(_) if ids.contains(&id) => {
                            errors.push(err(&format!("locationIds/{i}"), "is listed twice"));
                        }
                        Ok(_) => ids.push(id),
                        Err(RepoError::NotFound) => {
                            errors.push(err(&format!("locationIds/{i}"), "is not a location of this business"));
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
                g.location_ids = ids;
            }
            _ => errors.push(err("locationIds", "must be a list of at most 50 location ids")),
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

/// Create a gym
#[utoipa::path(post, path = "/api/external/v1/gyms", operation_id = "createGym", tag = "integrations",
    request_body = GymIn,
    responses((status = 201, description = "The gym", body = GymOut),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(state): State<IntegrationsState>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    let now = state.api.now();
    let mut g = Gym {
        id: Id::generate(IdKind::Gym, now.timestamp_millis()),
        name: String::new(),
        location_ids: vec![],
        currency: "USD".into(),
        created_at: now,
        updated_at: now,
    };
    apply(tenant.db(), &body, &mut g, true).await?;
    repo::create_gym(tenant.db(), &g).await?;
    Ok(iron_http::created(&format!("/gyms/{}", g.id), out(&g)))
}

/// The business's gyms; one made for it (all its locations) when it has none.
pub(crate) async fn ensure_default(db: TenantDb<'_>, now: DateTime<Utc>) -> Result<(), ApiError> {
    let (existing, _) = repo::list_gyms(db, 1, None).await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let business = platform::get_business(db).await?;
    let (locs, _) = locations::list(db, MAX_LOCATIONS, None).await?;
    let g = Gym {
        id: default_gym_id(&business.id, business.created_at),
        name: business.name.clone(),
        location_ids: locs.into_iter().map(|l| l.id).collect(),
        currency: "USD".into(),
        created_at: now,
        updated_at: now,
    };
    match repo::create_gym(db, &g).await {
        // Another request made it first: the same gym.
        Ok(()) | Err(RepoError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// List gyms
///
/// Oldest first. A business that has none gets one made for it on the first listing: named
/// after the business, grouping its locations, in USD (change it with `PATCH /gyms/{gymId}`).
#[utoipa::path(get, path = "/api/external/v1/gyms", operation_id = "listGyms", tag = "integrations",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of gyms", body = ListEnvelope<GymOut>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(state): State<IntegrationsState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ListEnvelope<GymOut>>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["limit", "cursor"])?;
    let page = PageParams::from_query(&params)?;
    if page.cursor.is_none() {
        ensure_default(tenant.db(), state.api.now()).await?;
    }
    let (items, next) = repo::list_gyms(tenant.db(), page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.iter().map(out).collect(), next)))
}

/// Get a gym
#[utoipa::path(get, path = "/api/external/v1/gyms/{gymId}", operation_id = "getGym", tag = "integrations",
    params(("gymId" = String, Path, description = "Gym id (`gym_…`)")),
    responses((status = 200, description = "The gym", body = GymOut),
              (status = 404, description = "No such gym in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(principal: Principal, Path(gym_id): Path<String>) -> Result<Json<GymOut>, ApiError> {
    let tenant = principal.require_any(READ)?;
    Ok(Json(out(&crate::gym(tenant.db(), &gym_id).await?)))
}

/// Change a gym
///
/// The fields given replace the gym's. Its Wodify locations map to its location when it groups
/// exactly one.
#[utoipa::path(patch, path = "/api/external/v1/gyms/{gymId}", operation_id = "updateGym", tag = "integrations",
    params(("gymId" = String, Path, description = "Gym id (`gym_…`)")),
    request_body = GymPatch,
    responses((status = 200, description = "The gym", body = GymOut),
              (status = 404, description = "No such gym in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(state): State<IntegrationsState>,
    principal: Principal,
    Path(gym_id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<GymOut>, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    let mut g = crate::gym(tenant.db(), &gym_id).await?;
    apply(tenant.db(), &body, &mut g, false).await?;
    g.updated_at = state.api.now();
    repo::save_gym(tenant.db(), &g).await?;
    Ok(Json(out(&g)))
}
