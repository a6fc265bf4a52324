//! `/challenges/{id}/join` (`write:challenges`; a private challenge takes `manage:challenges`)
//! and `/challenges/{id}/my-progress` (`read:challenges`).

use crate::challenges::READ;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use iron_domain::challenge::{Challenge, Mode, Participant};
use iron_domain::validation::FieldReader;
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, Principal, QueryParams};
use iron_store::keys::BOARD_ALL;
use iron_store::repo::RepoError;
use iron_store::repo::challenges as repo;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberRef {
    #[schema(example = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    /// First name and last initial ("Anna S."): never the whole name.
    #[schema(example = "Anna S.")]
    pub display_name: String,
}

impl MemberRef {
    pub fn of(p: &Participant) -> MemberRef {
        MemberRef { id: p.member_id.to_string(), display_name: p.display_name.clone() }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantOut {
    pub challenge_id: String,
    pub member: MemberRef,
    pub team_id: Option<String>,
    pub location_id: Option<String>,
    pub joined_at: DateTime<Utc>,
    /// In the challenge's unit; null for an improvement with no measurement yet.
    pub value: Option<f64>,
    /// 0–100 of the target (null without one).
    pub progress: Option<f64>,
    /// Among everyone in the challenge (1 + those with a higher value).
    pub rank: u64,
    pub total_participants: u64,
    /// Rank among the members of the same location (when the member has one).
    pub location_rank: Option<u64>,
    pub entries: u32,
    pub goal_achieved_at: Option<DateTime<Utc>>,
    /// When the value last changed (ties go to who got there first).
    pub reached_at: DateTime<Utc>,
}

pub(crate) async fn participant_out(
    db: iron_store::TenantDb<'_>,
    c: &Challenge,
    p: &Participant,
) -> Result<ParticipantOut, ApiError> {
    let (rank, total) = repo::rank_of(db, c, BOARD_ALL, p).await?;
    let location_rank = match &p.location_id {
        Some(loc) => Some(repo::rank_of(db, c, loc.as_str(), p).await?.0),
        None => None,
    };
    let value = p.value(c);
    Ok(ParticipantOut {
        challenge_id: c.id.to_string(),
        member: MemberRef::of(p),
        team_id: p.team_id.as_ref().map(ToString::to_string),
        location_id: p.location_id.as_ref().map(ToString::to_string),
        joined_at: p.joined_at,
        value,
        progress: c.progress(value),
        rank,
        total_participants: total,
        location_rank,
        entries: p.tally.entries,
        goal_achieved_at: p.goal_achieved_at,
        reached_at: p.reached_at,
    })
}

/// A member joining.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"memberId": "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"}))]
#[allow(dead_code)]
pub struct JoinIn {
    #[schema(pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$")]
    member_id: String,
    /// Required in team mode (and only there): a team with room on its roster.
    #[schema(pattern = "^team_[0-9A-HJKMNP-TV-Z]{26}$")]
    team_id: Option<String>,
}

/// Join a challenge
///
/// Emits `challenge.joined`. Late joins are welcome until the challenge ends; an improvement
/// challenge takes the member's latest test before the start as the baseline.
#[utoipa::path(post, path = "/api/external/v1/challenges/{id}/join", operation_id = "joinChallenge", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    request_body = JoinIn,
    responses((status = 201, description = "The member's place in the challenge", body = ParticipantOut),
              (status = 403, description = "A private challenge: enrolling takes `manage:challenges`", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such challenge or member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The member can't join now: already joined, the challenge ended, it is for other locations (or, by location, the member has none), or the team is full", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields: `teamId` missing in a team challenge, given in another, or not a team of this challenge", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn join(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require_any(&[Scope::WriteChallenges, Scope::ManageChallenges])?;
    let now = api.now();
    let c = crate::challenge(tenant.db(), &id).await?;
    if !c.public && !principal.has(Scope::ManageChallenges) {
        return Err(ApiError::Forbidden(
            "this challenge is private: enrolling members takes the `manage:challenges` scope".into(),
        ));
    }
    let found = crate::body_member(tenant.db(), &body).await?;
    let mut r = FieldReader::new(&body, "", "a join", &["memberId", "teamId"]);
    let member = r.required("memberId", crate::member_id);
    let team = r
        .optional("teamId", |v| {
            v.as_str().and_then(|s| Id::parse_kind(IdKind::Team, s)).ok_or("must be a team id (`team_…`)".to_owned())
        })
        .flatten();
    r.finish().map_err(ApiError::Validation)?;
    let (Some(_), Some(member)) = (member, found) else {
        return Err(ApiError::Internal("a read member id went missing".into()));
    };
    let refuse = |field: &str, message: String| {
        ApiError::Validation(vec![iron_domain::FieldError { field: field.into(), message }])
    };
    if !c.open_to_join(now) {
        return Err(ApiError::Conflict(format!("the challenge ended at {}", c.ends_at.to_rfc3339())));
    }
    if !c.location_ids.is_empty() && !member.location_id.as_ref().is_some_and(|l| c.location_ids.contains(l)) {
        return Err(ApiError::Conflict("the challenge is for members of its locations (`locationIds`)".into()));
    }
    if c.mode == Mode::Location && member.location_id.is_none() {
        return Err(ApiError::Conflict("a location challenge needs the member's `locationId`".into()));
    }
    let team = match (c.mode, team) {
        (Mode::Team, None) => return Err(refuse("/teamId", "is required in a team challenge".into())),
        (Mode::Team, Some(t)) => {
            let team = match repo::get_team(tenant.db(), &c, &t).await {
                Err(RepoError::NotFound) => return Err(refuse("/teamId", format!("no team `{t}` in this challenge"))),
                other => other?,
            };
            if c.team_size.is_some_and(|size| team.members >= size) {
                return Err(ApiError::Conflict(format!("the team is full ({} members)", team.members)));
            }
            Some(team)
        }
        (_, Some(_)) => return Err(refuse("/teamId", "is only for team challenges".into())),
        (_, None) => None,
    };
    let baseline = repo::baseline(tenant.db(), &c, &member.id).await?;
    let p = repo::join(tenant.db(), &c, &member, team.as_ref(), baseline, now).await?;
    let out = participant_out(tenant.db(), &c, &p).await?;
    Ok(iron_http::created(&format!("/challenges/{}/my-progress?memberId={}", c.id, p.member_id), out))
}

/// A member's progress
///
/// Value, progress to the target, rank among everyone and in the member's location, entries.
#[utoipa::path(get, path = "/api/external/v1/challenges/{id}/my-progress", operation_id = "getChallengeProgress", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)"),
        ("memberId" = String, Query, pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", description = "The member.")),
    responses((status = 200, description = "The member's progress", body = ParticipantOut),
              (status = 400, description = "A missing or malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such challenge, or the member has not joined", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn my_progress(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ParticipantOut>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["memberId"])?;
    let member = params
        .id("memberId", IdKind::Athlete)?
        .ok_or_else(|| ApiError::BadParameter { param: "memberId".into(), detail: "is required".into() })?;
    let c = crate::challenge(tenant.db(), &id).await?;
    let p = repo::participant(tenant.db(), &c, &member)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("member `{member}` has not joined this challenge")))?;
    Ok(Json(participant_out(tenant.db(), &c, &p).await?))
}
