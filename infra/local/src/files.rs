//! The embedded blob store's URLs, served as S3 serves presigned ones: `GET` and `PUT`
//! `/files/{key}?expires&signature[&name]`, checked against the store's signing key (constant
//! time) and its clock. An expired or altered link is 403, as S3 answers; a missing file 404.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use iron_store::FileBlobs;
use iron_store::blob::UrlCheck;
use std::collections::HashMap;
use std::sync::Arc;

pub fn router(files: Arc<FileBlobs>) -> Router {
    Router::new()
        .route("/files/{*key}", get(download).put(upload))
        .layer(DefaultBodyLimit::max(iron_domain::job::MAX_IMPORT_BYTES as usize))
        .with_state(files)
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>\n"
    );
    (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
}

/// `Some(refusal)` unless the link is signed for this method and key and not expired.
fn check(files: &FileBlobs, method: &str, key: &str, q: &HashMap<String, String>) -> Option<Response> {
    let expires = q.get("expires").and_then(|e| e.parse::<i64>().ok());
    let (Some(expires), Some(sig)) = (expires, q.get("signature")) else {
        return Some(refuse(StatusCode::FORBIDDEN, "AccessDenied", "the link is not signed"));
    };
    let name = q.get("name").map(String::as_str).unwrap_or("");
    match files.check(method, key, expires, name, sig) {
        UrlCheck::Valid => None,
        UrlCheck::Expired => Some(refuse(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")),
        UrlCheck::BadSignature => {
            Some(refuse(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", "the link's signature does not match"))
        }
    }
}

async fn download(
    State(files): State<Arc<FileBlobs>>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(r) = check(&files, "GET", &key, &q) {
        return r;
    }
    match files.read_all(&key) {
        Ok(Some(bytes)) => {
            let name = q.get("name").cloned().unwrap_or_default();
            let content_type = if name.ends_with(".csv") {
                "text/csv; charset=utf-8"
            } else if name.ends_with(".jsonl") {
                "application/jsonl"
            } else if name.ends_with(".json") {
                "application/json"
            } else {
                "application/octet-stream"
            };
            let mut resp = (StatusCode::OK, bytes).into_response();
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            resp
        }
        Ok(None) => refuse(StatusCode::NOT_FOUND, "NoSuchKey", "no such file"),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", &e.to_string()),
    }
}

async fn upload(
    State(files): State<Arc<FileBlobs>>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Some(r) = check(&files, "PUT", &key, &q) {
        return r;
    }
    match files.write_all(&key, &body) {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => refuse(StatusCode::BAD_REQUEST, "InvalidRequest", &e.to_string()),
    }
}
