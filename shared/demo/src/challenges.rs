//! The demo gym's challenges: "30 Workouts in 30 Days" (individual, a badge at 30) and "Centro
//! vs Río" (location against location, total training time), joined by most members, with the
//! demo's workouts in their windows entered as the workout log would enter them.

use chrono::{DateTime, Duration, Utc};
use iron_domain::challenge::{self, Challenge, EntrySource};
use iron_domain::{Athlete, AthleteStatus, IdKind};
use iron_store::repo::challenges::{self as repo, EntryInput};
use iron_store::repo::{RepoResult, workouts};
use iron_store::{TableStore, TenantDb, TenantScope};
use rand::rngs::StdRng;
use rand::{Rng, RngCore};
use serde_json::json;

fn body(name: &str, today: chrono::NaiveDate, extra: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    let mut b = json!({"name": name, "startDate": (today - Duration::days(20)).to_string(), "endDate": (today + Duration::days(9)).to_string()});
    if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
        b.extend(extra.clone());
    }
    b.as_object().cloned().unwrap_or_default()
}

/// Creates the challenges, joins members (skipping some, so the boards show who's not in) and
/// enters their workouts. Returns the challenges.
pub async fn seed(
    store: &dyn TableStore,
    scope: &TenantScope,
    members: &[Athlete],
    timezone: &str,
    now: DateTime<Utc>,
    rng: &mut StdRng,
) -> RepoResult<Vec<Challenge>> {
    let db = TenantDb::new(store, scope);
    let tz: chrono_tz::Tz = timezone.parse().unwrap_or(chrono_tz::UTC);
    let today = now.with_timezone(&tz).date_naive();
    let specs = [
        body(
            "30 Workouts in 30 Days",
            today,
            json!({"type": "workouts", "target": 30, "description": "Train 30 times in 30 days.",
                   "badge": {"name": "30 in 30", "description": "Thirty workouts in thirty days"},
                   "prizes": [{"place": 1, "toPlace": 3, "description": "A month's membership"}]}),
        ),
        body(
            "Centro vs Río",
            today,
            json!({"type": "time", "mode": "location", "aggregate": "average",
                   "description": "Which location trains longest, per member?"}),
        ),
    ];
    let mut out = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let mut random = [0u8; 10];
        rng.fill_bytes(&mut random);
        let at = now - Duration::days(21) + Duration::minutes(i as i64);
        let id = iron_domain::Id::from_parts(IdKind::Challenge, at.timestamp_millis(), random);
        let mut c = challenge::blank(id, at);
        let errors = challenge::apply_fields(spec, &mut c, timezone, today, false, |_| true);
        if !errors.is_empty() {
            return Err(iron_store::repo::RepoError::Corrupt(format!("a demo challenge is invalid: {errors:?}")));
        }
        c.version = 1;
        repo::create(db, &c).await?;
        out.push(c);
    }
    for m in members.iter().filter(|m| m.status == AthleteStatus::Active) {
        // About four in five members join each challenge.
        let joined: Vec<&Challenge> = out
            .iter()
            .filter(|c| rng.random_bool(0.8) && (c.mode != challenge::Mode::Location || m.location_id.is_some()))
            .collect();
        if joined.is_empty() {
            continue;
        }
        for c in &joined {
            repo::join(db, c, m, None, None, c.starts_at).await?;
        }
        for w in workouts::since(db, &m.id, out[0].starts_at).await? {
            for c in &joined {
                let Some(value) = c.workout_value(&w) else { continue };
                if c.refuse_time(w.started_at, now).is_some() || challenge::check_value(c.metric, value).is_err() {
                    continue;
                }
                let input = EntryInput {
                    member_id: m.id.clone(),
                    value,
                    occurred_at: Some(w.started_at),
                    source: EntrySource::Workout,
                    source_id: Some(w.id.to_string()),
                    note: None,
                };
                repo::record_entry(db, c, input, w.started_at + Duration::minutes(i64::from(w.duration_min))).await?;
            }
        }
    }
    Ok(out)
}
