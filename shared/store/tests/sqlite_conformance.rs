//! The table-store conformance suite on the embedded SQLite adapter (a real file on disk).

use iron_store::{ManualClock, SqliteTable, TableStore};
use std::sync::Arc;

async fn make(clock: Arc<ManualClock>) -> Arc<dyn TableStore> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.keep().join("table.db");
    Arc::new(SqliteTable::open(&path, clock).expect("open"))
}

iron_store::table_store_conformance!(make);
