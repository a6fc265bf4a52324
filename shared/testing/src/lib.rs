//! Test support shared by the crates' integration tests: the whole API (every endpoint group,
//! merged as iron-local serves it) over the embedded adapters or DynamoDB on moto, keys,
//! requests with a client address, and problem+json assertions.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use iron_domain::{RateTier, Scope};
use iron_http::ApiContext;
use iron_local::Groups;
use iron_store::TenantDb;
use iron_store::repo::platform::{self, NewKey};
use iron_store::{ManualClock, SqliteTable, TableStore, TenantScope};
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn TableStore>,
    pub clock: Arc<ManualClock>,
    /// What the router was built from (to build a variant of it).
    pub groups: Groups,
    _queue_dir: Arc<tempfile::TempDir>,
}

impl Default for TestApp {
    fn default() -> TestApp {
        TestApp::new()
    }
}

pub struct Response {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub fn with_store(store: Arc<dyn TableStore>, clock: Arc<ManualClock>) -> TestApp {
        Self::with_state(store, clock, |s| s)
    }

    /// Local-development destinations: webhooks may point at http:// loopback receivers.
    pub fn local_webhooks() -> TestApp {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let store: Arc<dyn TableStore> = Arc::new(SqliteTable::in_memory(clock.clone()).unwrap());
        Self::with_state(store, clock, |mut g| {
            g.webhooks.destinations = iron_webhooks::DestinationPolicy::local_development();
            g
        })
    }

    /// Local-development destinations over a store of the caller's (metering, moto).
    pub fn local_webhooks_over(store: Arc<dyn TableStore>, clock: Arc<ManualClock>) -> TestApp {
        Self::with_state(store, clock, |mut g| {
            g.webhooks.destinations = iron_webhooks::DestinationPolicy::local_development();
            g
        })
    }

    /// The deployed destination rules, with DNS answers the test decides.
    pub fn with_dns(resolver: Arc<iron_webhooks::StaticResolver>) -> TestApp {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let store: Arc<dyn TableStore> = Arc::new(SqliteTable::in_memory(clock.clone()).unwrap());
        Self::with_state(store, clock, |mut g| {
            g.webhooks.destinations = iron_webhooks::DestinationPolicy::default().with_resolver(resolver);
            g
        })
    }

    pub fn cipher() -> Arc<iron_store::LocalKeyCipher> {
        Arc::new(iron_store::LocalKeyCipher::from_bytes([7; 32]))
    }

    /// The groups over `store` and `clock`: deployed destination rules, the test cipher, and a
    /// delivery queue in a temporary file.
    pub fn groups(store: Arc<dyn TableStore>, clock: Arc<ManualClock>) -> (Groups, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("tempdir");
        let queue =
            iron_store::SqliteQueue::open(&dir.path().join("queue.db"), "deliveries", clock.clone()).expect("queue");
        let jobs = queue.sibling("jobs").with_dead_letter("jobs-dlq", 5);
        let sync = queue.sibling("sync").with_dead_letter("sync-dlq", 5);
        let files = iron_store::FileBlobs::open(&dir.path().join("files"), clock.clone()).expect("files");
        files.set_base_url("http://iron.test");
        let groups = Groups::new(
            ApiContext::new(store, clock),
            Self::cipher(),
            Arc::new(queue),
            iron_webhooks::DestinationPolicy::default(),
            Arc::new(files),
            Arc::new(jobs),
            Arc::new(sync),
        );
        (groups, dir)
    }

    pub fn with_state(
        store: Arc<dyn TableStore>,
        clock: Arc<ManualClock>,
        adjust: impl FnOnce(Groups) -> Groups,
    ) -> TestApp {
        let (groups, dir) = Self::groups(store.clone(), clock.clone());
        let groups = adjust(groups);
        let router = iron_local::app(&groups);
        TestApp { router, store, clock, groups, _queue_dir: Arc::new(dir) }
    }

    pub fn new() -> TestApp {
        let clock = Arc::new(ManualClock::new(at("2026-11-22T10:00:30Z")));
        let store: Arc<dyn TableStore> = Arc::new(SqliteTable::in_memory(clock.clone()).unwrap());
        Self::with_store(store, clock)
    }

    /// Seeds a demo business (200 athletes, no training history) with the given seed.
    pub async fn seed(&self, seed: u64) -> iron_demo::DemoSummary {
        let size = iron_demo::DemoSize { training_days: 0, ..iron_demo::DemoSize::default() };
        iron_demo::seed(self.store.as_ref(), self.clock_now(), size, seed).await.unwrap()
    }

    /// Seeds the whole demo business, with its 90 days of member training.
    pub async fn seed_with_training(&self, seed: u64) -> iron_demo::DemoSummary {
        iron_demo::seed(self.store.as_ref(), self.clock_now(), iron_demo::DemoSize::default(), seed).await.unwrap()
    }

    /// The jobs worker over this app's adapters, with a run budget.
    pub fn jobs_worker(&self, budget: std::time::Duration) -> iron_jobs_worker::Worker {
        iron_jobs_worker::Worker {
            store: self.store.clone(),
            blobs: self.groups.bulk.blobs.clone(),
            clock: self.clock.clone(),
            queue: self.groups.bulk.jobs.clone(),
            budget,
        }
    }

    /// Runs queued jobs until the jobs queue is empty (as the worker would); returns the runs.
    pub async fn run_jobs(&self) -> usize {
        let worker = self.jobs_worker(std::time::Duration::from_secs(600));
        let queue = self.groups.bulk.jobs.clone();
        let mut runs = 0;
        loop {
            let got = queue
                .receive(1, std::time::Duration::from_secs(600), std::time::Duration::ZERO)
                .await
                .expect("receive");
            let Some(m) = got.into_iter().next() else { return runs };
            worker.handle_message(&m.body).await.expect("job run");
            queue.delete(&m.receipt).await.expect("delete");
            runs += 1;
        }
    }

    /// The sync worker over this app's adapters: the same cipher, sync queue and Wodify
    /// configuration as the integrations group, with a step budget.
    pub fn sync_worker(
        &self,
        budget: std::time::Duration,
        bus: Option<Arc<dyn iron_store::EventBus>>,
    ) -> iron_sync_worker::SyncWorker {
        let i = &self.groups.integrations;
        iron_sync_worker::SyncWorker {
            store: self.store.clone(),
            cipher: i.cipher.clone(),
            clock: self.clock.clone(),
            queue: i.sync_queue.clone(),
            bus,
            connector: i.connector.clone(),
            budget,
            reconcile_weekday: chrono::Weekday::Sun,
            emit_metrics: false,
        }
    }

    /// Runs queued sync steps with `worker` until the sync queue is empty; returns the steps.
    pub async fn run_syncs(&self, worker: &iron_sync_worker::SyncWorker) -> usize {
        let queue = self.groups.integrations.sync_queue.clone();
        let mut steps = 0;
        loop {
            let got = queue
                .receive(1, std::time::Duration::from_secs(600), std::time::Duration::ZERO)
                .await
                .expect("receive");
            let Some(m) = got.into_iter().next() else { return steps };
            worker.handle_message(&m.body).await.expect("sync step");
            queue.delete(&m.receipt).await.expect("delete");
            steps += 1;
            assert!(steps < 100_000, "the sync queue never empties");
        }
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use iron_store::Clock;
        self.clock.now()
    }

    pub async fn key(&self, scope: &TenantScope, scopes: &[Scope], tier: RateTier) -> String {
        let new = NewKey::new("test", scopes.to_vec(), tier);
        platform::mint_key(TenantDb::new(self.store.as_ref(), scope), new, self.clock_now())
            .await
            .unwrap()
            .1
            .expose()
            .to_owned()
    }

    pub async fn send(&self, req: Request<Body>) -> Response {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), 10 * 1024 * 1024).await.unwrap();
        let body =
            serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        Response { status, headers, body }
    }

    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.send(Request::get(path).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap())
            .await
    }
}

/// Asserts a problem+json response with the status and a request id.
pub fn assert_problem(r: &Response, status: u16) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    assert_eq!(r.body["status"], status);
    assert!(r.body["requestId"].as_str().is_some_and(|id| id.starts_with("req_")), "{}", r.body);
    assert!(
        r.body["type"].as_str().is_some() && r.body["title"].as_str().is_some() && r.body["detail"].as_str().is_some()
    );
}

/// A fresh DynamoDB table on moto, on a clock at the tests' fixed time.
async fn moto_table() -> (Arc<dyn TableStore>, Arc<ManualClock>, aws_config::SdkConfig) {
    let clock = Arc::new(ManualClock::new(at("2026-11-22T10:00:30Z")));
    let config = iron_aws::emulator_config(&iron_aws::moto::endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = iron_aws::moto::unique_name("iron-api");
    iron_aws::DynamoTable::create_table(&client, &table).await.unwrap();
    let store: Arc<dyn TableStore> = Arc::new(iron_aws::DynamoTable::new(client, table, clock.clone()));
    (store, clock, config)
}

/// A test app over DynamoDB (moto), on a fresh table.
pub async fn moto_app() -> TestApp {
    let (store, clock, _) = moto_table().await;
    TestApp::with_store(store, clock)
}

/// A test app over DynamoDB and S3 (moto): job files in a fresh bucket, their links S3's own.
pub async fn moto_app_with_s3() -> TestApp {
    let (store, clock, config) = moto_table().await;
    let s3 = iron_aws::s3::client(&config, true);
    let bucket = iron_aws::moto::unique_name("iron-files").to_lowercase();
    iron_aws::S3Blobs::create_bucket(&s3, &bucket).await.unwrap();
    let blobs = Arc::new(iron_aws::S3Blobs::new(s3, bucket, clock.clone()));
    TestApp::with_state(store, clock, |mut g| {
        g.bulk.blobs = blobs;
        g.files = None;
        g
    })
}

/// A request builder with a key and a client address.
pub fn request(method: &str, path: &str, key: &str, ip: &str) -> axum::http::request::Builder {
    let addr = std::net::SocketAddr::new(ip.parse().unwrap(), 40000);
    Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {key}"))
        .extension(axum::extract::ConnectInfo(addr))
}

impl TestApp {
    pub async fn json(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: serde_json::Value,
        idem: Option<&str>,
    ) -> Response {
        let mut b = request(method, path, key, "198.51.100.1").header("content-type", "application/json");
        if let Some(k) = idem {
            b = b.header("idempotency-key", k);
        }
        self.send(b.body(Body::from(body.to_string())).unwrap()).await
    }

    pub async fn get_from(&self, path: &str, key: &str, ip: &str) -> Response {
        self.send(request("GET", path, key, ip).body(Body::empty()).unwrap()).await
    }
}
