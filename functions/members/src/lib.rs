//! The members endpoint group: a member's training and health data — readiness
//! (`/members/{id}/readiness`), workouts (`/members/{id}/workouts`) and injuries
//! (`/members/{id}/injuries`) — and the sources of the churn model for gyms without a synced
//! system: memberships, payments and app events. Members are the athletes of the athletes group (same ids).
//! Scopes `read:members` (health data: only with it) and `write:members`.

pub mod app_events;
pub mod injuries;
pub mod memberships;
pub mod payments;
pub mod readiness;
pub mod workouts;

use iron_domain::{Id, IdKind};
use iron_http::{ApiContext, ApiError, authed};
use iron_store::TenantDb;
use iron_store::repo::{RepoError, athletes};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes(api: ApiContext) -> OpenApiRouter {
    let group = OpenApiRouter::new()
        .routes(authed(&api, routes!(readiness::list, readiness::create)))
        .routes(authed(&api, routes!(workouts::list, workouts::create)))
        .routes(authed(&api, routes!(workouts::update, workouts::delete)))
        .routes(authed(&api, routes!(injuries::list, injuries::create)))
        .routes(authed(&api, routes!(injuries::update)))
        .routes(authed(&api, routes!(memberships::list, memberships::create)))
        .routes(authed(&api, routes!(payments::list, payments::create)))
        .routes(authed(&api, routes!(app_events::create)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}

/// The member a path names, if it is one of this business's.
pub(crate) async fn member(db: TenantDb<'_>, raw: &str) -> Result<iron_domain::Athlete, ApiError> {
    let id: Id = iron_http::path_id(IdKind::Athlete, raw, "member")?;
    match athletes::get(db, &id).await {
        Err(RepoError::NotFound) => Err(ApiError::NotFound(format!("no member `{raw}` in this business"))),
        other => Ok(other?),
    }
}

/// An optional `currency` field: ISO 4217, and the business's own (`business`) when given.
pub(crate) fn check_currency(r: &mut iron_domain::validation::FieldReader, business: &str) {
    use iron_domain::validation::parse;
    if let Some(c) = r.optional("currency", parse::text(3)).flatten() {
        if !iron_domain::billing::is_currency(&c) {
            r.fail("currency", "must be an ISO 4217 code such as EUR");
        } else if c != business {
            r.fail("currency", format!("this business bills in {business}"));
        }
    }
}
