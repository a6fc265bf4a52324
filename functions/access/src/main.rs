//! Lambda entry point of the access group: its table-backed context, then its router.

// mimalloc: the JSON-heavy request path spends a sixth of its time in glibc's malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_lambda::ApiConfig = boot.config()?;
    let aws = boot.aws().await;
    iron_lambda::serve(iron_access_api::routes(aws.api_context(&config))).await
}
