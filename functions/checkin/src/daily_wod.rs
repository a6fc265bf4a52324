//! `GET /members/{id}/daily-wod`: the member's workout of the day without checking in — the
//! same generator and inputs as the door's, so the app shows what the kiosk will. `read:members`.

use crate::plan::{self, Ask, EquipmentPrefs};
use axum::Json;
use axum::extract::{Path, State};
use iron_domain::equipment::EquipmentType;
use iron_domain::wod::{Alternative, EquipmentUse, Wod};
use iron_domain::{IdKind, Scope};
use iron_http::{ApiContext, ApiError, Principal, QueryParams};
use iron_store::repo::{RepoError, locations};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyWodOut {
    pub wod: Wod,
    /// What the workout needs, with the weights it uses.
    pub equipment: Vec<EquipmentUse>,
    /// For each main movement, others that fit the same rules here.
    pub alternatives: Vec<Alternative>,
    pub location_id: String,
    pub readiness_score: Option<f64>,
}

fn types(raw: Option<&str>, name: &str) -> Result<Vec<EquipmentType>, ApiError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            EquipmentType::ALL.into_iter().find(|t| t.as_str() == s.trim()).ok_or_else(|| ApiError::BadParameter {
                param: name.into(),
                detail: format!("`{s}` is not an equipment type; known: {}", EquipmentType::known()),
            })
        })
        .collect()
}

/// Get a member's workout of the day
///
/// At `locationId` (default the member's home location, else the business's first), for `duration` minutes (10–90,
/// default 45) and `focus`; `exclude` / `prefer` take comma lists of equipment types. The same
/// inputs on the same local day give the same workout (`fingerprint`) as `POST /check-in`.
#[utoipa::path(get, path = "/api/external/v1/members/{id}/daily-wod", operation_id = "getDailyWod", tag = "check-in",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("locationId" = Option<String>, Query, pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$", description = "Where (default the member's location)."),
        ("duration" = Option<u32>, Query, minimum = 10, maximum = 90, description = "Minutes, 10–90 (default 45)."),
        ("focus" = Option<String>, Query, pattern = "^(strength|conditioning|endurance|mobility|mixed)$", description = "strength, conditioning, endurance, mobility or mixed."),
        ("exclude" = Option<String>, Query, max_length = 400, pattern = "^(barbell|plates|squat_rack|bench|dumbbell|kettlebell|medicine_ball|band|box|pull_up_rig|rings|jump_rope|rower|bike|ski_erg|treadmill|cardio_machine|sled|battle_rope|ab_wheel)(,(barbell|plates|squat_rack|bench|dumbbell|kettlebell|medicine_ball|band|box|pull_up_rig|rings|jump_rope|rower|bike|ski_erg|treadmill|cardio_machine|sled|battle_rope|ab_wheel))*$", description = "Equipment types to avoid, comma-separated."),
        ("prefer" = Option<String>, Query, max_length = 400, pattern = "^(barbell|plates|squat_rack|bench|dumbbell|kettlebell|medicine_ball|band|box|pull_up_rig|rings|jump_rope|rower|bike|ski_erg|treadmill|cardio_machine|sled|battle_rope|ab_wheel)(,(barbell|plates|squat_rack|bench|dumbbell|kettlebell|medicine_ball|band|box|pull_up_rig|rings|jump_rope|rower|bike|ski_erg|treadmill|cardio_machine|sled|battle_rope|ab_wheel))*$", description = "Equipment types to use first, comma-separated.")),
    responses((status = 200, description = "The workout of the day", body = DailyWodOut),
              (status = 404, description = "No such member or location in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn daily_wod(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<DailyWodOut>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["locationId", "duration", "focus", "exclude", "prefer"])?;
    let location_id = params.id("locationId", IdKind::Location)?;
    let duration = params.uint("duration", 10, 90)?;
    let focus = params.parsed(
        "focus",
        iron_domain::wod::Focus::parse,
        "strength, conditioning, endurance, mobility or mixed",
    )?;
    let prefs = EquipmentPrefs {
        exclude: types(params.str("exclude"), "exclude")?,
        prefer: types(params.str("prefer"), "prefer")?,
    };
    let member = crate::check_ins::find_member(tenant.db(), Some(id), None).await?;
    let location_id = match location_id.or_else(|| member.location_id.clone()) {
        Some(id) => id,
        // No home location: the business's first.
        None => match locations::list(tenant.db(), 1, None).await?.0.into_iter().next() {
            Some(l) => l.id,
            None => return Err(ApiError::NotFound("this business has no location yet".into())),
        },
    };
    let location = match locations::get(tenant.db(), &location_id).await {
        Err(RepoError::NotFound) => {
            return Err(ApiError::NotFound(format!("no location `{location_id}` in this business")));
        }
        other => other?,
    };
    let ask = Ask { duration, focus, prefs };
    let (wod, signal, _) = plan::workout_of_the_day(tenant.db(), &member, &location, api.clock.now(), &ask).await?;
    Ok(Json(DailyWodOut {
        equipment: wod.equipment.clone(),
        alternatives: wod.alternatives.clone(),
        wod,
        location_id: location.id.to_string(),
        readiness_score: signal.map(|s| s.score),
    }))
}
