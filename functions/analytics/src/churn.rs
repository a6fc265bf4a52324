//! Churn risk: who is about to leave, why, and what to do — the at-risk list with its summary,
//! one member's health score, and the model's weights. Served from the churn cache.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use iron_domain::churn::{Factor, RiskLevel, Weights};
use iron_domain::validation::FieldReader;
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, PageParams, Principal, QueryParams};
use iron_store::repo::analytics::{self, CachedScore, ChurnModel};
use iron_store::repo::{RepoError, athletes, locations};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The default threshold: medium risk and above.
pub const DEFAULT_THRESHOLD: f64 = 0.35;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScoredMember {
    #[schema(example = "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub location_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AtRiskMember {
    pub member: ScoredMember,
    /// 0–1, two decimals.
    #[schema(minimum = 0, maximum = 1, example = 0.72)]
    pub risk_score: f64,
    pub risk_level: RiskLevel,
    /// Days since the last visit (since joining when never seen); null when unknown.
    pub days_since_visit: Option<i64>,
    /// What the member's paying memberships bring a month.
    pub monthly_value: f64,
    pub currency: String,
    /// Every factor with its weight, risk, contribution, impact and a plain-language detail;
    /// a factor without data is `missing` (left out of the score, not counted as zero).
    pub factors: Vec<Factor>,
    pub recommended_actions: Vec<String>,
    pub scored_at: DateTime<Utc>,
}

impl From<CachedScore> for AtRiskMember {
    fn from(s: CachedScore) -> Self {
        AtRiskMember {
            member: ScoredMember {
                id: s.member_id.into(),
                first_name: s.first_name,
                last_name: s.last_name,
                location_id: s.location_id.map(Into::into),
            },
            risk_score: s.score.risk_score,
            risk_level: s.score.risk_level,
            days_since_visit: s.score.days_since_visit,
            monthly_value: s.monthly_value,
            currency: s.currency,
            factors: s.score.factors,
            recommended_actions: s.score.recommended_actions,
            scored_at: s.computed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    #[schema(example = 1290.0)]
    pub amount: f64,
    #[schema(example = "EUR")]
    pub currency: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChurnSummary {
    /// The threshold applied (members at or above it are at risk).
    pub threshold: f64,
    /// Members at or above the threshold (all pages).
    pub total_at_risk: u64,
    /// Of them, scored 0.60 or more.
    pub high_risk: u64,
    /// Of them, scored 0.35 to 0.59.
    pub medium_risk: u64,
    /// Of them, below 0.35 (only with a threshold under 0.35).
    pub low_risk: u64,
    /// Every active member scored.
    pub members_scored: u64,
    /// What the at-risk members' memberships bring a month: what leaving would cost.
    pub potential_monthly_loss: Money,
    /// When the cache was last written; null before the first computation.
    pub computed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChurnRiskOut {
    /// Highest risk first.
    pub at_risk_members: Vec<AtRiskMember>,
    pub summary: ChurnSummary,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

fn threshold_pct(t: f64) -> u32 {
    ((t * 100.0) - 1e-9).ceil().clamp(0.0, 100.0) as u32
}

/// Members at risk of leaving
///
/// The business's (or one location's) active members scored at or above `threshold`, highest
/// risk first, each with the factors that make the score and what to do; the summary counts
/// every page. Scores are recomputed daily, at the end of each sync run, and for one member
/// after each of their check-ins, payments and workouts.
#[utoipa::path(get, path = "/api/external/v1/analytics/churn-risk", operation_id = "getChurnRisk", tag = "analytics",
    params(
        ("threshold" = Option<f64>, Query, minimum = 0, maximum = 1, description = "Lowest risk score listed, 0–1 (default 0.35: medium and high)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only members of this home location (`loc_…`)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page (same filters).")),
    responses((status = 200, description = "At-risk members and the summary", body = ChurnRiskOut),
              (status = 400, description = "A parameter is invalid", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn churn_risk(principal: Principal, params: QueryParams) -> Result<Json<ChurnRiskOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAnalytics)?;
    params.allow(&["threshold", "limit", "locationId", "cursor"])?;
    let threshold = params
        .parsed("threshold", |s| s.parse::<f64>().ok().filter(|t| (0.0..=1.0).contains(t)), "a number from 0 to 1")?
        .unwrap_or(DEFAULT_THRESHOLD);
    let location = params.id("locationId", IdKind::Location)?;
    let page = PageParams::from_query(&params)?;
    let db = tenant.db();
    if let Some(l) = &location {
        match locations::get(db, l).await {
            Err(RepoError::NotFound) => return Err(ApiError::NotFound(format!("no location `{l}` in this business"))),
            other => {
                other?;
            }
        }
    }
    let pct = threshold_pct(threshold);
    let (items, next) = match analytics::at_risk(db, location.as_ref(), pct, page.limit, page.cursor).await {
        Err(RepoError::Store(iron_store::StoreError::BadCursor)) => return Err(PageParams::mismatched_cursor()),
        other => other?,
    };
    let summary = analytics::summary(db, location.as_ref()).await?;
    let currency = match &summary {
        Some(s) => s.currency.clone(),
        None => analytics::business_currency(db).await?,
    };
    let summary = match summary {
        Some(s) => {
            let (total, value) = s.at_or_above(pct);
            let (high, medium_from) = (s.at_or_above(60).0, pct.max(35));
            ChurnSummary {
                threshold,
                total_at_risk: total,
                high_risk: if pct <= 60 { high } else { total },
                medium_risk: if medium_from < 60 { s.between(medium_from, 60) } else { 0 },
                low_risk: if pct < 35 { s.between(pct, 35) } else { 0 },
                members_scored: s.total(),
                potential_monthly_loss: Money { amount: value, currency },
                computed_at: s.computed_at,
            }
        }
        None => ChurnSummary {
            threshold,
            total_at_risk: 0,
            high_risk: 0,
            medium_risk: 0,
            low_risk: 0,
            members_scored: 0,
            potential_monthly_loss: Money { amount: 0.0, currency },
            computed_at: None,
        },
    };
    Ok(Json(ChurnRiskOut {
        at_risk_members: items.into_iter().map(Into::into).collect(),
        summary,
        next_cursor: next.map(|c| c.encode()),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthScoreOut {
    pub member_id: String,
    /// 0–100, higher is healthier (100 × (1 − riskScore)).
    #[schema(minimum = 0, maximum = 100, example = 28)]
    pub score: u32,
    #[schema(minimum = 0, maximum = 1)]
    pub risk_score: f64,
    pub risk_level: RiskLevel,
    pub days_since_visit: Option<i64>,
    pub factors: Vec<Factor>,
    pub recommendations: Vec<String>,
    pub scored_at: DateTime<Utc>,
}

/// A member's health score
///
/// The other side of the churn risk: 0–100 with the same factors and recommendations. Active
/// members are scored; a member who isn't (a prospect, an inactive member) has none.
#[utoipa::path(get, path = "/api/external/v1/members/{id}/health-score", operation_id = "getHealthScore", tag = "analytics",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    responses((status = 200, description = "The member's score", body = HealthScoreOut),
              (status = 404, description = "No such member in this business, or one not scored (not active)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn health_score(principal: Principal, Path(id): Path<String>) -> Result<Json<HealthScoreOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAnalytics)?;
    let member: Id = iron_http::path_id(IdKind::Athlete, &id, "member")?;
    let db = tenant.db();
    let Some(s) = analytics::cached(db, &member).await? else {
        return Err(match athletes::get(db, &member).await {
            Err(RepoError::NotFound) => ApiError::NotFound(format!("no member `{id}` in this business")),
            Err(e) => e.into(),
            Ok(a) if !analytics::is_scored(&a) => ApiError::NotFound(format!(
                "member `{id}` has no health score: only active members are scored (this one is {})",
                serde_json::to_value(a.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
            )),
            Ok(_) => ApiError::NotFound(format!(
                "member `{id}` has not been scored yet: new members are scored within a minute, all members daily"
            )),
        });
    };
    Ok(Json(HealthScoreOut {
        member_id: s.member_id.into(),
        score: iron_domain::churn::health(&s.score),
        risk_score: s.score.risk_score,
        risk_level: s.score.risk_level,
        days_since_visit: s.score.days_since_visit,
        factors: s.score.factors,
        recommendations: s.score.recommended_actions,
        scored_at: s.computed_at,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChurnModelOut {
    pub weights: Weights,
    /// Days before a membership ends that `subscription.expiring` fires.
    #[schema(minimum = 1, maximum = 90, example = 14)]
    pub expiry_notice_days: u32,
    /// Whether these are the roadmap's defaults (30 / 25 / 15 / 10 / 10 / 10 %).
    pub default: bool,
    /// When the business last set them; null for the defaults never changed.
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<ChurnModel> for ChurnModelOut {
    fn from(m: ChurnModel) -> Self {
        ChurnModelOut {
            default: m.weights == Weights::default(),
            weights: m.weights,
            expiry_notice_days: m.expiry_notice_days,
            updated_at: m.updated_at,
        }
    }
}

/// The churn model's weights
#[utoipa::path(get, path = "/api/external/v1/analytics/churn-model", operation_id = "getChurnModel", tag = "analytics",
    responses((status = 200, description = "The weights in use", body = ChurnModelOut)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_model(principal: Principal) -> Result<Json<ChurnModelOut>, ApiError> {
    let tenant = principal.require(Scope::ReadAnalytics)?;
    Ok(Json(analytics::churn_model(tenant.db()).await?.into()))
}

/// The churn model's new weights.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"weights": {"daysSinceVisit": 0.35, "visitTrend": 0.25, "workoutCompletion": 0.10, "appEngagement": 0.10, "socialActivity": 0.10, "paymentIssues": 0.10}}))]
#[allow(dead_code)]
pub struct ChurnModelIn {
    /// Six weights, each 0–1, summing to 1; `null` or left out for the defaults.
    weights: Option<Weights>,
    /// Days before a membership ends that `subscription.expiring` fires, 1–90 (default 14).
    #[schema(minimum = 1, maximum = 90)]
    expiry_notice_days: Option<u32>,
}

/// Set the churn model's weights
///
/// Every score is recomputed with them at the next daily run (and each member's at their next
/// check-in or payment). `{"weights": null}` goes back to the defaults. `expiryNoticeDays` sets
/// when `subscription.expiring` fires (default 14 days before the end).
#[utoipa::path(put, path = "/api/external/v1/analytics/churn-model", operation_id = "putChurnModel", tag = "analytics",
    request_body = ChurnModelIn,
    responses((status = 200, description = "The weights now in use", body = ChurnModelOut),
              (status = 422, description = "Weights out of range or not summing to 1 (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn put_model(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<ChurnModelOut>, ApiError> {
    let tenant = principal.require(Scope::ManageAnalytics)?;
    let mut r = FieldReader::new(&body, "", "the churn model", &["weights", "expiryNoticeDays"]);
    let notice = r
        .optional("expiryNoticeDays", iron_domain::validation::parse::int(1, 90))
        .flatten()
        .map_or(analytics::DEFAULT_NOTICE_DAYS, |n| n as u32);
    // Left out or `null`: the defaults.
    let weights = if body.get("weights").is_none_or(Value::is_null) {
        Some(Weights::default())
    } else {
        r.required("weights", |v| {
            serde_json::from_value::<Weights>(v.clone()).map_err(|e| {
                format!(
                    "must be null or an object of six numbers ({}): {e}",
                    iron_domain::churn::FactorKind::ALL.map(|k| k.as_str()).join(", ")
                )
            })
        })
    };
    r.finish().map_err(ApiError::Validation)?;
    let weights = weights.unwrap_or_default();
    weights.validate().map_err(|e| ApiError::Validation(e.errors))?;
    let model = ChurnModel { weights, expiry_notice_days: notice, updated_at: Some(api.now()) };
    analytics::set_churn_model(tenant.db(), &model).await?;
    Ok(Json(model.into()))
}
