//! `GET /health`: liveness, unauthenticated, touches no storage.

use axum::Json;
use serde_json::{Value, json};

/// Liveness: unauthenticated, touches no storage.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "meta", responses((status = 200, description = "The service is up", body = Object, example = json!({"status": "ok"}))))]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
