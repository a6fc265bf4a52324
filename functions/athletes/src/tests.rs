//! `GET /tests`, `GET /tests/{id}` (scope `read:tests`); `POST /tests` records one (scope
//! `write:tests`), validated by the domain's rules ([`iron_domain::fitness_test::validate_new`]),
//! the same the bulk endpoints and imports apply.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use iron_domain::fitness_test::DerivedResults;
use iron_domain::fitness_test::{AthleteRef, validate_new};
use iron_domain::{Event, FieldError, FitnessTest, Id, IdKind, Modality, Scope, Stage, TestType};
use iron_http::{ApiContext, ApiError, BetaFeatures, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::RepoError;
use iron_store::repo::fitness_tests::{self, TestFilter};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A test without its stages (list views).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestSummaryOut {
    #[schema(example = "tst_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub athlete_id: String,
    pub test_type: TestType,
    pub modality: Modality,
    pub performed_at: DateTime<Utc>,
    pub location_id: Option<String>,
    pub stage_count: usize,
    pub results: DerivedResults,
}

impl From<&FitnessTest> for TestSummaryOut {
    fn from(t: &FitnessTest) -> Self {
        TestSummaryOut {
            id: t.id.to_string(),
            athlete_id: t.athlete_id.to_string(),
            test_type: t.test_type,
            modality: t.modality,
            performed_at: t.performed_at,
            location_id: t.location_id.as_ref().map(ToString::to_string),
            stage_count: t.stages.len(),
            results: t.results.clone(),
        }
    }
}

/// The full test: protocol stages and the results derived from them.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestOut {
    pub id: String,
    pub athlete_id: String,
    pub test_type: TestType,
    pub modality: Modality,
    pub performed_at: DateTime<Utc>,
    pub location_id: Option<String>,
    pub body_mass_kg: Option<f64>,
    pub stages: Vec<Stage>,
    pub results: DerivedResults,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Beta (`X-Beta-Features: test-zones`): five heart-rate zones from LT1/LT2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zones: Option<Vec<iron_domain::fitness_test::TrainingZone>>,
}

impl From<FitnessTest> for TestOut {
    fn from(t: FitnessTest) -> Self {
        TestOut {
            id: t.id.into(),
            athlete_id: t.athlete_id.into(),
            test_type: t.test_type,
            modality: t.modality,
            performed_at: t.performed_at,
            location_id: t.location_id.map(Into::into),
            body_mass_kg: t.body_mass_kg,
            stages: t.stages,
            results: t.results,
            notes: t.notes,
            created_at: t.created_at,
            updated_at: t.updated_at,
            zones: None,
        }
    }
}

/// List fitness tests
///
/// Newest first. Each entry has the derived results but not the stages; fetch one test for those.
#[utoipa::path(
    get, path = "/api/external/v1/tests", operation_id = "listTests", tag = "tests",
    params(
        ("athleteId" = Option<String>, Query, pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$", description = "Only this athlete's tests (`ath_…`)."),
        ("testType" = Option<TestType>, Query, description = "Only tests of this type."),
        ("dateFrom" = Option<String>, Query, format = Date, description = "First day (YYYY-MM-DD, UTC), inclusive."),
        ("dateTo" = Option<String>, Query, format = Date, description = "Last day (YYYY-MM-DD, UTC), inclusive."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page, unchanged (with the same filters)."),
    ),
    responses(
        (status = 200, description = "A page of tests", body = ListEnvelope<TestSummaryOut>),
        (status = 400, description = "A malformed parameter", body = iron_http::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks `read:tests`", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn list(principal: Principal, params: QueryParams) -> Result<Json<ListEnvelope<TestSummaryOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadTests)?;
    params.allow(&["athleteId", "testType", "dateFrom", "dateTo", "limit", "cursor"])?;
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
    let page = PageParams::from_query(&params)?;
    if page.cursor.as_ref().is_some_and(|c| !fitness_tests::cursor_fits(&filter, c)) {
        return Err(PageParams::mismatched_cursor());
    }
    let (tests, next) = fitness_tests::list(tenant.db(), &filter, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(tests.iter().map(TestSummaryOut::from).collect(), next)))
}

/// Get a fitness test
///
/// The full test: every stage as measured and the derived results (VO2max, LT1/LT2, peak load).
#[utoipa::path(
    get, path = "/api/external/v1/tests/{id}", operation_id = "getTest", tag = "tests",
    params(
        ("id" = String, Path, description = "Test id (`tst_…`)"),
    ),
    responses(
        (status = 200, description = "The test", body = TestOut),
        (status = 404, description = "No such test in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn get_one(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
    beta: BetaFeatures,
) -> Result<Json<TestOut>, ApiError> {
    let tenant = principal.require(Scope::ReadTests)?;
    params.allow(&[])?;
    let not_found = || ApiError::NotFound(format!("no test `{id}` in this business"));
    let test_id = Id::parse_kind(IdKind::Test, &id).ok_or_else(not_found)?;
    match fitness_tests::get(tenant.db(), &test_id).await {
        Err(RepoError::NotFound) => Err(not_found()),
        other => {
            let mut out = TestOut::from(other?);
            if beta.enabled("test-zones") {
                out.zones = iron_domain::fitness_test::training_zones(&out.results);
            }
            Ok(Json(out))
        }
    }
}

/// One stage of a new test. Loads are power (W) on ergometers and speed (km/h) running.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct StageIn {
    /// 1–40, unique within the test.
    #[schema(minimum = 1, maximum = 40)]
    number: u16,
    /// 1–7,200 s.
    #[schema(minimum = 1, maximum = 7200)]
    duration_s: u32,
    #[schema(minimum = 0, maximum = 2500)]
    power_w: Option<f64>,
    #[schema(minimum = 0, maximum = 45)]
    speed_kmh: Option<f64>,
    #[schema(minimum = -10, maximum = 40)]
    incline_pct: Option<f64>,
    #[schema(minimum = 0, maximum = 100000)]
    distance_m: Option<f64>,
    #[schema(minimum = 30, maximum = 250)]
    heart_rate_bpm: Option<u16>,
    /// Capillary blood lactate, mmol/L (0–30).
    #[schema(minimum = 0, maximum = 30)]
    lactate_mmol: Option<f64>,
    /// ml/kg/min (5–100).
    #[schema(minimum = 5, maximum = 100)]
    vo2_ml_kg_min: Option<f64>,
    /// Respiratory exchange ratio (0.5–2).
    #[schema(minimum = 0.5, maximum = 2)]
    rer: Option<f64>,
    /// Borg 6–20.
    #[schema(minimum = 6, maximum = 20)]
    rpe: Option<u8>,
}

/// A new fitness test. Results (VO2max, LT1/LT2, peak load, 500 m split) are derived from the
/// stages. A Cooper test needs the distance run; a 2k row the distance and time. The same
/// athlete, type and `performedAt` is one test: recording it again is 409.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"athleteId": "ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "testType": "cooper_12min", "performedAt": "2026-11-28T09:30:00Z", "stages": [{"number": 1, "durationS": 720, "distanceM": 2650, "heartRateBpm": 182}]}))]
#[allow(dead_code)]
pub struct TestIn {
    #[schema(pattern = "^ath_[0-9A-HJKMNP-TV-Z]{26}$")]
    athlete_id: String,
    test_type: TestType,
    /// Required for `lactate_step` and `vo2max_ramp`; implied by the others (a Cooper test is
    /// running, a 2k row rowing).
    modality: Option<Modality>,
    /// From 2000-01-01 to now (5 minutes of clock skew allowed).
    performed_at: DateTime<Utc>,
    /// A location of this business (`loc_…`).
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: Option<String>,
    /// 20–300 kg.
    #[schema(minimum = 20, maximum = 300)]
    body_mass_kg: Option<f64>,
    /// 1–40 stages, numbers unique.
    #[schema(min_items = 1, max_items = 40)]
    stages: Vec<StageIn>,
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    notes: Option<String>,
}

/// Record a fitness test
///
/// Emits `test.completed` (the test as `GET /tests/{id}` shows it). Send an `Idempotency-Key` to
/// retry safely; the same athlete, type and time is 409 in any case.
#[utoipa::path(post, path = "/api/external/v1/tests", operation_id = "createTest", tag = "tests",
    request_body = TestIn,
    responses((status = 201, description = "The test, with its derived results", body = TestOut),
              (status = 404, description = "No such athlete in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 409, description = "This athlete already has a test of this type at this time", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::WriteTests)?;
    let now = api.now();
    let input = validate_new(&body, now, false).map_err(ApiError::Validation)?;
    let AthleteRef::Id(athlete_id) = input.athlete.clone() else {
        return Err(ApiError::Internal("a single test names its athlete by id".into()));
    };
    let test = input.into_test(Id::generate(IdKind::Test, now.timestamp_millis()), athlete_id, now);
    let out = TestOut::from(test.clone());
    let event = Event::new("test.completed", tenant.business_id(), now, serde_json::to_value(&out).unwrap_or_default());
    fitness_tests::create(tenant.db(), &test, &[event]).await.map_err(|e| match e {
        RepoError::NotFound => ApiError::NotFound(format!("no athlete `{}` in this business", test.athlete_id)),
        RepoError::Conflict { field, message } if field == "locationId" => {
            ApiError::Validation(vec![FieldError { field: "/locationId".into(), message }])
        }
        other => other.into(),
    })?;
    Ok(iron_http::created(&format!("/tests/{}", test.id), out))
}
