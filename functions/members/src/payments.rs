//! `/members/{id}/payments`: a member's payments, succeeded or failed (`write:members` to
//! record, `read:members` to list). Each emits `payment.recorded`, which also recomputes the
//! member's churn score (a failed payment not since paid is the payment factor's critical case).

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use iron_domain::billing::{Payment, PaymentStatus};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{Event, Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::analytics;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentOut {
    #[schema(example = "pay_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    pub membership_id: Option<String>,
    #[schema(example = 129.0)]
    pub amount: f64,
    #[schema(example = "EUR")]
    pub currency: String,
    pub status: PaymentStatus,
    /// The day it was charged.
    pub date: NaiveDate,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<Payment> for PaymentOut {
    fn from(p: Payment) -> Self {
        PaymentOut {
            id: p.id.into(),
            member_id: p.athlete_id.into(),
            membership_id: p.membership_id.map(Into::into),
            amount: p.amount,
            currency: p.currency,
            status: p.status,
            date: p.date,
            failure_reason: p.failure_reason,
            created_at: p.created_at,
        }
    }
}

/// A payment attempt.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"amount": 129.0, "status": "failed", "date": "2026-11-30", "failureReason": "card_declined"}))]
#[allow(dead_code)]
pub struct PaymentIn {
    /// 0–100,000.
    #[schema(minimum = 0, maximum = 100000)]
    amount: f64,
    /// ISO 4217; the business's currency when left out, and it must be that one.
    #[schema(pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    status: PaymentStatus,
    /// The day it was charged: at most two years ago, not after tomorrow.
    date: NaiveDate,
    /// The membership it pays for (`mbr_…`).
    #[schema(pattern = "^mbr_[0-9A-HJKMNP-TV-Z]{26}$")]
    membership_id: Option<String>,
    /// Why it failed (1–200 characters); only for a failed payment.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    failure_reason: Option<String>,
}

const FIELDS: &[&str] = &["amount", "currency", "status", "date", "membershipId", "failureReason"];

/// Record a payment
///
/// Emits `payment.recorded` (a webhook event, and what recomputes the member's churn score).
#[utoipa::path(post, path = "/api/external/v1/members/{id}/payments", operation_id = "createPayment", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    request_body = PaymentIn,
    responses((status = 201, description = "The payment", body = PaymentOut,
                headers(("Location" = String, description = "The member's payments"))),
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
    let today = now.date_naive();
    let currency = analytics::business_currency(tenant.db()).await?;
    let mut r = FieldReader::new(&body, "", "a payment", FIELDS);
    let amount = r.required("amount", parse::number(0.0, 100_000.0));
    crate::check_currency(&mut r, &currency);
    let status = r.required("status", parse::one_of::<PaymentStatus>("succeeded, failed"));
    let date = r.required("date", parse::date(today - Duration::days(730), today + Duration::days(1)));
    let membership_id = r.optional("membershipId", parse::text(40)).flatten();
    let membership_id = match membership_id.map(|m| Id::parse_kind(IdKind::Membership, &m).ok_or(m)) {
        Some(Ok(m)) => Some(m),
        Some(Err(_)) => {
            r.fail("membershipId", "must be a membership id (`mbr_…`)");
            None
        }
        None => None,
    };
    let failure_reason = r.optional("failureReason", parse::text(200)).flatten();
    if failure_reason.is_some() && status == Some(PaymentStatus::Succeeded) {
        r.fail("failureReason", "is only for a failed payment");
    }
    let athlete = crate::member(tenant.db(), &id).await?;
    let (Some(amount), Some(status), Some(date)) = (amount, status, date) else {
        return Err(ApiError::Validation(r.errors));
    };
    r.finish().map_err(ApiError::Validation)?;
    let p = Payment {
        id: Id::generate(IdKind::Payment, now.timestamp_millis()),
        athlete_id: athlete.id,
        membership_id,
        amount,
        currency,
        status,
        date,
        failure_reason,
        created_at: now,
    };
    let out = PaymentOut::from(p.clone());
    let event =
        Event::new("payment.recorded", tenant.business_id(), now, serde_json::to_value(&out).unwrap_or_default());
    analytics::create_payment(tenant.db(), &p, &[event]).await?;
    Ok(iron_http::created(&format!("/members/{id}/payments"), out))
}

/// List a member's payments
///
/// Newest first; `from` / `to` bound the charge day (default the last year).
#[utoipa::path(get, path = "/api/external/v1/members/{id}/payments", operation_id = "listPayments", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("from" = Option<String>, Query, format = Date, description = "Payments charged on or after this day (default a year ago)."),
        ("to" = Option<String>, Query, format = Date, description = "Payments charged on or before this day (default tomorrow)."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of payments", body = ListEnvelope<PaymentOut>),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<PaymentOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["from", "to", "limit", "cursor"])?;
    let today = api.now().date_naive();
    let from = params.date("from")?.unwrap_or(today - Duration::days(365));
    let to = params.date("to")?.unwrap_or(today + Duration::days(1));
    let page = PageParams::from_query(&params)?;
    let athlete = crate::member(tenant.db(), &id).await?;
    let (items, next) = analytics::list_payments(tenant.db(), &athlete.id, from, to, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}
