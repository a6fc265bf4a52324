//! `/api-keys` (scope `manage:keys`): a business manages its own keys without downtime.
//! A key can never mint a key with more scopes or a higher tier than its own.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use iron_domain::{FieldError, Id, IdKind, RateTier, Scope};
use iron_http::idempotency::RedactOnReplay;
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, Principal, QueryParams};
use iron_store::repo::RepoError;
use iron_store::repo::platform::{self, NewKey};
use serde::Serialize;
use utoipa::ToSchema;

/// The longest grace period a rotation may give the old key.
pub const MAX_GRACE_HOURS: u32 = 30 * 24;
pub const DEFAULT_GRACE_HOURS: u32 = 24;

/// Loads a key the caller may manage: one holding nothing the caller lacks.
async fn manageable(principal: &Principal, raw: &str) -> Result<iron_domain::ApiKey, ApiError> {
    let tenant = principal.require(Scope::ManageKeys)?;
    let target = platform::get_key(tenant.db(), &key_id(raw)?).await.map_err(repo_err(raw))?;
    principal.key.covers(&target.scopes, target.tier).map_err(ApiError::Forbidden)?;
    Ok(target)
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no API key `{id}` in this business"))
}

fn key_id(raw: &str) -> Result<Id, ApiError> {
    Id::parse_kind(IdKind::ApiKey, raw).ok_or_else(|| not_found(raw))
}

fn repo_err(raw: &str) -> impl Fn(RepoError) -> ApiError + '_ {
    move |e| match e {
        RepoError::NotFound => not_found(raw),
        other => other.into(),
    }
}

/// A key as its business sees it: never the secret.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyOut {
    #[schema(example = "key_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub name: String,
    /// The secret's first 12 characters, to tell keys apart.
    #[schema(example = "bak_3f9c1a2b")]
    pub prefix: String,
    pub scopes: Vec<iron_domain::Scope>,
    pub tier: iron_domain::RateTier,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Updated at most once a minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Addresses and CIDR ranges the key may be used from; empty: anywhere.
    pub allowed_ips: Vec<String>,
    /// The key this one replaced by rotation.
    pub replaces: Option<String>,
}

impl ApiKeyOut {
    pub fn new(k: iron_domain::ApiKey, last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> ApiKeyOut {
        ApiKeyOut {
            state: k.state_at(now).into(),
            id: k.id.into(),
            name: k.name,
            prefix: k.prefix,
            scopes: k.scopes,
            tier: k.tier,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at,
            allowed_ips: k.allowed_ips.iter().map(ToString::to_string).collect(),
            replaces: k.replaces.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyCreatedOut {
    #[serde(flatten)]
    pub key: ApiKeyOut,
    /// The key itself: shown in this response only. Store it now.
    pub secret: String,
}

#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyIn {
    /// 1–100 characters (trimmed), e.g. "Zapier integration".
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: String,
    /// At least one; none beyond the calling key's own (403).
    #[schema(value_type = Vec<iron_domain::Scope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// Default: the calling key's tier; never higher (403).
    #[schema(value_type = Option<iron_domain::RateTier>)]
    pub tier: Option<String>,
    /// In the future, and not after the calling key's own expiry (403).
    pub expires_at: Option<DateTime<Utc>>,
    /// IPv4/IPv6 addresses or CIDR ranges (at most 50), within the calling key's own allowlist
    /// (403); omitted or empty: anywhere (or the calling key's allowlist).
    #[serde(default)]
    #[schema(max_items = 50, inline, value_type = Vec<IpOrRange>)]
    pub allowed_ips: Vec<String>,
}

/// An IPv4 or IPv6 address, or an IPv4 CIDR range (IPv6 ranges are accepted too; JSON Schema has
/// no format for them).
pub struct IpOrRange;

impl utoipa::PartialSchema for IpOrRange {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
        let octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
        let format = |f| ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(f)));
        AnyOfBuilder::new()
            .item(format(KnownFormat::Ipv4))
            .item(format(KnownFormat::Ipv6))
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^({octet}\\.){{3}}{octet}/(3[0-2]|[12]?[0-9])$")))
                    .description(Some("An IPv4 CIDR range, e.g. `203.0.113.0/24`")),
            )
            .into()
    }
}

impl ToSchema for IpOrRange {}

#[derive(Debug, Default, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateIn {
    /// How long the old key keeps working: 0–720 hours, default 24.
    #[schema(minimum = 0, maximum = 720)]
    #[serde(default, deserialize_with = "iron_http::body::whole_number")]
    pub grace_period_hours: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotatedOut {
    pub key: ApiKeyCreatedOut,
    /// The old key, now with its expiry.
    pub previous: ApiKeyOut,
}

/// List API keys
///
/// Every key of the business, revoked and expired ones included, with its prefix, state,
/// expiry and last use. Secrets are never shown again after creation.
#[utoipa::path(get, path = "/api/external/v1/api-keys", operation_id = "listApiKeys", tag = "api-keys",
    responses((status = 200, description = "The keys", body = ListEnvelope<ApiKeyOut>),
              (status = 403, description = "The key lacks `manage:keys`", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(api): State<ApiContext>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ListEnvelope<ApiKeyOut>>, ApiError> {
    let tenant = principal.require(Scope::ManageKeys)?;
    params.allow(&[])?;
    let keys = platform::list_keys(tenant.db()).await?;
    let used = platform::last_used(tenant.db()).await?;
    let now = api.clock.now();
    let data = keys
        .into_iter()
        .map(|k| {
            let last = used.get(&k.id).copied();
            ApiKeyOut::new(k, last, now)
        })
        .collect();
    Ok(Json(ListEnvelope::new(data, None)))
}

/// Get an API key
#[utoipa::path(get, path = "/api/external/v1/api-keys/{id}", operation_id = "getApiKey", tag = "api-keys",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses((status = 200, description = "The key", body = ApiKeyOut),
              (status = 404, description = "No such key in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyOut>, ApiError> {
    let tenant = principal.require(Scope::ManageKeys)?;
    let key = platform::get_key(tenant.db(), &key_id(&id)?).await.map_err(repo_err(&id))?;
    let used = platform::last_used(tenant.db()).await?;
    let last = used.get(&key.id).copied();
    Ok(Json(ApiKeyOut::new(key, last, api.clock.now())))
}

/// Create an API key
///
/// The secret is in this response only. Scopes and tier can't exceed the calling key's.
/// Send an `Idempotency-Key` header to retry safely.
#[utoipa::path(post, path = "/api/external/v1/api-keys", operation_id = "createApiKey", tag = "api-keys",
    request_body = ApiKeyIn,
    responses((status = 201, description = "The key, with its secret", body = ApiKeyCreatedOut),
              (status = 403, description = "More scopes or a higher tier than the calling key", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(input): JsonBody<ApiKeyIn>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageKeys)?;
    let now = api.clock.now();
    let mut errors = Vec::new();
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError { field: "/name".into(), message: "must be 1 to 100 characters".into() });
    }
    let mut scopes = Vec::new();
    if input.scopes.is_empty() {
        errors.push(FieldError { field: "/scopes".into(), message: "must list at least one scope".into() });
    }
    for (i, raw) in input.scopes.iter().enumerate() {
        match raw.parse::<Scope>() {
            Ok(s) => scopes.push(s),
            Err(m) => errors.push(FieldError { field: format!("/scopes/{i}"), message: m }),
        }
    }
    let tier = match input.tier.as_deref().map(str::parse::<RateTier>) {
        None => principal.key.tier,
        Some(Ok(t)) => t,
        Some(Err(m)) => {
            errors.push(FieldError { field: "/tier".into(), message: m });
            principal.key.tier
        }
    };
    if input.expires_at.is_some_and(|at| at <= now) {
        errors.push(FieldError { field: "/expiresAt".into(), message: "must be in the future".into() });
    }
    let mut allowed_ips = Vec::new();
    if input.allowed_ips.len() > 50 {
        errors.push(FieldError { field: "/allowedIps".into(), message: "at most 50 entries".into() });
    }
    for (i, raw) in input.allowed_ips.iter().enumerate() {
        let parsed = raw.parse::<ipnet::IpNet>().or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => allowed_ips.push(net.trunc()),
            Err(_) => errors.push(FieldError {
                field: format!("/allowedIps/{i}"),
                message: format!("`{raw}` is not an IP address or CIDR range"),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let caller = &principal.key;
    caller.covers(&scopes, tier).map_err(ApiError::Forbidden)?;
    let (expires_at, allowed_ips) = caller.bound_grant(input.expires_at, allowed_ips).map_err(ApiError::Forbidden)?;
    let new = NewKey { expires_at, allowed_ips, ..NewKey::new(&name, scopes, tier) };
    let (key, secret) = platform::mint_key(tenant.db(), new, now).await?;
    let location = format!("/api-keys/{}", key.id);
    let body = ApiKeyCreatedOut { key: ApiKeyOut::new(key, None, now), secret: secret.expose().to_owned() };
    let mut resp = iron_http::created(&location, body);
    resp.extensions_mut().insert(RedactOnReplay(&["/secret"]));
    Ok(resp)
}

/// Rotate an API key
///
/// Issues a new key with the same name, scopes, tier and allowlist. The old key keeps working
/// until the grace period ends (default 24 h, at most 30 days), then stops.
#[utoipa::path(post, path = "/api/external/v1/api-keys/{id}/rotate", operation_id = "rotateApiKey", tag = "api-keys",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    request_body(content = RotateIn, description = "Optional; an empty body uses the default grace period"),
    responses((status = 201, description = "The new key (with its secret) and the old one with its expiry", body = RotatedOut),
              (status = 409, description = "The key is revoked or expired", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn rotate(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    body: Option<JsonBody<RotateIn>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageKeys)?;
    let hours = body.and_then(|JsonBody(b)| b.grace_period_hours).unwrap_or(DEFAULT_GRACE_HOURS);
    if hours > MAX_GRACE_HOURS {
        return Err(ApiError::Validation(vec![FieldError {
            field: "/gracePeriodHours".into(),
            message: format!("must be 0 to {MAX_GRACE_HOURS}"),
        }]));
    }
    let target = manageable(&principal, &id).await?;
    let now = api.clock.now();
    let (new, secret, old) = platform::rotate_key(tenant.db(), &target.id, Duration::hours(i64::from(hours)), now)
        .await
        .map_err(repo_err(&id))?;
    let body = RotatedOut {
        key: ApiKeyCreatedOut { key: ApiKeyOut::new(new, None, now), secret: secret.expose().to_owned() },
        previous: ApiKeyOut::new(old, None, now),
    };
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.extensions_mut().insert(RedactOnReplay(&["/key/secret"]));
    Ok(resp)
}

/// Revoke an API key
///
/// Immediate: the key fails its next request.
#[utoipa::path(delete, path = "/api/external/v1/api-keys/{id}", operation_id = "revokeApiKey", tag = "api-keys",
    params(("id" = String, Path, description = "Key id (`key_…`)")),
    responses((status = 200, description = "The revoked key", body = ApiKeyOut),
              (status = 404, description = "No such key in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn revoke(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ApiKeyOut>, ApiError> {
    let tenant = principal.require(Scope::ManageKeys)?;
    let target = manageable(&principal, &id).await?;
    let now = api.clock.now();
    let key = platform::revoke_key(tenant.db(), &target.id, now).await.map_err(repo_err(&id))?;
    Ok(Json(ApiKeyOut::new(key, None, now)))
}
