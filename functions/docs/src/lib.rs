//! The docs entry: `GET /api/external/v1/openapi.json`, the explorer at `/docs` (Swagger UI,
//! vendored into the binary: no CDN), `GET /health`, and — as API Gateway's default route — the
//! 404 for every path no group serves.
//!
//! The document is assembled from every group's OpenAPI part ([`assemble`]); the served copy is
//! the committed `docs/openapi.json`, which a test keeps equal to the assembled one, so this
//! function needs none of the groups' code.

pub mod contract;
pub mod health;
pub mod openapi;

pub use openapi::{OPENAPI_PATH, assemble};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The entry's routes (health is in the document; the document and explorer are not).
pub fn routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(health::health)).merge(OpenApiRouter::from(openapi::explorer()))
}
