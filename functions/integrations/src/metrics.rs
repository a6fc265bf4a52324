//! `GET /gyms/{gymId}/metrics/monthly`: the monthly metrics cache a gym's syncs keep (only the
//! cache is read: the answer is fast, and stable while a sync runs).

use crate::gyms::READ;
use axum::Json;
use axum::extract::{Path, State};
use iron_domain::sync::{Month, MonthlyMetrics, Provider};
use iron_http::{ApiError, Principal, QueryParams};
use iron_store::repo::sync as repo;
use serde::Serialize;
use utoipa::ToSchema;

/// Months one request may span.
pub const MAX_MONTHS: usize = 36;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonthlyMetricsOut {
    pub gym_id: String,
    /// `YYYY-MM`, inclusive.
    pub from: String,
    pub to: String,
    /// The months of the range that have figures, oldest first (a month no sync has covered is
    /// absent). Each carries its `trace`: the run that computed it and the rows it counted.
    pub months: Vec<MonthlyMetrics>,
    /// When the gym last synced successfully (absent: never).
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn month_param(params: &QueryParams, name: &str) -> Result<Option<Month>, ApiError> {
    match params.str(name) {
        None => Ok(None),
        Some(raw) => Month::parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::BadParameter { param: name.into(), detail: "must be a month, `YYYY-MM`".into() }),
    }
}

/// Monthly metrics of a gym
///
/// Active members, new members, cancellations, churn rate, MRR, revenue collected, failed
/// payments, sign-ins per active member and members at risk, per month, from the gym's synced
/// data. Default range: the twelve months to this one; at most 36 months.
#[utoipa::path(get, path = "/api/external/v1/gyms/{gymId}/metrics/monthly", operation_id = "getGymMonthlyMetrics", tag = "integrations",
    params(("gymId" = String, Path, description = "Gym id (`gym_…`)"),
        ("from" = Option<String>, Query, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$", description = "First month, `YYYY-MM` (default: eleven months before `to`)."),
        ("to" = Option<String>, Query, pattern = "^[0-9]{4}-(0[1-9]|1[0-2])$", description = "Last month, `YYYY-MM` (default: this month).")),
    responses((status = 200, description = "The months' figures", body = MonthlyMetricsOut),
              (status = 400, description = "A malformed month, `from` after `to`, or more than 36 months", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such gym in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn monthly(
    State(state): State<crate::IntegrationsState>,
    principal: Principal,
    Path(gym_id): Path<String>,
    params: QueryParams,
) -> Result<Json<MonthlyMetricsOut>, ApiError> {
    let tenant = principal.require_any(READ)?;
    params.allow(&["from", "to"])?;
    let to = month_param(&params, "to")?.unwrap_or_else(|| Month::of(state.api.now().date_naive()));
    let from = match month_param(&params, "from")? {
        Some(m) => m,
        None => {
            let mut m = to;
            for _ in 0..11 {
                m = m.prev();
            }
            m
        }
    };
    if from > to {
        return Err(ApiError::BadParameter { param: "from".into(), detail: "must not be after `to`".into() });
    }
    if Month::range(from, to).len() > MAX_MONTHS {
        return Err(ApiError::BadParameter {
            param: "from".into(),
            detail: "the range may span at most 36 months".into(),
        });
    }
    let g = crate::gym(tenant.db(), &gym_id).await?;
    let months = repo::metrics_range(tenant.db(), &g.id, &from.to_string(), &to.to_string()).await?;
    let last_sync_at =
        repo::get_connection(tenant.db(), Provider::Wodify, &g.id).await?.and_then(|c| c.connection.last_success_at);
    Ok(Json(MonthlyMetricsOut {
        gym_id: g.id.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        months,
        last_sync_at,
    }))
}
