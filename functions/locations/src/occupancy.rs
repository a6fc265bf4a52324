//! What the door sees at a location: the day's check-ins and who is in now (`read:members`).
//! A member counts as in from their check-in until its expected end: the requested workout's
//! length plus 15 minutes, else the location's typical visit.

use crate::locations::location;
use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use iron_domain::Scope;
use iron_domain::check_in::{AccessCode, CheckIn};
use iron_http::{ApiContext, ApiError, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::check_ins;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DoorEntryOut {
    #[schema(example = "chk_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    pub checked_in_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub granted: bool,
    pub code: AccessCode,
    pub expected_until: DateTime<Utc>,
}

impl From<CheckIn> for DoorEntryOut {
    fn from(c: CheckIn) -> Self {
        DoorEntryOut {
            id: c.id.into(),
            member_id: c.athlete_id.into(),
            checked_in_at: c.checked_in_at,
            local_date: c.local_date,
            granted: c.access.granted,
            code: c.access.code,
            expected_until: c.expected_until,
        }
    }
}

/// A location's check-ins of one local day
///
/// Oldest first, refused scans included (`granted: false`). `date` is the location's local day
/// (default today there).
#[utoipa::path(get, path = "/api/external/v1/locations/{id}/check-ins", operation_id = "listLocationCheckIns", tag = "locations",
    params(("id" = String, Path, description = "Location id (`loc_…`)"),
        ("date" = Option<String>, Query, format = Date, description = "The location's local day, YYYY-MM-DD (default today)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page (same `date`).")),
    responses((status = 200, description = "A page of the day's check-ins", body = ListEnvelope<DoorEntryOut>),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn check_ins(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<DoorEntryOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["date", "limit", "cursor"])?;
    let date = params.date("date")?;
    let page = PageParams::from_query(&params)?;
    let loc = location(tenant.db(), &id).await?;
    let tz = loc.tz();
    let day = date.unwrap_or_else(|| loc.local(api.clock.now()).date());
    let start = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
    };
    let (from, to) = (start(day), start(day.succ_opt().unwrap_or(day)) - chrono::Duration::milliseconds(1));
    let (items, next) =
        check_ins::of_location(tenant.db(), &loc.id, Some(from), Some(to), page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresentMemberOut {
    pub member_id: String,
    /// First name and last initial.
    #[schema(example = "Anna S.")]
    pub display_name: String,
    pub checked_in_at: DateTime<Utc>,
    pub expected_until: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OccupancyOut {
    pub location_id: String,
    pub at: DateTime<Utc>,
    /// Members in now.
    pub current: usize,
    pub capacity: Option<u32>,
    /// `current / capacity`, 0–1+ (none without a capacity).
    pub utilization: Option<f64>,
    /// Earliest first to leave last; at most 500.
    pub members: Vec<PresentMemberOut>,
}

/// Who is in now
///
/// From the granted check-ins whose expected stay has not ended (the workout's length plus
/// 15 minutes, else the location's typical visit): the member-count widget's number.
#[utoipa::path(get, path = "/api/external/v1/locations/{id}/occupancy", operation_id = "getOccupancy", tag = "locations",
    params(("id" = String, Path, description = "Location id (`loc_…`)")),
    responses((status = 200, description = "Who is in now", body = OccupancyOut),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn occupancy(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<OccupancyOut>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&[])?;
    let loc = location(tenant.db(), &id).await?;
    let now = api.clock.now();
    let mut present = check_ins::present(tenant.db(), &loc.id, now).await?;
    present.sort_by(|a, b| a.expected_until.cmp(&b.expected_until).then(a.id.cmp(&b.id)));
    let members = present
        .iter()
        .take(500)
        .map(|c| PresentMemberOut {
            member_id: c.athlete_id.to_string(),
            display_name: c.display_name.clone(),
            checked_in_at: c.checked_in_at,
            expected_until: c.expected_until,
        })
        .collect();
    Ok(Json(OccupancyOut {
        location_id: loc.id.to_string(),
        at: now,
        current: present.len(),
        capacity: loc.capacity,
        utilization: loc.capacity.map(|c| (present.len() as f64 / f64::from(c) * 1000.0).round() / 1000.0),
        members,
    }))
}
