//! The locations endpoint group: a business's locations with their opening hours, capacity and
//! equipment inventory (`/locations`; writes need `manage:locations`, reads `read:members` or
//! `manage:locations`), and what the door sees there (`/locations/{id}/check-ins`,
//! `/locations/{id}/occupancy`; `read:members`).

pub mod locations;
pub mod occupancy;

use iron_http::{ApiContext, authed};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(locations::list, locations::create)))
        .routes(authed(&api, routes!(locations::get_one, locations::update)))
        .routes(authed(&api, routes!(occupancy::check_ins)))
        .routes(authed(&api, routes!(occupancy::occupancy)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}
