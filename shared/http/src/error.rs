//! One error type for every endpoint, mapped to RFC 9457 `application/problem+json` in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use iron_domain::FieldError;
use iron_store::StoreError;
use iron_store::repo::RepoError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A malformed query parameter or header; names it.
    #[error("invalid parameter `{param}`: {detail}")]
    BadParameter { param: String, detail: String },
    #[error("the request body is invalid")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("rate limit exceeded")]
    RateLimited { retry_after_s: u32 },
    #[error("internal error")]
    Internal(String),
    #[error("the service is temporarily unavailable")]
    Unavailable,
    /// A provider we call on the caller's behalf failed (502), saying which and what to do.
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("the request body must be JSON")]
    UnsupportedMediaType,
    /// 415 naming the media types this endpoint takes.
    #[error("{0}")]
    UnsupportedMediaTypeOf(String),
    /// The body is over the limit of its path (the bytes allowed).
    #[error("the request body is too large")]
    PayloadTooLarge(usize),
    /// Too much in one request (413), saying what the limit is and what to do instead.
    #[error("{0}")]
    TooMuch(String),
    /// The body is not the JSON this endpoint takes.
    #[error("malformed body: {0}")]
    BadBody(String),
}

/// The problem document. `requestId` is added by the request middleware.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// A URI reference naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Correlates with our logs; quote it to support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Set for validation problems: one entry per offending field or parameter.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// The problem type slug and title for a status, for errors raised outside handlers too.
pub fn problem_type(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("invalid-request", "Invalid request"),
        401 => ("unauthorized", "Authentication required"),
        403 => ("forbidden", "Forbidden"),
        404 => ("not-found", "Not found"),
        405 => ("method-not-allowed", "Method not allowed"),
        409 => ("conflict", "Conflict"),
        413 => ("payload-too-large", "Payload too large"),
        415 => ("unsupported-media-type", "Unsupported media type"),
        422 => ("validation-failed", "Validation failed"),
        429 => ("rate-limited", "Too many requests"),
        502 => ("bad-gateway", "Upstream provider failed"),
        503 => ("unavailable", "Service unavailable"),
        _ if status.is_server_error() => ("internal", "Internal server error"),
        _ => ("error", "Error"),
    }
}

pub fn problem_response(status: StatusCode, detail: String, errors: Vec<FieldError>) -> Response {
    let (slug, title) = problem_type(status);
    let body = Problem {
        kind: format!("https://docs.ironmetrics.io/problems/{slug}"),
        title: title.into(),
        status: status.as_u16(),
        detail,
        request_id: None,
        errors,
    };
    let mut resp = (status, serde_json::to_string(&body).unwrap_or_default()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadParameter { param, detail } => {
                let errors = vec![FieldError { field: param.clone(), message: detail.clone() }];
                problem_response(StatusCode::BAD_REQUEST, format!("invalid parameter `{param}`: {detail}"), errors)
            }
            ApiError::Validation(errors) => {
                let detail = format!("{} field(s) failed validation", errors.len());
                problem_response(StatusCode::UNPROCESSABLE_ENTITY, detail, errors)
            }
            ApiError::Unauthorized(detail) => {
                let mut r = problem_response(StatusCode::UNAUTHORIZED, detail, vec![]);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"iron-metrics\""));
                r
            }
            ApiError::Forbidden(detail) => problem_response(StatusCode::FORBIDDEN, detail, vec![]),
            ApiError::NotFound(detail) => problem_response(StatusCode::NOT_FOUND, detail, vec![]),
            ApiError::Conflict(detail) => problem_response(StatusCode::CONFLICT, detail, vec![]),
            ApiError::RateLimited { retry_after_s } => {
                let mut r = problem_response(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("this API key has used its request allowance; retry after {retry_after_s} s"),
                    vec![],
                );
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_s));
                r
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                problem_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "an unexpected error occurred; it has been logged".into(),
                    vec![],
                )
            }
            ApiError::Unavailable => {
                problem_response(StatusCode::SERVICE_UNAVAILABLE, "the service is busy; retry shortly".into(), vec![])
            }
            ApiError::Unprocessable(detail) => problem_response(StatusCode::UNPROCESSABLE_ENTITY, detail, vec![]),
            ApiError::BadGateway(detail) => problem_response(StatusCode::BAD_GATEWAY, detail, vec![]),
            ApiError::UnsupportedMediaType => problem_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON with `Content-Type: application/json`".into(),
                vec![],
            ),
            ApiError::UnsupportedMediaTypeOf(detail) => {
                problem_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, detail, vec![])
            }
            ApiError::PayloadTooLarge(limit) => problem_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request bodies are limited to {limit} bytes"),
                vec![],
            ),
            ApiError::TooMuch(detail) => problem_response(StatusCode::PAYLOAD_TOO_LARGE, detail, vec![]),
            ApiError::BadBody(detail) => problem_response(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid for this endpoint: {detail}"),
                vec![],
            ),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Throttled => ApiError::Unavailable,
            StoreError::BadCursor => ApiError::BadParameter {
                param: "cursor".into(),
                detail: "belongs to another listing; pass `nextCursor` from this listing's previous page unchanged"
                    .into(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => ApiError::NotFound("no such resource".into()),
            RepoError::Conflict { message, .. } => ApiError::Conflict(message),
            RepoError::Store(s) => s.into(),
            RepoError::Corrupt(m) => ApiError::Internal(m),
            RepoError::Refused { field, message } => {
                ApiError::Validation(vec![iron_domain::FieldError { field, message }])
            }
        }
    }
}
