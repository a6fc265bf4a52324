//! `/webhooks` (scope `manage:webhooks`): a business registers the endpoints its events go to.
//! URLs are checked against the SSRF rules at registration (and again at every delivery); the
//! signing secret (`whsec_…`) is shown only at creation and rotation and stored encrypted.

use crate::WebhooksState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use iron_domain::event::is_known_type;
use iron_domain::{FieldError, Id, IdKind, RetryPolicyName, Scope, Webhook};
use iron_http::idempotency::RedactOnReplay;
use iron_http::{ApiError, JsonBody, ListEnvelope, Principal, QueryParams, Tenant};
use iron_store::repo::RepoError;
use iron_store::repo::webhooks::{self, StoredWebhook};
use iron_webhooks::{DestinationError, WebhookSecret};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long the previous secret keeps signing after a rotation.
pub const SECRET_OVERLAP: Duration = Duration::hours(24);

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookOut {
    #[schema(example = "whk_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub retry_policy: RetryPolicyName,
    pub rate_limit_per_second: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// While a rotated-out secret still signs (deliveries carry both signatures).
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// How deliveries have been going (on single-webhook reads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthOut>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthOut {
    pub last_delivery_at: Option<DateTime<Utc>>,
    /// The last attempt's status code (absent when the receiver didn't answer).
    pub last_delivery_status: Option<u16>,
    pub last_delivery_ok: Option<bool>,
    /// Failed attempts in a row.
    pub failure_count: u32,
    pub failing_since: Option<DateTime<Utc>>,
    /// Successful attempts / attempts over the last 24 hours.
    pub success_rate_24h: Option<f64>,
}

impl From<&StoredWebhook> for WebhookOut {
    fn from(s: &StoredWebhook) -> Self {
        let w = &s.webhook;
        WebhookOut {
            id: w.id.to_string(),
            url: w.url.clone(),
            events: w.events.clone(),
            description: w.description.clone(),
            active: w.active,
            disabled_reason: w.disabled_reason.clone(),
            retry_policy: w.retry_policy,
            rate_limit_per_second: w.rate_limit_per_second,
            created_at: w.created_at,
            updated_at: w.updated_at,
            previous_secret_until: s.previous_until,
            health: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecretOut {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// `whsec_…`: verify deliveries with it (Standard Webhooks). Shown in this response only.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookIn {
    /// `https://…` to a public address (a name resolving to, or a literal, private, loopback,
    /// link-local or metadata address is refused: 422).
    #[schema(max_length = 2048, pattern = "^https://[^\\s]+$")]
    pub url: String,
    /// Event types to receive (see `GET /event-types`).
    #[schema(value_type = Vec<EventTypeName>, min_items = 1, max_items = 50)]
    pub events: Vec<String>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `standard` (3 attempts, default) or `extended` (8 attempts over about a day).
    pub retry_policy: Option<RetryPolicyName>,
    /// Deliveries per second to this endpoint at most: 1–1000, default 10 (1000 is what one
    /// DynamoDB item, the budget's counter, takes in writes per second).
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "iron_http::body::whole_number")]
    pub rate_limit_per_second: Option<u32>,
}

/// An event type of the catalogue (`GET /event-types`): the schema lists them.
pub struct EventTypeName;

impl utoipa::PartialSchema for EventTypeName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(iron_domain::event::EVENT_TYPES.iter().map(|(name, _)| *name)))
            .description(Some("An event type (see `GET /event-types`)"))
            .into()
    }
}

impl ToSchema for EventTypeName {}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookPatch {
    /// As at registration.
    #[schema(max_length = 2048, pattern = "^https://[^\\s]+$")]
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<EventTypeName>>, min_items = 1, max_items = 50)]
    pub events: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `true` re-enables a disabled webhook (and clears its disabled reason).
    pub active: Option<bool>,
    pub retry_policy: Option<RetryPolicyName>,
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "iron_http::body::whole_number")]
    pub rate_limit_per_second: Option<u32>,
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no webhook `{id}` in this business"))
}

fn repo_err(id: &str) -> impl Fn(RepoError) -> ApiError + '_ {
    move |e| match e {
        RepoError::NotFound => not_found(id),
        RepoError::Conflict { message, .. } => ApiError::Conflict(message),
        other => other.into(),
    }
}

async fn check_url(state: &WebhooksState, raw: &str, errors: &mut Vec<FieldError>) -> Option<String> {
    let policy = &state.destinations;
    match policy.check_url(raw) {
        Err(e) => {
            errors.push(FieldError { field: "/url".into(), message: e.to_string() });
            None
        }
        Ok(url) => match policy.resolve(&url).await {
            // A name that doesn't resolve now may later; deliveries check again.
            Ok(_) | Err(DestinationError::Unresolvable(_)) => Some(url.to_string()),
            Err(e) => {
                errors.push(FieldError { field: "/url".into(), message: e.to_string() });
                None
            }
        },
    }
}

fn check_events(events: &[String], errors: &mut Vec<FieldError>) {
    if events.is_empty() || events.len() > 50 {
        errors.push(FieldError { field: "/events".into(), message: "must list 1 to 50 event types".into() });
    }
    for (i, e) in events.iter().enumerate() {
        if !is_known_type(e) {
            errors.push(FieldError {
                field: format!("/events/{i}"),
                message: format!("`{e}` is not an event type; see GET /event-types"),
            });
        }
    }
}

/// The highest per-endpoint budget: one DynamoDB item (the second's counter) takes 1,000 writes/s.
const MAX_RATE_PER_SECOND: u32 = 1000;

fn check_rate(rate: Option<u32>, errors: &mut Vec<FieldError>) {
    if rate.is_some_and(|r| !(1..=MAX_RATE_PER_SECOND).contains(&r)) {
        errors.push(FieldError { field: "/rateLimitPerSecond".into(), message: "must be 1 to 1000".into() });
    }
}

fn check_description(d: &Option<String>, errors: &mut Vec<FieldError>) {
    if d.as_ref().is_some_and(|d| d.chars().count() > 500) {
        errors.push(FieldError { field: "/description".into(), message: "must be at most 500 characters".into() });
    }
}

fn webhook_id(raw: &str) -> Result<Id, ApiError> {
    Id::parse_kind(IdKind::Webhook, raw).ok_or_else(|| not_found(raw))
}

/// Register a webhook
#[utoipa::path(post, path = "/api/external/v1/webhooks", operation_id = "createWebhook", tag = "webhooks", request_body = WebhookIn,
    responses((status = 201, description = "The webhook and its signing secret", body = WebhookWithSecretOut),
              (status = 422, description = "Invalid or forbidden URL, unknown event types", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(state): State<WebhooksState>,
    principal: Principal,
    JsonBody(input): JsonBody<WebhookIn>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let cipher = state.cipher.as_ref();
    let mut errors = Vec::new();
    let url = check_url(&state, &input.url, &mut errors).await;
    check_events(&input.events, &mut errors);
    check_rate(input.rate_limit_per_second, &mut errors);
    check_description(&input.description, &mut errors);
    let Some(url) = url.filter(|_| errors.is_empty()) else { return Err(ApiError::Validation(errors)) };
    let now = state.api.clock.now();
    let mut events = input.events;
    events.sort();
    events.dedup();
    let webhook = Webhook {
        id: Id::generate(IdKind::Webhook, now.timestamp_millis()),
        business_id: tenant.business_id().clone(),
        url,
        events,
        description: input.description,
        active: true,
        disabled_reason: None,
        retry_policy: input.retry_policy.unwrap_or(RetryPolicyName::Standard),
        rate_limit_per_second: input.rate_limit_per_second.unwrap_or(10),
        created_at: now,
        updated_at: now,
    };
    let secret = WebhookSecret::generate();
    let sealed = webhooks::seal(cipher, &webhook, &secret.expose()).await?;
    let stored = StoredWebhook { webhook, secret: sealed, previous_secret: None, previous_until: None };
    webhooks::create(tenant.db(), &stored).await.map_err(|e| match e {
        RepoError::Conflict { message, .. } => ApiError::Conflict(message),
        other => other.into(),
    })?;
    let body = WebhookWithSecretOut { webhook: WebhookOut::from(&stored), secret: secret.expose() };
    let mut resp = iron_http::created(&format!("/webhooks/{}", stored.webhook.id), body);
    resp.extensions_mut().insert(RedactOnReplay(&["/secret"]));
    Ok(resp)
}

/// List webhooks
#[utoipa::path(get, path = "/api/external/v1/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    responses((status = 200, description = "The business's webhooks", body = ListEnvelope<WebhookOut>)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(principal: Principal, params: QueryParams) -> Result<Json<ListEnvelope<WebhookOut>>, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    params.allow(&[])?;
    let all = webhooks::list(tenant.db()).await?;
    Ok(Json(ListEnvelope::new(all.iter().map(WebhookOut::from).collect(), None)))
}

/// Get a webhook
#[utoipa::path(get, path = "/api/external/v1/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 200, description = "The webhook", body = WebhookOut),
              (status = 404, description = "No such webhook in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(state): State<WebhooksState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<WebhookOut>, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let stored = webhooks::get(tenant.db(), &webhook_id(&id)?).await.map_err(repo_err(&id))?;
    let h = iron_store::repo::webhook_health::get(tenant.db(), &stored.webhook.id).await?;
    let rate =
        iron_store::repo::webhook_health::success_rate_24h(tenant.db(), &stored.webhook.id, state.api.clock.now())
            .await?;
    let mut out = WebhookOut::from(&stored);
    out.health = Some(HealthOut {
        last_delivery_at: h.last_delivery_at,
        last_delivery_status: h.last_delivery_status,
        last_delivery_ok: h.last_delivery_ok,
        failure_count: h.failure_count,
        failing_since: h.failing_since,
        success_rate_24h: rate,
    });
    Ok(Json(out))
}

async fn load(tenant: Tenant<'_>, id: &str) -> Result<StoredWebhook, ApiError> {
    webhooks::get(tenant.db(), &webhook_id(id)?).await.map_err(repo_err(id))
}

/// Update a webhook
///
/// Change its URL, events, description, policy or rate; `active: true` re-enables one that was
/// disabled (by the business or automatically) and clears the reason.
#[utoipa::path(patch, path = "/api/external/v1/webhooks/{id}", operation_id = "updateWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")), request_body = WebhookPatch,
    responses((status = 200, description = "The webhook", body = WebhookOut),
              (status = 422, description = "Invalid fields", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(state): State<WebhooksState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<WebhookPatch>,
) -> Result<Json<WebhookOut>, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let before = load(tenant, &id).await?;
    let mut after = before.clone();
    let mut errors = Vec::new();
    if let Some(url) = &patch.url
        && let Some(url) = check_url(&state, url, &mut errors).await
    {
        after.webhook.url = url;
    }
    if let Some(events) = patch.events {
        check_events(&events, &mut errors);
        let mut events = events;
        events.sort();
        events.dedup();
        after.webhook.events = events;
    }
    check_rate(patch.rate_limit_per_second, &mut errors);
    check_description(&patch.description, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if let Some(d) = patch.description {
        after.webhook.description = Some(d);
    }
    if let Some(active) = patch.active {
        after.webhook.active = active;
        if active {
            after.webhook.disabled_reason = None;
        }
    }
    if let Some(p) = patch.retry_policy {
        after.webhook.retry_policy = p;
    }
    if let Some(r) = patch.rate_limit_per_second {
        after.webhook.rate_limit_per_second = r;
    }
    after.webhook.updated_at = state.api.clock.now().max(before.webhook.updated_at + Duration::milliseconds(1));
    webhooks::update(tenant.db(), &before, &after).await.map_err(repo_err(&id))?;
    Ok(Json(WebhookOut::from(&after)))
}

/// Delete a webhook
#[utoipa::path(delete, path = "/api/external/v1/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 204, description = "Deleted; nothing more is delivered to it"),
              (status = 404, description = "No such webhook in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(principal: Principal, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    webhooks::delete(tenant.db(), &webhook_id(&id)?).await.map_err(repo_err(&id))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Rotate a webhook's signing secret
///
/// A new secret signs from now on; the old one keeps signing alongside it for 24 hours, so a
/// receiver can switch without missing a delivery.
#[utoipa::path(post, path = "/api/external/v1/webhooks/{id}/rotate-secret", operation_id = "rotateWebhookSecret", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 200, description = "The webhook and its new secret", body = WebhookWithSecretOut)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn rotate_secret(
    State(state): State<WebhooksState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let cipher = state.cipher.as_ref();
    let before = load(tenant, &id).await?;
    let now = state.api.clock.now();
    let secret = WebhookSecret::generate();
    let mut after = before.clone();
    after.previous_secret = Some(before.secret.clone());
    after.previous_until = Some(now + SECRET_OVERLAP);
    after.secret = webhooks::seal(cipher, &after.webhook, &secret.expose()).await?;
    after.webhook.updated_at = now.max(before.webhook.updated_at + Duration::milliseconds(1));
    webhooks::update(tenant.db(), &before, &after).await.map_err(repo_err(&id))?;
    let mut resp =
        Json(WebhookWithSecretOut { webhook: WebhookOut::from(&after), secret: secret.expose() }).into_response();
    resp.extensions_mut().insert(RedactOnReplay(&["/secret"]));
    Ok(resp)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDeliveryOut {
    #[schema(example = "dlv_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub delivery_id: String,
    #[schema(example = "evt_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub event_id: String,
}

/// Send a test event
///
/// Sends a `webhook.test` event to this webhook through the real delivery path (signed,
/// retried, logged) and returns the delivery's id. Works on a disabled webhook's URL only after
/// it is re-enabled.
#[utoipa::path(post, path = "/api/external/v1/webhooks/{id}/test", operation_id = "testWebhook", tag = "webhooks",
    params(("id" = String, Path, description = "Webhook id (`whk_…`)")),
    responses((status = 202, description = "Queued for delivery", body = TestDeliveryOut),
              (status = 404, description = "No such webhook in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn test(
    State(state): State<WebhooksState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageWebhooks)?;
    let hook = load(tenant, &id).await?;
    let now = state.api.clock.now();
    let data =
        serde_json::json!({ "webhookId": hook.webhook.id, "message": "This is a test event from Iron Metrics." });
    let event = iron_domain::Event::new("webhook.test", tenant.business_id(), now, data);
    let delivery = iron_store::repo::deliveries::direct(tenant.db(), &event, &hook.webhook.id, now)
        .await
        .map_err(repo_err(&id))?;
    // Straight onto the delivery queue; if that fails, the dispatcher's sweep finds it.
    let r = iron_store::repo::deliveries::DeliveryRef::new(delivery.business_id.clone(), delivery.id.clone());
    if let Err(e) = state.delivery_queue.send(&r.to_message(), std::time::Duration::ZERO).await {
        tracing::warn!(error = %e, "test delivery not queued; the sweep will pick it up");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(TestDeliveryOut { delivery_id: delivery.id.to_string(), event_id: event.id.to_string() }),
    )
        .into_response())
}
