//! iron-sync's integration tests: the connector and whole runs against the fake Wodify, over
//! the embedded table.

mod connector;
mod engine;
