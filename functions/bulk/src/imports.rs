//! Import jobs (`/imports`): a CSV or JSON-lines file of up to 100,000 athletes or tests, run in
//! the background by the jobs worker with the bulk endpoints' rules. The file comes in the
//! request body (up to 5 MB) or, larger, through a presigned upload link. Scope `write:athletes`
//! or `write:tests`, by the import's `type`.

use crate::BulkState;
use crate::jobs::{self, JobOut, LinkOut};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use iron_domain::job::{FileFormat, Job, JobKind, JobResource, JobStatus, LINK_MINUTES, MAX_IMPORT_BYTES};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiError, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::keys;
use iron_store::repo::{RepoError, jobs as repo};
use std::collections::BTreeMap;

/// A file's bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct FileBytes(Vec<u8>);

fn scope_for(resource: JobResource) -> Scope {
    match resource {
        JobResource::Athletes => Scope::WriteAthletes,
        JobResource::Tests => Scope::WriteTests,
    }
}

const WRITE: &[Scope] = &[Scope::WriteAthletes, Scope::WriteTests];

fn bad(param: &str, detail: impl Into<String>) -> ApiError {
    ApiError::BadParameter { param: param.into(), detail: detail.into() }
}

fn flag(params: &QueryParams, name: &str) -> Result<bool, ApiError> {
    match params.str(name) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(bad(name, "must be `true` or `false`")),
    }
}

/// The format a body's `Content-Type` names.
fn format_of(headers: &HeaderMap) -> Option<FileFormat> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "text/csv" => Some(FileFormat::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => Some(FileFormat::Jsonl),
        _ => None,
    }
}

fn parse_mapping(raw: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let value: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| bad("mapping", format!("is not a JSON object: {e}")))?;
    let obj = value.as_object().ok_or_else(|| bad("mapping", "must be a JSON object of header → field"))?;
    if obj.len() > 200 {
        return Err(bad("mapping", "maps at most 200 columns"));
    }
    obj.iter()
        .map(|(k, v)| match v.as_str() {
            Some(f) if !k.trim().is_empty() && !f.is_empty() => Ok((k.trim().to_owned(), f.to_owned())),
            _ => Err(bad("mapping", format!("`{k}` must map to a field name (a non-empty string)"))),
        })
        .collect()
}

/// Start an import
///
/// The file is the request body (`Content-Type: text/csv` or `application/x-ndjson`, up to
/// 5 MB); for a larger file (up to 64 MB) send no body (or `upload=url`): the answer (201)
/// carries a link to PUT the file to, then `POST /imports/{id}/start`. CSV may be UTF-8 with or without
/// BOM, CRLF or LF, `,` `;` or tab separated, with quoted fields spanning lines; the header row
/// may use the source system's own words (`mapping` maps a header to a field; common headers
/// such as "E-mail" or "Member #" are recognised). Rows follow the bulk endpoints' rules. With
/// `dryRun=true` nothing is written and the counts say what would be. Send an
/// `Idempotency-Key` to retry safely.
#[utoipa::path(post, path = "/api/external/v1/imports", operation_id = "createImport", tag = "bulk",
    params(
        ("type" = String, Query, pattern = "^(athletes|tests)$", description = "What the rows are: `athletes` or `tests`."),
        ("format" = Option<String>, Query, pattern = "^(csv|jsonl)$", description = "`csv` or `jsonl`; by default the body's `Content-Type` says."),
        ("dryRun" = Option<bool>, Query, description = "Count what would be created, updated and refused; write nothing."),
        ("updateExisting" = Option<bool>, Query, description = "Athletes: a row matching a stored athlete (email or external id) updates it; else it is refused as `duplicate`."),
        ("mapping" = Option<String>, Query, max_length = 8000, description = "CSV: a JSON object of header → field, e.g. `{\"E-mail\":\"email\",\"Member #\":\"externalId\"}`."),
        ("upload" = Option<String>, Query, pattern = "^url$", description = "`url`: the file comes through an upload link (as with no body); a body then is 422."),
    ),
    request_body(description = "The file; without one (or with `upload=url`) the answer carries an upload link", content(
        (FileBytes = "text/csv"),
        (FileBytes = "application/x-ndjson"),
    )),
    responses(
        (status = 201, description = "Created, waiting for the upload (no body, or `upload=url`)", body = JobOut),
        (status = 202, description = "Queued", body = JobOut),
        (status = 400, description = "A malformed parameter or mapping", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope the type needs", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "A body over 5 MB: upload it (`upload=url`)", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither CSV nor JSON lines", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A body with `upload=url`", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The job could not be queued; send it again", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(state): State<BulkState>,
    principal: Principal,
    params: QueryParams,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    params.allow(&["type", "format", "dryRun", "updateExisting", "mapping", "upload"])?;
    let resource = match params.str("type") {
        Some(t) => JobResource::parse(t).ok_or_else(|| bad("type", "must be `athletes` or `tests`"))?,
        None => return Err(bad("type", "is required: `athletes` or `tests`")),
    };
    let tenant = principal.require(scope_for(resource))?;
    let db = tenant.db();
    let explicit = match params.str("upload") {
        None => false,
        Some("url") => true,
        Some(_) => return Err(bad("upload", "must be `url`")),
    };
    if explicit && !body.is_empty() {
        return Err(ApiError::Unprocessable(
            "with `upload=url` the request has no body: PUT the file to the link".into(),
        ));
    }
    // No file in the request: it will come through the upload link.
    let deferred = explicit || body.is_empty();
    let format = match params.str("format") {
        Some(f) => match FileFormat::parse(f) {
            Some(f @ (FileFormat::Csv | FileFormat::Jsonl)) => f,
            _ => return Err(bad("format", "must be `csv` or `jsonl`")),
        },
        None => format_of(&headers).or(deferred.then_some(FileFormat::Csv)).ok_or_else(|| {
            ApiError::UnsupportedMediaTypeOf(
                "send the file as `Content-Type: text/csv` or `application/x-ndjson` (or name it with `format`)".into(),
            )
        })?,
    };
    let mapping = match params.string("mapping", 8000)? {
        Some(raw) => parse_mapping(&raw)?,
        None => BTreeMap::new(),
    };
    if format == FileFormat::Jsonl && !mapping.is_empty() {
        return Err(bad("mapping", "is for CSV files; JSON lines name their fields"));
    }
    let now = state.api.now();
    let mut job =
        Job::new(Id::generate(IdKind::Import, now.timestamp_millis()), JobKind::Import, resource, format, now);
    job.dry_run = flag(&params, "dryRun")?;
    job.update_existing = flag(&params, "updateExisting")?;
    if job.update_existing && resource == JobResource::Tests {
        return Err(bad("updateExisting", "is for athletes: tests are never updated"));
    }
    job.mapping = mapping;
    let key = keys::blob_key(db.scope(), &job.id, &job.upload_name());
    let blob_err = |e: iron_store::StoreError| ApiError::Internal(format!("blob store: {e}"));
    if deferred {
        if !body.is_empty() {
            return Err(ApiError::Unprocessable(
                "with `upload=url` the request has no body: PUT the file to the link".into(),
            ));
        }
        job.status = JobStatus::AwaitingUpload;
        let content_type = if format == FileFormat::Csv { "text/csv" } else { "application/x-ndjson" };
        let link = state
            .blobs
            .upload_url(&key, content_type, now + chrono::Duration::minutes(LINK_MINUTES))
            .await
            .map_err(blob_err)?;
        repo::create(db, &job).await?;
        let out = jobs::out(&state, db, job, Some(LinkOut::from(link))).await?;
        return Ok(iron_http::created(&format!("/imports/{}", out.id), out));
    }
    state.blobs.put(&key, body.to_vec(), format_content_type(format)).await.map_err(blob_err)?;
    repo::create(db, &job).await?;
    jobs::enqueue(&state, db, &job).await?;
    jobs::accepted(&state, db, job).await
}

fn format_content_type(format: FileFormat) -> &'static str {
    if format == FileFormat::Csv { "text/csv" } else { "application/x-ndjson" }
}

async fn load(principal: &Principal, raw: &str) -> Result<(Job, Scope), ApiError> {
    let job = jobs::find(principal, raw, IdKind::Import, WRITE).await?;
    let scope = scope_for(job.resource);
    Ok((job, scope))
}

/// Start an uploaded import
///
/// After the file was PUT to the job's upload link. The file is checked when the job runs (an
/// unreadable one fails the job with the reason).
#[utoipa::path(post, path = "/api/external/v1/imports/{id}/start", operation_id = "startImport", tag = "bulk",
    params(("id" = String, Path, description = "Import id (`imp_…`)")),
    responses(
        (status = 202, description = "Queued", body = JobOut),
        (status = 404, description = "No such import in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting for an upload, or nothing uploaded yet", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The uploaded file is over 64 MB", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The job could not be queued; send it again", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn start(
    State(state): State<BulkState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let (mut job, scope) = load(&principal, &raw).await?;
    let tenant = principal.require(scope)?;
    let db = tenant.db();
    if job.status == JobStatus::Queued {
        // A retried start (the first one's queueing failed, or an answer was lost): queue again.
        jobs::enqueue(&state, db, &job).await?;
        return jobs::accepted(&state, db, job).await;
    }
    if job.status != JobStatus::AwaitingUpload {
        return Err(ApiError::Conflict(format!(
            "the import is `{}`, not waiting for an upload",
            status_name(job.status)
        )));
    }
    let key = keys::blob_key(db.scope(), &job.id, &job.upload_name());
    let info = state.blobs.info(&key).await.map_err(|e| ApiError::Internal(format!("blob store: {e}")))?;
    match info {
        None => {
            return Err(ApiError::Conflict("nothing was uploaded yet: PUT the file to the upload link first".into()));
        }
        Some(i) if i.size > MAX_IMPORT_BYTES => {
            return Err(ApiError::Unprocessable(format!(
                "the file has {} bytes; an import takes at most {MAX_IMPORT_BYTES}",
                i.size
            )));
        }
        Some(_) => {}
    }
    job.status = JobStatus::Queued;
    match repo::save(db, &mut job).await {
        Err(RepoError::Conflict { .. }) => {
            return Err(ApiError::Conflict("the import changed meanwhile; read it again".into()));
        }
        other => other?,
    }
    jobs::enqueue(&state, db, &job).await?;
    jobs::accepted(&state, db, job).await
}

fn status_name(s: JobStatus) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Get an import
///
/// Status, progress (rows done of the file's rows), counts, the first refused rows and, once
/// ended, a link to the error report of every refused row.
#[utoipa::path(get, path = "/api/external/v1/imports/{id}", operation_id = "getImport", tag = "bulk",
    params(("id" = String, Path, description = "Import id (`imp_…`)")),
    responses(
        (status = 200, description = "The import", body = JobOut),
        (status = 404, description = "No such import in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(state): State<BulkState>,
    principal: Principal,
    Path(raw): Path<String>,
    params: QueryParams,
) -> Result<Json<JobOut>, ApiError> {
    params.allow(&[])?;
    let (job, scope) = load(&principal, &raw).await?;
    let tenant = principal.require(scope)?;
    Ok(Json(jobs::out(&state, tenant.db(), job, None).await?))
}

/// Cancel an import
///
/// Stops a job that hasn't ended: rows already written stay written (each with its event); the
/// rest are not read. Answers the cancelled job.
#[utoipa::path(delete, path = "/api/external/v1/imports/{id}", operation_id = "cancelImport", tag = "bulk",
    params(("id" = String, Path, description = "Import id (`imp_…`)")),
    responses(
        (status = 200, description = "Cancelled", body = JobOut),
        (status = 404, description = "No such import in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The import has already ended", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn cancel(
    State(state): State<BulkState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> Result<Json<JobOut>, ApiError> {
    let (_, scope) = load(&principal, &raw).await?;
    let tenant = principal.require(scope)?;
    let db = tenant.db();
    let id = iron_http::path_id(IdKind::Import, &raw, "import")?;
    // The worker may checkpoint in between: read again and retry.
    for _ in 0..5 {
        let mut job = repo::get(db, &id).await?;
        if job.status.is_final() {
            return Err(ApiError::Conflict(format!("the import has already ended (`{}`)", status_name(job.status))));
        }
        job.status = JobStatus::Cancelled;
        job.finished_at = Some(state.api.now());
        match repo::save(db, &mut job).await {
            Ok(()) => return Ok(Json(jobs::out(&state, db, job, None).await?)),
            Err(RepoError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::Conflict("the import is changing fast; try again".into()))
}

/// List imports
///
/// Newest first.
#[utoipa::path(get, path = "/api/external/v1/imports", operation_id = "listImports", tag = "bulk",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of imports", body = ListEnvelope<JobOut>),
              (status = 400, description = "A malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 403, description = "The key lacks `write:athletes` and `write:tests`", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(state): State<BulkState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ListEnvelope<JobOut>>, ApiError> {
    list_jobs(&state, &principal, &params, IdKind::Import, WRITE).await
}

/// A page of jobs of one kind, those of a resource the key may see.
pub async fn list_jobs(
    state: &BulkState,
    principal: &Principal,
    params: &QueryParams,
    kind: IdKind,
    scopes: &[Scope],
) -> Result<Json<ListEnvelope<JobOut>>, ApiError> {
    let tenant = principal.require_any(scopes)?;
    params.allow(&["limit", "cursor"])?;
    let page = PageParams::from_query(params)?;
    if page.cursor.as_ref().is_some_and(|c| !repo::cursor_fits(c)) {
        return Err(PageParams::mismatched_cursor());
    }
    let db = tenant.db();
    let (items, next) = repo::list(db, kind, page.limit, page.cursor).await?;
    let mut data = Vec::new();
    for job in items {
        let allowed = scopes.iter().any(|s| {
            principal.key.has_scope(*s)
                && match job.resource {
                    JobResource::Athletes => matches!(s, Scope::WriteAthletes | Scope::ReadAthletes),
                    JobResource::Tests => matches!(s, Scope::WriteTests | Scope::ReadTests),
                }
        });
        if allowed {
            data.push(jobs::out(state, db, job, None).await?);
        }
    }
    Ok(Json(ListEnvelope::new(data, next)))
}
