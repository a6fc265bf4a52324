//! `GET /tests`, `GET /tests/{id}` (scope `read:tests`).

use axum::Json;
use axum::extract::Path;
use chrono::{DateTime, Utc};
use iron_domain::fitness_test::DerivedResults;
use iron_domain::{FitnessTest, Id, IdKind, Modality, Scope, Stage, TestType};
use iron_http::{ApiError, BetaFeatures, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::RepoError;
use iron_store::repo::fitness_tests::{self, TestFilter};
use serde::Serialize;
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
