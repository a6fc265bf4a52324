//! `POST /members/{id}/app-events` (`write:members`): app opens from the gym's own app, the
//! source of the churn model's app-engagement factor. Counted per day; the first batch a
//! business sends turns the factor on for all its members (before that it is reported as
//! missing, not as zero).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use iron_domain::Scope;
use iron_domain::validation::{FieldReader, parse};
use iron_http::{ApiContext, ApiError, JsonBody, Principal};
use iron_store::repo::analytics;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The most events one request carries.
pub const MAX_EVENTS: usize = 100;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppEventsOut {
    pub member_id: String,
    /// Events counted.
    pub accepted: usize,
    /// The days they fell on (UTC), with how many each.
    pub days: Vec<AppDay>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppDay {
    pub date: NaiveDate,
    pub opens: i64,
}

/// App events.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"events": [{"type": "app_open", "occurredAt": "2026-12-01T07:42:00Z"}]}))]
#[allow(dead_code)]
pub struct AppEventsIn {
    /// 1–100 events.
    #[schema(min_items = 1, max_items = 100)]
    events: Vec<AppEventIn>,
}

#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct AppEventIn {
    /// `app_open` (the only kind counted so far).
    #[schema(pattern = "^app_open$")]
    r#type: String,
    /// When: within the last 30 days, not in the future.
    occurred_at: DateTime<Utc>,
}

/// Record app events
///
/// Send them as they happen or in batches (at most 100); retries are safe with an
/// `Idempotency-Key`.
#[utoipa::path(post, path = "/api/external/v1/members/{id}/app-events", operation_id = "createAppEvents", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    request_body = AppEventsIn,
    responses((status = 202, description = "Counted", body = AppEventsOut),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid events (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<(StatusCode, Json<AppEventsOut>), ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let mut r = FieldReader::new(&body, "", "app events", &["events"]);
    let events = r.required("events", parse::array(MAX_EVENTS)).unwrap_or_default();
    if body.contains_key("events") && events.is_empty() && r.errors.is_empty() {
        r.fail("events", "must hold at least one event");
    }
    let mut per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for (i, e) in events.iter().enumerate() {
        let Some(e) = e.as_object() else {
            r.fail(&format!("events/{i}"), "must be an object");
            continue;
        };
        let mut er = FieldReader::new(e, &format!("/events/{i}"), "an app event", &["type", "occurredAt"]);
        match er.required("type", parse::text(20)) {
            Some(t) if t == "app_open" => {}
            Some(_) => er.fail("type", "must be app_open"),
            None => {}
        }
        let at = er.required("occurredAt", parse::timestamp(now - Duration::days(30), now + Duration::minutes(5)));
        r.errors.extend(er.errors);
        if let Some(at) = at {
            *per_day.entry(at.date_naive()).or_default() += 1;
        }
    }
    let athlete = crate::member(tenant.db(), &id).await?;
    r.finish().map_err(ApiError::Validation)?;
    let days: Vec<(NaiveDate, i64)> = per_day.into_iter().collect();
    analytics::record_app_opens(tenant.db(), &athlete.id, &days).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(AppEventsOut {
            member_id: athlete.id.into(),
            accepted: events.len(),
            days: days.into_iter().map(|(date, opens)| AppDay { date, opens }).collect(),
        }),
    ))
}
