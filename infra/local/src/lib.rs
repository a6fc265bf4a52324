//! iron-local: every endpoint group's router on one 127.0.0.1 port, over the embedded adapters
//! (SQLite table and queue, a local master key, the in-process scheduler), with the demo gym
//! seeded on first start.

pub mod files;
pub mod worker;

use axum::Router;
use chrono::Utc;
use iron_bulk_api::BulkState;
use iron_domain::{ApiKeySecret, RateTier, Scope};
use iron_http::{ApiContext, AuditSink, BatchedAudit, ClientIpConfig, NoAudit};
use iron_integrations_api::IntegrationsState;
use iron_store::TenantDb;
use iron_store::repo::platform::{self, NewKey};
use iron_store::{
    Clock, FileBlobs, InProcessBus, InProcessScheduler, KeyCipher, LocalKeyCipher, Queue, ScheduleExpression,
    ScheduleTarget, Scheduler, SqliteQueue, SqliteTable, SystemClock, TableStore,
};
use iron_sync::wodify::connector::ConnectorConfig;
use iron_webhooks::DestinationPolicy;
use iron_webhooks_api::WebhooksState;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;

#[derive(Debug, Clone)]
pub struct LocalConfig {
    pub port: u16,
    pub data_dir: PathBuf,
    /// Seed the demo gym on first start.
    pub seed_demo: bool,
    /// Record every authenticated request in the audit log (off only to benchmark without it).
    pub audit: bool,
    pub audit_retention_days: i64,
    /// Take the client IP from `X-Forwarded-For` (only behind a proxy you run).
    pub trust_forwarded_for: bool,
    /// Let webhooks point at http:// loopback receivers (local development only).
    pub allow_local_webhooks: bool,
    /// Where Wodify is (`--wodify-base-url`, `IRON_WODIFY_BASE_URL`; a fake's, for the demo):
    /// `None` is the real one.
    pub wodify_base_url: Option<String>,
    /// The sync without its pace (benchmarks against a fake only).
    pub wodify_unpaced: bool,
}

/// The embedded adapters of every port, opened on the data dir.
pub struct Embedded {
    pub table: Arc<SqliteTable>,
    pub queue: Arc<SqliteQueue>,
    /// The import and export jobs queue (beside the delivery queue, in the same file).
    pub jobs: Arc<SqliteQueue>,
    /// The sync queue (third-party sync runs, a step a message).
    pub sync: Arc<SqliteQueue>,
    /// Job files, in `files/` of the data dir.
    pub files: Arc<FileBlobs>,
    /// The embedded event bus (EventBridge's part): sync events.
    pub bus: Arc<InProcessBus>,
    pub cipher: Arc<LocalKeyCipher>,
    pub scheduler: Arc<InProcessScheduler>,
    pub clock: Arc<dyn Clock>,
}

impl Embedded {
    pub fn open(data_dir: &Path) -> Result<Embedded, String> {
        std::fs::create_dir_all(data_dir).map_err(|e| format!("cannot create data dir {}: {e}", data_dir.display()))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let table = SqliteTable::open(&data_dir.join("table.db"), clock.clone()).map_err(|e| e.to_string())?;
        let queue = SqliteQueue::open(&data_dir.join("queue.db"), "deliveries", clock.clone())
            .map_err(|e| e.to_string())?
            .with_dead_letter("deliveries-dlq", 5);
        let jobs = queue.sibling("jobs").with_dead_letter("jobs-dlq", 5);
        let sync = queue.sibling("sync").with_dead_letter("sync-dlq", 5);
        let files = FileBlobs::open(&data_dir.join("files"), clock.clone()).map_err(|e| e.to_string())?;
        let cipher = LocalKeyCipher::load_or_create(&data_dir.join("master.key")).map_err(|e| e.to_string())?;
        Ok(Embedded {
            table: Arc::new(table),
            queue: Arc::new(queue),
            jobs: Arc::new(jobs),
            sync: Arc::new(sync),
            files: Arc::new(files),
            bus: Arc::new(InProcessBus::new()),
            cipher: Arc::new(cipher),
            scheduler: Arc::new(InProcessScheduler::new(clock.clone())),
            clock,
        })
    }
}

/// What the endpoint groups run on, over whichever adapters the caller chose: the shared API
/// context, and what only the webhooks group uses.
#[derive(Clone)]
pub struct Groups {
    pub api: ApiContext,
    pub webhooks: WebhooksState,
    pub bulk: BulkState,
    pub integrations: IntegrationsState,
    /// The embedded blob store, whose signed URLs this process serves at `/files/…`.
    pub files: Option<Arc<FileBlobs>>,
}

impl Groups {
    pub fn new(
        api: ApiContext,
        cipher: Arc<dyn KeyCipher>,
        delivery_queue: Arc<dyn Queue>,
        destinations: DestinationPolicy,
        files: Arc<FileBlobs>,
        jobs: Arc<dyn Queue>,
        sync_queue: Arc<dyn Queue>,
    ) -> Groups {
        let integrations = IntegrationsState {
            api: api.clone(),
            cipher: cipher.clone(),
            sync_queue,
            connector: ConnectorConfig::interactive(),
        };
        let webhooks = WebhooksState { api: api.clone(), cipher, delivery_queue, destinations };
        let bulk = BulkState { api: api.clone(), blobs: files.clone(), jobs };
        Groups { api, webhooks, bulk, integrations, files: Some(files) }
    }
}

/// Every endpoint group's routes with their OpenAPI parts. A new group adds its line here (and
/// its function in `template.yaml`).
pub fn routes(groups: &Groups) -> OpenApiRouter {
    iron_athletes_api::routes(groups.api.clone())
        .merge(iron_access_api::routes(groups.api.clone()))
        .merge(iron_webhooks_api::routes(groups.webhooks.clone()))
        .merge(iron_members_api::routes(groups.api.clone()))
        .merge(iron_locations_api::routes(groups.api.clone()))
        .merge(iron_checkin_api::routes(groups.api.clone()))
        .merge(iron_bulk_api::routes(groups.bulk.clone()))
        .merge(iron_challenges_api::routes(groups.api.clone()))
        .merge(iron_integrations_api::routes(groups.integrations.clone()))
        .merge(iron_analytics_api::routes(groups.api.clone()))
        .merge(iron_docs_api::routes())
}

/// The whole API in one router, the outer layers applied once (what iron-local serves).
pub fn app(groups: &Groups) -> Router {
    let api = iron_http::into_app(routes(groups));
    match &groups.files {
        Some(files) => files::router(files.clone()).merge(api),
        None => api,
    }
}

/// The OpenAPI document assembled from every group's part (the committed `docs/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = SqliteTable::in_memory(clock.clone()).map(Arc::new);
    let Ok(store) = store else { return iron_docs_api::assemble([]) };
    let queue: Arc<dyn Queue> = Arc::new(NoQueue);
    // Only to build the bulk group's router: nothing is written.
    let files = std::env::temp_dir().join("iron-openapi-files");
    let Ok(files) = FileBlobs::open(&files, clock.clone()) else { return iron_docs_api::assemble([]) };
    let groups = Groups::new(
        ApiContext::new(store, clock),
        Arc::new(LocalKeyCipher::from_bytes([0; 32])),
        queue.clone(),
        DestinationPolicy::default(),
        Arc::new(files),
        queue.clone(),
        queue,
    );
    iron_docs_api::assemble([routes(&groups).into_openapi()])
}

/// A queue that takes nothing (only to build routers for their OpenAPI parts).
struct NoQueue;

#[async_trait::async_trait]
impl Queue for NoQueue {
    async fn send(&self, _: &str, _: Duration) -> iron_store::table::StoreResult<String> {
        Err(iron_store::StoreError::Invalid("no queue here".into()))
    }
    async fn receive(
        &self,
        _: usize,
        _: Duration,
        _: Duration,
    ) -> iron_store::table::StoreResult<Vec<iron_store::QueueMessage>> {
        Ok(Vec::new())
    }
    async fn delete(&self, _: &str) -> iron_store::table::StoreResult<()> {
        Ok(())
    }
    async fn change_visibility(&self, _: &str, _: Duration) -> iron_store::table::StoreResult<()> {
        Ok(())
    }
}

/// What a start found or made.
pub struct Started {
    pub addr: SocketAddr,
    pub api_key: String,
    pub business_name: String,
    pub business_id: String,
    pub seeded: bool,
}

const DEMO_STATE: &str = "demo.json";

/// Seeds the demo gym on first start and returns a working demo key. The key's secret is kept
/// in the data dir (local development only: nowhere else is a key stored other than hashed);
/// if that key no longer works (revoked, or the file is gone), a new one is minted.
pub async fn ensure_demo(
    store: &dyn TableStore,
    data_dir: &Path,
    now: chrono::DateTime<Utc>,
) -> Result<(String, String, String, bool), String> {
    let state_path = data_dir.join(DEMO_STATE);
    let existing: Option<serde_json::Value> =
        std::fs::read(&state_path).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let (business_id, seeded) =
        match existing.as_ref().and_then(|v| v["businessId"].as_str()).and_then(iron_domain::Id::parse) {
            Some(id) => (id, false),
            None => {
                let summary = iron_demo::seed(store, now, iron_demo::DemoSize::default(), rand::random())
                    .await
                    .map_err(|e| format!("seeding the demo gym failed: {e}"))?;
                (summary.business.id, true)
            }
        };
    let scope = iron_store::OperatorScope::new(business_id.clone());
    let business = platform::get_business(TenantDb::new(store, &scope))
        .await
        .map_err(|e| format!("the demo business is missing from the data dir: {e}"))?;
    let saved_key =
        existing.as_ref().filter(|_| !seeded).and_then(|v| v["apiKey"].as_str()).and_then(ApiKeySecret::parse);
    let usable = match &saved_key {
        Some(secret) => platform::lookup_key(store, &secret.hash())
            .await
            .map_err(|e| e.to_string())?
            .is_some_and(|k| k.is_usable(now)),
        None => false,
    };
    let secret = match saved_key {
        Some(secret) if usable => secret.expose().to_owned(),
        _ => {
            let new = NewKey::new("Demo key (iron-local)", Scope::ALL.to_vec(), RateTier::Enterprise);
            let (_, secret) =
                platform::mint_key(TenantDb::new(store, &scope), new, now).await.map_err(|e| e.to_string())?;
            secret.expose().to_owned()
        }
    };
    let state = serde_json::json!({ "businessId": business_id, "apiKey": secret });
    write_private(&state_path, state.to_string().as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", state_path.display()))?;
    Ok((secret, business.name, business.id.to_string(), seeded))
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Binds, prepares data, and returns the server future with what was started.
pub async fn start(
    config: LocalConfig,
) -> Result<(Started, impl std::future::Future<Output = std::io::Result<()>>), String> {
    let embedded = Embedded::open(&config.data_dir)?;
    let now = embedded.clock.now();
    let (api_key, business_name, business_id, seeded) = if config.seed_demo {
        ensure_demo(embedded.table.as_ref(), &config.data_dir, now).await?
    } else {
        (String::new(), String::new(), String::new(), false)
    };
    embedded.table.checkpoint().map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", config.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;

    // What AWS runs in the background: TTL deletion, and the EventBridge schedules.
    let table = embedded.table.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            if let Err(e) = table.sweep_expired() {
                tracing::warn!(error = %e, "TTL sweep failed");
            }
        }
    });
    let destinations = iron_webhooks::DestinationPolicy::default().allowing_loopback_http(config.allow_local_webhooks);
    let dispatcher = Arc::new(iron_dispatch::Dispatcher::new(
        embedded.table.clone(),
        embedded.cipher.clone(),
        embedded.clock.clone(),
        destinations.clone(),
    ));
    // The table's change feed wakes the fan-out as soon as an event is committed (as the
    // DynamoDB stream does on AWS); the worker also looks on its own every half second.
    let outbox = embedded.table.watch(iron_store::keys::is_pending_event);
    tokio::spawn(worker::run(dispatcher, embedded.queue.clone(), outbox));
    let mut connector = ConnectorConfig::default().at(config.wodify_base_url.as_deref())?;
    if config.wodify_unpaced {
        connector.pace = None;
    }
    let sync = Arc::new(iron_sync_worker::SyncWorker {
        store: embedded.table.clone(),
        cipher: embedded.cipher.clone(),
        clock: embedded.clock.clone(),
        queue: embedded.sync.clone(),
        bus: Some(embedded.bus.clone()),
        connector: connector.clone(),
        budget: worker::SYNC_STEP_BUDGET,
        reconcile_weekday: chrono::Weekday::Sun,
        emit_metrics: false,
    });
    tokio::spawn(worker::consume_sync(sync.clone(), embedded.sync.clone()));
    // The EventBridge schedules of template.yaml, in-process.
    for (name, expression, payload) in [
        (
            "sync-nightly",
            ScheduleExpression::DailyAt { hour: 3, minute: 0 },
            serde_json::json!({"schedule": "nightly"}),
        ),
        ("sync-health", ScheduleExpression::EveryMinutes(60), serde_json::json!({"schedule": "health"})),
        (
            "analytics-daily",
            ScheduleExpression::DailyAt { hour: 4, minute: 0 },
            serde_json::json!({"schedule": "analytics"}),
        ),
    ] {
        let target = ScheduleTarget { name: name.into(), expression, payload };
        embedded.scheduler.put(target).await.map_err(|e| e.to_string())?;
    }
    // Scores from the start (the demo gym's included), not only after the first 04:00.
    let first = sync.clone();
    tokio::spawn(async move {
        if let Err(e) = first.analytics_fan_out().await {
            tracing::warn!(error = %e, "the start-up analytics recompute could not be queued");
        }
    });
    let scheduler = embedded.scheduler.clone();
    tokio::spawn(scheduler.run(Arc::new(move |schedule| {
        tracing::info!(name = %schedule.name, "schedule fired");
        let sync = sync.clone();
        tokio::spawn(async move {
            if let Err(e) = sync.handle_event(schedule.payload).await {
                tracing::warn!(name = %schedule.name, error = %e, "scheduled sync work failed");
            }
        });
    })));

    let audit: Arc<dyn AuditSink> = if config.audit {
        Arc::new(BatchedAudit::start(embedded.table.clone(), chrono::Duration::days(config.audit_retention_days)))
    } else {
        Arc::new(NoAudit)
    };
    let api = ApiContext::new(embedded.table.clone(), embedded.clock.clone())
        .with_audit(audit)
        .with_client_ip(ClientIpConfig { trust_forwarded_for: config.trust_forwarded_for });
    embedded.files.set_base_url(&format!("http://{addr}"));
    let jobs = Arc::new(iron_jobs_worker::Worker {
        store: embedded.table.clone(),
        blobs: embedded.files.clone(),
        clock: embedded.clock.clone(),
        queue: embedded.jobs.clone(),
        budget: worker::JOB_RUN_BUDGET,
    });
    tokio::spawn(worker::consume_jobs(jobs, embedded.jobs.clone()));
    let mut groups = Groups::new(
        api,
        embedded.cipher.clone(),
        embedded.queue.clone(),
        destinations,
        embedded.files.clone(),
        embedded.jobs.clone(),
        embedded.sync.clone(),
    );
    groups.integrations.connector = ConnectorConfig::interactive().at(config.wodify_base_url.as_deref())?;
    // The socket address is the client IP locally (allowlists, audit log).
    let service = app(&groups).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service).with_graceful_shutdown(shutdown_signal());
    Ok((Started { addr, api_key, business_name, business_id, seeded }, server.into_future()))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await.unwrap_or(());
}
