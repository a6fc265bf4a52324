//! Lambda entry point of the athletes group: its table-backed context, then its router.

// mimalloc: the JSON-heavy request path spends a sixth of its time in glibc's malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    iron_lambda::serve_api_group(iron_athletes_api::routes).await
}
