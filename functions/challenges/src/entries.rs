//! `/challenges/{id}/entries`: log an entry or correct one by its source id
//! (`write:challenges`), list a member's entries (`read:challenges`), delete one.

use crate::challenges::READ;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use iron_domain::challenge::{self, Entry, EntrySource, Metric};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::RepoError;
use iron_store::repo::challenges::{self as repo, EntryInput, Outcome, Recorded};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryOut {
    #[schema(example = "ent_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub challenge_id: String,
    pub member_id: String,
    pub value: f64,
    pub unit: String,
    pub occurred_at: DateTime<Utc>,
    pub source: EntrySource,
    pub source_id: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn entry_out(c: &challenge::Challenge, e: Entry) -> EntryOut {
    EntryOut {
        id: e.id.to_string(),
        challenge_id: e.challenge_id.to_string(),
        member_id: e.member_id.to_string(),
        value: e.value,
        unit: c.metric.unit().into(),
        occurred_at: e.occurred_at,
        source: e.source,
        source_id: e.source_id,
        note: e.note,
        created_at: e.created_at,
        updated_at: e.updated_at,
    }
}

/// What an entry did to the member's standing (the `challenge.entry` event carries the same).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EntryResult {
    pub entry: EntryOut,
    /// `created`, `corrected` (same source record, new value or time) or `unchanged`.
    #[schema(value_type = String, example = "created")]
    pub change: Outcome,
    pub value_before: Option<f64>,
    pub value: Option<f64>,
    pub rank_before: u64,
    pub rank: u64,
    pub progress: Option<f64>,
    /// This entry reached the target (`goal.achieved` was sent).
    pub goal_achieved: bool,
}

fn result(c: &challenge::Challenge, r: Recorded) -> EntryResult {
    let value = r.participant.value(c);
    EntryResult {
        change: r.outcome,
        value_before: r.value_before,
        value,
        rank_before: r.rank_before,
        rank: r.rank_after,
        progress: c.progress(value),
        goal_achieved: r.goal_achieved,
        entry: entry_out(c, r.entry),
    }
}

/// Where a posted entry comes from (`workout` and `test` entries are the API's own).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum PostedSource {
    Manual,
    Equipment,
    Import,
}

/// One entry of a member who joined.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"memberId": "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "value": 5000, "occurredAt": "2027-01-03T18:30:00Z", "source": "equipment", "sourceId": "concept2-8812"}))]
#[allow(dead_code)]
pub struct EntryIn {
    #[schema(pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$")]
    member_id: String,
    /// In the challenge's unit, within its plausibility ceiling: distance 1–250,000 m, time
    /// 1–43,200 s, workouts 1–5, PRs 1–10, consistency 1 (an active day), improvement a
    /// measurement 0.1–10,000. Default 1 for workouts and consistency; required otherwise.
    #[schema(minimum = 0.1, maximum = 250000, nullable = false)]
    value: Option<f64>,
    /// In the challenge's window (default now); entries are accepted until 3 days after it ends.
    #[schema(nullable = false)]
    occurred_at: Option<DateTime<Utc>>,
    /// `manual` (default), `equipment` or `import`; `workout` and `test` entries come from the
    /// workout log and fitness tests themselves.
    #[schema(nullable = false)]
    source: Option<PostedSource>,
    /// The record's id in its source: posting it again corrects that entry instead of adding one.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    source_id: Option<String>,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    note: Option<String>,
}

const FIELDS: &[&str] = &["memberId", "value", "occurredAt", "source", "sourceId", "note"];

/// Log an entry
///
/// Emits `challenge.entry` (with the rank before and after) and, when it reaches the target,
/// `goal.achieved` (once) with the badge. The same `source` and `sourceId` again corrects that
/// entry (200, `change: corrected`) or changes nothing (200, `change: unchanged`).
#[utoipa::path(post, path = "/api/external/v1/challenges/{id}/entries", operation_id = "createChallengeEntry", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)")),
    request_body = EntryIn,
    responses((status = 201, description = "The entry and the member's new standing", body = EntryResult),
              (status = 200, description = "The source record was entered before: corrected or unchanged", body = EntryResult),
              (status = 404, description = "No such challenge or member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The source record is another member's entry", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields, a time outside the window (or the challenge not started, or closed 3 days after its end), a value over the ceiling, or a member who has not joined", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require_any(&[Scope::WriteChallenges, Scope::ManageChallenges])?;
    let now = api.now();
    let c = crate::challenge(tenant.db(), &id).await?;
    crate::body_member(tenant.db(), &body).await?;
    let mut r = FieldReader::new(&body, "", "a challenge entry", FIELDS);
    let member = r.required("memberId", crate::member_id);
    let default = matches!(c.metric, Metric::Workouts | Metric::Consistency).then_some(1.0);
    let value = match r.present("value", |v| v.as_f64().ok_or_else(|| "must be a number".to_owned())) {
        Some(v) => match challenge::check_value(c.metric, v) {
            Ok(v) => Some(v),
            Err(m) => {
                r.fail("value", m);
                None
            }
        },
        None if default.is_some() => default,
        None => {
            r.fail("value", format!("is required ({})", c.metric.unit()));
            None
        }
    };
    let given = r.present(
        "occurredAt",
        parse::timestamp(now - Duration::days(3 * challenge::MAX_DAYS), now + Duration::days(1)),
    );
    let at = given.unwrap_or(now);
    if let Some(why) = c.refuse_time(at, now) {
        r.fail("occurredAt", why);
    }
    let source =
        r.present("source", parse::one_of::<EntrySource>("manual, equipment, import")).unwrap_or(EntrySource::Manual);
    if matches!(source, EntrySource::Workout | EntrySource::Test) {
        r.fail(
            "source",
            "`workout` and `test` entries come from the workout log and fitness tests; use manual, equipment or import",
        );
    }
    let source_id = r.optional("sourceId", parse::text(200)).flatten();
    let note = r.optional("note", parse::text(500)).flatten();
    r.finish().map_err(ApiError::Validation)?;
    let (Some(member), Some(value)) = (member, value) else {
        return Err(ApiError::Internal("a read field went missing".into()));
    };
    // Without `occurredAt`, a correction keeps the entry's time (a new entry is now).
    let input = EntryInput { member_id: member, value, occurred_at: given, source, source_id, note };
    let recorded = repo::record_entry(tenant.db(), &c, input, now).await?;
    let status = if recorded.outcome == Outcome::Created { StatusCode::CREATED } else { StatusCode::OK };
    let path = format!("/challenges/{}/entries?memberId={}", c.id, recorded.entry.member_id);
    let body = result(&c, recorded);
    Ok(if status == StatusCode::CREATED {
        iron_http::created(&path, body)
    } else {
        (status, Json(body)).into_response()
    })
}

/// List a member's entries
///
/// Newest first.
#[utoipa::path(get, path = "/api/external/v1/challenges/{id}/entries", operation_id = "listChallengeEntries", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)"),
        ("memberId" = String, Query, pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", description = "The member."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of entries", body = ListEnvelope<EntryOut>),
              (status = 400, description = "A missing or malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such challenge in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<EntryOut>>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["memberId", "limit", "cursor"])?;
    let member = params
        .id("memberId", IdKind::Athlete)?
        .ok_or_else(|| ApiError::BadParameter { param: "memberId".into(), detail: "is required".into() })?;
    let page = PageParams::from_query(&params)?;
    let c = crate::challenge(tenant.db(), &id).await?;
    let (items, next) = repo::list_entries(tenant.db(), &c, &member, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(|e| entry_out(&c, e)).collect(), next)))
}

/// Delete an entry
///
/// Takes it out of the member's value and rank (emits `challenge.entry` with `change: deleted`).
#[utoipa::path(delete, path = "/api/external/v1/challenges/{id}/entries/{entryId}", operation_id = "deleteChallengeEntry", tag = "challenges",
    params(("id" = String, Path, description = "Challenge id (`chl_…`)"),
        ("entryId" = String, Path, description = "Entry id (`ent_…`)")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such challenge or entry", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(
    State(api): State<ApiContext>,
    principal: Principal,
    Path((id, entry_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let tenant = principal.require_any(&[Scope::WriteChallenges, Scope::ManageChallenges])?;
    let c = crate::challenge(tenant.db(), &id).await?;
    let entry: Id = iron_http::path_id(IdKind::Entry, &entry_id, "entry")?;
    match repo::delete_entry(tenant.db(), &c, &entry, api.now()).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no entry `{entry_id}` in this challenge"))),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(StatusCode::NO_CONTENT),
    }
}
