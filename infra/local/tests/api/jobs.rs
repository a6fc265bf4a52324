//! Import and export jobs through the whole API, run by the jobs worker: spreadsheet dialects
//! and column mappings, dry runs, the error report, uploads through a link, a run killed
//! mid-way resuming to the same result, cancel, an export job with its download link (and the
//! link refused once expired), the round trip export → import → export, and tenancy. On the
//! embedded adapters, and on DynamoDB + S3 (moto).

use axum::body::Body;
use iron_domain::{RateTier, Scope};
use iron_store::repo::platform;
use iron_store::{Index, Query, TableStore, TenantScope};
use iron_testing::{TestApp, assert_problem, request};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const V1: &str = "/api/external/v1";

async fn business(app: &TestApp, name: &str) -> (TenantScope, String) {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), name, "Europe/Madrid", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Unlimited).await;
    (scope.tenant().clone(), key)
}

async fn post_file(
    app: &TestApp,
    key: &str,
    query: &str,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> iron_testing::Response {
    let req = request("POST", &format!("{V1}/imports?{query}"), key, "198.51.100.1")
        .header("content-type", content_type)
        .body(Body::from(body.into()))
        .unwrap();
    app.send(req).await
}

/// Fetches (or PUTs to) a file link as a client would: S3's through HTTP, the local store's
/// through the router that serves them.
async fn link(app: &TestApp, method: &str, url: &str, body: Option<Vec<u8>>) -> (u16, String) {
    if let Some(path) = url.strip_prefix("http://iron.test") {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let r = app.send(req).await;
        let text = match r.body {
            Value::String(s) => s,
            other => other.to_string(),
        };
        return (r.status.as_u16(), text);
    }
    let http = reqwest::Client::new();
    let mut req = if method == "PUT" { http.put(url) } else { http.get(url) };
    if let Some(b) = body {
        req = req.header("content-type", "text/csv").body(b);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn count(app: &TestApp, scope: &TenantScope, partition: &str, event_type: Option<&str>) -> usize {
    let mut n = 0;
    let mut cursor = None;
    loop {
        let page = app
            .store
            .query(
                Query::new(Index::Table, format!("BIZ#{}#{partition}", scope.business_id())).limit(500).after(cursor),
            )
            .await
            .unwrap();
        n += page.items.iter().filter(|e| event_type.is_none_or(|t| e.get("type") == Some(&json!(t)))).count();
        cursor = page.next;
        if cursor.is_none() {
            return n;
        }
    }
}

/// A spreadsheet as a Spanish gym's software exports it: BOM, `;`, CRLF, its own headers, a
/// quoted note over two lines, and rows with problems.
fn spreadsheet() -> Vec<u8> {
    let mut s = String::from("\u{feff}Nombre;Apellidos;E-mail;Socio nº;Teléfono;Notas\r\n");
    s.push_str("Åsa;Öberg;asa@example.com;S-1;+34600000001;\"primera línea\r\nsegunda línea\"\r\n");
    s.push_str("Luis;Pérez;luis@example.com;S-2;;\r\n");
    s.push_str("Ana;;ana@example.com;S-3;;\r\n"); // no last name
    s.push_str("Bea;Ruiz;ASA@Example.com ;S-4;;\r\n"); // Åsa's email again
    s.push_str("Carla;Soto;not-an-email;S-5;;\r\n");
    s.push_str("Dani;Vega;dani@example.com;S-6;;\r\n");
    s.into_bytes()
}

async fn import_spreadsheet(app: TestApp) {
    let (scope, key) = business(&app, "Box Madrid").await;
    let mapping = urlencode(r#"{"Socio nº":"externalId"}"#);
    // A dry run first: what would happen, nothing written.
    let dry =
        post_file(&app, &key, &format!("type=athletes&dryRun=true&mapping={mapping}"), "text/csv", spreadsheet()).await;
    assert_eq!(dry.status, 202, "{}", dry.body);
    assert_eq!(dry.body["status"], "queued");
    assert!(dry.headers["location"].to_str().unwrap().ends_with(dry.body["id"].as_str().unwrap()));
    app.run_jobs().await;
    let dry = app.get(&format!("{V1}/imports/{}", dry.body["id"].as_str().unwrap()), &key).await;
    assert_eq!(dry.body["status"], "succeeded", "{}", dry.body);
    assert_eq!(dry.body["counts"], json!({"created": 3, "updated": 0, "unchanged": 0, "refused": 3}));
    assert_eq!(count(&app, &scope, "ATHLETE", None).await, 0, "a dry run writes nothing");

    let job =
        post_file(&app, &key, &format!("type=athletes&mapping={mapping}"), "text/csv; charset=utf-8", spreadsheet())
            .await;
    assert_eq!(job.status, 202, "{}", job.body);
    let id = job.body["id"].as_str().unwrap().to_owned();
    app.run_jobs().await;
    let job = app.get(&format!("{V1}/imports/{id}"), &key).await;
    let b = &job.body;
    assert_eq!(b["status"], "succeeded", "{b}");
    assert_eq!(b["counts"], json!({"created": 3, "updated": 0, "unchanged": 0, "refused": 3}));
    assert_eq!(b["progress"], json!({"rowsDone": 6, "totalRows": 6, "percent": 100}));
    assert_eq!(b["ignoredColumns"], json!(["Notas"]));
    // Rows as the spreadsheet numbers them (the header is row 1; the note spans two lines of
    // row 2 but is one row).
    let first: Vec<(u64, &str, &str)> = b["firstErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        first,
        vec![(4, "/lastName", "required"), (5, "/email", "duplicate_in_batch"), (6, "/email", "invalid")]
    );
    let athletes =
        app.get(&format!("{V1}/export/athletes?format=json&fields=externalId,firstName,lastName,phone"), &key).await;
    assert_eq!(
        athletes.body,
        json!([
            {"externalId": "S-1", "firstName": "Åsa", "lastName": "Öberg", "phone": "+34600000001"},
            {"externalId": "S-2", "firstName": "Luis", "lastName": "Pérez", "phone": null},
            {"externalId": "S-6", "firstName": "Dani", "lastName": "Vega", "phone": null},
        ]),
        "ids follow the rows' order"
    );
    assert_eq!(count(&app, &scope, "EVENT", Some("member.created")).await, 3);
    // The error report: every refused row.
    let report = b["errorReport"]["url"].as_str().unwrap();
    let (status, csv) = link(&app, "GET", report, None).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.starts_with("row,field,code,message\r\n4,/lastName,required,"), "{csv}");
    assert_eq!(csv.lines().count(), 4, "{csv}");
    // The same file again with updateExisting: the good rows match and change nothing.
    app.clock.advance(chrono::Duration::seconds(1));
    let again = post_file(
        &app,
        &key,
        &format!("type=athletes&updateExisting=true&mapping={mapping}"),
        "text/csv",
        spreadsheet(),
    )
    .await;
    app.run_jobs().await;
    let again = app.get(&format!("{V1}/imports/{}", again.body["id"].as_str().unwrap()), &key).await;
    assert_eq!(again.body["counts"]["unchanged"], 3, "{}", again.body);
    assert_eq!(again.body["counts"]["created"], 0);
    // Listing, newest first.
    let list = app.get(&format!("{V1}/imports?limit=2"), &key).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(list.body["data"][0]["id"], again.body["id"]);
    assert_eq!(list.body["hasMore"], true);
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn tests_from_json_lines(app: TestApp) {
    let (_, key) = business(&app, "Box").await;
    let made = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Eva", "lastName": "Gil", "externalId": "E-1"}),
            None,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let row = |t: &str| {
        json!({"athleteExternalId": "E-1", "testType": "row_2k", "performedAt": t,
               "stages": [{"number": 1, "durationS": 445, "distanceM": 2000}]})
        .to_string()
    };
    let file = [
        row("2026-11-01T10:00:00Z"),
        "not json".into(),
        row("2026-11-01T10:00:00Z"),
        String::new(),
        row("2026-11-02T10:00:00Z"),
    ]
    .join("\n");
    let job = post_file(&app, &key, "type=tests", "application/x-ndjson", file).await;
    assert_eq!(job.status, 202, "{}", job.body);
    app.run_jobs().await;
    let job = app.get(&format!("{V1}/imports/{}", job.body["id"].as_str().unwrap()), &key).await;
    assert_eq!(job.body["counts"], json!({"created": 2, "updated": 0, "unchanged": 0, "refused": 2}), "{}", job.body);
    let codes: Vec<(u64, &str)> = job.body["firstErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["row"].as_u64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, vec![(2, "invalid"), (3, "duplicate_in_batch")], "records numbered from 1, blank lines skipped");
    // A retried upload with its Idempotency-Key is the same job, not a second one.
    let send = || async {
        let req = request("POST", &format!("{V1}/imports?type=tests&dryRun=true"), &key, "198.51.100.1")
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", "tests-2026-11-01")
            .body(Body::from(row("2026-11-03T10:00:00Z")))
            .unwrap();
        app.send(req).await
    };
    let (first, retry) = (send().await, send().await);
    assert_eq!(first.status, 202, "{}", first.body);
    assert_eq!(retry.body["id"], first.body["id"]);
    assert_eq!(app.run_jobs().await, 1, "one job queued");
}

async fn upload_through_a_link(app: TestApp) {
    let (_, key) = business(&app, "Box").await;
    let created = post_file(&app, &key, "type=athletes&format=csv&upload=url", "text/csv", Vec::new()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["status"], "awaiting_upload");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let start = format!("{V1}/imports/{id}/start");
    // Nothing uploaded yet.
    let early = app.json("POST", &start, &key, json!({}), None).await;
    assert_problem(&early, 409);
    let upload = &created.body["upload"];
    assert_eq!(upload["method"], "PUT");
    let file = "email,firstName,lastName\r\nzoe@example.com,Zoë,Ibáñez\r\n".as_bytes().to_vec();
    let (status, text) = link(&app, "PUT", upload["url"].as_str().unwrap(), Some(file)).await;
    assert_eq!(status, 200, "{text}");
    let started = app.json("POST", &start, &key, json!({}), None).await;
    assert_eq!(started.status, 202, "{}", started.body);
    app.run_jobs().await;
    let done = app.get(&format!("{V1}/imports/{id}"), &key).await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert_eq!(done.body["counts"]["created"], 1);
    assert_eq!(done.body["errorReport"], Value::Null, "no refused rows, no report");
    let again = app.json("POST", &start, &key, json!({}), None).await;
    assert_problem(&again, 409);
}

async fn cancel_and_tenancy(app: TestApp) {
    let (_, key) = business(&app, "Box A").await;
    let (_, other) = business(&app, "Box B").await;
    let rows: String = (0..500).map(|i| format!("m{i}@example.com,Member,{i}\r\n")).collect();
    let job = post_file(&app, &key, "type=athletes", "text/csv", format!("email,firstName,lastName\r\n{rows}")).await;
    let id = job.body["id"].as_str().unwrap().to_owned();
    // A run whose budget is spent at once: it still does one chunk (every run makes progress).
    let worker = app.jobs_worker(std::time::Duration::ZERO);
    let queue = app.groups.bulk.jobs.clone();
    let m = queue.receive(1, std::time::Duration::from_secs(60), std::time::Duration::ZERO).await.unwrap().remove(0);
    worker.handle_message(&m.body).await.unwrap();
    queue.delete(&m.receipt).await.unwrap();
    let running = app.get(&format!("{V1}/imports/{id}"), &key).await;
    assert_eq!(running.body["status"], "running", "{}", running.body);
    assert_eq!(running.body["progress"]["totalRows"], 500);
    assert_eq!(running.body["progress"]["rowsDone"], 200, "one chunk");
    // Another business sees nothing of it.
    assert_problem(&app.get(&format!("{V1}/imports/{id}"), &other).await, 404);
    assert_eq!(app.get(&format!("{V1}/imports"), &other).await.body["data"], json!([]));
    let del = request("DELETE", &format!("{V1}/imports/{id}"), &other, "198.51.100.1").body(Body::empty()).unwrap();
    assert_problem(&app.send(del).await, 404);
    // Cancel: the continuation finds it cancelled and stops.
    let del = request("DELETE", &format!("{V1}/imports/{id}"), &key, "198.51.100.1").body(Body::empty()).unwrap();
    let cancelled = app.send(del).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    app.run_jobs().await;
    let after = app.get(&format!("{V1}/imports/{id}"), &key).await;
    assert_eq!(after.body["status"], "cancelled");
    assert_eq!(after.body["counts"]["created"], 200, "the chunk before the cancel, nothing after");
    assert_eq!(after.body["progress"]["rowsDone"], 200);
    let del = request("DELETE", &format!("{V1}/imports/{id}"), &key, "198.51.100.1").body(Body::empty()).unwrap();
    assert_problem(&app.send(del).await, 409);
    // A key without `write:athletes` may not import athletes.
    let (_, scope_b) = platform::create_business(app.store.as_ref(), "Box C", "UTC", app.clock_now()).await.unwrap();
    let reader = app.key(&scope_b, &[Scope::ReadAthletes], RateTier::Unlimited).await;
    assert_problem(&post_file(&app, &reader, "type=athletes", "text/csv", "email\r\n").await, 403);
    assert_problem(&post_file(&app, &key, "type=members", "text/csv", "email\r\n").await, 400);
    assert_problem(&post_file(&app, &key, "type=athletes", "application/pdf", "%PDF").await, 415);
    // No body: the file comes through a link.
    let later = post_file(&app, &key, "type=athletes", "text/csv", "").await;
    assert_eq!((later.status.as_u16(), later.body["status"].as_str()), (201, Some("awaiting_upload")));
    assert_problem(&post_file(&app, &key, "type=athletes&upload=url", "text/csv", "email\r\n").await, 422);
    assert_problem(&post_file(&app, &key, "type=athletes&mapping=%7Bnope", "text/csv", "a\r\n").await, 400);
    // A mapping naming a column the file lacks fails the job, saying so.
    let bad = post_file(
        &app,
        &key,
        &format!("type=athletes&mapping={}", urlencode(r#"{"Mail":"email"}"#)),
        "text/csv",
        "E-mail\r\nx@example.com\r\n",
    )
    .await;
    app.run_jobs().await;
    let bad = app.get(&format!("{V1}/imports/{}", bad.body["id"].as_str().unwrap()), &key).await;
    assert_eq!(bad.body["status"], "failed");
    assert!(bad.body["failure"].as_str().unwrap().contains("`Mail`"), "{}", bad.body);
}

/// A table store that fails every transaction after the first `ok` (a worker dying mid-run).
struct Dying {
    inner: Arc<dyn TableStore>,
    left: AtomicUsize,
}

#[async_trait::async_trait]
impl TableStore for Dying {
    async fn get(&self, key: &iron_store::Key) -> iron_store::table::StoreResult<Option<iron_store::Item>> {
        self.inner.get(key).await
    }
    async fn put(&self, item: iron_store::Item, c: iron_store::Condition) -> iron_store::table::StoreResult<()> {
        self.inner.put(item, c).await
    }
    async fn delete(&self, key: &iron_store::Key, c: iron_store::Condition) -> iron_store::table::StoreResult<()> {
        self.inner.delete(key, c).await
    }
    async fn increment(
        &self,
        key: &iron_store::Key,
        attr: &str,
        by: i64,
        max: Option<i64>,
        ttl: Option<i64>,
    ) -> iron_store::table::StoreResult<i64> {
        self.inner.increment(key, attr, by, max, ttl).await
    }
    async fn query(&self, q: Query) -> iron_store::table::StoreResult<iron_store::Page> {
        self.inner.query(q).await
    }
    async fn transact(&self, ops: Vec<iron_store::TxOp>) -> iron_store::table::StoreResult<()> {
        if self.left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return Err(iron_store::StoreError::Backend("the process died".into()));
        }
        self.inner.transact(ops).await
    }
}

/// The same file imported in one run into one business, and in runs killed after a few
/// transactions each into another: the same counts, athletes, errors and events.
async fn a_killed_run_resumes_to_the_same_result(app: TestApp, n: usize) {
    let (a, key_a) = business(&app, "Uninterrupted").await;
    let (b, key_b) = business(&app, "Killed").await;
    let mut file = String::from("email,firstName,lastName,Member #\r\n");
    for i in 0..n {
        let email = if i % 97 == 5 { "dup@example.com".to_owned() } else { format!("m{i}@example.com") };
        let last = if i % 50 == 7 { String::new() } else { format!("N{i}") };
        file.push_str(&format!("{email},Member,{last},X-{i}\r\n"));
    }
    let job_a = post_file(&app, &key_a, "type=athletes", "text/csv", file.clone()).await;
    let job_b = post_file(&app, &key_b, "type=athletes", "text/csv", file).await;
    let queue = app.groups.bulk.jobs.clone();
    let mut messages = queue.receive(2, std::time::Duration::from_secs(600), std::time::Duration::ZERO).await.unwrap();
    messages.sort_by_key(|m| !m.body.contains(job_a.body["id"].as_str().unwrap()));
    app.jobs_worker(std::time::Duration::from_secs(600)).handle_message(&messages[0].body).await.unwrap();
    // B: die after 1 transaction, then again after 2, then run to the end.
    let mut kills = 0;
    for left in [1usize, 2, usize::MAX] {
        let dying = Arc::new(Dying { inner: app.store.clone(), left: AtomicUsize::new(left) });
        let worker = iron_jobs_worker::Worker { store: dying, ..app.jobs_worker(std::time::Duration::from_secs(600)) };
        if let Err(e) = worker.handle_message(&messages[1].body).await {
            assert!(e.contains("the process died"), "{e}");
            kills += 1;
        }
    }
    assert_eq!(kills, 2);
    // A run failing on a message's last receive fails the job rather than leave it running.
    let (_, key_c) = business(&app, "Broken").await;
    let job_c =
        post_file(&app, &key_c, "type=athletes", "text/csv", "email,firstName,lastName\r\nz@example.com,Z,Y\r\n").await;
    let m = queue.receive(1, std::time::Duration::from_secs(600), std::time::Duration::ZERO).await.unwrap().remove(0);
    let broken = iron_jobs_worker::Worker {
        store: Arc::new(Dying { inner: app.store.clone(), left: AtomicUsize::new(0) }),
        ..app.jobs_worker(std::time::Duration::from_secs(600))
    };
    assert!(broken.handle_receive(&m.body, 4).await.is_err(), "before the last receive it comes back");
    broken.handle_receive(&m.body, iron_jobs_worker::LAST_RECEIVE).await.unwrap();
    let failed = app.get(&format!("{V1}/imports/{}", job_c.body["id"].as_str().unwrap()), &key_c).await;
    assert_eq!(failed.body["status"], "failed", "{}", failed.body);
    assert!(failed.body["failure"].as_str().unwrap().contains("5 attempts"), "{}", failed.body);
    let get = |key: &str, job: &Value| {
        let path = format!("{V1}/imports/{}", job["id"].as_str().unwrap());
        let key = key.to_owned();
        let app = &app;
        async move { app.get(&path, &key).await.body }
    };
    let (done_a, done_b) = (get(&key_a, &job_a.body).await, get(&key_b, &job_b.body).await);
    assert_eq!(done_a["status"], "succeeded");
    assert_eq!(done_b["status"], "succeeded", "{done_b}");
    assert_eq!(done_a["counts"], done_b["counts"]);
    assert_eq!(done_a["firstErrors"], done_b["firstErrors"]);
    let refused = (0..n).filter(|i| i % 97 == 5).count().saturating_sub(1) + (0..n).filter(|i| i % 50 == 7).count();
    assert_eq!(done_a["counts"]["refused"].as_u64().unwrap() as usize, refused, "{}", done_a["counts"]);
    let fields = "externalId,email,firstName,lastName";
    let export_a = app.get(&format!("{V1}/export/athletes?fields={fields}"), &key_a).await;
    let export_b = app.get(&format!("{V1}/export/athletes?fields={fields}"), &key_b).await;
    assert_eq!(export_a.body, export_b.body);
    assert_eq!(count(&app, &a, "EVENT", Some("member.created")).await, n - refused);
    assert_eq!(count(&app, &b, "EVENT", Some("member.created")).await, n - refused, "no event twice");
    let (_, report_a) = link(&app, "GET", done_a["errorReport"]["url"].as_str().unwrap(), None).await;
    let (_, report_b) = link(&app, "GET", done_b["errorReport"]["url"].as_str().unwrap(), None).await;
    assert_eq!(report_a, report_b);
}

/// An export job writes the file and links to it; the link expires. Then the round trip: the
/// export imported into a fresh business exports byte for byte the same.
async fn export_job_and_round_trip(app: TestApp, n: usize) {
    let (_, key) = business(&app, "Source").await;
    let rows: Vec<Value> = (0..n)
        .map(|i| {
            json!({"firstName": if i % 3 == 0 { "Åsa" } else { "José María" }, "lastName": format!("Öberg, \"{i}\""),
                   "email": format!("p{i}@example.com"), "externalId": format!("CRM-{i:05}"),
                   "birthDate": "1990-05-17", "sex": "female", "joinedOn": "2024-01-15"})
        })
        .collect();
    for chunk in rows.chunks(1000) {
        let r = app.json("POST", &format!("{V1}/athletes/bulk"), &key, json!({"athletes": chunk}), None).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let fields = "externalId,firstName,lastName,email,phone,birthDate,sex,status,joinedOn";
    let made =
        app.json("POST", &format!("{V1}/exports/athletes?format=csv&fields={fields}"), &key, json!({}), None).await;
    assert_eq!(made.status, 202, "{}", made.body);
    assert_eq!(made.body["download"], Value::Null);
    app.run_jobs().await;
    let path = format!("{V1}/exports/{}", made.body["id"].as_str().unwrap());
    let done = app.get(&path, &key).await;
    assert_eq!(done.body["status"], "succeeded", "{}", done.body);
    assert_eq!(done.body["rowsWritten"], n);
    let url = done.body["download"]["url"].as_str().unwrap().to_owned();
    let (status, first) = link(&app, "GET", &url, None).await;
    assert_eq!(status, 200);
    assert_eq!(first.len() as u64, done.body["bytesWritten"].as_u64().unwrap());
    let inline = app.get(&format!("{V1}/export/athletes?format=csv&fields={fields}"), &key).await;
    assert_eq!(Value::String(first.clone()), inline.body, "the job's file is the inline export");
    // Another business's key can't read the job; the link is bound to its file.
    let (_, other) = business(&app, "Elsewhere").await;
    assert_problem(&app.get(&path, &other).await, 404);
    let tampered = url.replace(made.body["id"].as_str().unwrap(), "exp_01JC0000000000000000000000");
    assert_ne!(link(&app, "GET", &tampered, None).await.0, 200);

    // Round trip into a fresh business.
    let (_, fresh) = business(&app, "Destination").await;
    let import = post_file(&app, &fresh, "type=athletes", "text/csv", first.clone()).await;
    assert_eq!(import.status, 202, "{}", import.body);
    app.run_jobs().await;
    let imported = app.get(&format!("{V1}/imports/{}", import.body["id"].as_str().unwrap()), &fresh).await;
    assert_eq!(imported.body["counts"]["created"], n, "{}", imported.body);
    let again = app.get(&format!("{V1}/export/athletes?format=csv&fields={fields}"), &fresh).await;
    assert_eq!(again.body, Value::String(first), "export → import → export is byte-identical");

    if url.starts_with("http://iron.test") {
        // The local link expires as S3's do: refused after its hour.
        app.clock.advance(chrono::Duration::minutes(61));
        let (status, body) = link(&app, "GET", &url, None).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("expired"), "{body}");
    }
}

/// Two rows that match one stored athlete, one by email and one by external id, update it once:
/// the second is a duplicate of the first (not a second write of one item in a transaction).
#[tokio::test]
async fn two_rows_matching_one_athlete_update_it_once() {
    let app = TestApp::new();
    let (_, key) = business(&app, "Box").await;
    let made = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Eva", "lastName": "Gil", "email": "eva@example.com", "externalId": "E-1"}),
            None,
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let rows = json!({"athletes": [
        {"email": "eva@example.com", "phone": "+34600000001"},
        {"externalId": "E-1", "email": "other@example.com", "firstName": "Evita"}
    ], "options": {"updateExisting": true}});
    let r = app.json("POST", &format!("{V1}/athletes/bulk"), &key, rows, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!((r.body["updated"].as_u64(), r.body["refused"].as_u64()), (Some(1), Some(1)), "{}", r.body);
    assert_eq!(r.body["errors"][0]["code"], "duplicate_in_batch");
}

/// The sample SQS event (`events/sqs-job.json`) through the worker's event handler, as the
/// jobs Lambda gets it.
#[tokio::test]
async fn the_sample_sqs_event_runs_a_job() {
    let app = TestApp::new();
    let (scope, key) = business(&app, "Box").await;
    let job =
        post_file(&app, &key, "type=athletes", "text/csv", "email,firstName,lastName\r\nq@example.com,Q,R\r\n").await;
    let queued =
        app.groups.bulk.jobs.receive(1, std::time::Duration::from_secs(60), std::time::Duration::ZERO).await.unwrap();
    assert_eq!(queued.len(), 1);
    let raw = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/sqs-job.json"))
        .unwrap()
        .replace("biz_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", scope.business_id().as_str())
        .replace("imp_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", job.body["id"].as_str().unwrap());
    let event: Value = serde_json::from_str(&raw).unwrap();
    let response = app.jobs_worker(std::time::Duration::from_secs(60)).handle_event(event).await.unwrap();
    assert_eq!(response, json!({"batchItemFailures": []}));
    let done = app.get(&format!("{V1}/imports/{}", job.body["id"].as_str().unwrap()), &key).await;
    assert_eq!(done.body["counts"]["created"], 1, "{}", done.body);
}

macro_rules! both {
    ($($name:ident $(($embedded:expr, $moto:expr))?),*) => {
        mod embedded {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(iron_testing::TestApp::new() $(, $embedded)?).await })*
        }
        // moto is slow (~150 writes/s): the same scenarios on smaller files.
        mod dynamodb_s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(iron_testing::moto_app_with_s3().await $(, $moto)?).await })*
        }
    };
}

both!(
    import_spreadsheet,
    tests_from_json_lines,
    upload_through_a_link,
    cancel_and_tenancy,
    a_killed_run_resumes_to_the_same_result(700, 120),
    export_job_and_round_trip(1500, 60)
);
