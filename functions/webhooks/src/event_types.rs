//! `GET /event-types` (scope `manage:webhooks`): the catalogue of events a webhook can
//! subscribe to, with a JSON Schema (2020-12) of each delivery's body.

use axum::Json;
use iron_athletes_api::athletes::AthleteOut;
use iron_domain::Scope;
use iron_domain::event::EVENT_TYPES;
use iron_http::{ApiError, ListEnvelope, Principal};
use serde::Serialize;
use serde_json::{Value, json};
use std::sync::OnceLock;
use utoipa::ToSchema;

/// The event types the product emits today; the others are reserved for features to come.
const EMITTED: &[&str] = &[
    "member.created",
    "member.checked_in",
    "workout.completed",
    "workout.updated",
    "workout.deleted",
    "test.completed",
    "wod.generated",
    "injury.reported",
    "goal.achieved",
    "challenge.joined",
    "challenge.entry",
    "wodify.sync.started",
    "wodify.sync.entity.completed",
    "wodify.sync.failed",
    "payment.recorded",
    "subscription.expiring",
    "webhook.test",
];

/// The `data` of the analytics events (built by `iron_members_api::payments` and
/// `iron_store::repo::analytics`).
fn analytics_data(name: &str) -> Option<Value> {
    let id = json!({"type": "string"});
    let money = json!({"type": "number", "minimum": 0});
    let currency = json!({"type": "string", "pattern": "^[A-Z]{3}$"});
    Some(match name {
        "payment.recorded" => json!({
            "type": "object", "required": ["id", "memberId", "amount", "currency", "status", "date", "createdAt"],
            "properties": {"id": id, "memberId": id, "membershipId": {"type": ["string", "null"]},
                           "amount": money, "currency": currency, "status": {"enum": ["succeeded", "failed"]},
                           "date": {"type": "string", "format": "date"},
                           "failureReason": {"type": ["string", "null"]},
                           "createdAt": {"type": "string", "format": "date-time"}}
        }),
        "subscription.expiring" => json!({
            "type": "object",
            "required": ["memberId", "membershipId", "source", "plan", "endsOn", "daysLeft", "monthlyValue", "currency"],
            "properties": {"memberId": id, "membershipId": {"type": "string", "description": "`mbr_…`, or the provider's id for a synced one"},
                           "source": {"enum": ["api", "wodify"]}, "plan": {"type": "string"},
                           "endsOn": {"type": "string", "format": "date", "description": "the last day it covers"},
                           "daysLeft": {"type": "integer", "minimum": 0}, "monthlyValue": money, "currency": currency}
        }),
        _ => return None,
    })
}

/// The `data` of the Wodify sync events (built by `iron_sync::wodify::run`).
fn sync_data(name: &str) -> Option<Value> {
    let id = json!({"type": "string"});
    let mode = json!({"enum": ["backfill", "incremental", "reconcile"]});
    let entity =
        json!({"enum": ["locations", "programs", "clients", "memberships", "attendance", "invoices", "transactions"]});
    let count = json!({"type": "integer", "minimum": 0});
    Some(match name {
        "wodify.sync.started" => json!({
            "type": "object", "required": ["gymId", "runId", "mode", "trigger", "windowFrom", "windowTo"],
            "properties": {"gymId": id, "runId": id, "mode": mode,
                           "trigger": {"enum": ["manual", "schedule", "connect"]},
                           "windowFrom": {"type": "string", "format": "date"},
                           "windowTo": {"type": "string", "format": "date", "description": "exclusive"}}
        }),
        "wodify.sync.entity.completed" => json!({
            "type": "object", "required": ["gymId", "runId", "mode", "entity", "available", "counts"],
            "properties": {"gymId": id, "runId": id, "mode": mode, "entity": entity,
                           "available": {"type": "boolean", "description": "false: the gym's Wodify plan does not give it"},
                           "counts": {"type": "object", "required": ["pulled", "upserted", "transformed"],
                                      "properties": {"pulled": count, "upserted": count, "transformed": count,
                                                     "skipped": count, "requests": count, "completed": {"type": "boolean"}}}}
        }),
        "wodify.sync.failed" => json!({
            "type": "object", "required": ["gymId", "runId", "mode", "error"],
            "properties": {"gymId": id, "runId": id, "mode": mode,
                           "entity": {"anyOf": [entity, {"type": "null"}]},
                           "error": {"type": "string", "description": "Wodify's reason, sanitised (never the key)"}}
        }),
        _ => return None,
    })
}

/// The `data` of the challenge events (built by `iron_store::repo::challenges`).
fn challenge_data(name: &str) -> Option<Value> {
    let id = json!({"type": "string"});
    let num = json!({"type": ["number", "null"]});
    Some(match name {
        "challenge.joined" => json!({
            "type": "object", "required": ["challengeId", "memberId", "joinedAt"],
            "properties": {"challengeId": id, "memberId": id, "teamId": {"type": ["string", "null"]},
                           "joinedAt": {"type": "string", "format": "date-time"}}
        }),
        "challenge.entry" => json!({
            "type": "object",
            "required": ["challengeId", "memberId", "change", "entry", "value", "unit", "rankBefore", "rank"],
            "properties": {
                "challengeId": id, "memberId": id,
                "change": {"enum": ["created", "corrected", "deleted"]},
                "entry": {"type": "object", "description": "the entry as `GET /challenges/{id}/entries` lists it"},
                "valueBefore": num, "value": num, "unit": {"type": "string"},
                "rankBefore": {"type": "integer", "minimum": 1}, "rank": {"type": "integer", "minimum": 1},
                "progress": num
            }
        }),
        "goal.achieved" => json!({
            "type": "object", "required": ["challengeId", "memberId", "target", "value", "achievedAt"],
            "properties": {"challengeId": id, "challengeName": {"type": "string"}, "memberId": id,
                           "target": {"type": "number"}, "value": {"type": "number"}, "unit": {"type": "string"},
                           "badge": {"type": ["object", "null"]}, "achievedAt": {"type": "string", "format": "date-time"}}
        }),
        _ => return None,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventTypeOut {
    #[schema(example = "member.created")]
    pub name: String,
    pub description: String,
    /// Whether the product sends this event yet (others may be subscribed to in advance).
    pub emitted: bool,
    /// JSON Schema of the delivery body (`type`, `timestamp`, `data`).
    #[schema(value_type = Object)]
    pub schema: Value,
}

/// The JSON Schema of a wire type with the schemas it refers to as `$defs`, straight from the
/// type (not through the whole OpenAPI document).
fn schema_of<T: ToSchema>() -> (Value, Value) {
    let mut refs = Vec::new();
    T::schemas(&mut refs);
    let mut defs = serde_json::Map::new();
    defs.insert(T::name().into_owned(), serde_json::to_value(T::schema()).unwrap_or_default());
    for (name, schema) in refs {
        defs.insert(name, serde_json::to_value(schema).unwrap_or_default());
    }
    let text = Value::Object(defs).to_string().replace("#/components/schemas/", "#/$defs/");
    (json!({ "$ref": format!("#/$defs/{}", T::name()) }), serde_json::from_str(&text).unwrap_or_default())
}

fn envelope(event_type: &str, data: Value) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": { "const": event_type },
            "timestamp": { "type": "string", "format": "date-time" },
            "data": data
        }
    })
}

fn catalogue() -> &'static Vec<EventTypeOut> {
    static CATALOGUE: OnceLock<Vec<EventTypeOut>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let (member, member_defs) = schema_of::<AthleteOut>();
        EVENT_TYPES
            .iter()
            .map(|(name, description)| {
                let data = match *name {
                    "member.created" => member.clone(),
                    "webhook.test" => json!({
                        "type": "object",
                        "required": ["webhookId", "message"],
                        "properties": { "webhookId": { "type": "string" }, "message": { "type": "string" } }
                    }),
                    other => challenge_data(other)
                        .or_else(|| sync_data(other))
                        .or_else(|| analytics_data(other))
                        .unwrap_or_else(|| json!({ "type": "object" })),
                };
                let mut schema = envelope(name, data);
                if *name == "member.created" {
                    schema["$defs"] = member_defs.clone();
                }
                EventTypeOut {
                    name: (*name).into(),
                    description: (*description).into(),
                    emitted: EMITTED.contains(name),
                    schema,
                }
            })
            .collect()
    })
}

/// List event types
///
/// Every event a webhook can subscribe to, with the JSON Schema of its delivery body.
#[utoipa::path(get, path = "/api/external/v1/event-types", operation_id = "listEventTypes", tag = "webhooks",
    responses((status = 200, description = "The catalogue", body = ListEnvelope<EventTypeOut>),
              (status = 403, description = "The key lacks `manage:webhooks`", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(principal: Principal) -> Result<Json<ListEnvelope<EventTypeOut>>, ApiError> {
    principal.require(Scope::ManageWebhooks)?;
    Ok(Json(ListEnvelope::new(catalogue().clone(), None)))
}
