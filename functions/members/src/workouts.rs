//! `/members/{id}/workouts`: record a workout (`write:members`; emits `workout.completed` in the
//! same transaction), list them (`read:members`), correct one (`workout.updated`) or delete it
//! (`workout.deleted`): challenge entries the workout made follow it. A workout with a `sourceId` is recorded once
//! per (source, source id): posting the same record again answers 200 with the first one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use iron_domain::exercise::{MuscleGroup, library};
use iron_domain::validation::{FieldError, FieldReader, parse};
use iron_domain::workout::{Movement, Workout, WorkoutSource, WorkoutType, muscle_groups};
use iron_domain::{Event, Id, IdKind, Scope};
use iron_http::{ApiContext, ApiError, JsonBody, ListEnvelope, PageParams, Principal, QueryParams};
use iron_store::repo::workouts::{self, Recorded};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkoutOut {
    #[schema(example = "wko_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7")]
    pub id: String,
    pub member_id: String,
    #[serde(rename = "type")]
    pub workout_type: WorkoutType,
    pub started_at: DateTime<Utc>,
    pub duration_min: u32,
    pub session_rpe: u8,
    /// Session RPE × minutes.
    pub session_load: u32,
    pub movements: Vec<Movement>,
    pub source: WorkoutSource,
    pub source_id: Option<String>,
    pub location_id: Option<String>,
    pub check_in_id: Option<String>,
    pub muscle_groups: Vec<MuscleGroup>,
    pub created_at: DateTime<Utc>,
}

impl From<Workout> for WorkoutOut {
    fn from(w: Workout) -> Self {
        WorkoutOut {
            id: w.id.into(),
            member_id: w.athlete_id.into(),
            workout_type: w.workout_type,
            started_at: w.started_at,
            duration_min: w.duration_min,
            session_rpe: w.session_rpe,
            session_load: w.session_load,
            movements: w.movements,
            source: w.source,
            source_id: w.source_id,
            location_id: w.location_id.map(Into::into),
            check_in_id: w.check_in_id.map(Into::into),
            muscle_groups: w.muscle_groups,
            created_at: w.created_at,
        }
    }
}

/// One movement: a library `exerciseId` (its name is filled in) or a `name`, with what was done.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)]
pub struct MovementIn {
    /// A library exercise (`GET /exercises`).
    #[schema(min_length = 1, max_length = 100)]
    exercise_id: Option<String>,
    /// Required without `exerciseId`.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    name: Option<String>,
    #[schema(minimum = 1, maximum = 100)]
    sets: Option<u32>,
    #[schema(minimum = 1, maximum = 10000)]
    reps: Option<u32>,
    #[schema(minimum = 0, maximum = 1000)]
    load_kg: Option<f64>,
    #[schema(minimum = 0, maximum = 1000000)]
    distance_m: Option<f64>,
    #[schema(minimum = 1, maximum = 86400)]
    duration_s: Option<u32>,
    #[schema(minimum = 0, maximum = 10000)]
    calories: Option<u32>,
}

/// A workout the member did.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"type": "conditioning", "startedAt": "2026-11-30T18:05:00Z", "durationMin": 50, "sessionRpe": 7, "source": "kiosk", "sourceId": "kiosk-7781", "movements": [{"exerciseId": "rowing-stationary", "calories": 60}, {"exerciseId": "kettlebell-swing", "sets": 5, "reps": 15, "loadKg": 24}]}))]
#[allow(dead_code)]
pub struct WorkoutIn {
    #[serde(rename = "type")]
    workout_type: WorkoutType,
    /// At most 400 days ago and not in the future.
    started_at: DateTime<Utc>,
    #[schema(minimum = 1, maximum = 600)]
    duration_min: u32,
    /// Session RPE (Borg CR-10), 1–10.
    #[schema(minimum = 1, maximum = 10)]
    session_rpe: u8,
    #[schema(max_items = 50)]
    movements: Option<Vec<MovementIn>>,
    /// Default `manual`.
    #[schema(nullable = false)]
    source: Option<WorkoutSource>,
    /// The record's id in its source; the same (source, sourceId) is one workout.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    source_id: Option<String>,
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: Option<String>,
    #[schema(pattern = "^chk_[0-9A-HJKMNP-TV-Z]{26}$")]
    check_in_id: Option<String>,
}

const FIELDS: &[&str] =
    &["type", "startedAt", "durationMin", "sessionRpe", "movements", "source", "sourceId", "locationId", "checkInId"];
const MOVEMENT_FIELDS: &[&str] =
    &["exerciseId", "name", "sets", "reps", "loadKg", "distanceM", "durationS", "calories"];

fn movement(v: &Value, prefix: &str, errors: &mut Vec<FieldError>) -> Option<Movement> {
    let Some(obj) = v.as_object() else {
        errors.push(FieldError { field: prefix.into(), message: "must be an object".into() });
        return None;
    };
    let mut r = FieldReader::new(obj, prefix, "a movement", MOVEMENT_FIELDS);
    let exercise = r.optional("exerciseId", parse::text(100)).flatten();
    let known = exercise.as_deref().and_then(|id| library().get(id));
    if exercise.is_some() && known.is_none() {
        r.fail("exerciseId", "is not an exercise of the library (GET /exercises)");
    }
    let name = r.optional("name", parse::text(100)).flatten().or_else(|| known.map(|e| e.name.clone()));
    if name.is_none() && exercise.is_none() {
        r.fail("name", "is required without `exerciseId`");
    }
    let n = |r: &mut FieldReader, f: &str, max: i64| r.optional(f, parse::int(1, max)).flatten().map(|n| n as u32);
    let m = Movement {
        exercise_id: known.map(|e| e.id.clone()),
        name: name.unwrap_or_default(),
        sets: n(&mut r, "sets", 100),
        reps: n(&mut r, "reps", 10_000),
        load_kg: r.optional("loadKg", parse::number(0.0, 1000.0)).flatten(),
        distance_m: r.optional("distanceM", parse::number(0.0, 1_000_000.0)).flatten(),
        duration_s: n(&mut r, "durationS", 86_400),
        calories: r.optional("calories", parse::int(0, 10_000)).flatten().map(|n| n as u32),
    };
    let ok = r.errors.is_empty();
    errors.extend(r.errors);
    ok.then_some(m)
}

/// Record a workout
///
/// Emits `workout.completed`. Send a `source` and `sourceId` (a kiosk session, an equipment
/// record, an import row): the same record posted twice is one workout — the second answer is
/// 200 with the first workout.
#[utoipa::path(post, path = "/api/external/v1/members/{id}/workouts", operation_id = "createWorkout", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)")),
    request_body = WorkoutIn,
    responses((status = 201, description = "The workout", body = WorkoutOut),
              (status = 200, description = "This source record was recorded before: that workout", body = WorkoutOut),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create(
    State(api): State<ApiContext>,
    principal: Principal,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let mut r = FieldReader::new(&body, "", "a workout", FIELDS);
    let workout_type = r.required(
        "type",
        parse::one_of::<WorkoutType>("strength, conditioning, endurance, mobility, mixed, class, open_gym, other"),
    );
    let started_at = r.required("startedAt", parse::timestamp(now - Duration::days(400), now + Duration::minutes(5)));
    let duration = r.required("durationMin", parse::int(1, 600)).map(|n| n as u32);
    let rpe = r.required("sessionRpe", parse::int(1, 10)).map(|n| n as u8);
    let source = r
        .present("source", parse::one_of::<WorkoutSource>("manual, kiosk, equipment, import"))
        .unwrap_or(WorkoutSource::Manual);
    let source_id = r.optional("sourceId", parse::text(200)).flatten();
    let location_id = r
        .optional("locationId", |v| {
            v.as_str()
                .and_then(|s| Id::parse_kind(IdKind::Location, s))
                .ok_or("must be a location id (`loc_…`)".to_owned())
        })
        .flatten();
    let check_in_id = r
        .optional("checkInId", |v| {
            v.as_str()
                .and_then(|s| Id::parse_kind(IdKind::CheckIn, s))
                .ok_or("must be a check-in id (`chk_…`)".to_owned())
        })
        .flatten();
    let mut nested = Vec::new();
    let movements: Vec<Movement> = match r.optional("movements", parse::array(50)).flatten() {
        Some(list) => {
            list.iter().enumerate().filter_map(|(i, v)| movement(v, &format!("/movements/{i}"), &mut nested)).collect()
        }
        None => Vec::new(),
    };
    let athlete = crate::member(tenant.db(), &id).await?;
    let mut errors = r.errors;
    errors.extend(nested);
    let (Some(workout_type), Some(started_at), Some(duration), Some(rpe)) = (workout_type, started_at, duration, rpe)
    else {
        return Err(ApiError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let workout = Workout {
        id: Id::generate(IdKind::Workout, now.timestamp_millis()),
        athlete_id: athlete.id,
        workout_type,
        started_at,
        duration_min: duration,
        session_rpe: rpe,
        session_load: u32::from(rpe) * duration,
        muscle_groups: muscle_groups(workout_type, &movements),
        movements,
        source,
        source_id,
        location_id,
        check_in_id,
        created_at: now,
    };
    let out = WorkoutOut::from(workout.clone());
    let event =
        Event::new("workout.completed", tenant.business_id(), now, serde_json::to_value(&out).unwrap_or_default());
    match workouts::create(tenant.db(), &workout, &[event]).await? {
        Recorded::Created => Ok(iron_http::created(&format!("/members/{id}/workouts"), out)),
        Recorded::Existing(first) => Ok((StatusCode::OK, Json(WorkoutOut::from(*first))).into_response()),
    }
}

/// List workouts
///
/// Newest first; `from` / `to` bound `startedAt` (RFC 3339, or a date for its midnight UTC).
#[utoipa::path(get, path = "/api/external/v1/members/{id}/workouts", operation_id = "listWorkouts", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("from" = Option<String>, Query, format = DateTime, description = "Workouts started at or after this time."),
        ("to" = Option<String>, Query, format = DateTime, description = "Workouts started at or before this time."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size, 1–100 (default 25)."),
        ("cursor" = Option<String>, Query, min_length = 1, max_length = 2048, pattern = "^[A-Za-z0-9_-]+$", description = "`nextCursor` of the previous page.")),
    responses((status = 200, description = "A page of workouts", body = ListEnvelope<WorkoutOut>),
              (status = 404, description = "No such member in this business", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list(
    principal: Principal,
    Path(id): Path<String>,
    params: QueryParams,
) -> Result<Json<ListEnvelope<WorkoutOut>>, ApiError> {
    let tenant = principal.require(Scope::ReadMembers)?;
    params.allow(&["from", "to", "limit", "cursor"])?;
    let (from, to) = (params.timestamp("from")?, params.timestamp("to")?);
    let page = PageParams::from_query(&params)?;
    let athlete = crate::member(tenant.db(), &id).await?;
    let (items, next) = workouts::list(tenant.db(), &athlete.id, from, to, page.limit, page.cursor).await?;
    Ok(Json(ListEnvelope::new(items.into_iter().map(Into::into).collect(), next)))
}

/// The workout a path names, if it is this member's.
async fn member_workout(db: iron_store::TenantDb<'_>, member: &Id, raw: &str) -> Result<Workout, ApiError> {
    let id: Id = iron_http::path_id(IdKind::Workout, raw, "workout")?;
    match workouts::get(db, &id).await {
        Ok(w) if &w.athlete_id == member => Ok(w),
        Ok(_) | Err(iron_store::repo::RepoError::NotFound) => {
            Err(ApiError::NotFound(format!("no workout `{raw}` of this member")))
        }
        Err(e) => Err(e.into()),
    }
}

const PATCH_FIELDS: &[&str] = &["type", "startedAt", "durationMin", "sessionRpe", "movements", "locationId"];

/// Fields of a workout to correct (the others stay).
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"durationMin": 45, "movements": [{"exerciseId": "rowing-stationary", "distanceM": 6000}]}))]
#[allow(dead_code)]
pub struct WorkoutPatch {
    #[serde(rename = "type")]
    #[schema(nullable = false)]
    workout_type: Option<WorkoutType>,
    /// At most 400 days ago and not in the future.
    #[schema(nullable = false)]
    started_at: Option<DateTime<Utc>>,
    #[schema(minimum = 1, maximum = 600, nullable = false)]
    duration_min: Option<u32>,
    #[schema(minimum = 1, maximum = 10, nullable = false)]
    session_rpe: Option<u8>,
    /// Replaces the movements.
    #[schema(max_items = 50, nullable = false)]
    movements: Option<Vec<MovementIn>>,
    /// `null` clears it.
    #[schema(pattern = "^loc_[0-9A-HJKMNP-TV-Z]{26}$")]
    location_id: Option<String>,
}

/// Correct a workout
///
/// Emits `workout.updated`; challenge entries the workout made are corrected to match (or
/// leave a challenge the workout no longer fits).
#[utoipa::path(patch, path = "/api/external/v1/members/{id}/workouts/{workoutId}", operation_id = "updateWorkout", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("workoutId" = String, Path, description = "Workout id (`wko_…`)")),
    request_body = WorkoutPatch,
    responses((status = 200, description = "The corrected workout", body = WorkoutOut),
              (status = 404, description = "No such member or workout", body = iron_http::error::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Invalid fields (listed in `errors`)", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn update(
    State(api): State<ApiContext>,
    principal: Principal,
    Path((id, workout_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> Result<Json<WorkoutOut>, ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let athlete = crate::member(tenant.db(), &id).await?;
    let mut w = member_workout(tenant.db(), &athlete.id, &workout_id).await?;
    let mut r = FieldReader::new(&body, "", "a workout correction", PATCH_FIELDS);
    if let Some(t) = r.present(
        "type",
        parse::one_of::<WorkoutType>("strength, conditioning, endurance, mobility, mixed, class, open_gym, other"),
    ) {
        w.workout_type = t;
    }
    if let Some(t) = r.present("startedAt", parse::timestamp(now - Duration::days(400), now + Duration::minutes(5))) {
        w.started_at = t;
    }
    if let Some(d) = r.present("durationMin", parse::int(1, 600)) {
        w.duration_min = d as u32;
    }
    if let Some(rpe) = r.present("sessionRpe", parse::int(1, 10)) {
        w.session_rpe = rpe as u8;
    }
    if let Some(loc) = r.optional("locationId", |v| {
        v.as_str().and_then(|s| Id::parse_kind(IdKind::Location, s)).ok_or("must be a location id (`loc_…`)".to_owned())
    }) {
        w.location_id = loc;
    }
    let mut nested = Vec::new();
    if let Some(list) = r.present("movements", parse::array(50)) {
        w.movements =
            list.iter().enumerate().filter_map(|(i, v)| movement(v, &format!("/movements/{i}"), &mut nested)).collect();
    }
    let mut errors = r.errors;
    errors.extend(nested);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    w.session_load = u32::from(w.session_rpe) * w.duration_min;
    w.muscle_groups = muscle_groups(w.workout_type, &w.movements);
    let out = WorkoutOut::from(w.clone());
    let event =
        Event::new("workout.updated", tenant.business_id(), now, serde_json::to_value(&out).unwrap_or_default());
    workouts::update(tenant.db(), &w, &[event]).await?;
    Ok(Json(out))
}

/// Delete a workout
///
/// Emits `workout.deleted`; challenge entries the workout made are removed. The same source
/// record may be posted again afterwards.
#[utoipa::path(delete, path = "/api/external/v1/members/{id}/workouts/{workoutId}", operation_id = "deleteWorkout", tag = "members",
    params(("id" = String, Path, description = "Member (athlete) id (`ath_…`)"),
        ("workoutId" = String, Path, description = "Workout id (`wko_…`)")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "No such member or workout", body = iron_http::error::Problem, content_type = "application/problem+json")),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete(
    State(api): State<ApiContext>,
    principal: Principal,
    Path((id, workout_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let tenant = principal.require(Scope::WriteMembers)?;
    let now = api.now();
    let athlete = crate::member(tenant.db(), &id).await?;
    let w = member_workout(tenant.db(), &athlete.id, &workout_id).await?;
    let data = serde_json::json!({"id": w.id, "memberId": w.athlete_id, "deletedAt": now});
    let event = Event::new("workout.deleted", tenant.business_id(), now, data);
    workouts::delete(tenant.db(), &w, &[event]).await?;
    Ok(StatusCode::NO_CONTENT)
}
