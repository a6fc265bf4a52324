//! Bulk writes and exports through the whole API, on both table adapters: validation by the
//! single endpoints' rules, duplicate rules (in the batch, against the store; case, whitespace
//! and Unicode forms), partial success, idempotent retry, dry runs, the 1,000-row limit, test
//! rows by external id, exports in three formats with chosen fields, and tenancy.

use iron_domain::{RateTier, Scope};
use iron_store::repo::platform;
use iron_store::{Index, Query, TenantScope};
use iron_testing::{TestApp, assert_problem};
use serde_json::{Value, json};

const V1: &str = "/api/external/v1";

async fn business(app: &TestApp, name: &str) -> (TenantScope, String, String) {
    let (_, scope) =
        platform::create_business(app.store.as_ref(), name, "Europe/Madrid", app.clock_now()).await.unwrap();
    let key = app.key(&scope, &Scope::ALL, RateTier::Unlimited).await;
    let loc = app
        .json("POST", &format!("{V1}/locations"), &key, json!({"name": "Centro", "timezone": "Europe/Madrid"}), None)
        .await;
    assert_eq!(loc.status, 201, "{}", loc.body);
    (scope.tenant().clone(), key, loc.body["id"].as_str().unwrap().to_owned())
}

/// The business's events of one type, oldest first.
async fn events(app: &TestApp, scope: &TenantScope, event_type: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .store
            .query(Query::new(Index::Table, format!("BIZ#{}#EVENT", scope.business_id())).limit(500).after(cursor))
            .await
            .unwrap();
        out.extend(page.items.into_iter().map(Value::Object).filter(|e| e["type"] == event_type));
        cursor = page.next;
        if cursor.is_none() {
            return out;
        }
    }
}

async fn all_athletes(app: &TestApp, key: &str) -> Vec<Value> {
    let export = app.get(&format!("{V1}/export/athletes?format=json"), key).await;
    assert_eq!(export.status, 200, "{}", export.body);
    export.body.as_array().unwrap().clone()
}

fn codes(body: &Value) -> Vec<(u64, String, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["field"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn bulk_athletes_and_tests(app: TestApp) {
    let (scope, key, location) = business(&app, "Iron Box Bulk").await;
    let stored = app
        .json(
            "POST",
            &format!("{V1}/athletes"),
            &key,
            json!({"firstName": "José", "lastName": "Núñez", "email": "Jose.Nunez@Example.com", "externalId": "CRM-1"}),
            None,
        )
        .await;
    assert_eq!(stored.status, 201);
    let jose = stored.body["id"].as_str().unwrap().to_owned();

    let rows = json!([
        {"firstName": "Åsa", "lastName": "Öberg", "email": "asa@example.com", "externalId": "CRM-2", "locationId": location},
        {"firstName": "Luis", "email": "not-an-email", "nickname": "Lu"},
        {"firstName": "Asa", "lastName": "Oberg", "email": "  ASA@Example.COM "},
        {"firstName": "Zoë", "lastName": "Brontë", "externalId": "CRM-2"},
        {"firstName": "Jose", "lastName": "Nunez", "email": "jose.nu\u{0301}n\u{0303}ez@example.com"},
        {"firstName": "Pat", "lastName": "Doe", "externalId": "CRM-1"},
        {"firstName": "Mia", "lastName": "Wong", "locationId": "loc_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7"},
        {"firstName": "Ken", "lastName": "Ito", "birthDate": "1990-02-30", "sex": "unknown"}
    ]);
    // A dry run answers the same and writes nothing.
    let dry = app
        .json(
            "POST",
            &format!("{V1}/athletes/bulk"),
            &key,
            json!({"athletes": rows, "options": {"dryRun": true}}),
            None,
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    assert_eq!(dry.body["dryRun"], true);
    assert_eq!(all_athletes(&app, &key).await.len(), 1, "a dry run writes nothing");

    let r = app.json("POST", &format!("{V1}/athletes/bulk"), &key, json!({"athletes": rows}), Some("bulk-1")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let expected: Vec<(u64, String, String)> = [
        (1, "/lastName", "required"),
        (1, "/email", "invalid"),
        (1, "/nickname", "unknown_field"),
        (2, "/email", "duplicate_in_batch"),
        (3, "/externalId", "duplicate_in_batch"),
        (4, "/email", "duplicate"),
        (5, "/externalId", "duplicate"),
        (6, "/locationId", "not_found"),
        (7, "/birthDate", "invalid"),
        (7, "/sex", "invalid"),
    ]
    .iter()
    .map(|(i, f, c)| (*i, f.to_string(), c.to_string()))
    .collect();
    let mut got = codes(&r.body);
    got.sort();
    let mut want = expected.clone();
    want.sort();
    assert_eq!(got, want, "{}", r.body);
    // The dry run said the same about every row that the store didn't decide (the location).
    let dry_codes: Vec<_> = codes(&dry.body).into_iter().filter(|(i, ..)| *i != 6).collect();
    let real_codes: Vec<_> = codes(&r.body).into_iter().filter(|(i, ..)| *i != 6).collect();
    assert_eq!(dry_codes, real_codes);
    assert_eq!((r.body["created"].as_u64(), r.body["refused"].as_u64()), (Some(1), Some(7)), "{}", r.body);
    assert!(r.body["errors"][3]["message"].as_str().unwrap().contains("row 0"), "{}", r.body);
    let asa_id = r.body["results"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["results"][0]["index"], 0);
    let asa = app.get(&format!("{V1}/athletes/{asa_id}"), &key).await;
    assert_eq!((asa.body["firstName"].as_str(), asa.body["source"].as_str()), (Some("Åsa"), Some("import")));
    assert_eq!(asa.body["locationId"].as_str(), Some(location.as_str()));
    // member.created for the new athlete, as the single endpoint shapes it.
    let created = events(&app, &scope, "member.created").await;
    assert_eq!(created.len(), 2);
    let asa_event = created.iter().find(|e| e["data"]["id"] == asa_id.as_str()).unwrap();
    assert_eq!(
        asa_event["data"],
        json!(
            asa.body
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| *k != "recentTests")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<serde_json::Map<_, _>>()
        )
    );

    // The same request retried with its key: the same answer, no doubles.
    let again = app.json("POST", &format!("{V1}/athletes/bulk"), &key, json!({"athletes": rows}), Some("bulk-1")).await;
    assert_eq!(again.body, r.body);
    assert_eq!(all_athletes(&app, &key).await.len(), 2);
    // Retried without a key: the unique keys catch it.
    let unkeyed =
        app.json("POST", &format!("{V1}/athletes/bulk"), &key, json!({"athletes": [rows[0].clone()]}), None).await;
    assert_eq!(codes(&unkeyed.body), [(0, "/email".to_owned(), "duplicate".to_owned())]);

    // updateExisting: a stored match is updated with the row's fields only; an exact one is unchanged.
    let update = json!({"athletes": [
        {"email": "JOSE.NUNEZ@example.com", "phone": "+34 600 000 001"},
        {"externalId": "CRM-2", "firstName": "Åsa"},
        {"firstName": "New", "lastName": "Member", "externalId": "CRM-3"}
    ], "options": {"updateExisting": true}});
    let u = app.json("POST", &format!("{V1}/athletes/bulk"), &key, update, None).await;
    assert_eq!(u.status, 200, "{}", u.body);
    assert_eq!(
        (u.body["created"].as_u64(), u.body["updated"].as_u64(), u.body["unchanged"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{}",
        u.body
    );
    let outcomes: Vec<&str> =
        u.body["results"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["updated", "unchanged", "created"]);
    assert_eq!(u.body["results"][0]["id"].as_str(), Some(jose.as_str()));
    let j = app.get(&format!("{V1}/athletes/{jose}"), &key).await;
    assert_eq!((j.body["phone"].as_str(), j.body["lastName"].as_str()), (Some("+34 600 000 001"), Some("Núñez")));

    // 1,001 rows: 413 naming the limit; nothing written.
    let many: Vec<Value> = (0..1001).map(|i| json!({"firstName": "R", "lastName": format!("{i}")})).collect();
    let too_many = app.json("POST", &format!("{V1}/athletes/bulk"), &key, json!({"athletes": many}), None).await;
    assert_problem(&too_many, 413);
    assert!(too_many.body["detail"].as_str().unwrap().contains("1000"), "{}", too_many.body);
    let envelope = app
        .json(
            "POST",
            &format!("{V1}/athletes/bulk"),
            &key,
            json!({"rows": [], "options": {"updateExisting": "yes"}}),
            None,
        )
        .await;
    assert_problem(&envelope, 422);
    let fields: Vec<&str> =
        envelope.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/rows", "/athletes", "/options/updateExisting"]);
    let not_rows = app
        .json(
            "POST",
            &format!("{V1}/athletes/bulk"),
            &key,
            json!({"athletes": [{"firstName": "A", "lastName": "B"}, "x", 3]}),
            None,
        )
        .await;
    assert_problem(&not_rows, 422);
    let fields: Vec<&str> =
        not_rows.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["/athletes/1", "/athletes/2"], "a malformed row refuses the request: nothing written");

    // Tests: by id or by external id, validated as POST /tests validates one.
    let cooper = |who: Value, at: &str| {
        let mut t = json!({"testType": "cooper_12min", "performedAt": at, "stages": [{"number": 1, "durationS": 720, "distanceM": 2650, "heartRateBpm": 182}]});
        t.as_object_mut().unwrap().extend(who.as_object().unwrap().clone());
        t
    };
    let tests = json!({"tests": [
        cooper(json!({"athleteId": jose}), "2026-11-20T09:00:00Z"),
        cooper(json!({"athleteExternalId": "CRM-2"}), "2026-11-20T09:00:00Z"),
        cooper(json!({"athleteExternalId": "CRM-2"}), "2026-11-20T09:00:00.000Z"),
        cooper(json!({"athleteExternalId": "CRM-404"}), "2026-11-20T09:00:00Z"),
        cooper(json!({"athleteId": jose, "athleteExternalId": "CRM-1"}), "2026-11-21T09:00:00Z"),
        {"athleteId": jose, "testType": "lactate_step", "performedAt": "2026-11-21T09:00:00Z", "stages": [{"number": 1, "durationS": 180, "powerW": 100}, {"number": 1, "durationS": 180}]},
        {"athleteId": jose, "testType": "row_2k", "modality": "running", "performedAt": "2099-01-01T00:00:00Z", "stages": []}
    ]});
    let t = app.json("POST", &format!("{V1}/tests/bulk"), &key, tests, None).await;
    assert_eq!(t.status, 200, "{}", t.body);
    assert_eq!(t.body["created"], 2, "{}", t.body);
    let mut got = codes(&t.body);
    got.sort();
    let want: Vec<(u64, String, String)> = [
        (2, "/performedAt", "duplicate_in_batch"),
        (3, "/athleteExternalId", "not_found"),
        (4, "/athleteExternalId", "invalid"),
        (5, "/modality", "required"),
        (5, "/stages/1/number", "invalid"),
        (6, "/modality", "invalid"),
        (6, "/performedAt", "invalid"),
        (6, "/stages", "invalid"),
    ]
    .iter()
    .map(|(i, f, c)| (*i, f.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want, "{}", t.body);
    let test_id = t.body["results"][0]["id"].as_str().unwrap();
    let stored = app.get(&format!("{V1}/tests/{test_id}"), &key).await;
    assert_eq!(stored.body["modality"], "running");
    assert_eq!(stored.body["results"]["vo2maxMlKgMin"], 48.0, "Cooper: (2650 − 504.9) / 44.73");
    assert_eq!(events(&app, &scope, "test.completed").await.len(), 2);
    // The same tests again: stored duplicates.
    let again = app
        .json(
            "POST",
            &format!("{V1}/tests/bulk"),
            &key,
            json!({"tests": [cooper(json!({"athleteId": jose}), "2026-11-20T09:00:00Z")]}),
            None,
        )
        .await;
    assert_eq!(codes(&again.body), [(0, "/performedAt".to_owned(), "duplicate".to_owned())]);
    // …and one at a time: POST /tests, then the same one is 409.
    let single = app
        .json("POST", &format!("{V1}/tests"), &key, cooper(json!({"athleteId": jose}), "2026-11-21T12:00:00Z"), None)
        .await;
    assert_eq!(single.status, 201, "{}", single.body);
    assert_eq!(single.body["results"]["vo2maxMlKgMin"], 48.0);
    let twice = app
        .json("POST", &format!("{V1}/tests"), &key, cooper(json!({"athleteId": jose}), "2026-11-21T12:00:00Z"), None)
        .await;
    assert_problem(&twice, 409);
    let by_ext = app
        .json(
            "POST",
            &format!("{V1}/tests"),
            &key,
            cooper(json!({"athleteExternalId": "CRM-1"}), "2026-11-21T13:00:00Z"),
            None,
        )
        .await;
    assert_problem(&by_ext, 422);

    // Exports.
    let csv = app.get(&format!("{V1}/export/athletes?fields=lastName,firstName,email,externalId"), &key).await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(csv.headers["x-export-rows"], "3");
    let text = csv.body.as_str().unwrap();
    assert!(text.starts_with("lastName,firstName,email,externalId\r\n"), "{text}");
    assert!(text.contains("\r\nÖberg,Åsa,asa@example.com,CRM-2\r\n"), "{text}");
    let bad = app.get(&format!("{V1}/export/athletes?fields=email,nickname"), &key).await;
    assert_problem(&bad, 400);
    assert!(bad.body["detail"].as_str().unwrap().contains("`nickname`"), "{}", bad.body);
    assert_problem(&app.get(&format!("{V1}/export/athletes?fields=email,,id"), &key).await, 400);
    // The document's pattern for `fields` admits every exported field and group, and nothing else.
    let doc: Value = serde_json::from_str(iron_docs_api::openapi::DOCUMENT).unwrap();
    let pattern = |path: &str| {
        let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap().clone();
        params.iter().find(|p| p["name"] == "fields").unwrap()["schema"]["pattern"].as_str().unwrap().to_owned()
    };
    for (path, known) in [
        ("/api/external/v1/export/athletes", iron_imports::export::ATHLETE_FIELDS),
        ("/api/external/v1/export/tests", iron_imports::export::TEST_FIELDS),
    ] {
        let p = pattern(path);
        let names = p.strip_prefix("^(").and_then(|r| r.split_once(")(,(")).map(|(names, _)| names).unwrap();
        let mut names: Vec<String> = names.split('|').map(|n| n.replace("\\.", ".")).collect();
        names.sort();
        let mut want: Vec<String> = known.iter().map(|f| f.to_string()).collect();
        want.extend(if known.contains(&"results.lt1.load") {
            vec!["results".into(), "results.lt1".into(), "results.lt2".into()]
        } else {
            vec![]
        });
        want.sort();
        assert_eq!(names, want, "{path}");
    }
    let jsonl = app
        .get(&format!("{V1}/export/tests?format=jsonl&fields=athleteId,results.vo2maxMlKgMin,stageCount"), &key)
        .await;
    assert_eq!(jsonl.headers["content-type"], "application/jsonl");
    let lines: Vec<Value> = jsonl.body.as_str().unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], json!({"athleteId": jose, "results": {"vo2maxMlKgMin": 48.0}, "stageCount": 1}));
    let flat =
        app.get(&format!("{V1}/export/tests?fields=performedAt,results.vo2maxMlKgMin&dateTo=2026-11-20"), &key).await;
    assert_eq!(
        flat.body.as_str().unwrap(),
        "performedAt,results.vo2maxMlKgMin\r\n2026-11-20T09:00:00Z,48.0\r\n2026-11-20T09:00:00Z,48.0\r\n"
    );

    // Tenancy: another business's bulk can't reach these athletes, nor its export see them.
    let (_, other, _) = business(&app, "Other Box").await;
    let foreign = app.json("POST", &format!("{V1}/tests/bulk"), &other, json!({"tests": [cooper(json!({"athleteId": jose}), "2026-11-20T10:00:00Z"), cooper(json!({"athleteExternalId": "CRM-1"}), "2026-11-20T10:00:00Z")]}), None).await;
    assert_eq!(codes(&foreign.body).iter().map(|(_, _, c)| c.as_str()).collect::<Vec<_>>(), ["not_found", "not_found"]);
    let theirs = app.json("POST", &format!("{V1}/athletes/bulk"), &other, json!({"athletes": [{"firstName": "José", "lastName": "Núñez", "email": "jose.nunez@example.com", "externalId": "CRM-1"}]}), None).await;
    assert_eq!(theirs.body["created"], 1, "the same email in another business is another member");
    assert_eq!(all_athletes(&app, &other).await.len(), 1);

    // Scopes.
    let reader = app.key(&scope, &[Scope::ReadAthletes], RateTier::Unlimited).await;
    assert_problem(
        &app.json("POST", &format!("{V1}/athletes/bulk"), &reader, json!({"athletes": [{}]}), None).await,
        403,
    );
    assert_problem(&app.get(&format!("{V1}/export/tests"), &reader).await, 403);
}

mod embedded {
    #[tokio::test]
    async fn bulk_athletes_and_tests() {
        super::bulk_athletes_and_tests(super::TestApp::new()).await;
    }
}

mod dynamodb {
    #[tokio::test]
    async fn bulk_athletes_and_tests() {
        super::bulk_athletes_and_tests(iron_testing::moto_app().await).await;
    }
}

/// A full request (1,000 rows) commits in groups and every row lands once.
#[tokio::test]
async fn a_thousand_rows_in_one_request() {
    let app = TestApp::new();
    let (scope, key, _) = business(&app, "Big Box").await;
    let rows: Vec<Value> = (0..1000)
        .map(|i| json!({"firstName": format!("Member{i}"), "lastName": "Ås", "email": format!("m{i}@example.com"), "externalId": format!("X{i}")}))
        .collect();
    let r = app.json("POST", &format!("{V1}/athletes/bulk"), &key, json!({"athletes": rows}), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["created"], 1000);
    assert_eq!(all_athletes(&app, &key).await.len(), 1000);
    assert_eq!(events(&app, &scope, "member.created").await.len(), 1000);
}
