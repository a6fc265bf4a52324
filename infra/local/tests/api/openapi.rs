//! `docs/openapi.json` is the committed copy of the document assembled from every group's part
//! (and what the docs function serves): this test fails when the code and the copy drift.
//! Regenerate with `IRON_UPDATE_OPENAPI=1 cargo test -p iron-local --test api openapi`.

#[test]
fn committed_openapi_document_is_current() {
    let generated = iron_local::openapi_document().to_pretty_json().expect("serialise") + "\n";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    if std::env::var("IRON_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).expect("write docs/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/openapi.json is stale: run IRON_UPDATE_OPENAPI=1 cargo test -p iron-local --test api openapi"
    );
    // What the docs entry serves is this very document.
    assert_eq!(iron_docs_api::openapi::DOCUMENT, committed);
}
