//! The analytics endpoint group (`read:analytics`; the model's settings `manage:analytics`):
//! churn risk (`/analytics/churn-risk`), a member's health score
//! (`/members/{id}/health-score`), the churn model's weights (`/analytics/churn-model`), and
//! engagement and capacity (`/analytics/engagement`, `/analytics/capacity`). Every read is
//! served from the cache the daily schedule, the end of each sync run and each check-in or
//! payment keep ([`iron_store::repo::analytics`]).

pub mod churn;
pub mod engagement;

use iron_http::{ApiContext, authed};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(churn::churn_risk)))
        .routes(authed(&api, routes!(churn::health_score)))
        .routes(authed(&api, routes!(churn::get_model, churn::put_model)))
        .routes(authed(&api, routes!(engagement::engagement)))
        .routes(authed(&api, routes!(engagement::capacity)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}
