//! `/members/{id}/memberships`: a member's memberships recorded through the API (`write:members`
//! to add, `read:members` to list) — the plan, its price and billing period, its dates, status
//! and holds. The churn model's potential monthly loss and `subscription.expiring` come from
//! them (a Wodify gym's come from its sync).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use iron_domain::billing::{BillingPeriod, Hold, MemberMembership, MembershipStatus};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::analytics;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipOut {
    #[schema(example = "mbr_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    #[schema(example = "Unlimited")]
    pub plan: String,
    /// The price of one billing period.
    #[schema(example = 129.0)]
    pub price: f64,
    #[schema(example = "EUR")]
    pub currency: String,
    pub billing_period: BillingPeriod,
    /// What it brings in a month (weekly × 52 / 12, yearly / 12).
    pub monthly_value: f64,
    pub start: NaiveDate,
    /// The last day it covers; null for open-ended.
    pub end: Option<NaiveDate>,
    pub status: MembershipStatus,
    pub holds: Vec<Hold>,
    pub created_at: DateTime<Utc>,
}

impl From<MemberMembership> for MembershipOut {
    fn from(m: MemberMembership) -> Self {
        MembershipOut {
            monthly_value: (m.monthly_value() * 100.0).round() / 100.0,
            id: m.id.into(),
            member_id: m.athlete_id.into(),
            plan: m.plan,
            price: m.price,
            currency: m.currency,
            billing_period: m.billing_period,
            start: m.start,
            end: m.end,
            status: m.status,
            holds: m.holds,
            created_at: m.created_at,
        }
    }
}

/// A membership.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"plan": "Unlimited", "price": 129.0, "billingPeriod": "monthly", "start": "2026-09-01", "end": "2027-08-31", "status": "active", "holds": [{"from": "2026-12-20", "to": "2027-01-03"}]}))]
#[allow(dead_code)]
pub struct MembershipIn {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    plan: String,
    /// The price of one billing period, 0–100,000.
    #[schema(minimum = 0, maximum = 100000)]
    price: f64,
    /// ISO 4217; the business's currency (its gym's) when left out, and it must be that one.
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    billing_period: BillingPeriod,
    /// 2000-01-01 to 2100-12-31.
    start: NaiveDate,
    /// The last day it covers, on or after `start`; leave out for open-ended.
    end: Option<NaiveDate>,
    /// Default `active`.
    status: Option<MembershipStatus>,
    /// Pauses, each `from` ≤ `to` (at most 20).
    #[schema(max_items = 20)]
    holds: Option<Vec<Hold>>,
}

const FIELDS: &[&str] = &["plan", "price", "currency", "billingPeriod", "start", "end", "status", "holds"];

fn day(y: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or_default()
}

/// Record a membership
///
/// For gyms whose memberships don't come from a synced system. Its price (as a monthly value)
/// is what the churn summary's potential monthly loss counts; its end date is what
/// `subscription.expiring` announces.
#[utoipa::path(post, path = "/api/external/v1/members/{id}/memberships", operation_id = "createMembership", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    request_body = MembershipIn,
    responses((status = 201, description = "The membership", body = MembershipOut,
                headers(("Location" = String, description = "The member's memberships"))),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let currency = analytics::business_currency(tenant.db()).await?;
    let mut r = FieldReader::new(&body, "", "a membership", FIELDS);
    let plan = r.required("plan", parse::text(100));
    let price = r.required("price", parse::number(0.0, 100_000.0));
    crate::check_currency(&mut r, &currency);
    let billing_period = r.required("billingPeriod", parse::one_of::<BillingPeriod>("weekly, monthly, yearly"));
    let start = r.required("start", parse::date(day(2000), day(2101) - Duration::days(1)));
    let end = r.optional("end", parse::date(day(2000), day(2101) - Duration::days(1))).flatten();
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        r.fail("end", "must be on or after start");
    }
    let status = r
        .optional("status", parse::one_of::<MembershipStatus>("active, paused, cancelled, ended"))
        .flatten()
        .unwrap_or(MembershipStatus::Active);
    let mut holds = Vec::new();
    if let Some(list) = r.optional("holds", parse::array(20)).flatten() {
        for (i, h) in list.iter().enumerate() {
            match serde_json::from_value::<Hold>(h.clone()) {
                Ok(h) if h.from <= h.to => holds.push(h),
                Ok(_) => r.fail(&format!("holds/{i}/to"), "must be on or after from"),
                Err(_) => r.fail(&format!("holds/{i}"), "must be {\"from\": \"YYYY-MM-DD\", \"to\": \"YYYY-MM-DD\"}"),
            }
        }
    }
    let athlete = crate::member(tenant.db(), &id).await?;
    let (Some(plan), Some(price), Some(billing_period), Some(start)) = (plan, price, billing_period, start) else {
        return Err(ApiError::Validation(r.errors));
    };
    r.finish().map_err(ApiError::Validation)?;
    let m = MemberMembership {
        id: Id::generate(IdKind::Membership, now.timestamp_millis()),
        athlete_id: athlete.id,
        plan,
        price,
        currency,
        billing_period,
        start,
        end,
        status,
        holds,
        created_at: now,
    };
    analytics::create_membership(tenant.db(), &m).await?;
    Ok(iron_http::created(&format!("/members/{id}/memberships"), MembershipOut::from(m)))
}

/// List a member's memberships
///
/// Newest first.
#[utoipa::path(get, path = "/api/external/v1/members/{id}/memberships", operation_id = "listMemberships", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of memberships", body = ListEnvelope<MembershipOut>),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<MembershipOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["limit", "cursor"])?;
    let page = PageParams::from_query(&params)?;
    let athlete = crate::member(tenant.db(), &id).await?;
    let (items, next) = analytics::list_memberships(tenant.db(), &athlete.id, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}
