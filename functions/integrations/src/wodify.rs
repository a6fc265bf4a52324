//! `/integrations/wodify`: connect a gym's Wodify key, watch and run its syncs, pause, resume,
//! disconnect. Scope `manage:integrations`. The key is taken once, checked with one light call,
//! sealed, and never shown again (only its last four characters).

use crate::IntegrationsState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use iron_domain::sync::{
    Availability, Checkpoint, Connection, ConnectionStatus, Entity, EntityCounts, Gym, Provider, Run, RunMode,
    RunStatus, RunTrigger, SyncError,
};
use iron_domain::{FieldError, Scope};
use iron_http::{ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::TenantDb;
use iron_store::repo::RepoError;
use iron_store::repo::sync::{self as repo, StoredConnection};
use iron_sync::metrics::Histogram;
use iron_sync::wodify::run::{self, StartError};
use iron_sync::wodify::service::{self, ConnectError, ConnectOptions, RECONCILE_DAYS, RunJob, SYNC_WINDOW_DAYS};
use secrecy::SecretString;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::ToSchema;

const PROVIDER: Provider = Provider::Wodify;

/// A gym's Wodify connection, as its status shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionOut {
    pub gym_id: String,
    #[schema(example = "wodify")]
    pub provider: String,
    pub status: ConnectionStatus,
    /// `…` and the key's last four characters (the key itself is never shown).
    #[schema(example = "…a1b2")]
    pub key_fingerprint: Option<String>,
    pub key_set_at: Option<DateTime<Utc>>,
    /// Bumped by each new key.
    pub key_version: u32,
    /// How far back a backfill reaches.
    pub sync_window_days: u32,
    /// How far back the weekly reconciliation re-pulls.
    pub reconcile_days: u32,
    pub currency: String,
    /// Per entity: whether the gym's Wodify plan lets the API read it, and why not.
    pub availability: BTreeMap<Entity, Availability>,
    /// The last day a clean run covered; nightly runs start three days before it.
    pub watermark: Option<NaiveDate>,
    /// Whether a backfill has completed.
    pub backfilled: bool,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// The last failure (the provider's reason, the key never in it).
    pub last_error: Option<SyncError>,
    pub consecutive_failures: u32,
    /// The run in progress.
    pub current_run_id: Option<String>,
    /// No successful sync in the last 24 hours (or since connecting, if none yet): the condition
    /// the `SyncStale` alarm watches on AWS.
    pub stale: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn connection_out(c: &Connection, now: DateTime<Utc>) -> ConnectionOut {
    let running = c.current_run.clone().filter(|_| !c.is_free(now));
    ConnectionOut {
        gym_id: c.gym_id.to_string(),
        provider: PROVIDER.as_str().into(),
        status: c.status,
        key_fingerprint: c.key_fingerprint.clone(),
        key_set_at: c.key_set_at,
        key_version: c.key_version,
        sync_window_days: c.sync_window_days,
        reconcile_days: c.reconcile_days,
        currency: c.currency.clone(),
        availability: c.availability.clone(),
        watermark: c.watermark,
        backfilled: c.backfilled,
        last_success_at: c.last_success_at,
        last_run_at: c.last_run_at,
        last_error: c.last_error.clone(),
        consecutive_failures: c.consecutive_failures,
        current_run_id: running.map(|r| r.to_string()),
        stale: c.is_stale(now),
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

/// One endpoint's requests in a run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LatencyOut {
    pub requests: u64,
    /// Responses that were errors (some then retried).
    pub errors: u64,
    /// 429 answers (waited out).
    pub throttled: u64,
    pub mean_ms: u64,
    /// Upper bound of the bucket holding the median.
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub max_ms: u64,
    /// Counts per bucket, bounds 25, 50, 100, 250, 500, 1000, 2500, 5000 ms, then slower.
    pub buckets: Vec<u64>,
}

/// A sync run.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunOut {
    #[schema(example = "run_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub gym_id: String,
    pub provider: String,
    pub mode: RunMode,
    pub trigger: RunTrigger,
    pub status: RunStatus,
    /// The days it pulls: `windowFrom` inclusive, `windowTo` exclusive.
    pub window_from: NaiveDate,
    pub window_to: NaiveDate,
    pub watermark_before: Option<NaiveDate>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Where it is (or stopped): the entity and the next page.
    pub cursor: CursorOut,
    /// Per entity: records pulled, raw records new or changed, canonical rows written.
    pub counts: BTreeMap<Entity, EntityCounts>,
    pub requests: u64,
    /// Per endpoint (route template).
    pub latency: BTreeMap<String, LatencyOut>,
    pub months_recomputed: Vec<String>,
    pub error: Option<String>,
    /// Worker invocations it took.
    pub invocations: u32,
    pub key_version: u32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CursorOut {
    /// The entity in progress (absent once every entity is done).
    pub entity: Option<Entity>,
    pub page: u32,
}

fn cursor_out(c: &Checkpoint) -> CursorOut {
    CursorOut { entity: Entity::ALL.get(c.entity).copied(), page: c.page.max(1) }
}

pub(crate) fn run_out(r: &Run) -> RunOut {
    let latency = r
        .latency
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| serde_json::from_value::<Histogram>(v.clone()).ok().map(|h| (k.clone(), h)))
                .map(|(k, h)| {
                    let out = LatencyOut {
                        requests: h.count,
                        errors: h.errors,
                        throttled: h.throttled,
                        mean_ms: h.total_ms.checked_div(h.count).unwrap_or(0),
                        p50_ms: h.quantile_ms(0.5),
                        p95_ms: h.quantile_ms(0.95),
                        max_ms: h.max_ms,
                        buckets: h.buckets.clone(),
                    };
                    (k, out)
                })
                .collect()
        })
        .unwrap_or_default();
    RunOut {
        id: r.id.to_string(),
        gym_id: r.gym_id.to_string(),
        provider: r.provider.as_str().into(),
        mode: r.mode,
        trigger: r.trigger,
        status: r.status,
        window_from: r.window_from,
        window_to: r.window_to,
        watermark_before: r.watermark_before,
        queued_at: r.queued_at,
        started_at: r.started_at,
        finished_at: r.finished_at,
        cursor: cursor_out(&r.checkpoint),
        counts: r.counts.clone(),
        requests: r.requests,
        latency,
        months_recomputed: r.months_recomputed.clone(),
        error: r.error.clone(),
        invocations: r.invocations,
        key_version: r.key_version,
    }
}

fn field(name: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: format!("/{name}"), message: message.into() }
}

/// A body's fields, each one checked: unknown ones are 422.
fn check_fields(body: &Map<String, Value>, known: &[&str]) -> Vec<FieldError> {
    body.keys()
        .filter(|k| !known.contains(&k.as_str()))
        .map(|k| field(k, format!("is not a field here ({})", known.join(", "))))
        .collect()
}

/// The gym a body's `gymId` names (404 for one that is not this business's).
async fn body_gym(db: TenantDb<'_>, body: &Map<String, Value>) -> Result<Gym, ApiError> {
    match body.get("gymId") {
        Some(Value::String(raw)) => crate::gym(db, raw).await,
        Some(_) => Err(ApiError::Validation(vec![field("gymId", "must be a gym id (`gym_…`)")])),
        None => Err(ApiError::Validation(vec![field("gymId", "is required")])),
    }
}

/// The gym a query's `gymId` names.
async fn query_gym(db: TenantDb<'_>, params: &QueryParams) -> Result<Gym, ApiError> {
    match params.str("gymId") {
        Some(raw) => crate::gym(db, raw).await,
        None => Err(ApiError::BadParameter { param: "gymId".into(), detail: "is required".into() }),
    }
}

async fn connection(db: TenantDb<'_>, gym: &Gym) -> Result<StoredConnection, ApiError> {
    repo::get_connection(db, PROVIDER, &gym.id).await?.ok_or_else(|| not_connected(gym))
}

fn not_connected(gym: &Gym) -> ApiError {
    ApiError::NotFound(format!(
        "gym `{}` has no Wodify connection: POST /integrations/wodify/connect with its API key",
        gym.id
    ))
}

fn days(
    body: &Map<String, Value>,
    name: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<Option<u32>, FieldError> {
    match body.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= f64::from(*range.start()) && *n <= f64::from(*range.end()))
            .map(|n| Some(n as u32))
            .ok_or_else(|| {
                field(name, format!("must be a whole number of days from {} to {}", range.start(), range.end()))
            }),
    }
}

/// Connect a gym to Wodify
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"gymId": "gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "apiKey": "wdf_live_7c1d9e2a4b6f8a0c"}))]
#[allow(dead_code)]
pub struct ConnectIn {
    /// The gym this key is for (one Wodify key is one gym).
    gym_id: String,
    /// The gym's Wodify API key (Wodify Core → Digital Presence → Web Integrations → API Keys).
    /// Stored encrypted; never shown again.
    #[schema(min_length = 8, max_length = 256, pattern = r"^[\x21-\x7E]+$", write_only)]
    api_key: String,
    /// How far back the first backfill reaches, 30–730 days (default 730: 24 months).
    #[schema(minimum = 30, maximum = 730, nullable = false)]
    sync_window_days: Option<u32>,
    /// How far back the weekly reconciliation re-pulls, 30–90 days (default 45).
    #[schema(minimum = 30, maximum = 90, nullable = false)]
    reconcile_days: Option<u32>,
    /// ISO 4217: the currency of the gym's Wodify amounts (default the gym's).
    #[schema(min_length = 3, max_length = 3, pattern = "^[A-Z]{3}$", nullable = false)]
    currency: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectOut {
    pub connection: ConnectionOut,
    /// A key replaced the gym's earlier one (a run in progress goes on with the new key).
    pub rotated: bool,
    /// The backfill queued by a first connect (absent on a rotation, or when a run was already
    /// in progress).
    pub run: Option<RunOut>,
}

/// Connect a gym to Wodify (or rotate its key)
///
/// Checks the key with one light call (`/customers/locations`), then each entity's route once:
/// entities the gym's Wodify plan blocks are saved as unavailable, not refused. The key is
/// sealed with KMS under the business and gym ids and never shown again. A first connect queues
/// the backfill (24 months by default); posting a new key for a connected gym rotates it
/// (`200`) without interrupting a run in progress.
#[utoipa::path(post, path = "/api/external/v1/integrations/wodify/connect", operation_id = "connectWodify", tag = "integrations",
    request_body = ConnectIn,
    responses((status = 201, description = "Connected; the backfill is queued", body = ConnectOut),
              (status = 200, description = "The key was rotated", body = ConnectOut),
              (status = 404, description = "No such gym in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The connection kept changing under concurrent writes: try again", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields, or Wodify refused the key (its reason in `detail`)", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 502, description = "Wodify could not be reached or answered wrongly: nothing was saved", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 503, description = "The backfill could not be queued: POST /integrations/wodify/sync in 15 minutes", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn connect(
    State(state): State<IntegrationsState>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    let db = tenant.db();
    let gym = body_gym(db, &body).await?;
    let mut errors = check_fields(&body, &["gymId", "apiKey", "syncWindowDays", "reconcileDays", "currency"]);
    let key = match body.get("apiKey") {
        Some(Value::String(k)) if (8..=256).contains(&k.len()) && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) => {
            Some(SecretString::from(k.clone()))
        }
        Some(_) => {
            errors.push(field("apiKey", "must be 8–256 printable characters without spaces"));
            None
        }
        None => {
            errors.push(field("apiKey", "is required"));
            None
        }
    };
    let mut options = ConnectOptions::default();
    match days(&body, "syncWindowDays", SYNC_WINDOW_DAYS) {
        Ok(d) => options.sync_window_days = d,
        Err(e) => errors.push(e),
    }
    match days(&body, "reconcileDays", RECONCILE_DAYS) {
        Ok(d) => options.reconcile_days = d,
        Err(e) => errors.push(e),
    }
    if let Some(v) = body.get("currency") {
        match crate::gyms::currency(v) {
            Ok(c) => options.currency = Some(c),
            Err(m) => errors.push(field("currency", m)),
        }
    }
    let Some(key) = key.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Validation(errors));
    };
    let connected =
        service::connect(db, state.cipher.as_ref(), state.api.clock.as_ref(), &state.connector, &gym, key, &options)
            .await
            .map_err(|e| match e {
                ConnectError::KeyRefused(why) => ApiError::Unprocessable(why),
                ConnectError::Provider(why) => ApiError::BadGateway(why),
                ConnectError::Cipher(why) => ApiError::Internal(why),
                ConnectError::Store(e) => e.into(),
            })?;
    let now = state.api.now();
    let mut queued = None;
    if !connected.rotated && !connected.connection.connection.backfilled {
        match run::start(db, state.api.clock.as_ref(), &gym.id, RunMode::Backfill, RunTrigger::Connect).await {
            Ok(r) => {
                enqueue(&state, db, &r).await?;
                queued = Some(r);
            }
            // A run in progress (a connect again after a disconnect) or a pause: no new run.
            Err(StartError::Busy(_) | StartError::NotRunnable(_)) => {}
            Err(StartError::NotConnected) => return Err(ApiError::Internal("the connection vanished".into())),
            Err(StartError::Store(e)) => return Err(e.into()),
        }
    }
    let conn = match &queued {
        Some(_) => connection(db, &gym).await?,
        None => connected.connection,
    };
    let out = ConnectOut {
        connection: connection_out(&conn.connection, now),
        rotated: connected.rotated,
        run: queued.as_ref().map(run_out),
    };
    let status = if connected.rotated { StatusCode::OK } else { StatusCode::CREATED };
    let location = format!("/api/external/v1/integrations/wodify/status?gymId={}", gym.id);
    Ok((status, [(axum::http::header::LOCATION, location)], Json(out)).into_response())
}

async fn enqueue(state: &IntegrationsState, db: TenantDb<'_>, r: &Run) -> Result<(), ApiError> {
    let job = RunJob::of(db, r);
    state.sync_queue.send(&job.to_message(), Duration::ZERO).await.map_err(|e| {
        // The run holds the gym until its claim lapses (15 min); then a run may start again.
        tracing::error!(run = %r.id, error = %e, "could not queue a sync run");
        ApiError::Unavailable
    })?;
    Ok(())
}

/// Status of a gym's Wodify connection
///
/// Connected, error, paused or disconnected; the last success and the last error (sanitised),
/// the watermark, the key's fingerprint, what the gym's Wodify plan makes available, and
/// `stale` when no sync has succeeded in 24 hours.
#[utoipa::path(get, path = "/api/external/v1/integrations/wodify/status", operation_id = "getWodifyStatus", tag = "integrations",
    params(("gymId" = String, Query, description = "Gym id (`gym_…`)")),
    responses((status = 200, description = "The connection", body = ConnectionOut),
              (status = 400, description = "No `gymId`", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such gym in this business, or it was never connected", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn status(
    State(state): State<IntegrationsState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ConnectionOut>, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    params.allow(&["gymId"])?;
    let gym = query_gym(tenant.db(), &params).await?;
    let conn = connection(tenant.db(), &gym).await?;
    Ok(Json(connection_out(&conn.connection, state.api.now())))
}

/// Start a sync run
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"gymId": "gym_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "mode": "incremental"}))]
#[allow(dead_code)]
pub struct SyncIn {
    gym_id: String,
    /// `incremental` (default: from the watermark, less three days), `backfill` (the whole
    /// sync window) or `reconcile` (the last `reconcileDays`, pulled again).
    #[schema(nullable = false)]
    mode: Option<RunMode>,
}

/// Run a sync now
///
/// Queues a run of the gym (one at a time: a second while one is in progress is a 409 naming
/// it). Follow it in `/integrations/wodify/logs`.
#[utoipa::path(post, path = "/api/external/v1/integrations/wodify/sync", operation_id = "syncWodify", tag = "integrations",
    request_body = SyncIn,
    responses((status = 202, description = "The run, queued", body = RunOut),
              (status = 404, description = "No such gym in this business, or it is not connected", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "A run of this gym is in progress, or the connection is paused or disconnected", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 503, description = "The run could not be queued: try again in 15 minutes", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn sync(
    State(state): State<IntegrationsState>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    let db = tenant.db();
    let gym = body_gym(db, &body).await?;
    let mut errors = check_fields(&body, &["gymId", "mode"]);
    let mode = match body.get("mode") {
        None => RunMode::Incremental,
        Some(v) => match serde_json::from_value::<RunMode>(v.clone()) {
            Ok(m) => m,
            Err(_) => {
                errors.push(field("mode", "must be one of incremental, backfill, reconcile"));
                RunMode::Incremental
            }
        },
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let r = match run::start(db, state.api.clock.as_ref(), &gym.id, mode, RunTrigger::Manual).await {
        Ok(r) => r,
        Err(StartError::Busy(id)) => {
            return Err(ApiError::Conflict(format!(
                "run `{id}` of this gym is in progress: one run at a time (follow it in /integrations/wodify/logs)"
            )));
        }
        Err(StartError::NotRunnable(status)) => {
            return Err(ApiError::Conflict(match status {
                ConnectionStatus::Paused => "the connection is paused: POST /integrations/wodify/resume first".into(),
                _ => "the gym is disconnected: POST /integrations/wodify/connect with its key first".into(),
            }));
        }
        Err(StartError::NotConnected) => return Err(not_connected(&gym)),
        Err(StartError::Store(e)) => return Err(e.into()),
    };
    enqueue(&state, db, &r).await?;
    let location = format!("/api/external/v1/integrations/wodify/logs?gymId={}", gym.id);
    Ok((StatusCode::ACCEPTED, [(axum::http::header::LOCATION, location)], Json(run_out(&r))).into_response())
}

/// Sync runs of a gym
///
/// Newest first: each run's mode, window, cursor, counts per entity, request latency per
/// endpoint and error.
#[utoipa::path(get, path = "/api/external/v1/integrations/wodify/logs", operation_id = "listWodifyRuns", tag = "integrations",
    params(("gymId" = String, Query, description = "Gym id (`gym_…`)"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of runs", body = ListEnvelope<RunOut>),
              (status = 400, description = "No `gymId`, or a malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such gym in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn logs(principal: Principal, params: QueryParams) -> Result<Json<ListEnvelope<RunOut>>, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    params.allow(&["gymId", "limit", "cursor"])?;
    let page = PageParams::from_query(&params)?;
    let gym = query_gym(tenant.db(), &params).await?;
    let (runs, next) = repo::list_runs(tenant.db(), &gym.id, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(runs.iter().map(run_out).collect(), next)))
}

/// A gym id in a body
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct GymRef {
    gym_id: String,
}

/// Applies `change` to the gym's connection, retrying over concurrent writes (a run's step).
async fn change_connection(
    db: TenantDb<'_>,
    gym: &Gym,
    change: impl Fn(&mut StoredConnection) -> Result<(), ApiError>,
) -> Result<StoredConnection, ApiError> {
    for _ in 0..5 {
        let mut conn = connection(db, gym).await?;
        change(&mut conn)?;
        match repo::save_connection(db, &mut conn).await {
            Ok(()) => return Ok(conn),
            Err(RepoError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("the connection kept changing: try again".into()))
}

/// Pauses (`pause`) or resumes the connection of the body's gym. A disconnected gym is a 409:
/// there is no key to run with.
async fn set_paused(
    state: &IntegrationsState,
    principal: &Principal,
    body: &Map<String, Value>,
    pause: bool,
) -> Result<Json<ConnectionOut>, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    let gym = body_gym(tenant.db(), body).await?;
    let errors = check_fields(body, &["gymId"]);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let now = state.api.now();
    let conn = change_connection(tenant.db(), &gym, |s| {
        let c = &mut s.connection;
        match (c.status, pause) {
            (ConnectionStatus::Disconnected, true) => {
                Err(ApiError::Conflict("the gym is disconnected: there is nothing to pause".into()))
            }
            (ConnectionStatus::Disconnected, false) => Err(ApiError::Conflict(
                "the gym is disconnected: POST /integrations/wodify/connect with its key".into(),
            )),
            (_, true) => {
                c.status = ConnectionStatus::Paused;
                c.updated_at = now;
                Ok(())
            }
            (ConnectionStatus::Paused, false) => {
                c.status = ConnectionStatus::Connected;
                c.updated_at = now;
                Ok(())
            }
            _ => Ok(()),
        }
    })
    .await?;
    Ok(Json(connection_out(&conn.connection, now)))
}

/// Pause a gym's syncs
///
/// No scheduled or manual runs until it is resumed; a run in progress stops at its next step
/// (its data so far kept).
#[utoipa::path(post, path = "/api/external/v1/integrations/wodify/pause", operation_id = "pauseWodify", tag = "integrations",
    request_body = GymRef,
    responses((status = 200, description = "The connection, paused", body = ConnectionOut),
              (status = 404, description = "No such gym in this business, or it was never connected", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The gym is disconnected", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn pause(
    State(state): State<IntegrationsState>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<ConnectionOut>, ApiError> {
    set_paused(&state, &principal, &body, true).await
}

/// Resume a gym's syncs
///
/// Scheduled runs go on from the watermark (the next nightly run catches up).
#[utoipa::path(post, path = "/api/external/v1/integrations/wodify/resume", operation_id = "resumeWodify", tag = "integrations",
    request_body = GymRef,
    responses((status = 200, description = "The connection, connected", body = ConnectionOut),
              (status = 404, description = "No such gym in this business, or it was never connected", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "The gym is disconnected (connect it again with its key)", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn resume(
    State(state): State<IntegrationsState>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<ConnectionOut>, ApiError> {
    set_paused(&state, &principal, &body, false).await
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisconnectOut {
    pub connection: ConnectionOut,
    /// Synced items deleted (raw records, canonical rows, cached metrics); 0 unless `purge`.
    pub purged_items: u64,
}

/// Disconnect a gym from Wodify
///
/// The key is deleted and no more runs happen. With `purge=true` the synced data goes too (the
/// raw records, canonical rows and monthly metrics, and with them the watermark: connecting
/// again backfills); the run logs stay, and so do the members
/// synced as athletes (they may have check-ins and challenge entries of their own: delete them
/// through `/athletes`). Disconnecting twice is harmless.
#[utoipa::path(delete, path = "/api/external/v1/integrations/wodify", operation_id = "disconnectWodify", tag = "integrations",
    params(("gymId" = String, Query, description = "Gym id (`gym_…`)"),
        ("purge" = Option<bool>, Query, description = "Also delete the synced data (default false).")),
    responses((status = 200, description = "Disconnected", body = DisconnectOut),
              (status = 400, description = "No `gymId`, or `purge` not true or false", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 404, description = "No such gym in this business, or it was never connected", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn disconnect(
    State(state): State<IntegrationsState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<DisconnectOut>, ApiError> {
    let tenant = principal.require(Scope::ManageIntegrations)?;
    params.allow(&["gymId", "purge"])?;
    let purge = params.parsed("purge", |v| v.parse::<bool>().ok(), "true or false")?.unwrap_or(false);
    let gym = query_gym(tenant.db(), &params).await?;
    let now = state.api.now();
    let conn = change_connection(tenant.db(), &gym, |s| {
        s.clear_envelope();
        let c = &mut s.connection;
        c.status = ConnectionStatus::Disconnected;
        c.key_fingerprint = None;
        c.current_run = None;
        c.lease_until = None;
        if purge {
            // The data is gone: a connect again starts over with a backfill.
            c.watermark = None;
            c.backfilled = false;
        }
        c.updated_at = now;
        Ok(())
    })
    .await?;
    let purged_items = if purge { run::purge(tenant.db(), &gym.id).await? } else { 0 };
    Ok(Json(DisconnectOut { connection: connection_out(&conn.connection, now), purged_items }))
}
