//! Lambda entry point of the analytics group: its table-backed context, then its router.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    iron_lambda::serve_api_group(iron_analytics_api::routes).await
}
