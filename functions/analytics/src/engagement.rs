//! Engagement (this week or month against the one before) and capacity (predicted occupancy
//! per hour with its measured error, and what to do about it). Both from the cache the daily
//! recompute writes.

use axum::Json;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use iron_domain::engagement::{Figures, HeldOut, Period, change};
use iron_domain::{IdKind, Location, Scope};
use iron_http::{ApiError, Principal, QueryParams};
use iron_store::TenantDb;
use iron_store::repo::{RepoError, analytics, locations};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Trend {
    pub current: f64,
    pub previous: f64,
    /// Relative change (−0.25: down 25 %); null when the previous period was zero.
    pub change: Option<f64>,
}

fn trend(current: f64, previous: f64) -> Trend {
    Trend { current, previous, change: change(current, previous) }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngagementTrends {
    pub active_members: Trend,
    pub visits_per_member: Trend,
    pub class_share: Trend,
    pub open_gym_share: Trend,
    pub challenge_participation: Trend,
    pub new_members: Trend,
    pub returning_members: Trend,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EngagementOut {
    pub period: Period,
    pub location_id: Option<String>,
    /// This period (the last 7 or 28 days up to the day computed).
    pub current: Figures,
    /// The same length just before.
    pub previous: Figures,
    /// Each metric against the previous period.
    pub trends: EngagementTrends,
    pub computed_at: Option<DateTime<Utc>>,
}

/// The `locationId` parameter's location of this business (404 for another's or none).
async fn location(db: TenantDb<'_>, params: &QueryParams) -> Result<Option<Location>, ApiError> {
    let Some(l) = params.id("locationId", IdKind::Location)? else { return Ok(None) };
    match locations::get(db, &l).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no location `{l}` in this business"))),
        other => Ok(Some(other?)),
    }
}

/// Engagement against the previous period
///
/// Active members (at least one visit), visits per active member, the share of visits that
/// were classes (synced class sign-ins) or open gym (door check-ins), challenge participation
/// and new against returning members — for the last 7 (`week`) or 28 (`month`) days up to the
/// last daily recompute, each against the period before.
#[utoipa::path(get, path = "/api/external/v1/analytics/engagement", operation_id = "getEngagement", tag = "analytics",
    params(("period" = Option<Period>, Query, description = "`week` (default) or `month`."),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only members of this home location (`loc_…`).")),
    responses((status = 200, description = "The two periods and the trends", body = EngagementOut),
              (status = 400, description = "A parameter is invalid", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn engagement(principal: Principal, params: QueryParams) -> Result<Json<EngagementOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAnalytics)?;
    params.allow(&["period", "locationId"])?;
    let period = params
        .parsed(
            "period",
            |s| match s {
                "week" => Some(Period::Week),
                "month" => Some(Period::Month),
                _ => None,
            },
            "week or month",
        )?
        .unwrap_or(Period::Week);
    let db = tenant.db();
    let location = location(db, &params).await?.map(|l| l.id);
    let cached = analytics::engagement_cache(db, location.as_ref()).await?;
    let (current, previous, computed_at) = match cached {
        Some(c) => {
            let (a, b) = if period == Period::Week { c.week } else { c.month };
            (a, b, Some(c.computed_at))
        }
        None => (Figures::default(), Figures::default(), None),
    };
    let trends = EngagementTrends {
        active_members: trend(current.active_members as f64, previous.active_members as f64),
        visits_per_member: trend(current.visits_per_member, previous.visits_per_member),
        class_share: trend(current.class_share, previous.class_share),
        open_gym_share: trend(current.open_gym_share, previous.open_gym_share),
        challenge_participation: trend(current.challenge_participation, previous.challenge_participation),
        new_members: trend(current.new_members as f64, previous.new_members as f64),
        returning_members: trend(current.returning_members as f64, previous.returning_members as f64),
    };
    Ok(Json(EngagementOut { period, location_id: location.map(Into::into), current, previous, trends, computed_at }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HourOut {
    #[schema(minimum = 0, maximum = 23)]
    pub hour: u32,
    /// Members expected in at some time in the hour.
    pub predicted: f64,
    /// Of the location's capacity (0–1+); null without a capacity.
    pub utilization: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityOut {
    pub location_id: String,
    pub date: NaiveDate,
    pub weekday: String,
    pub capacity: Option<u32>,
    /// The 24 hours of the day (with `hourly=false`, only the peak hour).
    pub hours: Vec<HourOut>,
    pub peak: Option<HourOut>,
    /// The error of the same model predicting the two most recent weeks from the ones before.
    pub held_out_error: HeldOut,
    pub recommendations: Vec<String>,
    /// Check-ins the model was built from.
    pub based_on_check_ins: u64,
    pub computed_at: Option<DateTime<Utc>>,
}

/// Predicted occupancy
///
/// A location's expected occupancy per hour of `date` (default today, in the location's time
/// zone): the mean of the same weekday and hour over the last eight weeks of check-ins, scaled
/// by the recent trend, with the error the model made on the two most recent weeks held out,
/// and recommendations for hours near capacity.
#[utoipa::path(get, path = "/api/external/v1/analytics/capacity", operation_id = "getCapacity", tag = "analytics",
    params(("locationId" = String, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "The location (`loc_…`)."),
        ("date" = Option<String>, Query, format = Date, description = "The day to predict (default today, in the location's time zone): its weekday's pattern."),
        ("hourly" = Option<bool>, Query, description = "All 24 hours (default `true`), or only the peak.")),
    responses((status = 200, description = "The predicted day", body = CapacityOut),
              (status = 400, description = "A parameter is invalid", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn capacity(
    axum::extract::State(api): axum::extract::State<iron_http::ApiContext>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<CapacityOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAnalytics)?;
    params.allow(&["locationId", "date", "hourly"])?;
    let db = tenant.db();
    let hourly = params
        .parsed(
            "hourly",
            |s| match s {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            "true or false",
        )?
        .unwrap_or(true);
    let date = params.date("date")?;
    let Some(loc) = location(db, &params).await? else {
        return Err(ApiError::BadParameter { param: "locationId".into(), detail: "is required".into() });
    };
    let location_id = loc.id.clone();
    let today = loc.local(api.now()).date();
    let date = date.unwrap_or(today);
    let cached = analytics::capacity_cache(db, &location_id).await?;
    let wd = date.weekday().num_days_from_monday() as usize;
    let row: Vec<f64> = cached.as_ref().and_then(|c| c.model.get(wd).cloned()).unwrap_or_else(|| vec![0.0; 24]);
    let hour = |h: usize| HourOut {
        hour: h as u32,
        predicted: row.get(h).copied().unwrap_or(0.0),
        utilization: loc
            .capacity
            .filter(|c| *c > 0)
            .map(|c| ((row.get(h).copied().unwrap_or(0.0) / f64::from(c)) * 100.0).round() / 100.0),
    };
    let peak = (0..24)
        .max_by(|a, b| row[*a].partial_cmp(&row[*b]).unwrap_or(std::cmp::Ordering::Equal))
        .filter(|h| row[*h] > 0.0)
        .map(hour);
    let hours = if hourly { (0..24).map(hour).collect() } else { peak.iter().map(|p| hour(p.hour as usize)).collect() };
    Ok(Json(CapacityOut {
        location_id: location_id.into(),
        date,
        weekday: date.weekday().to_string(),
        capacity: loc.capacity,
        hours,
        peak,
        held_out_error: cached
            .as_ref()
            .map_or(HeldOut { weeks: 2, hours: 0, mae: 0.0, mean_actual: 0.0 }, |c| c.held_out),
        recommendations: cached.as_ref().map(|c| c.recommendations.clone()).unwrap_or_default(),
        based_on_check_ins: cached.as_ref().map_or(0, |c| c.check_ins),
        computed_at: cached.map(|c| c.computed_at),
    }))
}
