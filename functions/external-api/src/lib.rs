//! The External API v1 endpoint group: athletes, fitness tests and referral analytics.
//!
//! `router()` is all there is: the Lambda `main` runs it under `lambda_http` over the AWS
//! adapters, and iron-local mounts it over the embedded ones.

pub mod dto;
pub mod openapi;
pub mod routes;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{MethodRouter, get, post};
use iron_http::{API_PREFIX, AppState};

/// Environment of the deployed function (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    /// The single DynamoDB table.
    pub table_name: String,
    /// The KMS key that wraps the data keys of stored secrets.
    pub kms_key_id: String,
    /// The webhook delivery queue (test events go straight onto it).
    pub delivery_queue_url: String,
    /// `IRON_AUDIT_RETENTION_DAYS`, default 90.
    pub audit_retention_days: i64,
    /// `IRON_TRUST_X_FORWARDED_FOR=true` only behind a proxy of ours; otherwise the client IP is
    /// API Gateway's source IP.
    pub trust_forwarded_for: bool,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let table_name =
            std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME must name the DynamoDB table".to_owned())?;
        let kms_key_id = std::env::var("KMS_KEY_ID")
            .map_err(|_| "KMS_KEY_ID must name the KMS key for stored secrets".to_owned())?;
        let delivery_queue_url = std::env::var("DELIVERY_QUEUE_URL")
            .map_err(|_| "DELIVERY_QUEUE_URL must name the webhook delivery queue".to_owned())?;
        let audit_retention_days = match std::env::var("IRON_AUDIT_RETENTION_DAYS") {
            Ok(v) => {
                v.parse().ok().filter(|d| (1..=3653).contains(d)).ok_or("IRON_AUDIT_RETENTION_DAYS must be 1..=3653")?
            }
            Err(_) => iron_http::DEFAULT_AUDIT_RETENTION_DAYS,
        };
        let trust_forwarded_for = std::env::var("IRON_TRUST_X_FORWARDED_FOR").is_ok_and(|v| v == "true" || v == "1");
        Ok(Config { table_name, kms_key_id, delivery_queue_url, audit_retention_days, trust_forwarded_for })
    }
}

/// The authenticated External API routes, without the outer layers.
pub fn api_routes(state: AppState) -> Router {
    // Authentication (and, inside it, idempotency for mutating methods) wraps each method's
    // handler, not the route: a wrong method gets its 405 before any key is checked.
    let authed = |route: MethodRouter<AppState>| {
        route
            .route_layer(from_fn_with_state(state.clone(), iron_http::idempotency::idempotency))
            .route_layer(from_fn_with_state(state.clone(), iron_http::authenticate))
    };
    let v1 = Router::new()
        .route("/athletes", authed(get(routes::athletes::list).post(routes::athlete_writes::create)))
        .route("/athletes/{id}", authed(get(routes::athletes::get_one).patch(routes::athlete_writes::update)))
        .route("/tests", authed(get(routes::tests::list)))
        .route("/tests/{id}", authed(get(routes::tests::get_one)))
        .route("/referrals", authed(get(routes::referrals::stats)))
        .route("/api-keys", authed(get(routes::api_keys::list).post(routes::api_keys::create)))
        .route("/api-keys/{id}", authed(get(routes::api_keys::get_one).delete(routes::api_keys::revoke)))
        .route("/api-keys/{id}/rotate", authed(post(routes::api_keys::rotate)))
        .route("/audit-log", authed(get(routes::audit_log::list)))
        .route("/event-types", authed(get(routes::event_types::list)))
        .route("/webhooks", authed(get(routes::webhooks::list).post(routes::webhooks::create)))
        .route(
            "/webhooks/{id}",
            authed(get(routes::webhooks::get_one).patch(routes::webhooks::update).delete(routes::webhooks::delete)),
        )
        .route("/webhooks/{id}/rotate-secret", authed(post(routes::webhooks::rotate_secret)))
        .route("/webhooks/{id}/test", authed(post(routes::webhooks::test)))
        .route("/webhooks/{id}/deliveries", authed(get(routes::deliveries::list)))
        .route("/webhooks/{id}/deliveries/{delivery_id}", authed(get(routes::deliveries::get_one)))
        .route("/webhooks/{id}/deliveries/{delivery_id}/retry", authed(post(routes::deliveries::retry)))
        .route("/webhooks/{id}/recover", authed(post(routes::deliveries::recover)))
        .layer(from_fn(iron_http::versioning::check_beta_features))
        .with_state(state.clone());
    Router::new().nest(API_PREFIX, v1).layer(from_fn_with_state(state.client_ip, iron_http::client_ip::resolve))
}

/// Everything this function serves: the API, its OpenAPI document and explorer, and `/health`.
pub fn router(state: AppState) -> Router {
    iron_http::finish(api_routes(state).merge(openapi::routes()).route("/health", get(routes::health)))
}
