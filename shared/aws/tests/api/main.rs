//! The AWS adapters against moto: one test binary for the crate.

mod moto_conformance;
