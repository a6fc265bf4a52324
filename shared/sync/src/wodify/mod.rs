//! Wodify, the first sync provider: its connector and the shape of its API.

pub mod connector;
pub mod endpoints;
pub mod run;
pub mod service;
pub mod transform;
