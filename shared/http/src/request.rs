//! The outer layers of every router: a request id and span per request, the body-size limit,
//! and the guarantee that every error leaves as problem+json carrying the request id.

use crate::error::{PROBLEM_JSON, problem_response};
use crate::{MAX_BODY_BYTES, body_limit};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

/// `req_` + a ULID body; also sent back as `X-Request-Id`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl RequestId {
    pub fn generate() -> RequestId {
        RequestId(format!("req_{}", iron_domain::id::new_ulid(chrono::Utc::now().timestamp_millis())))
    }
}

/// Wraps a router with the shared outer layers and the 404 fallback.
pub fn finish(router: Router) -> Router {
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn(request_context))
}

async fn not_found(method: Method, uri: axum::http::Uri) -> Response {
    problem_response(StatusCode::NOT_FOUND, format!("no route matches {method} {}", uri.path()), vec![])
}

async fn limit_body(req: Request, next: Next) -> Response {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let limit = body_limit(req.uri().path());
    if declared.is_some_and(|n| n > limit as u64) {
        return problem_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request bodies are limited to {limit} bytes"),
            vec![],
        );
    }
    next.run(req).await
}

async fn request_context(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = RequestId::generate();
    req.extensions_mut().insert(request_id.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id.0,
        method = %method,
        path = %path,
        route = %route,
        business_id = tracing::field::Empty,
        key_id = tracing::field::Empty,
    );
    let resp = next.run(req).instrument(span.clone()).await;
    let mut resp = as_problem(resp, &request_id, &method, &path).await;
    resp.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_str(&request_id.0).unwrap_or(HeaderValue::from_static("req_unknown")),
    );
    let status = resp.status().as_u16();
    let latency_us = started.elapsed().as_micros() as u64;
    span.in_scope(|| tracing::info!(status, latency_us, "request finished"));
    resp
}

/// Every error response becomes problem+json with the request id.
async fn as_problem(resp: Response, request_id: &RequestId, method: &Method, path: &str) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_problem = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let mut doc: serde_json::Value = if is_problem {
        serde_json::from_slice(&bytes).unwrap_or_default()
    } else {
        let detail = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                match parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).filter(|v| !v.is_empty()) {
                    Some(allow) => format!("{method} is not allowed on {path}; allowed: {allow}"),
                    None => format!("{method} is not allowed on {path}; the Allow header lists the methods that are"),
                }
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                format!("request bodies are limited to {} bytes", body_limit(path))
            }
            _ => String::from_utf8_lossy(&bytes).trim().chars().take(500).collect(),
        };
        let problem = problem_response(status, detail, vec![]);
        let (_, body) = problem.into_parts();
        serde_json::from_slice(&axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default()).unwrap_or_default()
    };
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("requestId".into(), serde_json::Value::String(request_id.0.clone()));
    }
    let mut resp = Response::from_parts(parts, Body::from(doc.to_string()));
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp
}
