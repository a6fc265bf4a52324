//! Member training data and the door's check-in, through the whole API: locations with their
//! inventories, readiness, workouts (one per source record), injuries, the check-in with its
//! workout of the day, repeated scans, occupancy, tenancy and scopes — on both table adapters.

use iron_domain::exercise::library;
use iron_domain::injury::{BodyArea, Severity, forbidden_tags};
use iron_domain::{RateTier, Scope};
use iron_store::repo::platform;
use iron_testing::{TestApp, assert_problem, at};
use serde_json::{Value, json};

const V1: &str = "/api/external/v1";

/// Every movement of a workout (`personalizedWod` or `wod`).
fn movements(wod: &Value) -> Vec<String> {
    wod["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["movements"].as_array().unwrap().iter().map(|m| m["exerciseId"].as_str().unwrap().to_owned()))
        .collect()
}

struct Gym {
    key: String,
    location: String,
    member: String,
}

async fn gym(app: &TestApp, name: &str, external: &str) -> Gym {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), name, "Europe/Madrid", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Unlimited).await;
    let loc = app
        .json(
            "POST",
            &format!("{V1}/locations"),
            &key,
            json!({"name": "Sala Norte", "timezone": "Europe/Madrid", "capacity": 40,
                   "equipment": [{"type": "kettlebell", "count": 10, "weightsKg": [8, 12, 16, 24]},
                                 {"type": "dumbbell", "count": 8, "rangeKg": {"min": 2.5, "max": 30, "step": 2.5}},
                                 {"type": "rower", "count": 6}, {"type": "box", "count": 6, "heightsCm": [50, 60]},
                                 {"type": "pull_up_rig", "count": 1}, {"type": "jump_rope", "count": 10},
                                 {"type": "band", "count": 10}, {"type": "medicine_ball", "count": 6, "weightsKg": [4, 6, 9]}]}),
            None,
        )
        .await;
    assert_eq!(loc.status, 201, "{}", loc.body);
    assert_eq!(loc.body["equipment"][1]["rangeKg"]["max"], 30.0);
    let location = loc.body["id"].as_str().unwrap().to_owned();
    let m = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Åsa", "lastName": "Öberg", "externalId": external, "locationId": location, "sex": "female"}),
            None,
        )
        .await;
    assert_eq!(m.status, 201, "{}", m.body);
    Gym { key, location, member: m.body["id"].as_str().unwrap().to_owned() }
}

async fn training_data_and_check_in(app: TestApp) {
    let g = gym(&app, "Box Uno", "DOOR-1").await;
    let (key, member) = (&g.key, &g.member);

    // Readiness: scored, explained, listed.
    let r = app
        .json(
            "POST",
            &format!("{V1}/members/{member}/readiness"),
            key,
            json!({"questionnaire": "hooper", "sleep": 2, "fatigue": 3, "stress": 2, "soreness": 3, "restingHr": 54}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["computation"]["rawTotal"], 10);
    assert_eq!(r.body["score"], 7.8);
    assert_eq!(r.body["band"], "high");
    let list = app.get(&format!("{V1}/members/{member}/readiness"), key).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);

    // A workout posted twice from its source is one workout.
    let body = json!({"type": "strength", "startedAt": "2026-11-21T18:00:00Z", "durationMin": 60, "sessionRpe": 8,
        "source": "kiosk", "sourceId": "k-991", "movements": [{"exerciseId": "barbell-deadlift", "sets": 5, "reps": 5, "loadKg": 100}]});
    let first = app.json("POST", &format!("{V1}/members/{member}/workouts"), key, body.clone(), None).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["sessionLoad"], 480);
    assert_eq!(first.body["muscleGroups"], json!(["core"]), "the catalogue has the deadlift as a lower-back movement");
    let again = app.json("POST", &format!("{V1}/members/{member}/workouts"), key, body, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], first.body["id"]);
    let list = app.get(&format!("{V1}/members/{member}/workouts?from=2026-11-01"), key).await;
    assert_eq!(list.body["data"].as_array().unwrap().len(), 1);
    let bad = app
        .json(
            "POST",
            &format!("{V1}/members/{member}/workouts"),
            key,
            json!({"type": "yoga", "startedAt": "2030-01-01T00:00:00Z", "durationMin": 0, "sessionRpe": 11,
                     "movements": [{"exerciseId": "moonwalk"}]}),
            None,
        )
        .await;
    assert_problem(&bad, 422);
    let fields: Vec<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    for f in ["/type", "/startedAt", "/durationMin", "/sessionRpe", "/movements/0/exerciseId"] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }

    // An injury: what it forbids, listed, then the door.
    let inj = app
        .json(
            "POST",
            &format!("{V1}/members/{member}/injuries"),
            key,
            json!({"bodyArea": "knee", "side": "left", "severity": "moderate", "note": "patellar tendon"}),
            None,
        )
        .await;
    assert_eq!(inj.status, 201, "{}", inj.body);
    assert!(inj.body["forbiddenTags"].as_array().unwrap().contains(&json!("impact")));
    let active = app.get(&format!("{V1}/members/{member}/injuries?status=active"), key).await;
    assert_eq!(active.body["data"].as_array().unwrap().len(), 1);

    let scan = json!({"externalMemberId": "DOOR-1", "locationId": g.location, "duration": 45, "focus": "conditioning"});
    let door = app.json("POST", &format!("{V1}/check-in"), key, scan.clone(), None).await;
    assert_eq!(door.status, 201, "{}", door.body);
    assert_eq!(door.body["access"]["granted"], true);
    assert_eq!(door.body["readinessScore"], 7.8);
    let wod = &door.body["personalizedWod"];
    assert_eq!(wod["kind"], "workout", "{wod}");
    let est = wod["estimatedMinutes"].as_f64().unwrap();
    assert!((est - 45.0).abs() <= 4.5, "{est} min");
    let forbidden = forbidden_tags(BodyArea::Knee, Severity::Moderate);
    for id in movements(wod) {
        let e = library().get(&id).unwrap();
        assert!(forbidden.iter().all(|t| !e.has_tag(*t)), "{id} breaks the knee rules");
        assert!(
            e.equipment.iter().all(|k| [
                "kettlebell",
                "dumbbell",
                "rower",
                "box",
                "pull_up_rig",
                "jump_rope",
                "band",
                "medicine_ball"
            ]
            .contains(&k.as_str())),
            "{id}"
        );
    }
    let reasons = wod["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r.as_str().unwrap().starts_with("knee, moderate injury: no ")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.as_str().unwrap().contains("readiness 7.8/10 today")), "{reasons:?}");

    // A repeated scan: the same check-in and workout.
    app.clock.advance(chrono::Duration::minutes(2));
    let repeat = app.json("POST", &format!("{V1}/check-in"), key, scan.clone(), None).await;
    assert_eq!(repeat.status, 200);
    assert_eq!(repeat.body["repeated"], true);
    assert_eq!(repeat.body["checkIn"]["id"], door.body["checkIn"]["id"]);
    assert_eq!(repeat.body["personalizedWod"], door.body["personalizedWod"]);
    // The app asks for the day's workout: the same one, by the same inputs.
    let daily = app
        .get(&format!("{V1}/members/{member}/daily-wod?locationId={}&duration=45&focus=conditioning", g.location), key)
        .await;
    assert_eq!(daily.status, 200, "{}", daily.body);
    assert_eq!(daily.body["wod"]["fingerprint"], wod["fingerprint"]);
    assert!(!daily.body["equipment"].as_array().unwrap().is_empty());

    // The door's view of the location.
    let occ = app.get(&format!("{V1}/locations/{}/occupancy", g.location), key).await;
    assert_eq!(occ.status, 200, "{}", occ.body);
    assert_eq!(occ.body["current"], 1);
    assert_eq!(occ.body["members"][0]["displayName"], "Åsa Ö.");
    let day = app.get(&format!("{V1}/locations/{}/check-ins", g.location), key).await;
    assert_eq!(day.body["data"].as_array().unwrap().len(), 1);
    let mine = app.get(&format!("{V1}/members/{member}/check-ins"), key).await;
    assert_eq!(mine.body["data"][0]["id"], door.body["checkIn"]["id"]);

    // Resolving the injury changes the workout.
    let inj_id = inj.body["id"].as_str().unwrap();
    let resolved = app
        .json("PATCH", &format!("{V1}/members/{member}/injuries/{inj_id}"), key, json!({"status": "resolved"}), None)
        .await;
    assert_eq!(resolved.status, 200, "{}", resolved.body);
    assert_eq!(resolved.body["resolvedOn"], "2026-11-22");
    let after = app
        .get(&format!("{V1}/members/{member}/daily-wod?locationId={}&duration=45&focus=conditioning", g.location), key)
        .await;
    assert_ne!(after.body["wod"]["fingerprint"], wod["fingerprint"]);

    // Another business sees none of it.
    let other = gym(&app, "Box Dos", "DOOR-1").await;
    assert_problem(&app.get(&format!("{V1}/members/{member}/workouts"), &other.key).await, 404);
    assert_problem(&app.get(&format!("{V1}/members/{member}/injuries"), &other.key).await, 404);
    let foreign = app
        .json(
            "POST",
            &format!("{V1}/check-in"),
            &other.key,
            json!({"memberId": member, "locationId": other.location}),
            None,
        )
        .await;
    assert_problem(&foreign, 404);
    let foreign_loc = app
        .json(
            "POST",
            &format!("{V1}/check-in"),
            &other.key,
            json!({"memberId": other.member, "locationId": g.location}),
            None,
        )
        .await;
    assert_problem(&foreign_loc, 404);
    // Its own DOOR-1 is its own member.
    let theirs = app
        .json(
            "POST",
            &format!("{V1}/check-in"),
            &other.key,
            json!({"externalMemberId": "DOOR-1", "locationId": other.location}),
            None,
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert_eq!(theirs.body["checkIn"]["memberId"].as_str(), Some(other.member.as_str()));
}

mod embedded {
    #[tokio::test]
    async fn training_data_and_check_in() {
        super::training_data_and_check_in(super::TestApp::new()).await;
    }
}

mod dynamodb {
    #[tokio::test]
    async fn training_data_and_check_in() {
        super::training_data_and_check_in(iron_testing::moto_app().await).await;
    }
}

#[tokio::test]
async fn the_door_says_why_not() {
    let app = TestApp::new();
    let g = gym(&app, "Box Tres", "DOOR-9").await;
    let key = &g.key;
    // Inactive membership: refused, recorded, no workout.
    app.json("PATCH", &format!("{V1}/athletes/{}", g.member), key, json!({"status": "inactive"}), None).await;
    let r = app
        .json("POST", &format!("{V1}/check-in"), key, json!({"memberId": g.member, "locationId": g.location}), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["access"]["granted"], false);
    assert_eq!(r.body["access"]["code"], "membership_inactive");
    assert!(r.body["personalizedWod"].is_null());
    app.json("PATCH", &format!("{V1}/athletes/{}", g.member), key, json!({"status": "active"}), None).await;

    // Closed: 2026-11-22 is a Sunday; 10:00 UTC is 11:00 in Madrid.
    let hours = app
        .json(
            "PATCH",
            &format!("{V1}/locations/{}", g.location),
            key,
            json!({"openingHours": [{"day": "sun", "opens": "16:00", "closes": "20:00"}]}),
            None,
        )
        .await;
    assert_eq!(hours.status, 200, "{}", hours.body);
    let r = app
        .json("POST", &format!("{V1}/check-in"), key, json!({"memberId": g.member, "locationId": g.location}), None)
        .await;
    assert_eq!(r.body["access"]["code"], "location_closed");
    assert!(r.body["access"]["message"].as_str().unwrap().contains("opens at 16:00"), "{}", r.body);
    app.clock.set(at("2026-11-22T15:30:00Z"));
    let r = app
        .json("POST", &format!("{V1}/check-in"), key, json!({"memberId": g.member, "locationId": g.location}), None)
        .await;
    assert_eq!(r.body["access"]["granted"], true, "{}", r.body);

    // At capacity: one place, taken by someone else.
    app.json("PATCH", &format!("{V1}/locations/{}", g.location), key, json!({"capacity": 1}), None).await;
    let second = app
        .json("POST", &format!("{V1}/athletes"), key, json!({"firstName": "Zoë", "lastName": "Ní Bhriain"}), None)
        .await;
    let r = app
        .json(
            "POST",
            &format!("{V1}/check-in"),
            key,
            json!({"memberId": second.body["id"], "locationId": g.location}),
            None,
        )
        .await;
    assert_eq!(r.body["access"]["code"], "at_capacity", "{}", r.body);

    // Bad scans are precise.
    assert_problem(
        &app.json(
            "POST",
            &format!("{V1}/check-in"),
            key,
            json!({"externalMemberId": "NOPE", "locationId": g.location}),
            None,
        )
        .await,
        404,
    );
    let both = app.json("POST", &format!("{V1}/check-in"), key, json!({"memberId": g.member, "externalMemberId": "DOOR-9", "locationId": g.location, "duration": 5, "focus": "yoga"}), None).await;
    assert_problem(&both, 422);
    let fields: Vec<&str> =
        both.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/externalMemberId", "/duration", "/focus"]);
    let loc = app
        .json(
            "POST",
            &format!("{V1}/locations"),
            key,
            json!({"name": "X", "timezone": "Mars/Base", "equipment": [{"type": "hoverboard", "count": 1}]}),
            None,
        )
        .await;
    assert_problem(&loc, 422);
}

#[tokio::test]
async fn low_readiness_means_rest_and_scopes_guard_health_data() {
    let app = TestApp::new();
    let g = gym(&app, "Box Cuatro", "DOOR-4").await;
    let r = app
        .json(
            "POST",
            &format!("{V1}/members/{}/readiness", g.member),
            &g.key,
            json!({"questionnaire": "hooper", "sleep": 7, "fatigue": 7, "stress": 6, "soreness": 7}),
            None,
        )
        .await;
    assert_eq!(r.body["score"], 1.4);
    let wod = app.get(&format!("{V1}/members/{}/daily-wod", g.member), &g.key).await;
    assert_eq!(wod.body["wod"]["kind"], "rest", "{}", wod.body);
    assert!(wod.body["wod"]["restReason"].as_str().unwrap().contains("readiness 1.4/10"));

    let scope = platform::lookup_key(app.store.as_ref(), &iron_domain::ApiKeySecret::parse(&g.key).unwrap().hash())
        .await
        .unwrap()
        .unwrap()
        .business_id;
    let scope = iron_store::OperatorScope::new(scope);
    let athletes_only = app.key(&scope, &[Scope::ReadAthletes], RateTier::Standard).await;
    assert_problem(&app.get(&format!("{V1}/members/{}/injuries", g.member), &athletes_only).await, 403);
    assert_problem(&app.get(&format!("{V1}/members/{}/readiness", g.member), &athletes_only).await, 403);
    // The library and the rules: any valid key.
    let ex = app.get(&format!("{V1}/exercises?tag=impact&limit=100"), &athletes_only).await;
    assert_eq!(ex.status, 200);
    assert!(
        ex.body["data"].as_array().unwrap().iter().all(|e| e["tags"].as_array().unwrap().contains(&json!("impact")))
    );
    let rules = app.get(&format!("{V1}/injury-rules"), &athletes_only).await;
    assert_eq!(rules.body["rules"].as_array().unwrap().len(), 14);
    assert_problem(&app.get(&format!("{V1}/exercises/moonwalk"), &athletes_only).await, 404);
    assert_problem(&app.get(&format!("{V1}/exercises?tag=wobbly"), &athletes_only).await, 400);
    let reader = app.key(&scope, &[Scope::ReadMembers], RateTier::Standard).await;
    assert_eq!(app.get(&format!("{V1}/members/{}/injuries", g.member), &reader).await.status, 200);
    assert_problem(
        &app.json(
            "POST",
            &format!("{V1}/members/{}/injuries", g.member),
            &reader,
            json!({"bodyArea": "knee", "severity": "mild"}),
            None,
        )
        .await,
        403,
    );
    assert_problem(
        &app.json("PATCH", &format!("{V1}/locations/{}", g.location), &reader, json!({"capacity": 3}), None).await,
        403,
    );
    assert_eq!(app.get(&format!("{V1}/locations/{}", g.location), &reader).await.status, 200);
}

/// The demo gym's first check-in, as the README shows it: an explained workout from 90 days of
/// history, a member who trains regularly.
#[tokio::test]
async fn the_demo_gym_answers_with_an_explained_workout() {
    let app = TestApp::new();
    let demo = app.seed_with_training(3).await;
    assert!(demo.training.check_ins > 3000 && demo.training.active_injuries >= 5, "{:?}", demo.training);
    let key = app.key(&demo.scope, &Scope::ALL, RateTier::Unlimited).await;
    let page = app.get(&format!("{V1}/athletes?limit=100"), &key).await;
    let mut rx = 0;
    for a in page.body["data"].as_array().unwrap().iter().filter(|a| a["status"] == "active").take(20) {
        let r = app
            .json(
                "POST",
                &format!("{V1}/check-in"),
                &key,
                json!({"externalMemberId": a["externalId"], "locationId": demo.locations[0].id.to_string()}),
                None,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let wod = &r.body["personalizedWod"];
        assert!(wod["reasons"].as_array().unwrap().len() >= 3, "{wod}");
        rx += usize::from(wod["scaling"] == "rx");
    }
    assert!(rx > 0, "regular members train at rx");
}
