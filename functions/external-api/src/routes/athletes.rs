//! `GET /athletes`, `GET /athletes/{id}` (scope `read:athletes`).

use crate::dto::{AthleteDetailOut, AthleteOut, TestSummaryOut};
use axum::Json;
use axum::extract::{Path, State};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiError, AppState, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::athletes::{self, AthleteFilter};
use iron_store::repo::{RepoError, fitness_tests};

/// List athletes
///
/// Stable order: by creation (id) — or by last update when `updatedSince` is given, which is the
/// way to sync incrementally: keep the largest `updatedAt` you have seen and pass it next time.
#[utoipa::path(
    get, path = "/api/external/v1/athletes", operation_id = "listAthletes", tag = "athletes",
    params(
        ("q" = Option<String>, Query, description = "Search name or email; case- and accent-insensitive (`jose nunez` finds `José Núñez`). 1–100 characters."),
        ("locationId" = Option<String>, Query, description = "Only athletes of this location (`loc_…`)."),
        ("updatedSince" = Option<String>, Query, description = "Only athletes updated at or after this RFC 3339 time; results are then ordered by `updatedAt`."),
        ("limit" = Option<u32>, Query, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page."),
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
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ListEnvelope<AthleteOut>>, ApiError> {
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
    let result = athletes::list(state.store.as_ref(), tenant, &filter, page.limit, page.cursor).await?;
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
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<AthleteDetailOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAthletes)?;
    params.allow(&[])?;
    let not_found = || ApiError::NotFound(format!("no athlete `{id}` in this business"));
    let athlete_id = Id::parse_kind(IdKind::Athlete, &id).ok_or_else(not_found)?;
    let athlete = match athletes::get(state.store.as_ref(), tenant, &athlete_id).await {
        Err(RepoError::NotFound) => return Err(not_found()),
        other => other?,
    };
    let recent = fitness_tests::recent_for_athlete(state.store.as_ref(), tenant, &athlete_id, 5).await?;
    Ok(Json(AthleteDetailOut {
        athlete: athlete.into(),
        recent_tests: recent.iter().map(TestSummaryOut::from).collect(),
    }))
}
