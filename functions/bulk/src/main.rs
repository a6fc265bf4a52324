//! Lambda entry point of the bulk group: the table, the files bucket and the jobs queue, then
//! its router.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), iron_lambda::Error> {
    let boot = iron_lambda::Boot::init()?;
    let config: iron_bulk_api::Config = boot.config()?;
    let aws = boot.aws().await;
    let state = iron_bulk_api::BulkState {
        api: aws.api_context(&config.api),
        blobs: aws.s3_blobs(&config.bucket),
        jobs: aws.sqs_queue(&config.jobs_queue_url),
    };
    iron_lambda::serve(iron_bulk_api::routes(state)).await
}
