//! The webhooks endpoint group (scope `manage:webhooks`): endpoints a business registers
//! (`/webhooks`), what happened to each delivery (`/webhooks/{id}/deliveries`, retry, recover)
//! and the event catalogue (`/event-types`).
//!
//! [`routes`] is the group's router with its OpenAPI part, unfinished: the binary that serves it
//! adds the outer layers once.

pub mod deliveries;
pub mod event_types;
pub mod webhooks;

use axum::extract::FromRef;
use iron_http::{ApiContext, authed};
use iron_lambda::{ApiConfig, ConfigError, Env, FromEnv};
use iron_store::{KeyCipher, Queue};
use iron_webhooks::DestinationPolicy;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What this group's handlers use: the shared context, and the cipher, destination rules and
/// queue only webhooks need.
#[derive(Clone)]
pub struct WebhooksState {
    pub api: ApiContext,
    /// Seals webhook signing secrets (KMS on AWS, the local master key locally).
    pub cipher: Arc<dyn KeyCipher>,
    /// Where webhooks may point.
    pub destinations: DestinationPolicy,
    /// The delivery queue, for deliveries made outside the outbox fan-out (test events); if a
    /// send fails, the dispatcher's sweep picks the delivery up.
    pub delivery_queue: Arc<dyn Queue>,
}

impl FromRef<WebhooksState> for ApiContext {
    fn from_ref(state: &WebhooksState) -> ApiContext {
        state.api.clone()
    }
}

/// The function's environment (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    /// The KMS key that wraps the data keys of signing secrets.
    pub kms_key_id: String,
    /// The webhook delivery queue (test events go straight onto it).
    pub delivery_queue_url: String,
}

impl FromEnv for Config {
    fn from_env(env: &Env) -> Result<Config, ConfigError> {
        Ok(Config {
            api: ApiConfig::from_env(env)?,
            kms_key_id: env.required("KMS_KEY_ID", "the KMS key for stored secrets")?,
            delivery_queue_url: env.required("DELIVERY_QUEUE_URL", "the webhook delivery queue")?,
        })
    }
}

/// The group's routes and their OpenAPI entries, declared side by side.
pub fn routes(state: WebhooksState) -> OpenApiRouter {
    let api = state.api.clone();
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(event_types::list)))
        .routes(authed(&api, routes!(webhooks::list, webhooks::create)))
        .routes(authed(&api, routes!(webhooks::get_one, webhooks::update, webhooks::delete)))
        .routes(authed(&api, routes!(webhooks::rotate_secret)))
        .routes(authed(&api, routes!(webhooks::test)))
        .routes(authed(&api, routes!(deliveries::list)))
        .routes(authed(&api, routes!(deliveries::get_one)))
        .routes(authed(&api, routes!(deliveries::retry)))
        .routes(authed(&api, routes!(deliveries::recover)))
        .with_state(state);
    iron_http::api_group(&api, group)
}
