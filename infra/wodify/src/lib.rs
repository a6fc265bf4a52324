//! A fake of Wodify's REST API, as `../shared/reference/wodify-api.md` §9 describes it: the real
//! paths under `/v1`, the `{<records>: […], pagination: {page, page_size, has_more}}` envelope,
//! the `q` search syntax and `sort`, `x-api-key` auth (`403 {"message":"Forbidden"}`), a token
//! bucket of 5 requests/s with bursts of 20 (`429`, no `Retry-After`), unknown routes answered
//! `403 {"message":"Missing Authentication Token"}`, unknown ids answered `200` with the
//! PascalCase error body — over a gym generated from a seed ([`gym`]).
//!
//! Switches for tests (`/_fake/…`, no key): faults (429 storms, 5xx bursts, slow responses,
//! error bodies with a 2xx status, routes a plan blocks, a real 404), edits "in the past",
//! and the counters that prove a client stayed under the limit.

pub mod gym;
pub mod query;

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use chrono::{Duration, NaiveDate, NaiveTime};
use gym::{Gym, GymSpec};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// The fault switches (`PUT /_fake/faults`). Counts are "the next n requests".
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Answer the next n requests `429` (a storm Wodify sends whatever the client's pace).
    pub throttle: u32,
    /// Answer the next n requests `503`.
    pub server_errors: u32,
    /// Delay the next n responses by `slow_ms`.
    pub slow: u32,
    pub slow_ms: u64,
    /// Answer the next n requests `200` with the PascalCase error body.
    pub error_bodies: u32,
    /// Path prefixes the gym's plan blocks (`/financials`): `403 {"message":"Forbidden"}`.
    pub blocked: Vec<String>,
    /// Unknown ids get a real `404` instead of `200` + error body.
    pub real_not_found: bool,
    /// The token bucket: requests per second and burst (`None`: no limit).
    pub rate_limit: Option<RateLimit>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

/// Wodify's documented limit.
pub const WODIFY_LIMIT: RateLimit = RateLimit { per_second: 5.0, burst: 20.0 };

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            throttle: 0,
            server_errors: 0,
            slow: 0,
            slow_ms: 0,
            error_bodies: 0,
            blocked: vec![],
            real_not_found: false,
            rate_limit: Some(WODIFY_LIMIT),
        }
    }
}

/// What the fake has seen (`GET /_fake/stats`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every request to `/v1`.
    pub requests: u64,
    /// Requests refused because the client went over the token bucket.
    pub over_limit: u64,
    /// 429s sent by the storm switch.
    pub injected_throttles: u64,
    pub injected_server_errors: u64,
    pub injected_error_bodies: u64,
    pub forbidden: u64,
    /// Requests per route template (`/clients/{id}`).
    pub by_route: BTreeMap<String, u64>,
    /// Seconds from the first request to the last.
    pub span_seconds: f64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

type CacheKey = (&'static str, String, String);

struct Inner {
    gym: RwLock<Gym>,
    spec: GymSpec,
    keys: RwLock<Vec<String>>,
    faults: Mutex<Faults>,
    stats: Mutex<(Stats, Option<Instant>)>,
    buckets: Mutex<HashMap<String, Bucket>>,
    /// The last searches' matches (resource, q, sort) → record indices, so paging a search does
    /// not filter the whole resource again for every page.
    cache: Mutex<Vec<(CacheKey, Arc<Vec<usize>>)>>,
}

/// A fake Wodify over one generated gym.
#[derive(Clone)]
pub struct FakeWodify {
    inner: Arc<Inner>,
}

/// A fake serving on a loopback port.
pub struct Running {
    pub fake: FakeWodify,
    pub addr: SocketAddr,
    pub task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// The base URL the connector is configured with (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }
}

impl FakeWodify {
    pub fn new(spec: GymSpec, keys: Vec<String>) -> FakeWodify {
        FakeWodify {
            inner: Arc::new(Inner {
                gym: RwLock::new(gym::generate(&spec)),
                spec,
                keys: RwLock::new(keys),
                faults: Mutex::new(Faults::default()),
                stats: Mutex::new((Stats::default(), None)),
                buckets: Mutex::new(HashMap::new()),
                cache: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Serves on 127.0.0.1:`port` (0: any free port).
    pub async fn spawn(self, port: u16) -> std::io::Result<Running> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let app = self.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Running { fake: self, addr, task })
    }

    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .route("/_fake/stats", get(stats).delete(reset_stats))
            .route("/_fake/faults", put(set_faults).get(get_faults))
            .route("/_fake/edit", post(edit))
            .fallback(api)
            .with_state(self.clone())
    }

    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.inner.faults) = faults;
    }
    pub fn faults(&self) -> Faults {
        lock(&self.inner.faults).clone()
    }
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut lock(&self.inner.faults));
    }
    pub fn stats(&self) -> Stats {
        lock(&self.inner.stats).0.clone()
    }
    pub fn reset_stats(&self) {
        *lock(&self.inner.stats) = (Stats::default(), None);
    }
    /// Replaces the keys the fake accepts (a rotated key).
    pub fn set_keys(&self, keys: Vec<String>) {
        *self.inner.keys.write().unwrap_or_else(|e| e.into_inner()) = keys;
    }
    /// A copy of the gym as it stands (tests compare the sync's result with it).
    pub fn gym(&self) -> Gym {
        self.inner.gym.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn today(&self) -> NaiveDate {
        self.inner.spec.today
    }

    /// Edits the gym "in the past": what a gym's staff does after a sync has read that day.
    /// `sign_ins`: a sign-in added `days_ago` days back; `invoices`: the latest paid invoice due
    /// on or before that day fully refunded (with its refund transaction); `clients`: an active
    /// client cancelled that day. Returns the record added or changed.
    pub fn edit(&self, resource: &str, days_ago: i64) -> Option<Value> {
        let today = self.inner.spec.today;
        let when = today - Duration::days(days_ago);
        let now = format!("{}T06:00:00Z", today.format("%Y-%m-%d"));
        let mut gym = self.inner.gym.write().unwrap_or_else(|e| e.into_inner());
        lock(&self.inner.cache).clear();
        gym.next_id += 1;
        let id = gym.next_id;
        match resource {
            "sign_ins" => {
                let client = gym.clients.iter().find(|c| c["client_status"] == "Active")?.clone();
                let mut record = gym
                    .sign_ins
                    .iter()
                    .rev()
                    .find(|s| s["client_id"] == client["id"])
                    .cloned()
                    .unwrap_or_else(|| gym.sign_ins.last().cloned().unwrap_or_default());
                let start = when.and_time(NaiveTime::from_hms_opt(17, 0, 0)?);
                record["id"] = json!(id);
                record["client_id"] = client["id"].clone();
                record["client"] =
                    json!(format!("{} {}", client["first_name"].as_str()?, client["last_name"].as_str()?));
                record["local_class_start_datetime"] = json!(gym::wall(start));
                record["utc_class_start_datetime"] = json!(gym::wall(start + Duration::hours(6)));
                record["sign_in_date_time"] = json!(gym::wall(start - Duration::minutes(10)));
                record["updated"] = json!({"updated_on_datetime": now});
                gym.sign_ins.push(record.clone());
                Some(record)
            }
            "invoices" => {
                let day = when.format("%Y-%m-%d").to_string();
                let pos = gym.invoices.iter().rposition(|i| {
                    i["invoice_header_status"] == "Paid"
                        && i["final_refunded_amount"].as_f64() == Some(0.0)
                        && i["payment_due"].as_str().is_some_and(|d| d <= day.as_str())
                })?;
                let charge = gym.invoices[pos]["final_charge"].as_f64()?;
                gym.invoices[pos]["final_refunded_amount"] = json!(-charge);
                gym.invoices[pos]["invoice_details"] =
                    json!([{"revenue_category": "Membership", "post_header_net_revenue": 0.0}]);
                gym.invoices[pos]["updated"] = json!({"updated_on_datetime": now});
                let invoice = gym.invoices[pos].clone();
                gym.transactions.push(json!({
                    "id": id, "client_id": invoice["client_id"], "invoice_id": invoice["id"],
                    "transaction_datetime": format!("{day}T10:00:00"), "amount": -charge,
                    "payment_method": "Credit Card", "transaction_type": "Refund", "status": "Succeeded",
                    "updated": {"updated_on_datetime": now},
                }));
                Some(invoice)
            }
            "clients" => {
                let pos = gym.clients.iter().position(|c| c["client_status"] == "Active")?;
                let client_id = gym.clients[pos]["id"].clone();
                let g = &mut *gym;
                for c in [&mut g.clients[pos], &mut g.client_details[pos]] {
                    c["client_status"] = json!("Inactive");
                    c["client_status_id"] = json!(2);
                }
                let at = format!("{}T18:30:00Z", when.format("%Y-%m-%d"));
                if let Some(h) = gym.client_details[pos]["status_history"].as_array_mut() {
                    h.push(json!({"from_status": "Active", "to_status": "Inactive", "status_change_datetime": at}));
                }
                let day = when.format("%Y-%m-%d").to_string();
                for list in [0, 1] {
                    let rows = if list == 0 { &mut gym.memberships } else { &mut gym.membership_details };
                    if let Some(m) = rows.iter_mut().rev().find(|m| m["client_id"] == client_id) {
                        m["end_date"] = json!(day);
                    }
                }
                Some(gym.client_details[pos].clone())
            }
            _ => None,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, Json(json!({"message": text}))).into_response()
}

/// Wodify's application error body (PascalCase), sent with `status`.
fn app_error(status: StatusCode, http_code: u16, code: &str, developer: &str) -> Response {
    (
        status,
        Json(json!({
            "HTTPCode": http_code,
            "ErrorCode": code,
            "DeveloperMessage": developer,
            "UserMessage": "The request could not be completed.",
            "MoreInfo": "https://docs.wodify.com",
        })),
    )
        .into_response()
}

/// A resource: its list key and which gym list holds it.
#[derive(Clone, Copy)]
enum Res {
    Clients,
    ClientDetails,
    Statuses,
    SignIns,
    Reservations,
    Classes,
    Programs,
    Locations,
    Memberships,
    MembershipDetails,
    Invoices,
    Transactions,
    Leads,
}

impl Res {
    fn key(self) -> &'static str {
        match self {
            Res::Clients | Res::ClientDetails => "clients",
            Res::Statuses => "statuses",
            Res::SignIns => "class_sign_ins",
            Res::Reservations => "class_reservations",
            Res::Classes => "classes",
            Res::Programs => "programs",
            Res::Locations => "locations",
            Res::Memberships | Res::MembershipDetails => "memberships",
            Res::Invoices => "invoices",
            Res::Transactions => "transactions",
            Res::Leads => "leads",
        }
    }
    fn records(self, gym: &Gym) -> &[Value] {
        match self {
            Res::Clients => &gym.clients,
            Res::ClientDetails => &gym.client_details,
            Res::Statuses => &gym.statuses,
            Res::SignIns => &gym.sign_ins,
            Res::Reservations => &[],
            Res::Classes => &gym.classes,
            Res::Programs => &gym.programs,
            Res::Locations => &gym.locations,
            Res::Memberships => &gym.memberships,
            Res::MembershipDetails => &gym.membership_details,
            Res::Invoices => &gym.invoices,
            Res::Transactions => &gym.transactions,
            Res::Leads => &gym.leads,
        }
    }
    /// The singular wrapper some detail responses use (`{"client": {…}}`).
    fn singular(self) -> &'static str {
        match self {
            Res::ClientDetails => "client",
            Res::MembershipDetails => "membership",
            Res::Invoices => "invoice",
            Res::Classes => "class",
            Res::Leads => "lead",
            _ => "record",
        }
    }
}

enum Route {
    List(Res, &'static str),
    Search(Res, &'static str),
    Detail(Res, u64, &'static str),
    OfClient(u64),
}

fn route(path: &str) -> Option<Route> {
    let p: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let id = |s: &str| s.parse::<u64>().ok();
    use Res::*;
    Some(match p.as_slice() {
        ["", "v1", "clients"] => Route::List(Clients, "/clients"),
        ["", "v1", "clients", "search"] => Route::Search(Clients, "/clients/search"),
        ["", "v1", "clients", "statuses"] => Route::List(Statuses, "/clients/statuses"),
        ["", "v1", "clients", n] => Route::Detail(ClientDetails, id(n)?, "/clients/{id}"),
        ["", "v1", "clients", n, "classes", "sign-ins"] => Route::OfClient(id(n)?),
        ["", "v1", "classes", "sign-ins", "clients"] => Route::List(SignIns, "/classes/sign-ins/clients"),
        ["", "v1", "classes", "sign-ins", "clients", "search"] => {
            Route::Search(SignIns, "/classes/sign-ins/clients/search")
        }
        ["", "v1", "classes", "reservations", "clients", "search"] => {
            Route::Search(Reservations, "/classes/reservations/clients/search")
        }
        ["", "v1", "classes"] => Route::List(Classes, "/classes"),
        ["", "v1", "classes", "search"] => Route::Search(Classes, "/classes/search"),
        ["", "v1", "classes", n] => Route::Detail(Classes, id(n)?, "/classes/{id}"),
        ["", "v1", "programs"] => Route::List(Programs, "/programs"),
        ["", "v1", "customers", "locations"] => Route::List(Locations, "/customers/locations"),
        ["", "v1", "memberships"] => Route::List(Memberships, "/memberships"),
        ["", "v1", "memberships", "search"] => Route::Search(Memberships, "/memberships/search"),
        ["", "v1", "memberships", n] => Route::Detail(MembershipDetails, id(n)?, "/memberships/{id}"),
        ["", "v1", "financials", "invoices", "search"] => Route::Search(Invoices, "/financials/invoices/search"),
        ["", "v1", "financials", "invoices", n] => Route::Detail(Invoices, id(n)?, "/financials/invoices/{id}"),
        ["", "v1", "financials", "transactions"] => Route::List(Transactions, "/financials/transactions"),
        ["", "v1", "financials", "transactions", "search"] => {
            Route::Search(Transactions, "/financials/transactions/search")
        }
        ["", "v1", "leads"] => Route::List(Leads, "/leads"),
        ["", "v1", "leads", "search"] => Route::Search(Leads, "/leads/search"),
        ["", "v1", "leads", n] => Route::Detail(Leads, id(n)?, "/leads/{id}"),
        _ => return None,
    })
}

fn template(r: &Route) -> &'static str {
    match r {
        Route::List(_, t) | Route::Search(_, t) | Route::Detail(_, _, t) => t,
        Route::OfClient(_) => "/clients/{id}/classes/sign-ins",
    }
}

fn known_fields(records: &[Value]) -> Vec<String> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        if let Some(map) = v.as_object() {
            for (k, v) in map {
                let name = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                walk(&name, v, out);
                out.push(name);
            }
        }
    }
    let mut out = vec!["id".to_string()];
    for r in records.iter().take(3) {
        walk("", r, &mut out);
    }
    out.sort();
    out.dedup();
    out
}

fn id_of(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

async fn api(
    State(fake): State<FakeWodify>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let inner = &fake.inner;
    let route = route(uri.path()).filter(|_| method == Method::GET);
    {
        let mut s = lock(&inner.stats);
        let first = *s.1.get_or_insert_with(Instant::now);
        s.0.requests += 1;
        s.0.span_seconds = first.elapsed().as_secs_f64();
        *s.0.by_route.entry(route.as_ref().map_or("(unknown)", template).to_string()).or_default() += 1;
    }
    let Some(route) = route else {
        return message(StatusCode::FORBIDDEN, "Missing Authentication Token");
    };
    let key = headers.get("x-api-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if key.is_empty() || !inner.keys.read().unwrap_or_else(|e| e.into_inner()).contains(&key) {
        lock(&inner.stats).0.forbidden += 1;
        return message(StatusCode::FORBIDDEN, "Forbidden");
    }
    let faults = fake.faults();
    // The bucket counts every request that arrives, as an API gateway does.
    if let Some(limit) = faults.rate_limit {
        let mut buckets = lock(&inner.buckets);
        let now = Instant::now();
        let b = buckets.entry(key.clone()).or_insert(Bucket { tokens: limit.burst, at: now });
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * limit.per_second).min(limit.burst);
        b.at = now;
        if b.tokens < 1.0 {
            drop(buckets);
            lock(&inner.stats).0.over_limit += 1;
            return message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        }
        b.tokens -= 1.0;
    }
    let mut slow = None;
    {
        let mut f = lock(&inner.faults);
        if f.throttle > 0 {
            f.throttle -= 1;
            drop(f);
            lock(&inner.stats).0.injected_throttles += 1;
            return message(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        }
        if f.server_errors > 0 {
            f.server_errors -= 1;
            drop(f);
            lock(&inner.stats).0.injected_server_errors += 1;
            return message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
        }
        if f.error_bodies > 0 {
            f.error_bodies -= 1;
            drop(f);
            lock(&inner.stats).0.injected_error_bodies += 1;
            return app_error(
                StatusCode::OK,
                500,
                "InternalError",
                "An unexpected error occurred while processing the request.",
            );
        }
        if f.slow > 0 {
            f.slow -= 1;
            slow = Some(std::time::Duration::from_millis(f.slow_ms));
        }
    }
    if let Some(d) = slow {
        tokio::time::sleep(d).await;
    }
    let path = uri.path().trim_start_matches("/v1");
    if faults.blocked.iter().any(|b| path.starts_with(b.as_str())) {
        lock(&inner.stats).0.forbidden += 1;
        return message(StatusCode::FORBIDDEN, "Forbidden");
    }
    let gym = inner.gym.read().unwrap_or_else(|e| e.into_inner());
    match route {
        Route::Detail(res, id, _) => {
            let record = res.records(&gym).iter().find(|r| id_of(&r["id"]) == Some(id));
            match record {
                // Every third client detail comes wrapped, the rest bare: both shapes are real.
                Some(r) if matches!(res, Res::ClientDetails) && id % 3 == 0 => {
                    Json(json!({res.singular(): r})).into_response()
                }
                Some(r) => Json(r.clone()).into_response(),
                None if faults.real_not_found => {
                    app_error(StatusCode::NOT_FOUND, 404, "NotFound", "The requested record does not exist.")
                }
                None => app_error(StatusCode::OK, 404, "NotFound", "The requested record does not exist."),
            }
        }
        Route::OfClient(id) => {
            let clauses =
                vec![query::Clause { field: "client_id".into(), op: query::Op::Eq(query::Operand::Number(id as f64)) }];
            page(&fake, &gym, Res::SignIns, &clauses, &params, format!("client_id|eq|{id}"))
        }
        Route::List(res, _) => page(&fake, &gym, res, &[], &params, String::new()),
        Route::Search(res, _) => {
            let Some(q) = params.get("q") else {
                return app_error(StatusCode::BAD_REQUEST, 400, "MissingParameter", "The q parameter is required.");
            };
            let fields = known_fields(res.records(&gym));
            match query::parse(q, &|f| fields.iter().any(|k| k == f)) {
                Ok(clauses) => page(&fake, &gym, res, &clauses, &params, q.clone()),
                Err(e) => app_error(StatusCode::BAD_REQUEST, 400, "InvalidSearch", &e.0),
            }
        }
    }
}

fn page(
    fake: &FakeWodify,
    gym: &Gym,
    res: Res,
    clauses: &[query::Clause],
    params: &HashMap<String, String>,
    q: String,
) -> Response {
    let records = res.records(gym);
    let page_no = params.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let size = params.get("page_size").and_then(|p| p.parse::<usize>().ok()).unwrap_or(100).clamp(1, 100);
    let sort = params.get("sort").cloned().unwrap_or_else(|| "id".into());
    let key: CacheKey = (res.key(), q, sort.clone());
    let cached = lock(&fake.inner.cache).iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone());
    let matches = match cached {
        Some(m) => m,
        None => {
            let mut idx: Vec<usize> = (0..records.len()).filter(|&i| query::matches(&records[i], clauses)).collect();
            let (by, desc) = query::sort_of(&sort);
            query::order(records, &mut idx, by, desc);
            let idx = Arc::new(idx);
            let mut cache = lock(&fake.inner.cache);
            cache.insert(0, (key, idx.clone()));
            cache.truncate(8);
            idx
        }
    };
    let start = (page_no - 1).saturating_mul(size);
    let slice: Vec<&Value> = matches.iter().skip(start).take(size).filter_map(|i| records.get(*i)).collect();
    let has_more = start.saturating_add(size) < matches.len();
    let body = json!({
        res.key(): slice,
        "pagination": {"page": page_no, "page_size": size, "has_more": has_more},
    });
    (StatusCode::OK, [("content-type", "application/json")], Body::from(body.to_string())).into_response()
}

async fn stats(State(fake): State<FakeWodify>) -> Json<Stats> {
    Json(fake.stats())
}
async fn reset_stats(State(fake): State<FakeWodify>) -> StatusCode {
    fake.reset_stats();
    StatusCode::NO_CONTENT
}
async fn set_faults(State(fake): State<FakeWodify>, Json(faults): Json<Faults>) -> Json<Faults> {
    fake.set_faults(faults.clone());
    Json(faults)
}
async fn get_faults(State(fake): State<FakeWodify>) -> Json<Faults> {
    Json(fake.faults())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EditIn {
    resource: String,
    days_ago: i64,
}
async fn edit(State(fake): State<FakeWodify>, Json(e): Json<EditIn>) -> Response {
    match fake.edit(&e.resource, e.days_ago) {
        Some(v) => Json(v).into_response(),
        None => {
            message(StatusCode::UNPROCESSABLE_ENTITY, "resource is sign_ins, invoices or clients, and one must match")
        }
    }
}
