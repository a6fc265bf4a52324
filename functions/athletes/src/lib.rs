//! The athletes endpoint group: members (`/athletes`), fitness tests (`/tests`) and referral
//! analytics (`/referrals`). Scopes `read:athletes`, `write:athletes`, `read:tests`,
//! `read:analytics`, `write:tests`.
//!
//! [`routes`] is the group's router with its OpenAPI part, unfinished: the binary that serves it
//! (this function's `main`, or iron-local beside the other groups) adds the outer layers once.

pub mod athletes;
pub mod referrals;
pub mod tests;

use iron_http::{ApiContext, authed};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The group's routes and their OpenAPI entries, declared side by side.
pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(athletes::list, athletes::create)))
        .routes(authed(&api, routes!(athletes::get_one, athletes::update)))
        .routes(authed(&api, routes!(tests::list, tests::create)))
        .routes(authed(&api, routes!(tests::get_one)))
        .routes(authed(&api, routes!(referrals::stats)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}
