//! `POST /athletes/bulk` (scope `write:athletes`) and `POST /tests/bulk` (scope `write:tests`):
//! up to 1,000 rows per request, each validated by the single endpoints' rules, duplicates found
//! in the batch and in the store; a bad row is reported and never blocks the good ones.

use axum::Json;
use axum::extract::State;
use iron_domain::bulk::{MAX_BULK_ROWS, RowError};
use iron_domain::validation::{FieldReader, parse};
use iron_domain::{FieldError, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, Principal};
use iron_imports::{Batch, BatchKeys, Options, Report, RowKind, RowOutcome};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What to do with rows that match stored records.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkAthleteOptions {
    /// A row whose email or external id matches a stored athlete updates it (only the fields
    /// the row carries change). Off (the default): the row is refused as `duplicate`.
    update_existing: Option<bool>,
    /// Answer what would be created, updated and refused without writing anything.
    dry_run: Option<bool>,
}

#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkTestOptions {
    /// Answer what would be created and refused without writing anything.
    dry_run: Option<bool>,
}

/// Up to 1,000 athletes, each an object as `POST /athletes` takes one (`AthleteIn`). Rows are
/// validated one by one and a bad row is reported in the answer's `errors`, not refused with
/// the request: so here a row is any object.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"athletes": [{"firstName": "Åsa", "lastName": "Öberg", "email": "asa@example.com", "externalId": "CRM-1"}, {"firstName": "Luis", "lastName": "Pérez"}], "options": {"updateExisting": true}}))]
#[allow(dead_code)]
pub struct BulkAthletesIn {
    /// 1–1,000 rows, each an `AthleteIn`. More is 413 (a limit on the request, like its size, so
    /// not a schema constraint).
    #[schema(value_type = Vec<Object>, min_items = 1)]
    athletes: Vec<Map<String, Value>>,
    options: Option<BulkAthleteOptions>,
}

/// Up to 1,000 tests, each an object as `POST /tests` takes one (`TestIn`), which may name its
/// athlete by the business's external id (`athleteExternalId`) instead of `athleteId`. Rows
/// are validated one by one and reported in `errors`: here a row is any object.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"tests": [{"athleteExternalId": "CRM-1", "testType": "row_2k", "performedAt": "2026-11-20T18:00:00Z", "stages": [{"number": 1, "durationS": 445, "distanceM": 2000}]}]}))]
#[allow(dead_code)]
pub struct BulkTestsIn {
    /// 1–1,000 rows, each a `TestIn` (or with `athleteExternalId`). More is 413.
    #[schema(value_type = Vec<Object>, min_items = 1)]
    tests: Vec<Map<String, Value>>,
    options: Option<BulkTestOptions>,
}

/// A row that was written (or, in a dry run, would be).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowResultOut {
    /// The row's 0-based position in the request.
    pub index: usize,
    /// The record created or updated (in a dry run, the id it would have had or has).
    pub id: String,
    pub outcome: RowOutcome,
}

/// The batch's outcome: counts, each written row, each refused row's errors.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkOut {
    pub created: usize,
    pub updated: usize,
    /// Rows that matched a stored record exactly (nothing to write).
    pub unchanged: usize,
    /// Rows refused; each has one or more entries in `errors`.
    pub refused: usize,
    /// Nothing was written (`options.dryRun`).
    pub dry_run: bool,
    pub results: Vec<RowResultOut>,
    /// Every problem of every refused row, in row order.
    pub errors: Vec<RowError>,
}

impl BulkOut {
    fn of(report: Report, dry_run: bool) -> BulkOut {
        BulkOut {
            created: report.count(RowOutcome::Created),
            updated: report.count(RowOutcome::Updated),
            unchanged: report.count(RowOutcome::Unchanged),
            refused: report.refused(),
            dry_run,
            results: report
                .rows
                .into_iter()
                .map(|r| RowResultOut { index: r.index, id: r.id, outcome: r.outcome })
                .collect(),
            errors: report.errors,
        }
    }
}

/// A request's rows (with their index) and its options.
type Envelope = (Vec<(usize, Map<String, Value>)>, Map<String, Value>);

/// Reads the envelope: the rows (objects, by index) and the options. A malformed envelope (a
/// row that isn't an object included) is 422, too many rows 413.
fn envelope(body: &Map<String, Value>, rows_field: &str, options: &[&str]) -> Result<Envelope, ApiError> {
    let mut r = FieldReader::new(body, "", "a bulk request", &[rows_field, "options"]);
    if let Some(Value::Array(rows)) = body.get(rows_field)
        && rows.len() > MAX_BULK_ROWS
    {
        return Err(ApiError::TooMuch(format!(
            "a bulk request carries at most {MAX_BULK_ROWS} rows; this one has {}: send them in several requests",
            rows.len()
        )));
    }
    let rows = r.required(rows_field, |v| match v.as_array() {
        Some(a) if a.is_empty() => Err("needs at least one row".to_owned()),
        Some(a) => Ok(a.clone()),
        None => Err("must be an array of rows".to_owned()),
    });
    let opts = r.optional("options", parse::object).flatten().unwrap_or_default();
    let prefix = r.pointer("options");
    let mut nested = FieldReader::new(&opts, &prefix, "the options", options);
    for name in options {
        nested.optional(name, |v| v.as_bool().ok_or_else(|| "must be true or false".to_owned()));
    }
    let mut errors = r.errors;
    errors.extend(nested.errors);
    let mut objects = Vec::new();
    for (i, row) in rows.unwrap_or_default().into_iter().enumerate() {
        match row {
            Value::Object(m) => objects.push((i, m)),
            _ => errors.push(FieldError { field: format!("/{rows_field}/{i}"), message: "must be an object".into() }),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok((objects, opts))
}

fn flag(opts: &Map<String, Value>, name: &str) -> bool {
    opts.get(name).and_then(Value::as_bool).unwrap_or(false)
}

async fn run(
    api: &ApiContext,
    tenant: iron_http::Tenant<'_>,
    kind: RowKind,
    rows: Vec<(usize, Map<String, Value>)>,
    options: Options,
    dry_run: bool,
) -> Result<BulkOut, ApiError> {
    let mut keys = BatchKeys::default();
    let now = api.now();
    let mut batch = Batch { db: tenant.db(), now, options, import: None, keys: &mut keys, ids_from: now };
    let plan = iron_imports::plan(&mut batch, kind, rows).await?;
    let report = if dry_run { iron_imports::preview(plan) } else { iron_imports::commit(tenant.db(), plan).await? };
    Ok(BulkOut::of(report, dry_run))
}

/// Create or update athletes in bulk
///
/// Each row is validated by `POST /athletes`'s rules and matched by email (trimmed, case-,
/// accent- and Unicode-form-insensitive) and by external id against the rows before it
/// (`duplicate_in_batch`) and the stored athletes: a match updates that athlete with
/// `options.updateExisting`, and is refused as `duplicate` without. Refused rows are listed in
/// `errors` with a `code`; the others are written (`member.created` for each new athlete).
/// Answers 200 whatever the rows' fate. Send an `Idempotency-Key` to retry safely.
#[utoipa::path(post, path = "/api/external/v1/athletes/bulk", operation_id = "bulkAthletes", tag = "bulk",
    request_body = BulkAthletesIn,
    responses((status = 200, description = "What became of each row", body = BulkOut),
              (status = 403, description = "The key lacks `write:athletes`", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 413, description = "More than 1,000 rows, or a body over 5 MB", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "A malformed envelope (named in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn athletes(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<BulkOut>, ApiError> {
    let tenant = principal.require(Scope::WriteAthletes)?;
    let (rows, opts) = envelope(&body, "athletes", &["updateExisting", "dryRun"])?;
    let options = Options { update_existing: flag(&opts, "updateExisting") };
    Ok(Json(run(&api, tenant, RowKind::Athletes, rows, options, flag(&opts, "dryRun")).await?))
}

/// Record tests in bulk
///
/// Each row is validated by `POST /tests`'s rules; it may name its athlete by
/// `athleteExternalId`. The same athlete, type and time as an earlier row
/// (`duplicate_in_batch`) or a stored test (`duplicate`) is refused: tests are never updated.
/// Emits `test.completed` for each test recorded. Answers 200 whatever the rows' fate.
#[utoipa::path(post, path = "/api/external/v1/tests/bulk", operation_id = "bulkTests", tag = "bulk",
    request_body = BulkTestsIn,
    responses((status = 200, description = "What became of each row", body = BulkOut),
              (status = 403, description = "The key lacks `write:tests`", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 413, description = "More than 1,000 rows, or a body over 5 MB", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "A malformed envelope (named in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn tests(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<BulkOut>, ApiError> {
    let tenant = principal.require(Scope::WriteTests)?;
    let (rows, opts) = envelope(&body, "tests", &["dryRun"])?;
    Ok(Json(run(&api, tenant, RowKind::Tests, rows, Options::default(), flag(&opts, "dryRun")).await?))
}
