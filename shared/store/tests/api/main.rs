//! The embedded adapters through the conformance suites: one test binary for the crate.

mod embedded_ports;
mod sqlite_conformance;
