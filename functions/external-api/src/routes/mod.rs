pub mod api_keys;
pub mod athlete_writes;
pub mod athletes;
pub mod audit_log;
pub mod deliveries;
pub mod event_types;
pub mod referrals;
pub mod tests;
pub mod webhooks;

use axum::Json;
use serde_json::{Value, json};

/// Liveness: unauthenticated, touches no storage.
#[utoipa::path(get, path = "/health", operation_id = "health", tag = "meta", responses((status = 200, description = "The service is up", body = Object, example = json!({"status": "ok"}))))]
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}
