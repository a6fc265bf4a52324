//! `/members/{id}/injuries`: report (`write:members`; emits `injury.reported`), update or resolve
//! (`PATCH …/{injuryId}`), and list (`read:members`). Health data: the note never reaches an
//! event, a log line or any response but these.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use iron_domain::exercise::LoadTag;
use iron_domain::injury::{BodyArea, Injury, InjuryStatus, Severity, Side};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{Event, Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::{RepoError, injuries};
use serde::Serialize;
use serde_json::{Map, Value, json};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InjuryOut {
    #[schema(example = "inj_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    pub body_area: BodyArea,
    pub side: Side,
    pub severity: Severity,
    pub since: NaiveDate,
    pub expected_until: Option<NaiveDate>,
    pub note: Option<String>,
    pub status: InjuryStatus,
    pub resolved_on: Option<NaiveDate>,
    /// The load tags this injury forbids in workouts while active (`GET /injury-rules`).
    pub forbidden_tags: Vec<LoadTag>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Injury> for InjuryOut {
    fn from(i: Injury) -> Self {
        InjuryOut {
            forbidden_tags: i.forbidden(),
            id: i.id.into(),
            member_id: i.athlete_id.into(),
            body_area: i.body_area,
            side: i.side,
            severity: i.severity,
            since: i.since,
            expected_until: i.expected_until,
            note: i.note,
            status: i.status,
            resolved_on: i.resolved_on,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

/// A new injury.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"bodyArea": "knee", "side": "left", "severity": "moderate", "since": "2026-11-24", "expectedUntil": "2026-12-22", "note": "patellar tendon, physio twice a week"}))]
#[allow(dead_code)]
pub struct InjuryIn {
    body_area: BodyArea,
    /// Default `none` (midline).
    #[schema(nullable = false)]
    side: Option<Side>,
    severity: Severity,
    /// 1900-01-01 to today; default today.
    #[schema(nullable = false)]
    since: Option<NaiveDate>,
    /// On or after `since`.
    expected_until: Option<NaiveDate>,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    note: Option<String>,
}

/// What to change; `status: resolved` resolves it (`resolvedOn` default today).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"status": "resolved"}))]
#[allow(dead_code)]
pub struct InjuryPatch {
    #[schema(nullable = false)]
    severity: Option<Severity>,
    #[schema(nullable = false)]
    side: Option<Side>,
    expected_until: Option<NaiveDate>,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    note: Option<String>,
    #[schema(nullable = false)]
    status: Option<InjuryStatus>,
    /// On or after `since`, not after today.
    resolved_on: Option<NaiveDate>,
}

const FIELDS: &[&str] = &["bodyArea", "side", "severity", "since", "expectedUntil", "note"];
const PATCH_FIELDS: &[&str] = &["severity", "side", "expectedUntil", "note", "status", "resolvedOn"];

fn event_data(i: &Injury) -> Value {
    // No note: it is free text about someone's health.
    json!({"id": i.id, "memberId": i.athlete_id, "bodyArea": i.body_area, "side": i.side, "severity": i.severity,
           "since": i.since, "expectedUntil": i.expected_until, "status": i.status})
}

fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default()
}

/// Report an injury
///
/// Emits `injury.reported` (without the note). While active, the workout of the day leaves out
/// every movement whose load tags the injury forbids (`forbiddenTags`).
#[utoipa::path(post, path = "/api/external/v1/members/{id}/injuries", operation_id = "createInjury", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    request_body = InjuryIn,
    responses((status = 201, description = "The injury", body = InjuryOut),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<(StatusCode, Json<InjuryOut>), ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let today = now.date_naive();
    let mut r = FieldReader::new(&body, "", "an injury", FIELDS);
    let area = r.required("bodyArea", parse::one_of::<BodyArea>(&BodyArea::known()));
    let side = r.present("side", parse::one_of::<Side>("left, right, both, none")).unwrap_or(Side::None);
    let severity = r.required("severity", parse::one_of::<Severity>("mild, moderate, severe"));
    let since = r.present("since", parse::date(earliest(), today)).unwrap_or(today);
    let expected_until = r.optional("expectedUntil", parse::date(since, since + Duration::days(3650))).flatten();
    let note = r.optional("note", parse::text(500)).flatten();
    let athlete = crate::member(tenant.db(), &id).await?;
    let (Some(body_area), Some(severity)) = (area, severity) else { return Err(ApiError::Validation(r.errors)) };
    r.finish().map_err(ApiError::Validation)?;
    let injury = Injury {
        id: Id::generate(IdKind::Injury, now.timestamp_millis()),
        athlete_id: athlete.id,
        body_area,
        side,
        severity,
        since,
        expected_until,
        note,
        status: InjuryStatus::Active,
        resolved_on: None,
        created_at: now,
        updated_at: now,
    };
    let event = Event::new("injury.reported", tenant.business_id(), now, event_data(&injury));
    injuries::create(tenant.db(), &injury, &[event]).await?;
    Ok((StatusCode::CREATED, Json(injury.into())))
}

/// Update or resolve an injury
///
/// Only the fields sent change; `null` clears `expectedUntil` or `note`. `status: resolved` ends
/// it (the workout of the day stops avoiding its loads); `status: active` reopens it.
#[utoipa::path(patch, path = "/api/external/v1/members/{id}/injuries/{injuryId}", operation_id = "updateInjury", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"), ("injuryId" = String, Path, description = "Injury id (`inj_…`)")),
    request_body = InjuryPatch,
    responses((status = 200, description = "The injury", body = InjuryOut),
              (status = 404, description = "No such member or injury in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The injury changed while this update ran", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(api): State<ApiContext>,
    principal: Principal,
    Path((id, injury_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<InjuryOut>, ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let athlete = crate::member(tenant.db(), &id).await?;
    let not_found = || ApiError::NotFound(format!("no injury `{injury_id}` of this member"));
    let iid = Id::parse_kind(IdKind::Injury, &injury_id).ok_or_else(not_found)?;
    let before = match injuries::get(tenant.db(), &athlete.id, &iid).await {
        Err(RepoError::NotFound) => return Err(not_found()),
        other => other?,
    };
    let now = api.now();
    let today = now.date_naive();
    let mut after = before.clone();
    let mut r = FieldReader::new(&body, "", "an injury update", PATCH_FIELDS);
    if let Some(s) = r.present("severity", parse::one_of::<Severity>("mild, moderate, severe")) {
        after.severity = s;
    }
    if let Some(s) = r.present("side", parse::one_of::<Side>("left, right, both, none")) {
        after.side = s;
    }
    if let Some(u) = r.optional("expectedUntil", parse::date(before.since, before.since + Duration::days(3650))) {
        after.expected_until = u;
    }
    if let Some(n) = r.optional("note", parse::text(500)) {
        after.note = n;
    }
    let resolved_on = r.optional("resolvedOn", parse::date(before.since, today.max(before.since))).flatten();
    match r.present("status", parse::one_of::<InjuryStatus>("active, resolved")) {
        Some(InjuryStatus::Resolved) => {
            after.status = InjuryStatus::Resolved;
            after.resolved_on = Some(resolved_on.or(before.resolved_on).unwrap_or(today.max(before.since)));
        }
        Some(InjuryStatus::Active) => {
            after.status = InjuryStatus::Active;
            after.resolved_on = None;
            if resolved_on.is_some() {
                r.fail("resolvedOn", "only goes with `status: resolved`");
            }
        }
        None => {
            if let Some(d) = resolved_on {
                if before.status == InjuryStatus::Resolved {
                    after.resolved_on = Some(d);
                } else {
                    r.fail("resolvedOn", "only goes with `status: resolved`");
                }
            }
        }
    }
    r.finish().map_err(ApiError::Validation)?;
    if after == before {
        return Ok(Json(after.into()));
    }
    after.updated_at = now.max(before.updated_at + Duration::milliseconds(1));
    injuries::update(tenant.db(), &before, &after).await?;
    Ok(Json(after.into()))
}

/// List injuries
///
/// Newest first. `status` filters (`active` or `resolved`).
#[utoipa::path(get, path = "/api/external/v1/members/{id}/injuries", operation_id = "listInjuries", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("status" = Option<InjuryStatus>, Query, description = "Only injuries with this status."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of injuries", body = ListEnvelope<InjuryOut>),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<InjuryOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["status", "limit", "cursor"])?;
    let status = params.parsed(
        "status",
        |s| match s {
            "active" => Some(InjuryStatus::Active),
            "resolved" => Some(InjuryStatus::Resolved),
            _ => None,
        },
        "`active` or `resolved`",
    )?;
    let page = PageParams::from_query(&params)?;
    let athlete = crate::member(tenant.db(), &id).await?;
    if let Some(status) = status {
        // A member has a handful of injuries: filter the whole list, one page.
        let all = injuries::all(tenant.db(), &athlete.id).await?;
        let data = all.into_iter().filter(|i| i.status == status).take(page.limit).map(Into::into).collect();
        return Ok(Json(ListEnvelope::new(data, None)));
    }
    let (items, next) = injuries::list(tenant.db(), &athlete.id, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}
