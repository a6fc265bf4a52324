//! `GET /export/athletes` (scope `read:athletes`) and `GET /export/tests` (scope `read:tests`):
//! every record of the business as CSV, a JSON array or JSON lines, with the fields chosen and
//! ordered by `fields`. Answered inline up to 5 MB (a Lambda response carries 6 MB).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use iron_domain::{IdKind, Scope, TestType};
use iron_http::{ApiError, Principal, QueryParams};
use iron_imports::export::{ATHLETE_FIELDS, Format, Source, TEST_FIELDS, Writer, select};
use iron_store::repo::athletes::AthleteFilter;
use iron_store::repo::fitness_tests::TestFilter;
use std::io::{self, Write};

/// The largest export answered inline.
pub const MAX_INLINE_BYTES: usize = 5 * 1024 * 1024;

/// A buffer that refuses to grow past the inline limit.
struct Capped(Vec<u8>);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > MAX_INLINE_BYTES {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "over the inline limit"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn too_large() -> ApiError {
    ApiError::TooMuch(format!(
        "this export is over the {MAX_INLINE_BYTES} bytes a response may carry: make it an export job (`POST /exports/athletes` or `/exports/tests`, the same parameters), or narrow it (`fields`, the filters)"
    ))
}

fn write_error(e: io::Error) -> ApiError {
    if e.kind() == io::ErrorKind::StorageFull { too_large() } else { ApiError::Internal(e.to_string()) }
}

pub fn format_and_fields(
    params: &QueryParams,
    known: &[&'static str],
) -> Result<(Format, Vec<&'static str>), ApiError> {
    let format = params.parsed("format", Format::parse, "one of `csv`, `json`, `jsonl`")?.unwrap_or(Format::Csv);
    let fields = params.string("fields", 2000)?;
    let fields = select(known, fields.as_deref()).map_err(|unknown| ApiError::BadParameter {
        param: "fields".into(),
        detail: if unknown.is_empty() {
            "holds an empty name: separate fields with single commas, no spaces".into()
        } else {
            format!("`{unknown}` is not an exported field; fields: {}", known.join(", "))
        },
    })?;
    Ok((format, fields))
}

fn respond(format: Format, what: &str, body: Vec<u8>, rows: usize) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{what}.{}\"", format.extension())) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert("x-export-rows", HeaderValue::from(rows));
    resp
}

/// Export athletes
///
/// Every athlete of the business (or of one location, or updated since a time), in id order.
/// CSV is RFC 4180: UTF-8, a header row, fields quoted where needed, CRLF line ends. `fields`
/// chooses and orders the columns (default: all). `X-Export-Rows` says how many records.
#[utoipa::path(
    get, path = "/api/external/v1/export/athletes", operation_id = "exportAthletes", tag = "bulk",
    params(
        ("format" = Option<String>, Query, pattern = "^(csv|json|jsonl)$", description = "`csv` (default), `json` (one array) or `jsonl` (one object per line)."),
        ("fields" = Option<String>, Query, max_length = 2000, pattern = "^(externalId|locationId|birthDate|createdAt|firstName|updatedAt|lastName|joinedOn|status|source|phone|email|sex|id)(,(externalId|locationId|birthDate|createdAt|firstName|updatedAt|lastName|joinedOn|status|source|phone|email|sex|id))*$", description = "Comma-separated fields (no spaces), in the order wanted: id, externalId, source, firstName, lastName, email, phone, birthDate, sex, status, locationId, joinedOn, createdAt, updatedAt."),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only athletes of this location."),
        ("updatedSince" = Option<String>, Query, format = DateTime, description = "Only athletes updated at or after this time."),
    ),
    responses(
        (status = 200, description = "The export", content(
            (String = "text/csv"),
            (Vec<Object> = "application/json"),
            (String = "application/jsonl"),
        )),
        (status = 400, description = "A malformed parameter, or an unknown field", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:athletes`", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 5 MB: use an export job (`POST /exports`)", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn athletes(principal: Principal, params: QueryParams) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ReadAthletes)?;
    params.allow(ATHLETE_PARAMS)?;
    let (format, fields) = format_and_fields(&params, ATHLETE_FIELDS)?;
    let source = Source::Athletes(athlete_filter(&params)?);
    inline(tenant.db(), format, fields, source, "athletes").await
}

/// The query parameters of an athletes export (inline or a job).
pub const ATHLETE_PARAMS: &[&str] = &["format", "fields", "locationId", "updatedSince"];
/// The query parameters of a tests export (inline or a job).
pub const TEST_PARAMS: &[&str] = &["format", "fields", "dateFrom", "dateTo", "testType", "athleteId"];

pub fn athlete_filter(params: &QueryParams) -> Result<AthleteFilter, ApiError> {
    Ok(AthleteFilter {
        q: None,
        location_id: params.id("locationId", IdKind::Location)?,
        updated_since: params.timestamp("updatedSince")?,
    })
}

pub fn test_filter(params: &QueryParams) -> Result<TestFilter, ApiError> {
    let known = TestType::ALL.iter().map(|t| format!("`{}`", t.as_str())).collect::<Vec<_>>().join(", ");
    let filter = TestFilter {
        athlete_id: params.id("athleteId", IdKind::Athlete)?,
        test_type: params.parsed("testType", TestType::parse, &format!("one of {known}"))?,
        date_from: params.date("dateFrom")?,
        date_to: params.date("dateTo")?,
    };
    if let (Some(from), Some(to)) = (filter.date_from, filter.date_to)
        && from > to
    {
        return Err(ApiError::BadParameter {
            param: "dateFrom".into(),
            detail: format!("{from} is after dateTo {to}"),
        });
    }
    Ok(filter)
}

async fn inline(
    db: iron_store::TenantDb<'_>,
    format: Format,
    fields: Vec<&'static str>,
    source: Source,
    what: &str,
) -> Result<Response, ApiError> {
    let mut w = Writer::new(format, fields, Capped(Vec::new())).map_err(write_error)?;
    let mut pages = source.pages();
    while let Some(records) = pages.next(db).await? {
        for r in &records {
            w.record(r).map_err(write_error)?;
        }
    }
    let rows = w.rows();
    Ok(respond(format, what, w.finish().map_err(write_error)?.0, rows))
}

/// Export fitness tests
///
/// Every test of the business (filtered by date, type or athlete), newest first. Results are
/// flattened with dotted names (`results.lt1.load`); `fields=results` stands for all of them,
/// `stages` is the stage list (in CSV its JSON text).
#[utoipa::path(
    get, path = "/api/external/v1/export/tests", operation_id = "exportTests", tag = "bulk",
    params(
        ("format" = Option<String>, Query, pattern = "^(csv|json|jsonl)$", description = "`csv` (default), `json` or `jsonl`."),
        ("fields" = Option<String>, Query, max_length = 2000, pattern = "^(results\\.lt1\\.heartRateBpm|results\\.lt2\\.heartRateBpm|results\\.lt1\\.lactateMmol|results\\.lt2\\.lactateMmol|results\\.peakPowerWPerKg|results\\.maxHeartRateBpm|results\\.maxLactateMmol|results\\.vo2maxMlKgMin|results\\.peakSpeedKmh|results\\.vo2maxMethod|results\\.lt2\\.method|results\\.lt1\\.method|results\\.split500mS|results\\.peakPowerW|results\\.lt1\\.load|results\\.lt2\\.unit|results\\.lt1\\.unit|results\\.lt2\\.load|results\\.lt1|results\\.lt2|performedAt|bodyMassKg|stageCount|locationId|createdAt|updatedAt|athleteId|testType|modality|results|stages|notes|id)(,(results\\.lt1\\.heartRateBpm|results\\.lt2\\.heartRateBpm|results\\.lt1\\.lactateMmol|results\\.lt2\\.lactateMmol|results\\.peakPowerWPerKg|results\\.maxHeartRateBpm|results\\.maxLactateMmol|results\\.vo2maxMlKgMin|results\\.peakSpeedKmh|results\\.vo2maxMethod|results\\.lt2\\.method|results\\.lt1\\.method|results\\.split500mS|results\\.peakPowerW|results\\.lt1\\.load|results\\.lt2\\.unit|results\\.lt1\\.unit|results\\.lt2\\.load|results\\.lt1|results\\.lt2|performedAt|bodyMassKg|stageCount|locationId|createdAt|updatedAt|athleteId|testType|modality|results|stages|notes|id))*$", description = "Comma-separated fields (no spaces), in order: id, athleteId, testType, modality, performedAt, locationId, bodyMassKg, notes, stageCount, results (or one of its dotted fields, e.g. `results.lt2.load`), stages, createdAt, updatedAt."),
        ("dateFrom" = Option<String>, Query, format = Date, description = "First day (YYYY-MM-DD, UTC), inclusive."),
        ("dateTo" = Option<String>, Query, format = Date, description = "Last day, inclusive."),
        ("testType" = Option<TestType>, Query, description = "Only tests of this type."),
        ("athleteId" = Option<String>, Query, pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only this athlete's tests."),
    ),
    responses(
        (status = 200, description = "The export", content(
            (String = "text/csv"),
            (Vec<Object> = "application/json"),
            (String = "application/jsonl"),
        )),
        (status = 400, description = "A malformed parameter, or an unknown field", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:tests`", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 5 MB: use an export job (`POST /exports`)", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn tests(principal: Principal, params: QueryParams) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::ReadTests)?;
    params.allow(TEST_PARAMS)?;
    let (format, fields) = format_and_fields(&params, TEST_FIELDS)?;
    let source = Source::Tests(test_filter(&params)?);
    inline(tenant.db(), format, fields, source, "tests").await
}
