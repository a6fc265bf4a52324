//! The integrations endpoint group (scope `manage:integrations`): a business's gyms (`/gyms`,
//! each grouping some of its locations), the Wodify connection of each gym (`/integrations/
//! wodify/…`: connect, status, manual runs, run logs, pause, resume, disconnect) and the monthly
//! metrics its syncs feed (`/gyms/{gymId}/metrics/monthly`, also `read:analytics`).
//!
//! A connection belongs to one (business, gym) pair: every handler reads the gym through the
//! caller's tenant scope first, so another business's gym id is a 404 like an unknown one. This
//! function seals keys (KMS `GenerateDataKey`) and never opens them: runs happen in the sync
//! worker, through the sync queue. The provider is a path segment: another one (Mindbody, Zen
//! Planner, PushPress) is one more module behind the same handlers.

pub mod gyms;
pub mod metrics;
pub mod wodify;

use axum::extract::FromRef;
use iron_domain::sync::Gym;
use iron_domain::{Id, IdKind};
use iron_http::{ApiContext, ApiError, authed};
use iron_lambda::{ApiConfig, ConfigError, Env, FromEnv};
use iron_store::TenantDb;
use iron_store::repo::RepoError;
use iron_store::repo::sync as repo;
use iron_store::{KeyCipher, Queue};
use iron_sync::wodify::connector::ConnectorConfig;
use std::sync::Arc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What this group's handlers use: the shared context, the cipher that seals keys, the sync
/// queue runs go on, and how to reach Wodify (for the key's validation call).
#[derive(Clone)]
pub struct IntegrationsState {
    pub api: ApiContext,
    pub cipher: Arc<dyn KeyCipher>,
    pub sync_queue: Arc<dyn Queue>,
    pub connector: ConnectorConfig,
}

impl FromRef<IntegrationsState> for ApiContext {
    fn from_ref(state: &IntegrationsState) -> ApiContext {
        state.api.clone()
    }
}

/// The function's environment (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    /// The KMS key that wraps the data keys of provider keys.
    pub kms_key_id: String,
    pub sync_queue_url: String,
    /// `IRON_WODIFY_BASE_URL` (default: Wodify's), with [`ConnectorConfig::interactive`] timeouts.
    pub connector: ConnectorConfig,
}

impl FromEnv for Config {
    fn from_env(env: &Env) -> Result<Config, ConfigError> {
        Ok(Config {
            api: ApiConfig::from_env(env)?,
            kms_key_id: env.required("KMS_KEY_ID", "the KMS key for stored secrets")?,
            sync_queue_url: env.required("SYNC_QUEUE_URL", "the sync queue")?,
            connector: ConnectorConfig::interactive()
                .at(env.optional("IRON_WODIFY_BASE_URL").as_deref())
                .map_err(ConfigError)?,
        })
    }
}

pub fn routes(state: IntegrationsState) -> OpenApiRouter {
    let api = state.api.clone();
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(gyms::list, gyms::create)))
        .routes(authed(&api, routes!(gyms::get_one, gyms::update)))
        .routes(authed(&api, routes!(metrics::monthly)))
        .routes(authed(&api, routes!(wodify::connect)))
        .routes(authed(&api, routes!(wodify::status)))
        .routes(authed(&api, routes!(wodify::sync)))
        .routes(authed(&api, routes!(wodify::logs)))
        .routes(authed(&api, routes!(wodify::pause)))
        .routes(authed(&api, routes!(wodify::resume)))
        .routes(authed(&api, routes!(wodify::disconnect)))
        .with_state(state);
    iron_http::api_group(&api, group)
}

/// The gym an id names, if it is one of this business's (else 404: another business's gym is
/// as unknown as a made-up id).
pub(crate) async fn gym(db: TenantDb<'_>, raw: &str) -> Result<Gym, ApiError> {
    let not_found = || ApiError::NotFound(format!("no gym `{raw}` in this business"));
    let id: Id = Id::parse_kind(IdKind::Gym, raw).ok_or_else(not_found)?;
    match repo::get_gym(db, &id).await {
        Err(RepoError::NotFound) => Err(not_found()),
        other => Ok(other?),
    }
}
