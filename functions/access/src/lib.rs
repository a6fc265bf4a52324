//! The access endpoint group: a business's own API keys (`/api-keys`, scope `manage:keys`) and
//! its audit log (`/audit-log`, scope `read:audit`).
//!
//! [`routes`] is the group's router with its OpenAPI part, unfinished: the binary that serves it
//! adds the outer layers once.

pub mod api_keys;
pub mod audit_log;

use iron_http::{ApiContext, authed};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes and their OpenAPI entries, declared side by side.
pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(api_keys::list, api_keys::create)))
        .routes(authed(&api, routes!(api_keys::get_one, api_keys::revoke)))
        .routes(authed(&api, routes!(api_keys::rotate)))
        .routes(authed(&api, routes!(audit_log::list)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}
