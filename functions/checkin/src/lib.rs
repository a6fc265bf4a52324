//! The check-in endpoint group: the door's call (`POST /check-in`: open or not, and the workout of
//! the day), the day's workout on its own (`/members/{id}/daily-wod`), a member's check-ins, the
//! exercise library (`/exercises`) and the injury rules (`/injury-rules`) any valid key may read.
//! Scopes `write:members` (check in) and `read:members`.

pub mod check_ins;
pub mod daily_wod;
pub mod exercises;
pub mod plan;

use iron_http::{ApiContext, authed};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(check_ins::check_in)))
        .routes(authed(&api, routes!(check_ins::of_member)))
        .routes(authed(&api, routes!(daily_wod::daily_wod)))
        .routes(authed(&api, routes!(exercises::list)))
        .routes(authed(&api, routes!(exercises::get_one)))
        .routes(authed(&api, routes!(exercises::injury_rules)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}
