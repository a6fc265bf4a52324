//! API versioning: the version is in the URL (`/api/external/v1`); beta features are opted into
//! with `X-Beta-Features`; deprecated routes announce it with `Deprecation` (RFC 9745), `Sunset`
//! (RFC 8594) and a `Link` to the migration guide.

use crate::error::ApiError;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Every beta feature a client may ask for: name and what it turns on.
pub const BETA_FEATURES: &[(&str, &str)] = &[("test-zones", "heart-rate training zones in GET /tests/{id} results")];

/// The beta features the request opted into.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BetaFeatures(Vec<&'static str>);

impl BetaFeatures {
    pub fn parse(header: Option<&str>) -> Result<BetaFeatures, ApiError> {
        let mut on = Vec::new();
        for name in header.unwrap_or_default().split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match BETA_FEATURES.iter().find(|(known, _)| known.eq_ignore_ascii_case(name)) {
                Some((known, _)) => on.push(*known),
                None => {
                    let known: Vec<_> = BETA_FEATURES.iter().map(|(n, _)| *n).collect();
                    return Err(ApiError::BadParameter {
                        param: "X-Beta-Features".into(),
                        detail: format!("`{name}` is not a beta feature; known: {}", known.join(", ")),
                    });
                }
            }
        }
        Ok(BetaFeatures(on))
    }

    pub fn enabled(&self, name: &str) -> bool {
        self.0.contains(&name)
    }

    /// The features a request's `X-Beta-Features` header names (a value that isn't visible
    /// ASCII names none that exist: 400).
    pub fn of(headers: &axum::http::HeaderMap) -> Result<BetaFeatures, ApiError> {
        match headers.get("x-beta-features").map(|v| v.to_str()) {
            None => Ok(BetaFeatures::default()),
            Some(Ok(v)) => BetaFeatures::parse(Some(v)),
            Some(Err(_)) => Err(ApiError::BadParameter {
                param: "X-Beta-Features".into(),
                detail: "must be a comma list of feature names (visible ASCII)".into(),
            }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BetaFeatures {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        BetaFeatures::of(&parts.headers)
    }
}

/// Refuses unknown beta features on every route, whether or not the handler reads them.
pub async fn check_beta_features(req: Request, next: Next) -> Response {
    if let Err(e) = BetaFeatures::of(req.headers()) {
        return e.into_response();
    }
    next.run(req).await
}

/// A deprecation notice for a route.
#[derive(Debug, Clone)]
pub struct Deprecation {
    pub since: DateTime<Utc>,
    pub sunset: DateTime<Utc>,
    pub migration_guide: &'static str,
}

/// Declares a route deprecated, in one line:
/// `.route("/old", get(handler).layer(deprecated("2026-06-01", "2027-01-31", "https://…")))`.
/// Dates are `YYYY-MM-DD` (UTC midnight); a malformed date is a programming error and panics at
/// router construction, so it can't ship.
pub fn deprecated(since: &str, sunset: &str, migration_guide: &'static str) -> DeprecatedLayer {
    let day = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .expect("deprecation dates are YYYY-MM-DD")
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
    };
    DeprecatedLayer(Arc::new(Deprecation { since: day(since), sunset: day(sunset), migration_guide }))
}

#[derive(Debug, Clone)]
pub struct DeprecatedLayer(Arc<Deprecation>);

impl<S> Layer<S> for DeprecatedLayer {
    type Service = Deprecated<S>;
    fn layer(&self, inner: S) -> Deprecated<S> {
        Deprecated { inner, notice: self.0.clone() }
    }
}

#[derive(Debug, Clone)]
pub struct Deprecated<S> {
    inner: S,
    notice: Arc<Deprecation>,
}

impl<S, B> Service<axum::http::Request<B>> for Deprecated<S>
where
    S: Service<axum::http::Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: axum::http::Request<B>) -> Self::Future {
        let notice = self.notice.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut resp = fut.await?;
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!("@{}", notice.since.timestamp())) {
                h.insert("deprecation", v);
            }
            if let Ok(v) = HeaderValue::from_str(&notice.sunset.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
                h.insert("sunset", v);
            }
            if let Ok(v) =
                HeaderValue::from_str(&format!("<{}>; rel=\"deprecation\"; type=\"text/html\"", notice.migration_guide))
            {
                h.append(header::LINK, v);
            }
            Ok(resp)
        })
    }
}
