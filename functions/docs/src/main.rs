//! Lambda entry point of the docs entry: no adapters, only the document, explorer and health.

// mimalloc: the JSON-heavy request path spends a sixth of its time in glibc's malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    iron_lambda::Boot::init()?;
    iron_lambda::serve(iron_docs_api::routes()).await
}
