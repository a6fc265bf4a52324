//! `/challenges`: create (`manage:challenges`), list and get (`read:challenges`), replace and
//! delete (`manage:challenges`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::challenge::{
    self, Aggregate, Badge, Challenge, ChallengeStatus, ChallengeType, Measure, Metric, Mode, Prize, Streak,
};
use iron_domain::workout::WorkoutType;
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::{challenges as repo, locations, platform};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

pub(crate) const READ: &[Scope] = &[Scope::ReadChallenges, Scope::WriteChallenges, Scope::ManageChallenges];

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeOut {
    #[schema(example = "chl_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub challenge_type: ChallengeType,
    /// What each participant scores: the type, or a team challenge's `teamMetric`.
    pub metric: Metric,
    /// `m`, `s`, `workouts`, `prs`, `days` or `%`.
    pub unit: String,
    pub mode: Mode,
    /// How team and location modes combine their members' values.
    pub aggregate: Aggregate,
    pub streak: Option<Streak>,
    pub measure: Option<Measure>,
    pub target: Option<f64>,
    /// First day, in `timezone`.
    pub start_date: NaiveDate,
    /// Last day (inclusive), in `timezone`.
    pub end_date: NaiveDate,
    /// The business's IANA time zone: the window's days are its days.
    pub timezone: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: ChallengeStatus,
    pub location_ids: Vec<String>,
    /// Any member may join a public challenge (`write:challenges`); a private one takes
    /// `manage:challenges` to enrol members.
    pub public: bool,
    pub team_size: Option<u32>,
    pub prizes: Vec<Prize>,
    pub badge: Option<Badge>,
    pub workout_types: Vec<WorkoutType>,
    pub exercise_ids: Vec<String>,
    pub participants: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn out(c: &Challenge, participants: u64, now: DateTime<Utc>) -> ChallengeOut {
    ChallengeOut {
        id: c.id.to_string(),
        name: c.name.clone(),
        description: c.description.clone(),
        challenge_type: c.challenge_type,
        metric: c.metric,
        unit: c.metric.unit().into(),
        mode: c.mode,
        aggregate: c.aggregate,
        streak: c.streak,
        measure: c.measure,
        target: c.target,
        start_date: c.start_date,
        end_date: c.end_date,
        timezone: c.timezone.clone(),
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        status: c.status(now),
        location_ids: c.location_ids.iter().map(ToString::to_string).collect(),
        public: c.public,
        team_size: c.team_size,
        prizes: c.prizes.clone(),
        badge: c.badge.clone(),
        workout_types: c.workout_types.clone(),
        exercise_ids: c.exercise_ids.clone(),
        participants,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// A challenge. Its window is whole days in the business's time zone; a workout the member logs
/// in it enters automatically when it fits (`workoutTypes`, `exerciseIds`).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "January 100K Row", "type": "distance", "target": 100000, "startDate": "2027-01-01", "endDate": "2027-01-31", "exerciseIds": ["rowing-stationary"], "badge": {"name": "100K Club"}, "prizes": [{"place": 1, "description": "A free month"}]}))]
#[allow(dead_code)]
pub struct ChallengeIn {
    #[schema(min_length = 1, max_length = 120, pattern = r"\S")]
    name: String,
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    description: Option<String>,
    #[serde(rename = "type")]
    challenge_type: ChallengeType,
    /// Required for `type: team` (and only then): what each member scores.
    team_metric: Option<Metric>,
    /// Default `individual` (`team` for a team challenge, which allows nothing else).
    #[schema(nullable = false)]
    mode: Option<Mode>,
    /// Team and location modes only (default `sum`).
    #[schema(nullable = false)]
    aggregate: Option<Aggregate>,
    /// Consistency only (default `longest`).
    #[schema(nullable = false)]
    streak: Option<Streak>,
    /// Required for an improvement challenge (and only then).
    #[schema(nullable = false)]
    measure: Option<Measure>,
    /// In the metric's unit; reaching it fires `goal.achieved` and awards the badge. At most
    /// 366 days for consistency and 10,000 % for improvement.
    #[schema(minimum = 0.1, maximum = 1000000000)]
    target: Option<f64>,
    /// Within a year before today and two years after.
    start_date: NaiveDate,
    /// On or after `startDate`; at most 366 days in all.
    end_date: NaiveDate,
    /// Only members of these locations may join (empty: any).
    #[schema(max_items = 50, nullable = false)]
    location_ids: Option<Vec<String>>,
    /// Default true.
    #[schema(nullable = false)]
    public: Option<bool>,
    /// Team mode only: members per team.
    #[schema(minimum = 1, maximum = 1000)]
    team_size: Option<u32>,
    #[schema(max_items = 20, nullable = false)]
    prizes: Option<Vec<Prize>>,
    badge: Option<Badge>,
    /// Only workouts of these types enter (empty: any).
    #[schema(max_items = 8, nullable = false)]
    workout_types: Option<Vec<WorkoutType>>,
    /// Distance and time: only these library exercises count (empty: the whole workout).
    #[schema(max_items = 50, nullable = false)]
    exercise_ids: Option<Vec<String>>,
}

async fn read_body(
    tenant: &iron_http::Tenant<'_>,
    body: &Map<String, Value>,
    c: &mut Challenge,
    now: DateTime<Utc>,
    locked: bool,
) -> Result<(), ApiError> {
    let business = platform::get_business(tenant.db()).await?;
    let known: Vec<String> =
        locations::list(tenant.db(), 100, None).await?.0.into_iter().map(|l| l.id.to_string()).collect();
    let tz: chrono_tz::Tz = business.timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = now.with_timezone(&tz).date_naive();
    let errors =
        challenge::apply_fields(body, c, &business.timezone, today, locked, |id| known.iter().any(|k| k == id));
    if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
}

/// Create a challenge
#[utoipa::path(post, path = "/api/external/v1/challenges", operation_id = "createChallenge", tag = "challenges",
    request_body = ChallengeIn,
    responses((status = 201, description = "The challenge", body = ChallengeOut),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageChallenges)?;
    let now = api.now();
    let mut c = challenge::blank(Id::generate(IdKind::Challenge, now.timestamp_millis()), now);
    read_body(&tenant, &body, &mut c, now, false).await?;
    c.version = 1;
    repo::create(tenant.db(), &c).await?;
    Ok(iron_http::created(&format!("/challenges/{}", c.id), out(&c, 0, now)))
}

/// List challenges
///
/// Newest first. With `status`, a page holds `limit` challenges in that state unless the list
/// ends first (or 1,000 challenges were read for it: then a shorter page and a `nextCursor`).
#[utoipa::path(get, path = "/api/external/v1/challenges", operation_id = "listChallenges", tag = "challenges",
    params(("status" = Option<ChallengeStatus>, Query, description = "Only challenges in this state now."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of challenges", body = ListEnvelope<ChallengeOut>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(api): State<ApiContext>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ListEnvelope<ChallengeOut>>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["status", "limit", "cursor"])?;
    let status = params.parsed(
        "status",
        |v| serde_json::from_value::<ChallengeStatus>(Value::String(v.to_owned())).ok(),
        "one of upcoming, active, ended",
    )?;
    let page = PageParams::from_query(&params)?;
    let now = api.now();
    let (items, next) =
        repo::list(tenant.db(), page.limit, page.cursor, |c| status.is_none_or(|s| c.status(now) == s)).await?;
    let mut data = Vec::with_capacity(items.len());
    for c in &items {
        data.push(out(c, repo::participant_count(tenant.db(), c).await?, now));
    }
    Ok(Json(ListEnvelope::new(data, next)))
}

/// Get a challenge
#[utoipa::path(get, path = "/api/external/v1/challenges/{id}", operation_id = "getChallenge", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    responses((status = 200, description = "The challenge", body = ChallengeOut),
              (status = 404, description = "No such challenge in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ChallengeOut>, ApiError> {
    let tenant = principal.require_any(READ)?;
    let c = crate::challenge(tenant.db(), &id).await?;
    let n = repo::participant_count(tenant.db(), &c).await?;
    Ok(Json(out(&c, n, api.now())))
}

/// Replace a challenge
///
/// Takes the whole challenge. Once members have joined, what their scores mean (type,
/// `teamMetric`, mode, aggregate, streak, measure) and the start date stay as they are (422).
#[utoipa::path(put, path = "/api/external/v1/challenges/{id}", operation_id = "replaceChallenge", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    request_body = ChallengeIn,
    responses((status = 200, description = "The challenge", body = ChallengeOut),
              (status = 404, description = "No such challenge in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Changed by another request meanwhile", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn replace(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<ChallengeOut>, ApiError> {
    let tenant = principal.require(Scope::ManageChallenges)?;
    let now = api.now();
    let before = crate::challenge(tenant.db(), &id).await?;
    let n = repo::participant_count(tenant.db(), &before).await?;
    let mut c = before.clone();
    read_body(&tenant, &body, &mut c, now, n > 0).await?;
    c.version = before.version + 1;
    c.updated_at = now;
    repo::save(tenant.db(), &c, before.version).await?;
    Ok(Json(out(&c, n, now)))
}

/// Delete a challenge
///
/// Its leaderboard, entries and teams go with it; badges already awarded stay with the members.
#[utoipa::path(delete, path = "/api/external/v1/challenges/{id}", operation_id = "deleteChallenge", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such challenge in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(principal: Principal, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let tenant = principal.require(Scope::ManageChallenges)?;
    let c = crate::challenge(tenant.db(), &id).await?;
    repo::delete(tenant.db(), &c).await?;
    Ok(StatusCode::NO_CONTENT)
}
