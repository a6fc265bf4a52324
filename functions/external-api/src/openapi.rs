//! The OpenAPI 3.1 document, generated from the handlers' annotations, and the offline
//! explorer (Swagger UI, vendored into the binary: no CDN).

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

pub const OPENAPI_PATH: &str = "/api/external/v1/openapi.json";

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
    paths(
        crate::routes::athletes::list,
        crate::routes::athletes::get_one,
        crate::routes::athlete_writes::create,
        crate::routes::athlete_writes::update,
        crate::routes::event_types::list,
        crate::routes::webhooks::create,
        crate::routes::webhooks::list,
        crate::routes::webhooks::get_one,
        crate::routes::webhooks::update,
        crate::routes::webhooks::delete,
        crate::routes::webhooks::rotate_secret,
        crate::routes::webhooks::test,
        crate::routes::deliveries::list,
        crate::routes::deliveries::get_one,
        crate::routes::deliveries::retry,
        crate::routes::deliveries::recover,
        crate::routes::tests::list,
        crate::routes::tests::get_one,
        crate::routes::referrals::stats,
        crate::routes::api_keys::list,
        crate::routes::api_keys::create,
        crate::routes::api_keys::get_one,
        crate::routes::api_keys::rotate,
        crate::routes::api_keys::revoke,
        crate::routes::audit_log::list,
        crate::routes::health,
    ),
    components(schemas(iron_http::error::Problem, iron_domain::FieldError)),
    modifiers(&Security),
    tags(
        (name = "athletes", description = "The business's members"),
        (name = "tests", description = "Fitness tests with their stages and derived results"),
        (name = "analytics", description = "Referral and business intelligence"),
        (name = "api-keys", description = "A business's own API keys: create, rotate, revoke"),
        (name = "audit", description = "The record of every authenticated request"),
        (name = "webhooks", description = "Events and their delivery to the business's endpoints"),
        (name = "meta", description = "Service status"),
    )
)]
pub struct ApiDoc;

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

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/external/v1/openapi.json` and the explorer at `/docs`.
pub fn routes() -> Router {
    Router::from(SwaggerUi::new("/docs").url(OPENAPI_PATH, document()))
}
