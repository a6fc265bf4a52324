//! The exercise library and the injury rules: product data, the same for every business, readable
//! with any valid key.

use axum::Json;
use axum::extract::Path;
use iron_domain::equipment::EquipmentType;
use iron_domain::exercise::{Exercise, Level, LoadTag, Pattern, library};
use iron_domain::injury::{BodyArea, INJURY_RULES, Severity, forbidden_tags};
use iron_http::{ApiError, Principal, QueryParams};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExercisePage {
    pub data: Vec<Exercise>,
    pub has_more: bool,
    /// Pass as `cursor` for the next page (the last id of this one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn bad(param: &str, detail: String) -> ApiError {
    ApiError::BadParameter { param: param.into(), detail }
}

/// List exercises
///
/// The library, ordered by id. Filters: `equipment` (movements that use it; `none` for
/// bodyweight), `pattern`, `tag` (movements with that load), `level`. Any valid key.
#[utoipa::path(get, path = "/api/external/v1/exercises", operation_id = "listExercises", tag = "exercises",
    params(("equipment" = Option<String>, Query, pattern = "^(none|barbell|plates|squat_rack|bench|dumbbell|kettlebell|medicine_ball|band|box|pull_up_rig|rings|jump_rope|rower|bike|ski_erg|treadmill|cardio_machine|sled|battle_rope|ab_wheel)$", description = "An equipment type, or `none` for bodyweight movements."),
        ("pattern" = Option<Pattern>, Query, description = "A movement pattern."),
        ("tag" = Option<LoadTag>, Query, description = "Only movements with this load tag."),
        ("level" = Option<Level>, Query, description = "beginner, intermediate or expert."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 100, pattern = "^[a-z0-9-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of exercises", body = ExercisePage)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(_principal: Principal, params: QueryParams) -> Result<Json<ExercisePage>, ApiError> {
    params.allow(&["equipment", "pattern", "tag", "level", "limit", "cursor"])?;
    let equipment = match params.str("equipment") {
        None => None,
        Some("none") => Some(None),
        Some(s) => Some(Some(EquipmentType::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            bad("equipment", format!("`{s}` is not an equipment type; known: none, {}", EquipmentType::known()))
        })?)),
    };
    let pattern = params.parsed("pattern", Pattern::parse, "a movement pattern (squat, hinge, …)")?;
    let tag = params.parsed("tag", LoadTag::parse, "a load tag (axial_load, impact, …)")?;
    let level = params.parsed("level", Level::parse, "beginner, intermediate or expert")?;
    let limit = params.uint("limit", 1, 100)?.unwrap_or(25) as usize;
    let cursor = params.string("cursor", 100)?;
    if let Some(c) = &cursor
        && (c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
    {
        return Err(bad("cursor", "must be the `nextCursor` of the previous page, unchanged".into()));
    }
    let mut matching = library().exercises.iter().filter(|e| {
        cursor.as_deref().is_none_or(|c| e.id.as_str() > c)
            && equipment.is_none_or(|eq| match eq {
                None => e.equipment.is_empty(),
                Some(t) => e.equipment.contains(&t),
            })
            && pattern.is_none_or(|p| e.pattern == p)
            && tag.is_none_or(|t| e.has_tag(t))
            && level.is_none_or(|l| e.level == l)
    });
    let data: Vec<Exercise> = matching.by_ref().take(limit).cloned().collect();
    let has_more = matching.next().is_some();
    let next_cursor = has_more.then(|| data.last().map(|e| e.id.clone())).flatten();
    Ok(Json(ExercisePage { data, has_more, next_cursor }))
}

/// Get an exercise
#[utoipa::path(get, path = "/api/external/v1/exercises/{id}", operation_id = "getExercise", tag = "exercises",
    params(("id" = String, Path, description = "Exercise id, e.g. `goblet-squat`")),
    responses((status = 200, description = "The exercise", body = Exercise),
              (status = 404, description = "No such exercise", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_one(
    _principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<Exercise>, ApiError> {
    params.allow(&[])?;
    library()
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no exercise `{id}` in the library")))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InjuryRuleOut {
    pub body_area: BodyArea,
    /// Every tag each severity forbids (its own and the milder ones').
    pub mild: Vec<LoadTag>,
    pub moderate: Vec<LoadTag>,
    pub severe: Vec<LoadTag>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InjuryRulesOut {
    pub rules: Vec<InjuryRuleOut>,
    /// Every load tag there is.
    pub tags: Vec<LoadTag>,
}

/// Get the injury rules
///
/// Which load tags an active injury of each body area and severity forbids in a workout — the
/// data the generator applies (`docs/WOD.md`). With `GET /exercises/{id}`'s tags, anyone can check
/// a workout against them. Any valid key.
#[utoipa::path(get, path = "/api/external/v1/injury-rules", operation_id = "getInjuryRules", tag = "exercises",
    responses((status = 200, description = "The rules", body = InjuryRulesOut)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn injury_rules(_principal: Principal, params: QueryParams) -> Result<Json<InjuryRulesOut>, ApiError> {
    params.allow(&[])?;
    let rules = INJURY_RULES
        .iter()
        .map(|(area, _)| InjuryRuleOut {
            body_area: *area,
            mild: forbidden_tags(*area, Severity::Mild),
            moderate: forbidden_tags(*area, Severity::Moderate),
            severe: forbidden_tags(*area, Severity::Severe),
        })
        .collect();
    Ok(Json(InjuryRulesOut { rules, tags: LoadTag::ALL.to_vec() }))
}
