//! API-key authentication, per-key rate limits, and scope checks.
//!
//! The key arrives as `Authorization: Bearer bak_…` (or `X-API-Key: bak_…`), is hashed with
//! SHA-256, and looked up by hash: no secret is stored, compared in memory or logged. A key that
//! is unknown, revoked or expired gets 401; a valid key without the endpoint's scope gets 403;
//! a key over its tier's minute or day allowance gets 429 with `Retry-After`.

use crate::ApiContext;
use crate::client_ip::ClientIp;
use crate::error::ApiError;
use crate::request::RequestId;
use axum::extract::{FromRequestParts, MatchedPath, OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use iron_domain::{ApiKey, ApiKeySecret, ApiKeyStatus, AuditRecord, Scope};
use iron_store::repo::{platform, rate_limit};
use iron_store::{TableStore, TenantDb, TenantScope};
use std::sync::Arc;

/// The authenticated caller: its key (never the secret) and the business it may touch.
#[derive(Clone)]
pub struct Principal {
    pub key: ApiKey,
    tenant: TenantScope,
    store: Arc<dyn TableStore>,
}

impl std::fmt::Debug for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Principal").field("key", &self.key.id).field("tenant", &self.tenant).finish()
    }
}

/// The one way a handler reaches data: the caller's business in the table, as a repository
/// handle. Made only by [`Principal::require`], so a handler can't touch data without naming the
/// scope it needs; the table itself stays out of reach (`TenantDb` keeps it to `iron-store`).
#[derive(Clone, Copy)]
pub struct Tenant<'a> {
    db: TenantDb<'a>,
}

impl<'a> Tenant<'a> {
    /// The handle every repository call takes.
    pub fn db(&self) -> TenantDb<'a> {
        self.db
    }

    pub fn scope(&self) -> &'a TenantScope {
        self.db.scope()
    }

    pub fn business_id(&self) -> &'a iron_domain::Id {
        self.db.business_id()
    }
}

impl Principal {
    /// The caller's business, if the key holds `scope`; else 403.
    pub fn require(&self, scope: Scope) -> Result<Tenant<'_>, ApiError> {
        if self.key.has_scope(scope) {
            Ok(Tenant { db: TenantDb::new(self.store.as_ref(), &self.tenant) })
        } else {
            Err(ApiError::Forbidden(format!("this API key lacks the `{scope}` scope this endpoint needs")))
        }
    }

    /// Whether the key holds `scope` (for rules that widen with a scope).
    pub fn has(&self, scope: Scope) -> bool {
        self.key.has_scope(scope)
    }

    /// The caller's business, if the key holds any of `scopes`; else 403 naming them.
    pub fn require_any(&self, scopes: &[Scope]) -> Result<Tenant<'_>, ApiError> {
        match scopes.iter().find(|s| self.key.has_scope(**s)) {
            Some(s) => self.require(*s),
            None => Err(ApiError::Forbidden(format!(
                "this API key lacks the scope this endpoint needs: one of {}",
                scopes.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    /// For the shared layers (idempotency records, last use), which act for any scope.
    pub(crate) fn scope(&self) -> &TenantScope {
        &self.tenant
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // Fails closed: a route mounted without the auth layer has no principal.
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthorized("authentication required".into()))
    }
}

fn presented_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value =
            value.to_str().map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
        let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::Unauthorized("use `Authorization: Bearer <API key>`".into()));
        }
        return Ok(token.trim());
    }
    if let Some(value) = headers.get("x-api-key") {
        return value
            .to_str()
            .map(str::trim)
            .map_err(|_| ApiError::Unauthorized("the X-API-Key header is not valid text".into()));
    }
    Err(ApiError::Unauthorized("no API key: send `Authorization: Bearer <API key>` or `X-API-Key: <API key>`".into()))
}

fn set_rate_headers(headers: &mut HeaderMap, d: &rate_limit::RateDecision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(d.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(d.remaining));
    headers.insert("x-ratelimit-reset", HeaderValue::from(d.reset_after_s));
    headers.insert("x-ratelimit-limit-day", HeaderValue::from(d.day_limit));
    if let Some(day) = d.day_remaining {
        headers.insert("x-ratelimit-remaining-day", HeaderValue::from(day));
    }
}

/// Remembers when this process last recorded each key's use.
#[derive(Debug, Default)]
pub struct KeyUseThrottle(std::sync::Mutex<std::collections::HashMap<iron_domain::Id, i64>>);

impl KeyUseThrottle {
    /// Whether to record a use now (at most once a minute per key).
    fn due(&self, key: &iron_domain::Id, now: i64) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(key) {
            Some(at) if now - at < 60 => false,
            _ => {
                seen.insert(key.clone(), now);
                true
            }
        }
    }
}

/// Middleware for every authenticated route: key, IP allowlist, rate limit, last use, audit.
/// Every request whose key is valid is audited, refused ones (403 IP, 429) included.
pub async fn authenticate(State(state): State<ApiContext>, mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let principal = match resolve(&state, req.headers()).await {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let span = tracing::Span::current();
    span.record("business_id", tracing::field::display(principal.key.business_id.as_str()));
    span.record("key_id", tracing::field::display(principal.key.id.as_str()));
    let now = state.clock.now();
    let client_ip = req.extensions().get::<ClientIp>().and_then(|c| c.0);
    let mut record = AuditRecord {
        at: now,
        business_id: principal.key.business_id.clone(),
        key_id: principal.key.id.clone(),
        method: req.method().to_string(),
        route: route_template(&req),
        path: original_path(&req).to_owned(),
        status: 0,
        latency_ms: 0.0,
        client_ip: client_ip.map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect()),
        request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default(),
    };

    let resp = if !principal.key.allows_ip(client_ip) {
        tracing::warn!(ip = ?client_ip, "request from an address outside the key's allowlist");
        ApiError::Forbidden("requests from this IP address are not allowed for this API key".into()).into_response()
    } else {
        match rate_limit::check(state.store.as_ref(), &principal.key, now).await {
            Err(e) => ApiError::from(e).into_response(),
            Ok(Some(d)) if !d.allowed => {
                let mut resp = ApiError::RateLimited { retry_after_s: d.reset_after_s }.into_response();
                set_rate_headers(resp.headers_mut(), &d);
                resp
            }
            Ok(decision) => {
                if state.key_use.due(&principal.key.id, now.timestamp())
                    && let Err(e) = platform::record_key_use(
                        TenantDb::new(state.store.as_ref(), &principal.tenant),
                        &principal.key.id,
                        now,
                    )
                    .await
                {
                    tracing::warn!(error = %e, "could not record the key's last use");
                }
                req.extensions_mut().insert(principal);
                let mut resp = next.run(req).await;
                if let Some(d) = &decision {
                    set_rate_headers(resp.headers_mut(), d);
                }
                resp
            }
        }
    };
    record.status = resp.status().as_u16();
    record.latency_ms = (started.elapsed().as_micros() as f64 / 1000.0 * 1000.0).round() / 1000.0;
    state.audit.record(record).await;
    resp
}

/// The path as the client sent it (a nested router sees it without the prefix).
fn original_path(req: &Request) -> &str {
    req.extensions().get::<OriginalUri>().map_or(req.uri().path(), |u| u.0.path())
}

/// The matched route template with its full prefix (a nested router matches without it).
fn route_template(req: &Request) -> String {
    let path = original_path(req);
    match req.extensions().get::<MatchedPath>().map(MatchedPath::as_str) {
        Some(m) if !m.starts_with(crate::API_PREFIX) && path.starts_with(crate::API_PREFIX) => {
            format!("{}{m}", crate::API_PREFIX)
        }
        Some(m) => m.to_owned(),
        None => path.to_owned(),
    }
}

async fn resolve(state: &ApiContext, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let presented = presented_key(headers)?;
    let secret =
        ApiKeySecret::parse(presented).ok_or_else(|| ApiError::Unauthorized("the API key is not valid".into()))?;
    let (key, tenant) = platform::authenticate(state.store.as_ref(), &secret.hash())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("the API key is not valid".into()))?;
    let now = state.clock.now();
    if key.status == ApiKeyStatus::Revoked {
        return Err(ApiError::Unauthorized("the API key has been revoked".into()));
    }
    if !key.is_usable(now) {
        return Err(ApiError::Unauthorized("the API key has expired".into()));
    }
    Ok(Principal { tenant, key, store: state.store.clone() })
}
