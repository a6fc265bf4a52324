//! `cargo run -p iron-local`: the whole API on 127.0.0.1 with a seeded demo gym.

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

// mimalloc: the JSON-heavy request path spends a sixth of its time in glibc malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "iron-local",
    about = "Run the Iron Metrics API locally on embedded adapters"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "IRON_PORT", default_value_t = 8080)]
    port: u16,
    /// Where the database, queue and local master key live (created on first start).
    #[arg(long, env = "IRON_DATA_DIR", default_value = ".iron-data")]
    data_dir: PathBuf,
    /// Log as JSON lines (as on Lambda) instead of text.
    #[arg(long, env = "IRON_LOG_JSON")]
    log_json: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    iron_http::telemetry::init(args.log_json);
    let config = iron_local::LocalConfig {
        port: args.port,
        data_dir: args.data_dir.clone(),
        seed_demo: true,
    };
    let (started, server) = match iron_local::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("iron-local: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let base = format!("http://{}", started.addr);
    let data_dir = std::fs::canonicalize(&args.data_dir).unwrap_or(args.data_dir);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Iron Metrics local stack\n  listening:  {base}\n  data dir:   {} ({})\n  business:   {} ({})\n  explorer:   {base}/docs\nAPI key: {}\nTry:\n  curl -H \"Authorization: Bearer {}\" \"{base}/api/external/v1/athletes?limit=3\"",
        data_dir.display(),
        if started.seeded {
            "created and seeded"
        } else {
            "reused"
        },
        started.business_name,
        started.business_id,
        started.api_key,
        started.api_key,
    );
    let _ = out.flush();
    drop(out);
    match server.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("iron-local: server error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
