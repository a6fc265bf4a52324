//! What happened to each delivery of a webhook (scope `manage:webhooks`): the log, one
//! delivery's attempts, a manual retry, and recovery of everything that failed since a time.

use crate::WebhooksState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams, Tenant};
use iron_store::repo::RepoError;
use iron_store::repo::deliveries::{self, Attempt, Delivery, DeliveryFilter, DeliveryState};
use iron_store::repo::webhooks;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptOut {
    pub at: DateTime<Utc>,
    /// The receiver's status code, absent when it didn't answer.
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// The first 4 KB of the receiver's answer.
    pub response_body: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryOut {
    #[schema(example = "dlv_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub webhook_id: String,
    /// Also the `webhook-id` header of every attempt.
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempt_count: u32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_attempt: Option<AttemptOut>,
    /// Every attempt, oldest first (on the single-delivery view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptOut>>,
}

fn attempt_out(a: &Attempt) -> AttemptOut {
    AttemptOut {
        at: a.at,
        status: a.status,
        duration_ms: a.duration_ms,
        error: a.error.clone(),
        response_body: a.response_body.clone(),
    }
}

fn state_name(s: DeliveryState) -> &'static str {
    match s {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
    }
}

fn out(d: &Delivery, with_attempts: bool) -> DeliveryOut {
    DeliveryOut {
        id: d.id.to_string(),
        webhook_id: d.webhook_id.to_string(),
        event_id: d.event_id.to_string(),
        event_type: d.event_type.clone(),
        status: state_name(d.state).into(),
        attempt_count: d.attempt,
        next_attempt_at: (d.state == DeliveryState::Pending).then_some(d.next_attempt_at),
        created_at: d.created_at,
        last_attempt: d.attempts.last().map(attempt_out),
        attempts: with_attempts.then(|| d.attempts.iter().map(attempt_out).collect()),
    }
}

async fn webhook_of(tenant: Tenant<'_>, raw: &str) -> Result<Id, ApiError> {
    let not_found = || ApiError::NotFound(format!("no webhook `{raw}` in this business"));
    let id = Id::parse_kind(IdKind::Webhook, raw).ok_or_else(not_found)?;
    match webhooks::get(tenant.db(), &id).await {
        Ok(_) => Ok(id),
        Err(RepoError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

async fn delivery_of(tenant: Tenant<'_>, webhook: &Id, raw: &str) -> Result<Delivery, ApiError> {
    let not_found = || ApiError::NotFound(format!("no delivery `{raw}` for this webhook"));
    let id = Id::parse_kind(IdKind::Delivery, raw).ok_or_else(not_found)?;
    match deliveries::get(tenant.db(), &id).await {
        Ok(d) if &d.webhook_id == webhook => Ok(d),
        Ok(_) | Err(RepoError::NotFound) => Err(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// Where a delivery stands (the `status` filter and field).
#[derive(Debug, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// List a webhook's deliveries
///
/// Newest first; kept 30 days.
#[utoipa::path(get, path = "/api/external/v1/webhooks/{id}/deliveries", operation_id = "listDeliveries", tag = "webhooks",
    params(
        ("id" = String, Path, description = "Webhook id (`whk_…`)"),
        ("status" = inline(Option<DeliveryStatus>), Query, description = "`pending`, `delivered` or `failed`."),
        ("eventType" = Option<String>, Query, max_length = 100, description = "Only this event type."),
        ("since" = Option<String>, Query, format = DateTime, description = "Created at or after this RFC 3339 time."),
        ("until" = Option<String>, Query, format = DateTime, description = "Created at or before this RFC 3339 time."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page, unchanged (with the same filters)."),
    ),
    responses((status = 200, description = "A page of deliveries", body = ListEnvelope<DeliveryOut>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<DeliveryOut>>, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    params.allow(&["status", "eventType", "since", "until", "limit", "cursor"])?;
    let webhook = webhook_of(tenant, &id).await?;
    let status = params.parsed(
        "status",
        |v| match v {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "failed" => Some(DeliveryState::Failed),
            _ => None,
        },
        "one of `pending`, `delivered`, `failed`",
    )?;
    let filter = DeliveryFilter {
        state: status,
        event_type: params.string("eventType", 100)?,
        since: params.timestamp("since")?,
        until: params.timestamp("until")?,
    };
    let page = PageParams::from_query(&params)?;
    let (items, next) = deliveries::list(tenant.db(), &webhook, &filter, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.iter().map(|d| out(d, false)).collect(), next)))
}

/// Get a delivery with every attempt
#[utoipa::path(get, path = "/api/external/v1/webhooks/{id}/deliveries/{deliveryId}", operation_id = "getDelivery", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), ("deliveryId" = String, Path, description = "Delivery id (`dlv_…`)")),
    responses((status = 200, description = "The delivery and its attempts", body = DeliveryOut),
              (status = 404, description = "No such delivery for this webhook", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    principal: Principal,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<Json<DeliveryOut>, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let webhook = webhook_of(tenant, &id).await?;
    let d = delivery_of(tenant, &webhook, &delivery_id).await?;
    Ok(Json(out(&d, true)))
}

/// Retry a delivery
///
/// Puts a delivered or failed delivery back in line, due now (one more attempt).
#[utoipa::path(post, path = "/api/external/v1/webhooks/{id}/deliveries/{deliveryId}/retry", operation_id = "retryDelivery", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id"), ("deliveryId" = String, Path, description = "Delivery id (`dlv_…`)")),
    responses((status = 202, description = "Queued again", body = DeliveryOut),
              (status = 409, description = "Still pending", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn retry(
    State(state): State<WebhooksState>,
    principal: Principal,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<DeliveryOut>), ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let webhook = webhook_of(tenant, &id).await?;
    let d = delivery_of(tenant, &webhook, &delivery_id).await?;
    if !deliveries::requeue(tenant.db(), &d, state.api.clock.now()).await? {
        return Err(ApiError::Conflict("the delivery is still pending; it will be attempted on schedule".into()));
    }
    let d = delivery_of(tenant, &webhook, &delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(out(&d, false))))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecoverIn {
    /// Failed deliveries created at or after this time are sent again (within the 30-day log).
    pub since: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoverOut {
    pub requeued: usize,
}

/// Recover failed deliveries
///
/// Sends again every failed delivery of this webhook since a time (at most 10,000 per call).
#[utoipa::path(post, path = "/api/external/v1/webhooks/{id}/recover", operation_id = "recoverDeliveries", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id")), request_body = RecoverIn,
    responses((status = 202, description = "How many were queued again", body = RecoverOut)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn recover(
    State(state): State<WebhooksState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<RecoverIn>,
) -> Result<(StatusCode, Json<RecoverOut>), ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let webhook = webhook_of(tenant, &id).await?;
    let now = state.api.clock.now();
    if input.since > now {
        return Err(ApiError::Validation(vec![iron_domain::FieldError {
            field: "/since".into(),
            message: "must not be in the future".into(),
        }]));
    }
    let requeued = deliveries::recover(tenant.db(), &webhook, input.since, now, 10_000).await?;
    Ok((StatusCode::ACCEPTED, Json(RecoverOut { requeued })))
}
