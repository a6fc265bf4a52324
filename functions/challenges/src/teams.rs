//! `/challenges/{id}/teams`: a team challenge's teams (create: `manage:challenges`; list, with
//! their standing: `read:challenges`).

use crate::challenges::READ;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use iron_domain::challenge::{Mode, competition_ranks};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, Principal};
use iron_store::repo::challenges::{self as repo, Team};
use iron_store::repo::{RepoError, locations};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamOut {
    #[schema(example = "team_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub challenge_id: String,
    pub name: String,
    pub location_id: Option<String>,
    pub members: u32,
    /// The team's aggregate (sum or average of its members' values); null before any value.
    pub value: Option<f64>,
    /// Competition rank among the teams.
    pub rank: u64,
    pub created_at: DateTime<Utc>,
}

/// A team of a team challenge.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Morning Crew"}))]
#[allow(dead_code)]
pub struct TeamIn {
    /// Unique in the challenge (case-insensitive).
    #[schema(min_length = 1, max_length = 80, pattern = r"\S")]
    name: String,
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: Option<String>,
}

/// Teams ranked: aggregate descending, then the older team first.
pub(crate) async fn standings(
    db: iron_store::TenantDb<'_>,
    c: &iron_domain::challenge::Challenge,
) -> Result<Vec<TeamOut>, ApiError> {
    let mut teams = repo::list_teams(db, c).await?;
    let value = |t: &repo::TeamStanding| repo::standing_value(c, t.total, t.counted);
    teams.sort_by(|a, b| {
        let (va, vb) = (value(a).unwrap_or(f64::MIN), value(b).unwrap_or(f64::MIN));
        vb.total_cmp(&va).then(a.team.id.cmp(&b.team.id))
    });
    let values: Vec<Option<i64>> = teams.iter().map(|t| value(t).map(|v| (v * 100.0).round() as i64)).collect();
    let ranks = competition_ranks(&values);
    Ok(teams
        .into_iter()
        .zip(ranks)
        .map(|(t, rank)| TeamOut {
            value: value(&t),
            id: t.team.id.to_string(),
            challenge_id: t.team.challenge_id.to_string(),
            name: t.team.name,
            location_id: t.team.location_id.map(|l| l.to_string()),
            members: t.team.members,
            rank,
            created_at: t.team.created_at,
        })
        .collect())
}

/// Create a team
///
/// Team challenges only; at most 500 teams.
#[utoipa::path(post, path = "/api/external/v1/challenges/{id}/teams", operation_id = "createTeam", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    request_body = TeamIn,
    responses((status = 201, description = "The team", body = TeamOut),
              (status = 404, description = "No such challenge in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "Not a team challenge, or a team of it already has the name", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageChallenges)?;
    let now = api.now();
    let c = crate::challenge(tenant.db(), &id).await?;
    let mut r = FieldReader::new(&body, "", "a team", &["name", "locationId"]);
    let name = r.required("name", parse::text(80));
    let location = r
        .optional("locationId", |v| {
            v.as_str()
                .and_then(|s| Id::parse_kind(IdKind::Location, s))
                .ok_or("must be a location id (`loc_…`)".to_owned())
        })
        .flatten();
    if c.mode != Mode::Team {
        return Err(ApiError::Conflict("teams are for team challenges (`mode: team`); this one is not".into()));
    }
    if let Some(loc) = &location {
        match locations::get(tenant.db(), loc).await {
            Err(RepoError::NotFound) => r.fail("locationId", "is not a location of this business"),
            other => drop(other?),
        }
    }
    r.finish().map_err(ApiError::Validation)?;
    let team = Team {
        id: Id::generate(IdKind::Team, now.timestamp_millis()),
        challenge_id: c.id.clone(),
        name: name.unwrap_or_default(),
        location_id: location,
        members: 0,
        created_at: now,
        version: 1,
    };
    repo::create_team(tenant.db(), &c, &team).await?;
    let teams = standings(tenant.db(), &c).await?;
    let out = teams.into_iter().find(|t| t.id == team.id.as_str()).ok_or(ApiError::Internal("team vanished".into()))?;
    Ok(iron_http::created(&format!("/challenges/{}/teams", c.id), out))
}

/// List teams
///
/// Ranked by aggregate (ties share a rank; the older team first). At most 500.
#[utoipa::path(get, path = "/api/external/v1/challenges/{id}/teams", operation_id = "listTeams", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    responses((status = 200, description = "The teams, ranked", body = TeamList),
              (status = 404, description = "No such challenge in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(principal: Principal, Path(id): Path<String>) -> Result<Json<TeamList>, ApiError> {
    let tenant = principal.require_any(READ)?;
    let c = crate::challenge(tenant.db(), &id).await?;
    Ok(Json(TeamList { data: standings(tenant.db(), &c).await? }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub data: Vec<TeamOut>,
}
