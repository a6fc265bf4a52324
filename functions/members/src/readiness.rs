//! `/members/{id}/readiness`: a readiness questionnaire (Hooper or McLean, optionally resting HR
//! and HRV) scored 1–10 with how it was computed (`write:members`), and the history
//! (`read:members`). The scoring is the domain's ([`iron_domain::readiness`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use iron_domain::readiness::{
    Answers, Baseline, Computation, Questionnaire, ReadinessBand, ReadinessEntry, item_range, score,
};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::readiness;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadinessOut {
    #[schema(example = "rdy_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    pub recorded_at: DateTime<Utc>,
    pub questionnaire: Questionnaire,
    pub answers: Answers,
    pub resting_hr: Option<u32>,
    pub hrv_ms: Option<f64>,
    /// 1–10, one decimal.
    #[schema(minimum = 1, maximum = 10)]
    pub score: f64,
    pub band: ReadinessBand,
    pub computation: Computation,
}

impl From<ReadinessEntry> for ReadinessOut {
    fn from(e: ReadinessEntry) -> Self {
        ReadinessOut {
            id: e.id.into(),
            member_id: e.athlete_id.into(),
            recorded_at: e.recorded_at,
            questionnaire: e.questionnaire,
            answers: e.answers,
            resting_hr: e.resting_hr,
            hrv_ms: e.hrv_ms,
            score: e.score,
            band: e.band,
            computation: e.computation,
        }
    }
}

/// A questionnaire. Hooper: `sleep`, `fatigue`, `stress`, `soreness` each 1 (very, very good) to
/// 7 (very, very bad). McLean: the same four plus `mood`, each 1 (worst) to 5 (best).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"questionnaire": "hooper", "sleep": 2, "fatigue": 3, "stress": 2, "soreness": 4, "restingHr": 54, "hrvMs": 62}))]
#[allow(dead_code)]
pub struct ReadinessIn {
    questionnaire: Questionnaire,
    #[schema(minimum = 1, maximum = 7)]
    sleep: u8,
    #[schema(minimum = 1, maximum = 7)]
    fatigue: u8,
    #[schema(minimum = 1, maximum = 7)]
    stress: u8,
    #[schema(minimum = 1, maximum = 7)]
    soreness: u8,
    /// McLean only (1–5); required there.
    #[schema(minimum = 1, maximum = 5)]
    mood: Option<u8>,
    /// Beats per minute, 25–220.
    #[schema(minimum = 25, maximum = 220)]
    resting_hr: Option<u32>,
    /// RMSSD in ms, 1–300.
    #[schema(minimum = 1, maximum = 300)]
    hrv_ms: Option<f64>,
    /// When it was answered (default now); at most 7 days ago and not in the future.
    recorded_at: Option<DateTime<Utc>>,
}

const FIELDS: &[&str] =
    &["questionnaire", "sleep", "fatigue", "stress", "soreness", "mood", "restingHr", "hrvMs", "recordedAt"];

/// Record a readiness questionnaire
///
/// Scores it 1–10 (band low < 4, moderate < 7, high) and says how: the questionnaire's formula,
/// then adjustments for HRV and resting HR against the member's own baseline (mean of their
/// readings of the 28 days before, once there are 3). The workout of the day reads the latest
/// entry of the last 3 days.
#[utoipa::path(post, path = "/api/external/v1/members/{id}/readiness", operation_id = "createReadiness", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    request_body = ReadinessIn,
    responses((status = 201, description = "The scored entry", body = ReadinessOut),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid answers (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<(StatusCode, Json<ReadinessOut>), ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let mut r = FieldReader::new(&body, "", "a readiness entry", FIELDS);
    let questionnaire = r.required("questionnaire", parse::one_of::<Questionnaire>("hooper, mclean"));
    let (lo, hi) = item_range(questionnaire.unwrap_or(Questionnaire::Hooper));
    let item = |r: &mut FieldReader, name: &str| r.required(name, parse::int(lo, hi)).map(|n| n as u8);
    let (sleep, fatigue, stress, soreness) =
        (item(&mut r, "sleep"), item(&mut r, "fatigue"), item(&mut r, "stress"), item(&mut r, "soreness"));
    let mood = match questionnaire {
        Some(Questionnaire::Mclean) => r.required("mood", parse::int(1, 5)).map(|n| n as u8),
        _ => {
            if body.get("mood").is_some_and(|m| !m.is_null()) {
                r.fail("mood", "is a McLean item; the Hooper questionnaire has no mood");
            }
            None
        }
    };
    let resting_hr = r.optional("restingHr", parse::int(25, 220)).flatten().map(|n| n as u32);
    let hrv_ms = r.optional("hrvMs", parse::number(1.0, 300.0)).flatten();
    let recorded_at = r
        .optional("recordedAt", parse::timestamp(now - Duration::days(7), now + Duration::minutes(5)))
        .flatten()
        .unwrap_or(now);
    let athlete = crate::member(tenant.db(), &id).await?;
    let (Some(questionnaire), Some(sleep), Some(fatigue), Some(stress), Some(soreness)) =
        (questionnaire, sleep, fatigue, stress, soreness)
    else {
        return Err(ApiError::Validation(r.errors));
    };
    r.finish().map_err(ApiError::Validation)?;
    let answers = Answers { sleep, fatigue, stress, soreness, mood };
    let (earlier, _) =
        readiness::list(tenant.db(), &athlete.id, Some(recorded_at - Duration::days(28)), Some(recorded_at), 100, None)
            .await?;
    let (s, band, computation) = score(questionnaire, &answers, resting_hr, hrv_ms, Baseline::of(&earlier));
    let entry = ReadinessEntry {
        id: Id::generate(IdKind::Readiness, now.timestamp_millis()),
        athlete_id: athlete.id,
        recorded_at,
        questionnaire,
        answers,
        resting_hr,
        hrv_ms,
        score: s,
        band,
        computation,
    };
    readiness::create(tenant.db(), &entry).await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// List readiness entries
///
/// Newest first; `from` / `to` bound `recordedAt` (RFC 3339, or a date for its midnight UTC).
#[utoipa::path(get, path = "/api/external/v1/members/{id}/readiness", operation_id = "listReadiness", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("from" = Option<String>, Query, format = DateTime, description = "Entries recorded at or after this time."),
        ("to" = Option<String>, Query, format = DateTime, description = "Entries recorded at or before this time."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of entries", body = ListEnvelope<ReadinessOut>),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<ReadinessOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["from", "to", "limit", "cursor"])?;
    let (from, to) = (params.timestamp("from")?, params.timestamp("to")?);
    let page = PageParams::from_query(&params)?;
    let athlete = crate::member(tenant.db(), &id).await?;
    let (items, next) = readiness::list(tenant.db(), &athlete.id, from, to, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}
