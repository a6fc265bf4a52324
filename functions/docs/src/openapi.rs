//! The OpenAPI 3.1 document: the shared parts (info, security schemes, tags) here, each
//! operation in its group's router, side by side with its route. [`assemble`] merges them; the
//! committed `docs/openapi.json` is what is served.

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

pub const OPENAPI_PATH: &str = "/api/external/v1/openapi.json";

/// The document as committed (`docs/openapi.json`), kept equal to [`assemble`]'s output by a test.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Iron Metrics External API",
        version = "1.0.0",
        description = "Members, fitness tests and analytics of a gym business, for integrators.\n\n\
Authenticate with `Authorization: Bearer bak_…` (or `X-API-Key`). Every error is RFC 9457 \
`application/problem+json` with a `requestId`. Lists use cursor pagination (`limit`, `cursor`, \
`nextCursor`). Rate limits per key: `X-RateLimit-Limit`, `X-RateLimit-Remaining`, \
`X-RateLimit-Reset` (seconds) on every response, `Retry-After` on 429.\n\n\
Mutating requests take an `Idempotency-Key` header (1–255 characters): a retry with the same key \
and request replays the first response for 24 h (`Idempotent-Replayed: true`); the same key with \
another request is 422; a retry while the first runs is 409. Beta features are opted into with \
`X-Beta-Features` (comma list). Deprecated routes answer with `Deprecation`, `Sunset` and a \
`Link` to the migration guide."
    ),
    components(schemas(iron_http::error::Problem, iron_domain::FieldError)),
    modifiers(&Security),
    tags(
        (name = "athletes", description = "The business's members"),
        (name = "tests", description = "Fitness tests with their stages and derived results"),
        (name = "analytics", description = "Churn risk with its reasons, member health scores, engagement, capacity, referral stats"),
        (name = "api-keys", description = "A business's own API keys: create, rotate, revoke"),
        (name = "audit", description = "The record of every authenticated request"),
        (name = "webhooks", description = "Events and their delivery to the business's endpoints"),
        (name = "members", description = "Members' training and health data: readiness, workouts, injuries"),
        (name = "locations", description = "Locations with hours, capacity and equipment; their check-ins and occupancy"),
        (name = "check-in", description = "The door's check-in with the personalised workout of the day"),
        (name = "exercises", description = "The exercise library and the injury rules"),
        (name = "bulk", description = "Many athletes or tests in one request; exports as CSV, JSON or JSON lines"),
        (name = "challenges", description = "Challenges with exact live leaderboards, teams, entries and badges"),
        (name = "integrations", description = "Gyms, their Wodify connection and sync runs, and the monthly metrics the syncs feed"),
        (name = "meta", description = "Service status"),
    )
)]
struct Base;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bak_…")
                    .description(Some("An API key as a bearer token"))
                    .build(),
            ),
        );
        components.add_security_scheme("apiKey", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))));
    }
}

/// The whole document: the shared parts, every group's operations and schemas, and what the
/// shared layers add to each operation ([`crate::contract`]).
pub fn assemble(parts: impl IntoIterator<Item = utoipa::openapi::OpenApi>) -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for part in parts {
        doc.merge(part);
    }
    let mut json = serde_json::to_value(&doc).unwrap_or_default();
    crate::contract::complete(&mut json);
    serde_json::from_value(json).unwrap_or(doc)
}

/// `GET /api/external/v1/openapi.json` (the committed document) and the explorer at `/docs`.
pub fn explorer() -> Router {
    let document: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap_or_default();
    Router::from(SwaggerUi::new("/docs").external_url_unchecked(OPENAPI_PATH, document))
}
