//! iron-sync's integration tests: the connector against the fake Wodify.

mod connector;
