//! The crate's one integration-test binary: the whole API (every endpoint group, merged as
//! iron-local serves it) driven through its router over the embedded adapters and DynamoDB on
//! moto, the sample Lambda events through each function's router, the committed OpenAPI
//! document, and the `iron-local` binary end to end.

mod analytics;
mod athlete_writes;
mod athletes;
mod bulk;
mod challenges;
mod check_in;
mod cost;
mod deliveries;
mod e2e;
mod governance;
mod integrations;
mod jobs;
mod lambda_events;
mod openapi;
mod rate_limits;
mod webhooks;
