//! `docs/openapi.json` is the committed copy of the generated document: this test fails when the
//! code and the copy drift. Regenerate with `IRON_UPDATE_OPENAPI=1 cargo test -p iron-external-api --test openapi_golden`.

#[test]
fn committed_openapi_document_is_current() {
    let generated = iron_external_api::openapi::document().to_pretty_json().expect("serialise") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var("IRON_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run IRON_UPDATE_OPENAPI=1 cargo test -p iron-external-api --test openapi_golden"
    );
}
