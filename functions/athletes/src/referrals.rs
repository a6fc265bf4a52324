//! `GET /referrals` (scope `read:analytics`): partner referral stats over a date range.

use axum::Json;
use axum::extract::State;
use chrono::{Duration, NaiveDate};
use iron_domain::Scope;
use iron_http::{ApiContext, ApiError, Principal, QueryParams};
use iron_store::repo::referrals;
use serde::Serialize;
use utoipa::ToSchema;

/// The longest range one request may cover.
const MAX_RANGE_DAYS: i64 = 731;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferralReportOut {
    /// First day of the range (UTC), inclusive.
    pub date_from: NaiveDate,
    /// Last day of the range (UTC), inclusive.
    pub date_to: NaiveDate,
    pub totals: ReferralTotalsOut,
    /// One row per partner, most referrals first.
    pub partners: Vec<iron_domain::ReferralStats>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReferralTotalsOut {
    pub referred: u32,
    pub converted: u32,
    pub conversion_rate: f64,
}

/// Partner referral stats
///
/// For referrals made in the range (a cohort), per partner: referred, converted (by now),
/// pending, lost, conversion rate and median days to convert. Defaults to the last 90 days.
#[utoipa::path(
    get, path = "/api/external/v1/referrals", operation_id = "getReferralStats", tag = "analytics",
    params(
        ("dateFrom" = Option<String>, Query, format = Date, description = "First day (YYYY-MM-DD, UTC), inclusive. Default: 89 days before `dateTo`."),
        ("dateTo" = Option<String>, Query, format = Date, description = "Last day (YYYY-MM-DD, UTC), inclusive. Default: today."),
    ),
    responses(
        (status = 200, description = "Stats per partner", body = ReferralReportOut),
        (status = 400, description = "A malformed or reversed range", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:analytics`", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn stats(
    State(api): State<ApiContext>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ReferralReportOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAnalytics)?;
    params.allow(&["dateFrom", "dateTo"])?;
    let date_to = params.date("dateTo")?.unwrap_or_else(|| api.clock.now().date_naive());
    let date_from = params.date("dateFrom")?.unwrap_or(date_to - Duration::days(89));
    if date_from > date_to {
        return Err(ApiError::BadParameter {
            param: "dateFrom".into(),
            detail: format!("{date_from} is after dateTo {date_to}"),
        });
    }
    if (date_to - date_from).num_days() >= MAX_RANGE_DAYS {
        return Err(ApiError::BadParameter {
            param: "dateFrom".into(),
            detail: format!("a range covers at most {MAX_RANGE_DAYS} days"),
        });
    }
    let partners = referrals::stats(tenant.db(), Some(date_from), Some(date_to)).await?;
    let referred: u32 = partners.iter().map(|p| p.referred).sum();
    let converted: u32 = partners.iter().map(|p| p.converted).sum();
    let rate = if referred == 0 { 0.0 } else { (converted as f64 / referred as f64 * 10_000.0).round() / 10_000.0 };
    Ok(Json(ReferralReportOut {
        date_from,
        date_to,
        totals: ReferralTotalsOut { referred, converted, conversion_rate: rate },
        partners,
    }))
}
