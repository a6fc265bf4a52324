//! `POST /check-in`: the door's one call. It finds the member (our id or the business's external
//! id), decides whether to open (membership, opening hours, capacity), and when the door opens
//! builds the workout of the day; it emits `member.checked_in` (and `wod.generated`) in the same
//! transaction. A repeated scan within 5 minutes returns the same check-in. `write:members`.
//! `GET /members/{id}/check-ins` lists a member's (`read:members`).

use crate::plan::{self, Ask, EquipmentPrefs};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use iron_domain::check_in::{Access, CheckIn, decide, display_name};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::wod::{Focus, Wod};
use iron_domain::{Athlete, Event, Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::TenantDb;
use iron_store::repo::{RepoError, athletes, check_ins, locations};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInOut {
    #[schema(example = "chk_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    /// First name and last initial.
    pub display_name: String,
    pub location_id: String,
    pub checked_in_at: DateTime<Utc>,
    /// The day at the location.
    pub local_date: chrono::NaiveDate,
    pub access: Access,
    pub expected_until: DateTime<Utc>,
    pub duration_min: u32,
    pub focus: Option<Focus>,
}

impl From<&CheckIn> for CheckInOut {
    fn from(c: &CheckIn) -> Self {
        CheckInOut {
            id: c.id.to_string(),
            member_id: c.athlete_id.to_string(),
            display_name: c.display_name.clone(),
            location_id: c.location_id.to_string(),
            checked_in_at: c.checked_in_at,
            local_date: c.local_date,
            access: c.access.clone(),
            expected_until: c.expected_until,
            duration_min: c.duration_min,
            focus: c.focus,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckInResultOut {
    pub check_in: CheckInOut,
    /// Whether to open the door, and why not.
    pub access: Access,
    /// The workout of the day, when the door opens.
    pub personalized_wod: Option<Wod>,
    /// The readiness the workout used (the latest of the last 3 days), if any.
    pub readiness_score: Option<f64>,
    /// `true` when this scan repeated one of the last 5 minutes (the same check-in).
    pub repeated: bool,
}

fn result(c: &CheckIn, repeated: bool) -> CheckInResultOut {
    CheckInResultOut {
        check_in: c.into(),
        access: c.access.clone(),
        personalized_wod: c.wod.clone(),
        readiness_score: c.readiness_score,
        repeated,
    }
}

/// A door scan or kiosk check-in: `memberId` or `externalMemberId` (exactly one).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"externalMemberId": "DG-01003", "locationId": "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "duration": 45, "focus": "conditioning", "equipmentPrefs": {"exclude": ["treadmill"]}}))]
#[allow(dead_code)]
pub struct CheckInIn {
    #[schema(pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", nullable = false)]
    member_id: Option<String>,
    /// The business's own id of the member (badge, CRM, gym software).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", nullable = false)]
    external_member_id: Option<String>,
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: String,
    #[schema(nullable = false)]
    equipment_prefs: Option<EquipmentPrefs>,
    /// Minutes, 10–90 (default 45).
    #[schema(minimum = 10, maximum = 90, nullable = false)]
    duration: Option<u32>,
    #[schema(nullable = false)]
    focus: Option<Focus>,
}

const FIELDS: &[&str] = &["memberId", "externalMemberId", "locationId", "equipmentPrefs", "duration", "focus"];

fn no_member(what: &str) -> ApiError {
    ApiError::NotFound(format!("no member {what} in this business"))
}

pub(crate) async fn find_member(
    db: TenantDb<'_>,
    id: Option<String>,
    external: Option<String>,
) -> Result<Athlete, ApiError> {
    match (id, external) {
        (Some(id), _) => {
            let aid = Id::parse_kind(IdKind::Athlete, &id).ok_or_else(|| no_member(&format!("`{id}`")))?;
            match athletes::get(db, &aid).await {
                Err(RepoError::NotFound) => Err(no_member(&format!("`{id}`"))),
                other => Ok(other?),
            }
        }
        (None, Some(ext)) => athletes::find_by_external_id(db, &ext)
            .await?
            .ok_or_else(|| no_member(&format!("with external id `{ext}`"))),
        (None, None) => Err(plan::field_error("/memberId", "send `memberId` or `externalMemberId`")),
    }
}

/// Check a member in
///
/// The door system's or kiosk's call. Answers whether to open (`access`: membership inactive,
/// location closed or at capacity say why not) and, when it opens, the member's workout of the
/// day, explained. A repeated scan within 5 minutes at the same location returns the same
/// check-in and workout (200, `repeated: true`). Emits `member.checked_in`, and `wod.generated`
/// when a workout was made. An unknown member or location, or one of another business, is 404.
#[utoipa::path(post, path = "/api/external/v1/check-in", operation_id = "checkIn", tag = "check-in",
    request_body = CheckInIn,
    responses((status = 201, description = "Checked in (or refused, with the reason in `access`)", body = CheckInResultOut),
              (status = 200, description = "A repeated scan: the same check-in", body = CheckInResultOut),
              (status = 404, description = "No such member or location in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn check_in(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<(StatusCode, Json<CheckInResultOut>), ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let db = tenant.db();
    let mut r = FieldReader::new(&body, "", "a check-in", FIELDS);
    let member_id = r.present("memberId", parse::text(40));
    let external = r.present("externalMemberId", parse::text(100));
    if member_id.is_some() && external.is_some() {
        r.fail("externalMemberId", "send `memberId` or `externalMemberId`, not both");
    }
    let location_raw = r.required("locationId", parse::text(40));
    let prefs = match body.get("equipmentPrefs") {
        None => Some(EquipmentPrefs::default()),
        Some(v) => plan::equipment_prefs(v, &mut r),
    };
    let duration = r.present("duration", plan::duration_of);
    let focus = r.present("focus", plan::focus_of);
    if member_id.is_none() && external.is_none() && !r.errors.iter().any(|e| e.field.ends_with("emberId")) {
        r.fail("memberId", "send `memberId` or `externalMemberId`");
    }
    r.finish().map_err(ApiError::Validation)?;
    let location_raw = location_raw.unwrap_or_default();
    let no_location = || ApiError::NotFound(format!("no location `{location_raw}` in this business"));
    let location_id = Id::parse_kind(IdKind::Location, &location_raw).ok_or_else(no_location)?;
    let (member, location, latest) = {
        let member = find_member(db, member_id, external).await?;
        let (location, latest) = tokio::try_join!(locations::get(db, &location_id), check_ins::latest(db, &member.id))
            .map_err(|e| match e {
                RepoError::NotFound => no_location(),
                other => other.into(),
            })?;
        (member, location, latest)
    };
    let now = api.now();
    if let Some(previous) = latest.as_ref().filter(|c| c.repeats_at(&location.id, now)) {
        return Ok((StatusCode::OK, Json(result(previous, true))));
    }
    let occupancy = match location.capacity {
        Some(_) => check_ins::present_count(db, &location.id, now, &member.id).await?,
        None => 0,
    };
    let access = decide(member.status, &location, now, occupancy);
    let ask = Ask { duration, focus, prefs: prefs.unwrap_or_default() };
    let (wod, signal) = if access.granted {
        let (wod, signal, _) = plan::workout_of_the_day(db, &member, &location, now, &ask).await?;
        (Some(wod), signal)
    } else {
        (None, None)
    };
    let stay = match &wod {
        Some(w) => i64::from(w.estimated_minutes.max(30)) + 15,
        None => i64::from(location.typical_visit_minutes),
    }
    .min(check_ins::MAX_VISIT_HOURS * 60);
    let record = CheckIn {
        id: Id::generate(IdKind::CheckIn, now.timestamp_millis()),
        athlete_id: member.id.clone(),
        display_name: display_name(&member.first_name, &member.last_name),
        location_id: location.id.clone(),
        checked_in_at: now,
        local_date: location.local(now).date(),
        access,
        expected_until: now + Duration::minutes(stay),
        duration_min: ask.duration.unwrap_or(iron_domain::wod::DEFAULT_MINUTES),
        focus: ask.focus,
        readiness_score: signal.map(|s| s.score),
        wod,
    };
    let out = result(&record, false);
    let mut events = Vec::new();
    if record.access.granted {
        let data = serde_json::json!({
            "checkIn": out.check_in, "readinessScore": record.readiness_score,
            "wod": record.wod.as_ref().map(|w| serde_json::json!({"kind": w.kind, "title": w.title, "fingerprint": w.fingerprint})),
        });
        events.push(Event::new("member.checked_in", tenant.business_id(), now, data));
        if let Some(w) = &record.wod {
            let data =
                serde_json::json!({"memberId": member.id, "checkInId": record.id, "locationId": location.id, "wod": w});
            events.push(Event::new("wod.generated", tenant.business_id(), now, data));
        }
    }
    match check_ins::create(db, &record, latest.as_ref().map(|c| &c.id), &events).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(out))),
        // Another scan of this member won the race: answer with its check-in if it repeats.
        Err(RepoError::Conflict { .. }) => match check_ins::latest(db, &member.id).await? {
            Some(winner) if winner.repeats_at(&location.id, now) => Ok((StatusCode::OK, Json(result(&winner, true)))),
            _ => Err(ApiError::Conflict("another check-in of this member was recorded at this moment; retry".into())),
        },
        Err(e) => Err(e.into()),
    }
}

/// List a member's check-ins
///
/// Newest first; refused scans included. `from` / `to` bound `checkedInAt`.
#[utoipa::path(get, path = "/api/external/v1/members/{id}/check-ins", operation_id = "listMemberCheckIns", tag = "check-in",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("from" = Option<String>, Query, format = DateTime, description = "Check-ins at or after this time."),
        ("to" = Option<String>, Query, format = DateTime, description = "Check-ins at or before this time."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of check-ins", body = ListEnvelope<CheckInOut>),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn of_member(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<CheckInOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["from", "to", "limit", "cursor"])?;
    let (from, to) = (params.timestamp("from")?, params.timestamp("to")?);
    let page = PageParams::from_query(&params)?;
    let member = find_member(tenant.db(), Some(id), None).await?;
    let (items, next) = check_ins::of_athlete(tenant.db(), &member.id, from, to, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.iter().map(Into::into).collect(), next)))
}
