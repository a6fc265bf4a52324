//! Creating and updating athletes on both backends: validation, uniqueness, the outbox event.

use iron_domain::{RateTier, Scope};
use iron_store::TenantDb;
use iron_store::repo::platform;
use iron_store::{Index, Query, TenantScope};
use iron_testing::{TestApp, assert_problem};
use serde_json::{Value, json};

const V1: &str = "/api/external/v1";

async fn setup(app: &TestApp) -> (iron_store::OperatorScope, String, String) {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), "Box Ñandú", "America/Argentina/Buenos_Aires", app.clock_now())
            .await
            .unwrap();
    let location = platform::add_location(
        TenantDb::new(app.store.as_ref(), &scope),
        "Palermo",
        "America/Argentina/Buenos_Aires",
        app.clock_now(),
    )
    .await
    .unwrap();
    let key = app.key(&scope, &[Scope::ReadAthletes, Scope::WriteAthletes], RateTier::Professional).await;
    (scope, key, location.id.to_string())
}

async fn events_of(app: &TestApp, scope: &TenantScope) -> Vec<Value> {
    let page = app
        .store
        .query(Query::new(Index::Table, format!("BIZ#{}#EVENT", scope.business_id())).limit(100))
        .await
        .unwrap();
    page.items.into_iter().map(Value::Object).collect()
}

async fn pending_outbox(app: &TestApp) -> usize {
    let mut n = 0;
    for shard in 0..iron_store::keys::OUTBOX_SHARDS {
        n += app
            .store
            .query(Query::new(Index::Gsi2, iron_store::keys::outbox_pending_partition(shard)).limit(1000))
            .await
            .unwrap()
            .items
            .len();
    }
    n
}

async fn create_and_update(app: TestApp) {
    let (scope, key, location) = setup(&app).await;
    let body = json!({"firstName": "José", "lastName": "Núñez", "email": "Jose.Nunez@Example.com", "locationId": location, "externalId": "CRM-1042", "birthDate": "1996-02-29", "sex": "male"});
    let created = app.json("POST", &format!("{V1}/athletes"), &key, body.clone(), None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], format!("{V1}/athletes/{id}").as_str());
    assert_eq!(created.body["source"], "api");
    assert_eq!(created.body["birthDate"], "1996-02-29");
    assert_eq!(app.get(&format!("{V1}/athletes/{id}"), &key).await.body["email"], "Jose.Nunez@Example.com");
    let found = app.get(&format!("{V1}/athletes?q=jose%20nunez"), &key).await;
    assert_eq!(found.body["data"][0]["id"], id.as_str());

    // member.created is in the outbox, written with the athlete.
    let events = events_of(&app, &scope).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "member.created");
    assert_eq!(events[0]["data"]["id"], id.as_str());
    assert_eq!(pending_outbox(&app).await, 1);

    // Duplicates: the same email however typed, the same external id → 409, nothing written.
    let same_email = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Otro", "lastName": "Núñez", "email": "JOSÉ.NÚÑEZ@example.COM"}),
            None,
        )
        .await;
    assert_problem(&same_email, 409);
    assert!(same_email.body["detail"].as_str().unwrap().contains("email"));
    let same_ext = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Otro", "lastName": "Uno", "externalId": "CRM-1042"}),
            None,
        )
        .await;
    assert_problem(&same_ext, 409);
    assert_eq!(events_of(&app, &scope).await.len(), 1, "a refused create emits nothing");
    // A 409 is not kept for an Idempotency-Key: the retry runs again (and may then succeed).
    let dup = json!({"firstName": "Otro", "lastName": "Núñez", "email": "jose.nunez@example.com"});
    let first_409 = app.json("POST", &format!("{V1}/athletes"), &key, dup.clone(), Some("dup-1")).await;
    assert_problem(&first_409, 409);
    let second_409 = app.json("POST", &format!("{V1}/athletes"), &key, dup, Some("dup-1")).await;
    assert_problem(&second_409, 409);
    assert!(!second_409.headers.contains_key("idempotent-replayed"));

    // Validation: every problem at once.
    let bad = app
        .json("POST", &format!("{V1}/athletes"), &key, json!({"lastName": "", "email": "not-an-email", "birthDate": "2030-01-01", "sex": "robot", "locationId": "ath_x", "nickname": "x"}), None)
        .await;
    assert_problem(&bad, 422);
    let mut fields: Vec<_> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect();
    fields.sort();
    assert_eq!(fields, ["/birthDate", "/email", "/firstName", "/lastName", "/locationId", "/nickname", "/sex"]);
    let nowhere = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "A", "lastName": "B", "locationId": "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"}),
            None,
        )
        .await;
    assert_problem(&nowhere, 422);
    assert_eq!(nowhere.body["errors"][0]["field"], "/locationId");
    let reader = app.key(&scope, &[Scope::ReadAthletes], RateTier::Standard).await;
    assert_problem(&app.json("POST", &format!("{V1}/athletes"), &reader, body.clone(), None).await, 403);

    // Idempotent create.
    let once = json!({"firstName": "Zoë", "lastName": "Brontë"});
    let a = app.json("POST", &format!("{V1}/athletes"), &key, once.clone(), Some("zoe-1")).await;
    let b = app.json("POST", &format!("{V1}/athletes"), &key, once.clone(), Some("zoe-1")).await;
    assert_eq!((a.status.as_u16(), b.status.as_u16()), (201, 201));
    assert_eq!(a.body["id"], b.body["id"]);
    assert_eq!(events_of(&app, &scope).await.len(), 2);

    // PATCH: only what is sent changes; null clears.
    app.clock.advance(chrono::Duration::minutes(5));
    let patched = app
        .json(
            "PATCH",
            &format!("{V1}/athletes/{id}"),
            &key,
            json!({"status": "inactive", "birthDate": null, "email": "jose@nuevo.example"}),
            None,
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["status"], "inactive");
    assert_eq!(patched.body["birthDate"], Value::Null);
    assert_eq!(patched.body["firstName"], "José");
    assert!(patched.body["updatedAt"].as_str().unwrap() > created.body["updatedAt"].as_str().unwrap());
    let since = app.get(&format!("{V1}/athletes?updatedSince=2026-11-22T10:03:00Z"), &key).await;
    assert_eq!(since.body["data"].as_array().unwrap().len(), 1, "the update shows in incremental sync");
    // The old email is free again, the new one taken.
    assert_eq!(
        app.json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "Nuevo", "lastName": "Socio", "email": "jose.nunez@example.com"}),
            None
        )
        .await
        .status,
        201
    );
    let zoe = a.body["id"].as_str().unwrap();
    assert_problem(
        &app.json("PATCH", &format!("{V1}/athletes/{zoe}"), &key, json!({"email": "JOSE@nuevo.example"}), None).await,
        409,
    );
    assert_problem(
        &app.json("PATCH", &format!("{V1}/athletes/{zoe}"), &key, json!({"firstName": null}), None).await,
        422,
    );
    assert_problem(
        &app.json(
            "PATCH",
            &format!("{V1}/athletes/ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"),
            &key,
            json!({"status": "active"}),
            None,
        )
        .await,
        404,
    );

    // Another business can't touch it.
    let (_, other) = platform::create_business(app.store.as_ref(), "Otro Box", "UTC", app.clock_now()).await.unwrap();
    let other_key = app.key(&other, &[Scope::ReadAthletes, Scope::WriteAthletes], RateTier::Standard).await;
    assert_problem(
        &app.json("PATCH", &format!("{V1}/athletes/{id}"), &other_key, json!({"status": "active"}), None).await,
        404,
    );
    assert_eq!(app.get(&format!("{V1}/athletes/{id}"), &key).await.body["status"], "inactive");
}

mod embedded {
    #[tokio::test]
    async fn create_and_update() {
        super::create_and_update(super::TestApp::new()).await;
    }
}

mod dynamodb {
    #[tokio::test]
    async fn create_and_update() {
        super::create_and_update(iron_testing::moto_app().await).await;
    }
}

#[tokio::test]
async fn event_type_catalogue() {
    let app = TestApp::new();
    let (scope, key, _) = setup(&app).await;
    assert_problem(&app.get(&format!("{V1}/event-types"), &key).await, 403);
    let hooks = app.key(&scope, &[Scope::ManageWebhooks], RateTier::Standard).await;
    let list = app.get(&format!("{V1}/event-types"), &hooks).await;
    assert_eq!(list.status, 200);
    let types = list.body["data"].as_array().unwrap();
    let names: Vec<_> = types.iter().map(|t| t["name"].as_str().unwrap()).collect();
    for expected in [
        "member.created",
        "member.checked_in",
        "workout.completed",
        "test.completed",
        "wod.generated",
        "injury.reported",
        "goal.achieved",
        "subscription.expiring",
        "challenge.joined",
        "challenge.entry",
        "webhook.test",
    ] {
        assert!(names.contains(&expected), "{expected}");
    }
    let member = types.iter().find(|t| t["name"] == "member.created").unwrap();
    assert_eq!(member["emitted"], true);
    assert_eq!(member["schema"]["properties"]["data"]["$ref"], "#/$defs/AthleteOut");
    assert!(member["schema"]["$defs"]["AthleteOut"]["properties"]["email"].is_object());
}
