//! `cargo run -p iron-local`: the whole API on 127.0.0.1 with a seeded demo gym.

use clap::Parser;
use std::io::Write;
use std::path::PathBuf;

// mimalloc: the JSON-heavy request path spends a sixth of its time in glibc malloc otherwise.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "iron-local", about = "Run the Iron Metrics API locally on embedded adapters")]
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
    /// Don't write the audit log (for benchmarking its cost only).
    #[arg(long, env = "IRON_NO_AUDIT")]
    no_audit: bool,
    /// Days audit records are kept.
    #[arg(long, env = "IRON_AUDIT_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=3653))]
    audit_retention_days: i64,
    /// Take the client IP from X-Forwarded-For (only behind a proxy you run).
    #[arg(long, env = "IRON_TRUST_X_FORWARDED_FOR")]
    trust_x_forwarded_for: bool,
    /// Let webhooks point at http://127.0.0.1 / localhost receivers (local development only).
    #[arg(long, env = "IRON_ALLOW_LOCAL_WEBHOOKS")]
    allow_local_webhooks: bool,
}

/// The embedded adapters do their SQLite work on the runtime's threads (a read or a commit takes
/// a millisecond or two, less than a hop to a blocking pool would cost), so a thread busy in
/// SQLite serves nothing else meanwhile: twice as many runtime threads as cores keep requests
/// moving while some are in SQLite (docs/PERFORMANCE.md, "Challenges and leaderboards").
fn main() -> std::process::ExitCode {
    let threads = std::thread::available_parallelism().map_or(4, |n| n.get() * 2);
    match tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build() {
        Ok(runtime) => runtime.block_on(serve()),
        Err(e) => {
            eprintln!("iron-local: no runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve() -> std::process::ExitCode {
    let args = Args::parse();
    iron_http::telemetry::init(args.log_json);
    let config = iron_local::LocalConfig {
        port: args.port,
        data_dir: args.data_dir.clone(),
        seed_demo: true,
        audit: !args.no_audit,
        audit_retention_days: args.audit_retention_days,
        trust_forwarded_for: args.trust_x_forwarded_for,
        allow_local_webhooks: args.allow_local_webhooks,
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
    if args.allow_local_webhooks {
        let _ = writeln!(
            out,
            "Note: webhooks may point at http:// loopback receivers (--allow-local-webhooks); never in a deployment."
        );
    }
    let _ = writeln!(
        out,
        "Iron Metrics local stack\n  listening:  {base}\n  data dir:   {} ({})\n  business:   {} ({})\n  explorer:   {base}/docs\nAPI key: {}\nTry:\n  curl -H \"Authorization: Bearer {}\" \"{base}/api/external/v1/athletes?limit=3\"",
        data_dir.display(),
        if started.seeded { "created and seeded" } else { "reused" },
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
