//! The bulk endpoint group: many athletes or tests in one request (`/athletes/bulk`,
//! `/tests/bulk`, up to 1,000 rows, each validated by the single endpoints' rules), inline
//! exports (`/export/athletes`, `/export/tests`: CSV, JSON or JSON lines), and the jobs for
//! what doesn't fit a request: imports of up to 100,000 rows (`/imports`) and exports of any
//! size (`/exports`), run by the jobs worker. Scopes `write:athletes`, `write:tests`,
//! `read:athletes`, `read:tests`. The row rules, file readers and writers are `iron-imports`',
//! shared with the worker.

pub mod bulk;
pub mod export;
pub mod exports;
pub mod imports;
pub mod jobs;

use axum::extract::{DefaultBodyLimit, FromRef};
use iron_http::{ApiContext, MAX_BULK_BODY_BYTES, authed};
use iron_lambda::{ApiConfig, ConfigError, Env, FromEnv};
use iron_store::{BlobStore, Queue};
use std::sync::Arc;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

/// What this group's handlers use: the shared context, the job files and the jobs queue.
#[derive(Clone)]
pub struct BulkState {
    pub api: ApiContext,
    /// Uploads, error reports and export files (S3 on AWS, the data dir locally).
    pub blobs: Arc<dyn BlobStore>,
    /// Where a job's runs are queued for the jobs worker.
    pub jobs: Arc<dyn Queue>,
}

impl FromRef<BulkState> for ApiContext {
    fn from_ref(state: &BulkState) -> ApiContext {
        state.api.clone()
    }
}

/// The function's environment (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    pub api: ApiConfig,
    /// The bucket of job files.
    pub bucket: String,
    /// The jobs queue.
    pub jobs_queue_url: String,
}

impl FromEnv for Config {
    fn from_env(env: &Env) -> Result<Config, ConfigError> {
        Ok(Config {
            api: ApiConfig::from_env(env)?,
            bucket: env.required("FILES_BUCKET", "the bucket of import and export files")?,
            jobs_queue_url: env.required("JOBS_QUEUE_URL", "the import and export jobs queue")?,
        })
    }
}

pub fn routes(state: BulkState) -> OpenApiRouter {
    let api = state.api.clone();
    // Bulk bodies and import uploads may be up to 5 MB (the binary's limit for every other body
    // is 1 MB).
    let big = |r: UtoipaMethodRouter<BulkState>| r.map(|route| route.layer(DefaultBodyLimit::max(MAX_BULK_BODY_BYTES)));
    let mut group = OpenApiRouter::new()
        .routes(big(authed(&api, routes!(bulk::athletes))))
        .routes(big(authed(&api, routes!(bulk::tests))))
        .routes(authed(&api, routes!(export::athletes)))
        .routes(authed(&api, routes!(export::tests)))
        .routes(big(authed(&api, routes!(imports::create, imports::list))))
        .routes(authed(&api, routes!(imports::get_one, imports::cancel)))
        .routes(authed(&api, routes!(imports::start)))
        .routes(authed(&api, routes!(exports::list)))
        .routes(authed(&api, routes!(exports::create_athletes)))
        .routes(authed(&api, routes!(exports::create_tests)))
        .routes(authed(&api, routes!(exports::get_one)))
        .with_state(state);
    // The import's body is optional (none: the file comes through an upload link); utoipa marks
    // a body optional only by making its schema nullable, which a file isn't.
    if let Some(op) = group
        .get_openapi_mut()
        .paths
        .paths
        .get_mut(concat!("/api/external/v1", "/imports"))
        .and_then(|item| item.post.as_mut())
        && let Some(utoipa::openapi::RefOr::T(body)) = op.request_body.as_mut()
    {
        body.required = Some(utoipa::openapi::Required::False);
    }
    iron_http::api_group(&api, group)
}
