//! `Idempotency-Key` for every mutating request (POST, PUT, PATCH, DELETE), as one layer.
//!
//! The first response (status, content type, location, body) to a key is kept 24 h per API key;
//! a retry with the same key and the same request gets it again with `Idempotent-Replayed: true`;
//! the same key with a different request gets 422; a retry while the first is still running gets
//! 409. The claim is a conditional write in the table, so this holds across Lambda instances.
//! Server errors (5xx) are not kept: the client may retry them with the same key.

use crate::ApiContext;
use crate::auth::Principal;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use iron_store::TenantDb;
use iron_store::repo::idempotency::{self, Claim, StoredResponse};
use sha2::{Digest, Sha256};

pub const HEADER: &str = "idempotency-key";

/// Set by a handler on a response carrying a secret: the stored copy has these JSON pointers
/// nulled, so the secret exists only in the first response (stored responses are plain data).
#[derive(Debug, Clone, Copy)]
pub struct RedactOnReplay(pub &'static [&'static str]);

fn redact(body: String, pointers: &[&str]) -> String {
    let Ok(mut doc) = serde_json::from_str::<serde_json::Value>(&body) else { return body };
    for pointer in pointers {
        if let Some(v) = doc.pointer_mut(pointer) {
            *v = serde_json::Value::Null;
        }
    }
    doc.to_string()
}

fn parse_key(raw: &HeaderValue) -> Result<String, ApiError> {
    let bad = |detail: &str| ApiError::BadParameter { param: "Idempotency-Key".into(), detail: detail.into() };
    let key = raw.to_str().map_err(|_| bad("must be visible ASCII"))?;
    if key.is_empty() || key.len() > 255 {
        return Err(bad("must be 1 to 255 characters"));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("must be visible ASCII without spaces"));
    }
    Ok(key.to_owned())
}

pub async fn idempotency(State(state): State<ApiContext>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH | Method::DELETE) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(HEADER) else { return next.run(req).await };
    let idem = match parse_key(raw) {
        Ok(k) => k,
        Err(e) => return e.into_response(),
    };
    let Some(principal) = req.extensions().get::<Principal>().cloned() else { return next.run(req).await };
    let (parts, body) = req.into_parts();
    let limit = crate::body_limit(parts.uri.path());
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return ApiError::PayloadTooLarge(limit).into_response();
    };
    let mut hasher = Sha256::new();
    hasher.update(parts.method.as_str());
    hasher.update(b"\n");
    hasher.update(parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_default());
    hasher.update(b"\n");
    hasher.update(&bytes);
    let fingerprint = hex::encode(hasher.finalize());
    let (db, key_id) = (TenantDb::new(state.store.as_ref(), principal.scope()), &principal.key.id);

    match idempotency::claim(db, key_id, &idem, &fingerprint, state.clock.now()).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(Claim::Mismatch) => ApiError::Unprocessable(format!(
            "Idempotency-Key `{idem}` was already used with a different request; use a new key for a new request"
        ))
        .into_response(),
        Ok(Claim::InProgress) => {
            let mut r = ApiError::Conflict(format!(
                "a request with Idempotency-Key `{idem}` is still being processed; retry shortly"
            ))
            .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        Ok(Claim::Replay(stored)) => replay(stored),
        Ok(Claim::Acquired(run)) => {
            let resp = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (resp_parts, resp_body) = resp.into_parts();
            let body = axum::body::to_bytes(resp_body, 16 * 1024 * 1024).await.unwrap_or_default();
            let keep = |name: header::HeaderName| {
                resp_parts.headers.get(&name).and_then(|v| v.to_str().ok()).map(|v| (name.to_string(), v.to_owned()))
            };
            let redactions = resp_parts.extensions.get::<RedactOnReplay>().copied();
            // 5xx and 409 (a conflict that may clear) are not kept: a retry executes again.
            let keep_response = !resp_parts.status.is_server_error() && resp_parts.status != StatusCode::CONFLICT;
            let outcome = match String::from_utf8(body.to_vec()) {
                Ok(text) if keep_response => {
                    let text = match redactions {
                        Some(RedactOnReplay(pointers)) => redact(text, pointers),
                        None => text,
                    };
                    let stored = StoredResponse {
                        status: resp_parts.status.as_u16(),
                        headers: [keep(header::CONTENT_TYPE), keep(header::LOCATION)].into_iter().flatten().collect(),
                        body: text,
                    };
                    let mut saved = Ok(());
                    for _ in 0..3 {
                        saved = idempotency::complete(db, &run, stored.clone(), state.clock.now()).await;
                        if saved.is_ok() {
                            break;
                        }
                    }
                    saved
                }
                _ => idempotency::release(db, &run).await,
            };
            if let Err(e) = outcome {
                // The claim stays "in progress" until its lock expires; a retry after that
                // executes again. Logged loudly: this is the one way a request can repeat.
                tracing::error!(error = %e, "idempotency record not saved");
            }
            Response::from_parts(resp_parts, Body::from(body))
        }
    }
}

fn replay(stored: StoredResponse) -> Response {
    let mut resp = (StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK), stored.body).into_response();
    for (name, value) in stored.headers {
        if let (Ok(n), Ok(v)) = (header::HeaderName::try_from(name), HeaderValue::from_str(&value)) {
            resp.headers_mut().insert(n, v);
        }
    }
    resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}
