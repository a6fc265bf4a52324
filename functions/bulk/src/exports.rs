//! Export jobs (`/exports`): an export of any size, written by the jobs worker to a file (S3 on
//! AWS, the data dir locally) and fetched through a time-limited link. The same parameters as
//! the inline `GET /export/{type}`, at `POST /exports/{type}`. Scope `read:athletes` or `read:tests`.

use crate::BulkState;
use crate::export::{ATHLETE_PARAMS, TEST_PARAMS, athlete_filter, format_and_fields, test_filter};
use crate::imports::list_jobs;
use crate::jobs::{self, JobOut};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use iron_domain::job::{ExportSpec, FileFormat, Job, JobKind, JobResource};
use iron_domain::{Id, IdKind, Scope};
use iron_http::{ApiError, ListEnvelope, Principal, QueryParams};
use iron_imports::export::{ATHLETE_FIELDS, Format, TEST_FIELDS};
use iron_store::repo::jobs as repo;

const READ: &[Scope] = &[Scope::ReadAthletes, Scope::ReadTests];

fn scope_for(resource: JobResource) -> Scope {
    match resource {
        JobResource::Athletes => Scope::ReadAthletes,
        JobResource::Tests => Scope::ReadTests,
    }
}

async fn create(
    state: BulkState,
    principal: Principal,
    params: QueryParams,
    resource: JobResource,
) -> Result<Response, ApiError> {
    let tenant = principal.require(scope_for(resource))?;
    let (known_params, known_fields) = match resource {
        JobResource::Athletes => (ATHLETE_PARAMS, ATHLETE_FIELDS),
        JobResource::Tests => (TEST_PARAMS, TEST_FIELDS),
    };
    params.allow(known_params)?;
    let (format, fields) = format_and_fields(&params, known_fields)?;
    match resource {
        JobResource::Athletes => drop(athlete_filter(&params)?),
        JobResource::Tests => drop(test_filter(&params)?),
    }
    let filters = known_params
        .iter()
        .filter(|p| !matches!(**p, "format" | "fields"))
        .filter_map(|p| params.str(p).map(|v| ((*p).to_owned(), v.to_owned())))
        .collect();
    let now = state.api.now();
    let file_format = match format {
        Format::Csv => FileFormat::Csv,
        Format::Json => FileFormat::Json,
        Format::Jsonl => FileFormat::Jsonl,
    };
    let mut job =
        Job::new(Id::generate(IdKind::Export, now.timestamp_millis()), JobKind::Export, resource, file_format, now);
    job.export = ExportSpec { fields: fields.iter().map(|f| (*f).to_owned()).collect(), filters };
    let db = tenant.db();
    repo::create(db, &job).await?;
    jobs::enqueue(&state, db, &job).await?;
    jobs::accepted(&state, db, job).await
}

/// Start an athletes export job
///
/// For exports too large to answer inline (over 5 MB): `GET /export/athletes`'s parameters, the
/// file written by the jobs worker. Once `succeeded`, the job carries a `download` link (valid an
/// hour; `GET` the job again for a fresh one). Files are kept 7 days.
#[utoipa::path(post, path = "/api/external/v1/exports/athletes", operation_id = "createAthletesExport", tag = "bulk",
    params(
        ("format" = Option<String>, Query, pattern = "^(csv|json|jsonl)$", description = "`csv` (default), `json` (one array) or `jsonl` (one object per line)."),
        ("fields" = Option<String>, Query, max_length = 2000, pattern = "^(externalId|locationId|birthDate|createdAt|firstName|updatedAt|lastName|joinedOn|status|source|phone|email|sex|id)(,(externalId|locationId|birthDate|createdAt|firstName|updatedAt|lastName|joinedOn|status|source|phone|email|sex|id))*$", description = "Comma-separated fields (no spaces), in the order wanted: id, externalId, source, firstName, lastName, email, phone, birthDate, sex, status, locationId, joinedOn, createdAt, updatedAt."),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only athletes of this location."),
        ("updatedSince" = Option<String>, Query, format = DateTime, description = "Only athletes updated at or after this time."),
    ),
    responses(
        (status = 202, description = "Queued", body = JobOut),
        (status = 400, description = "A malformed parameter, or an unknown field", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:athletes`", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The job could not be queued; send it again", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create_athletes(
    State(state): State<BulkState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Response, ApiError> {
    create(state, principal, params, JobResource::Athletes).await
}

/// Start a tests export job
///
/// `GET /export/tests`'s parameters, as an export job (see `POST /exports/athletes`).
#[utoipa::path(post, path = "/api/external/v1/exports/tests", operation_id = "createTestsExport", tag = "bulk",
    params(
        ("format" = Option<String>, Query, pattern = "^(csv|json|jsonl)$", description = "`csv` (default), `json` or `jsonl`."),
        ("fields" = Option<String>, Query, max_length = 2000, pattern = "^(results\\.lt1\\.heartRateBpm|results\\.lt2\\.heartRateBpm|results\\.lt1\\.lactateMmol|results\\.lt2\\.lactateMmol|results\\.peakPowerWPerKg|results\\.maxHeartRateBpm|results\\.maxLactateMmol|results\\.vo2maxMlKgMin|results\\.peakSpeedKmh|results\\.vo2maxMethod|results\\.lt2\\.method|results\\.lt1\\.method|results\\.split500mS|results\\.peakPowerW|results\\.lt1\\.load|results\\.lt2\\.unit|results\\.lt1\\.unit|results\\.lt2\\.load|results\\.lt1|results\\.lt2|performedAt|bodyMassKg|stageCount|locationId|createdAt|updatedAt|athleteId|testType|modality|results|stages|notes|id)(,(results\\.lt1\\.heartRateBpm|results\\.lt2\\.heartRateBpm|results\\.lt1\\.lactateMmol|results\\.lt2\\.lactateMmol|results\\.peakPowerWPerKg|results\\.maxHeartRateBpm|results\\.maxLactateMmol|results\\.vo2maxMlKgMin|results\\.peakSpeedKmh|results\\.vo2maxMethod|results\\.lt2\\.method|results\\.lt1\\.method|results\\.split500mS|results\\.peakPowerW|results\\.lt1\\.load|results\\.lt2\\.unit|results\\.lt1\\.unit|results\\.lt2\\.load|results\\.lt1|results\\.lt2|performedAt|bodyMassKg|stageCount|locationId|createdAt|updatedAt|athleteId|testType|modality|results|stages|notes|id))*$", description = "Comma-separated fields (no spaces), in order: id, athleteId, testType, modality, performedAt, locationId, bodyMassKg, notes, stageCount, results (or one of its dotted fields, e.g. `results.lt2.load`), stages, createdAt, updatedAt."),
        ("dateFrom" = Option<String>, Query, format = Date, description = "First day (YYYY-MM-DD, UTC), inclusive."),
        ("dateTo" = Option<String>, Query, format = Date, description = "Last day, inclusive."),
        ("testType" = Option<iron_domain::TestType>, Query, description = "Only tests of this type."),
        ("athleteId" = Option<String>, Query, pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only this athlete's tests."),
    ),
    responses(
        (status = 202, description = "Queued", body = JobOut),
        (status = 400, description = "A malformed parameter, or an unknown field", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:tests`", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The job could not be queued; send it again", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create_tests(
    State(state): State<BulkState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Response, ApiError> {
    create(state, principal, params, JobResource::Tests).await
}

/// Get an export job
///
/// Once `succeeded`, `download` links to the file (a fresh link, valid an hour, on every read).
#[utoipa::path(get, path = "/api/external/v1/exports/{id}", operation_id = "getExport", tag = "bulk",
    params(("id" = String, Path, description = "Export id (`exp_…`)")),
    responses(
        (status = 200, description = "The export job", body = JobOut),
        (status = 404, description = "No such export in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    State(state): State<BulkState>,
    principal: Principal,
    Path(raw): Path<String>,
    params: QueryParams,
) -> Result<Json<JobOut>, ApiError> {
    params.allow(&[])?;
    let job = jobs::find(&principal, &raw, IdKind::Export, READ).await?;
    let tenant = principal.require(scope_for(job.resource))?;
    Ok(Json(jobs::out(&state, tenant.db(), job, None).await?))
}

/// List export jobs
///
/// Newest first.
#[utoipa::path(get, path = "/api/external/v1/exports", operation_id = "listExports", tag = "bulk",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of export jobs", body = ListEnvelope<JobOut>),
              (status = 400, description = "A malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 403, description = "The key lacks `read:athletes` and `read:tests`", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    State(state): State<BulkState>,
    principal: Principal,
    params: QueryParams,
) -> Result<Json<ListEnvelope<JobOut>>, ApiError> {
    list_jobs(&state, &principal, &params, IdKind::Export, READ).await
}
