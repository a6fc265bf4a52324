//! The External API v1 endpoint group: athletes, fitness tests and referral analytics.
//!
//! `router()` is all there is: the Lambda `main` runs it under `lambda_http` over the AWS
//! adapters, and iron-local mounts it over the embedded ones.

pub mod dto;
pub mod openapi;
pub mod routes;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use iron_http::{API_PREFIX, AppState};

/// Environment of the deployed function (set by `template.yaml`).
#[derive(Debug, Clone)]
pub struct Config {
    /// The single DynamoDB table.
    pub table_name: String,
}

impl Config {
    pub fn from_env() -> Result<Config, String> {
        let table_name = std::env::var("TABLE_NAME")
            .map_err(|_| "TABLE_NAME must name the DynamoDB table".to_owned())?;
        Ok(Config { table_name })
    }
}

/// The authenticated External API routes, without the outer layers.
pub fn api_routes(state: AppState) -> Router {
    // Authentication wraps each method's handler, not the route: a wrong method gets its 405
    // before any key is checked.
    let auth = || from_fn_with_state(state.clone(), iron_http::authenticate);
    let v1 = Router::new()
        .route("/athletes", get(routes::athletes::list).route_layer(auth()))
        .route(
            "/athletes/{id}",
            get(routes::athletes::get_one).route_layer(auth()),
        )
        .route("/tests", get(routes::tests::list).route_layer(auth()))
        .route(
            "/tests/{id}",
            get(routes::tests::get_one).route_layer(auth()),
        )
        .route(
            "/referrals",
            get(routes::referrals::stats).route_layer(auth()),
        )
        .with_state(state.clone());
    Router::new().nest(API_PREFIX, v1)
}

/// Everything this function serves: the API, its OpenAPI document and explorer, and `/health`.
pub fn router(state: AppState) -> Router {
    iron_http::finish(
        api_routes(state)
            .merge(openapi::routes())
            .route("/health", get(routes::health)),
    )
}
