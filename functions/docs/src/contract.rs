//! What every operation of the API can answer because of the layers it runs behind, added to the
//! document in one place from the same facts the layers implement — so an operation's entry lists
//! every status it can return without each handler repeating them:
//!
//! - every authenticated operation: 400 (a malformed or unknown parameter, `X-Beta-Features`,
//!   `Idempotency-Key`), 401 (key), 403 (scope, IP allowlist), 429 (with `Retry-After` and the
//!   `X-RateLimit-*` headers), 503 (storage throttling);
//! - a path with an id: 404; a mutating method: `Idempotency-Key`, 409 (the same key still
//!   running), 422 (the same key with another request); a JSON body: 400 (malformed), 413, 415, 422;
//! - every response: `X-Request-Id`; errors as `application/problem+json` with the `Problem` schema;
//! - links from a created or listed resource's id to the operations that take it.

use serde_json::{Map, Value, json};

/// The operations a beta feature changes (`X-Beta-Features`; every other operation only
/// refuses unknown names, with the 400 it documents).
const BETA_OPERATIONS: &[&str] = &["getTest"];

const PROBLEM: &str = "#/components/schemas/Problem";

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "headers": { "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" } },
        "content": { "application/problem+json": { "schema": { "$ref": PROBLEM } } }
    })
}

fn header(description: &str, schema: Value) -> Value {
    json!({ "description": description, "schema": schema })
}

fn components(doc: &mut Value) {
    let headers = json!({
        "X-Request-Id": header("This request's id (`req_…`), also in every problem's `requestId`.", json!({"type": "string"})),
        "Retry-After": header("Seconds until the refused window resets.", json!({"type": "integer", "minimum": 1})),
        "X-RateLimit-Limit": header("Requests allowed in the current window (per minute, or per day when the day refused).", json!({"type": "integer", "minimum": 0})),
        "X-RateLimit-Remaining": header("Requests left in that window.", json!({"type": "integer", "minimum": 0})),
        "X-RateLimit-Reset": header("Seconds until that window resets.", json!({"type": "integer", "minimum": 0})),
        "X-RateLimit-Limit-Day": header("Requests allowed per UTC day.", json!({"type": "integer", "minimum": 0})),
        "X-RateLimit-Remaining-Day": header("Requests left today.", json!({"type": "integer", "minimum": 0})),
    });
    let params = json!({
        "Idempotency-Key": {
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": "1–255 visible ASCII characters. A retry with the same key and request replays the first response for 24 h (`Idempotent-Replayed: true`); the same key with another request is 422; while the first still runs, 409.",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" }
        },
        "X-Beta-Features": {
            "name": "X-Beta-Features", "in": "header", "required": false,
            "description": "Comma list of beta features to turn on (known: `test-zones`); an unknown name is 400.",
            "schema": { "type": "string", "pattern": "^( *test-zones *)?(, *test-zones *)*$" }
        }
    });
    let c = doc["components"].as_object_mut().expect("components");
    c.entry("headers")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("headers")
        .extend(headers.as_object().cloned().unwrap_or_default());
    c.entry("parameters")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("parameters")
        .extend(params.as_object().cloned().unwrap_or_default());
}

fn rate_headers() -> Value {
    json!({
        "X-Request-Id": { "$ref": "#/components/headers/X-Request-Id" },
        "X-RateLimit-Limit": { "$ref": "#/components/headers/X-RateLimit-Limit" },
        "X-RateLimit-Remaining": { "$ref": "#/components/headers/X-RateLimit-Remaining" },
        "X-RateLimit-Reset": { "$ref": "#/components/headers/X-RateLimit-Reset" },
        "X-RateLimit-Limit-Day": { "$ref": "#/components/headers/X-RateLimit-Limit-Day" },
        "X-RateLimit-Remaining-Day": { "$ref": "#/components/headers/X-RateLimit-Remaining-Day" },
    })
}

fn add(responses: &mut Map<String, Value>, status: &str, description: &str) {
    responses.entry(status).or_insert_with(|| problem(description));
}

fn add_param(op: &mut Map<String, Value>, name: &str) {
    let params = op.entry("parameters").or_insert_with(|| json!([])).as_array_mut().expect("parameters");
    if !params.iter().any(|p| p["name"] == name) {
        params.push(json!({ "$ref": format!("#/components/parameters/{name}") }));
    }
}

/// A link from one operation's response to operations taking the resource it names: the
/// operation, its status, the linked operations' parameters (name, runtime expression), and the
/// operations linked to.
type Link = (&'static str, &'static str, &'static [(&'static str, &'static str)], &'static [&'static str]);

const LINKS: &[Link] = &[
    ("createAthlete", "201", &[("id", "$response.body#/id")], &["getAthlete", "updateAthlete"]),
    ("listAthletes", "200", &[("id", "$response.body#/data/0/id")], &["getAthlete", "updateAthlete"]),
    ("listTests", "200", &[("id", "$response.body#/data/0/id")], &["getTest"]),
    ("createApiKey", "201", &[("id", "$response.body#/id")], &["getApiKey", "rotateApiKey", "revokeApiKey"]),
    ("rotateApiKey", "201", &[("id", "$response.body#/key/id")], &["getApiKey", "revokeApiKey"]),
    (
        "createWebhook",
        "201",
        &[("id", "$response.body#/id")],
        &[
            "getWebhook",
            "updateWebhook",
            "deleteWebhook",
            "rotateWebhookSecret",
            "testWebhook",
            "listDeliveries",
            "recoverDeliveries",
        ],
    ),
    (
        "testWebhook",
        "202",
        &[("id", "$request.path.id"), ("deliveryId", "$response.body#/deliveryId")],
        &["getDelivery", "retryDelivery"],
    ),
];

fn links(doc: &mut Value) {
    for (from, status, params, targets) in LINKS {
        let Some(response) = operations(doc).find(|(_, _, op)| op["operationId"] == *from).map(|(p, m, _)| (p, m))
        else {
            continue;
        };
        let (path, method) = response;
        let mut out = Map::new();
        for target in *targets {
            let parameters: Map<String, Value> =
                params.iter().map(|(name, value)| ((*name).to_owned(), json!(value))).collect();
            out.insert(
                (*target).to_owned(),
                json!({ "operationId": target, "parameters": parameters, "description": format!("The resource this response names, to `{target}`.") }),
            );
        }
        doc["paths"][&path][&method]["responses"][*status]["links"] = Value::Object(out);
    }
}

fn operations(doc: &Value) -> impl Iterator<Item = (String, String, Value)> + '_ {
    doc["paths"].as_object().into_iter().flat_map(|paths| {
        paths.iter().flat_map(|(path, item)| {
            item.as_object().into_iter().flat_map(move |methods| {
                methods
                    .iter()
                    .filter(|(m, _)| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                    .map(move |(m, op)| (path.clone(), m.clone(), op.clone()))
            })
        })
    })
}

/// Completes every operation of `doc` (see the module docs).
pub fn complete(doc: &mut Value) {
    components(doc);
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for (path, item) in paths.iter_mut() {
        let Some(methods) = item.as_object_mut() else { continue };
        for (method, op) in methods.iter_mut() {
            let Some(op) = op.as_object_mut() else { continue };
            let authed = op.get("security").is_some_and(|s| s.as_array().is_some_and(|a| !a.is_empty()));
            let mutating = ["post", "put", "patch", "delete"].contains(&method.as_str());
            let has_body = op.contains_key("requestBody");
            if authed {
                if op.get("operationId").and_then(Value::as_str).is_some_and(|id| BETA_OPERATIONS.contains(&id)) {
                    add_param(op, "X-Beta-Features");
                }
                if mutating {
                    add_param(op, "Idempotency-Key");
                }
            }
            let responses = op.entry("responses").or_insert_with(|| json!({})).as_object_mut().expect("responses");
            for (status, response) in responses.iter_mut() {
                let Some(r) = response.as_object_mut() else { continue };
                let headers = r.entry("headers").or_insert_with(|| json!({})).as_object_mut().expect("headers");
                if authed && status.starts_with('2') {
                    headers.extend(rate_headers().as_object().cloned().unwrap_or_default());
                } else {
                    headers.insert("X-Request-Id".into(), json!({ "$ref": "#/components/headers/X-Request-Id" }));
                }
            }
            if authed {
                add(
                    responses,
                    "400",
                    "A malformed or unknown parameter or header (named in `errors`), or a body that is not the JSON this operation takes",
                );
                add(responses, "401", "Missing, invalid, revoked or expired API key");
                add(
                    responses,
                    "403",
                    "The key lacks this operation's scope, or the request comes from outside the key's IP allowlist",
                );
                add(responses, "429", "The key's rate limit is used up; see `Retry-After`");
                add(responses, "503", "Storage is busy; retry shortly");
                let limited = responses.get_mut("429").and_then(|r| r.as_object_mut()).expect("429");
                let headers = limited.entry("headers").or_insert_with(|| json!({})).as_object_mut().expect("headers");
                headers.insert("Retry-After".into(), json!({ "$ref": "#/components/headers/Retry-After" }));
                headers.extend(rate_headers().as_object().cloned().unwrap_or_default());
                if path.contains('{') {
                    add(responses, "404", "No such resource in this business");
                }
                if mutating {
                    add(
                        responses,
                        "409",
                        "A request with this `Idempotency-Key` is still running, or the resource changed meanwhile",
                    );
                    add(
                        responses,
                        "422",
                        "The `Idempotency-Key` was used with a different request, or the body is invalid (listed in `errors`)",
                    );
                }
                if has_body {
                    add(responses, "413", "The body is over 1 MiB");
                    add(responses, "415", "The body is not `application/json`");
                }
            }
        }
    }
    links(doc);
}
