//! The bulk endpoint group: many athletes or tests in one request (`/athletes/bulk`,
//! `/tests/bulk`, up to 1,000 rows, each validated by the single endpoints' rules) and exports
//! (`/export/athletes`, `/export/tests`: CSV, JSON or JSON lines). Scopes `write:athletes`,
//! `write:tests`, `read:athletes`, `read:tests`. The row rules and the writers are
//! `iron-imports`', shared with the import and export jobs.

pub mod bulk;
pub mod export;

use axum::extract::DefaultBodyLimit;
use iron_http::{ApiContext, MAX_BULK_BODY_BYTES, authed};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

pub fn routes(api: ApiContext) -> OpenApiRouter {
    // Bulk bodies may be up to 5 MB (the binary's limit for every other body is 1 MB).
    let bulk_limit =
        |r: UtoipaMethodRouter<ApiContext>| r.map(|route| route.layer(DefaultBodyLimit::max(MAX_BULK_BODY_BYTES)));
    let group = OpenApiRouter::new()
        .routes(bulk_limit(authed(&api, routes!(bulk::athletes))))
        .routes(bulk_limit(authed(&api, routes!(bulk::tests))))
        .routes(authed(&api, routes!(export::athletes)))
        .routes(authed(&api, routes!(export::tests)))
        .with_state(api.clone());
    iron_http::api_group(&api, group)
}
