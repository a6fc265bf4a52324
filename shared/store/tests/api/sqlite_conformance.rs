//! The table-store conformance suite on the embedded SQLite adapter (a real file on disk).

use iron_store::{ManualClock, SqliteTable, TableStore};
use std::sync::Arc;

async fn make(clock: Arc<ManualClock>) -> Arc<dyn TableStore> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.keep().join("table.db");
    Arc::new(SqliteTable::open(&path, clock).expect("open"))
}

iron_store::table_store_conformance!(make);

#[tokio::test]
async fn outbox_fan_out() {
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().with_timezone(&chrono::Utc),
    ));
    let store = make(clock.clone()).await;
    iron_store::conformance::fan_out_scenario(store, clock).await;
}
