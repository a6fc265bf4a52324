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
    /// Where Wodify's API is (default: the real https://api.wodify.com/v1).
    #[arg(long, env = "IRON_WODIFY_BASE_URL", conflicts_with = "fake_wodify")]
    wodify_base_url: Option<String>,
    /// Also start a fake Wodify (a generated gym) on 127.0.0.1 and sync against it: a demo gym to
    /// connect end to end (the key to paste is printed).
    #[arg(long, env = "IRON_FAKE_WODIFY")]
    fake_wodify: bool,
    /// Sync without the 4 requests/s pace (benchmarks against a fake only: the real Wodify
    /// answers 429 past 5/s).
    #[arg(long, hide = true)]
    wodify_unpaced: bool,
    /// Clients of the fake Wodify's gym.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=5000))]
    fake_wodify_clients: u32,
}

/// The key the fake Wodify takes (a demo: it opens nothing real).
const FAKE_WODIFY_KEY: &str = "wdf_demo_5e1f0c3a9b7d2468";

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
    let mut wodify_base_url = args.wodify_base_url.clone();
    let mut fake = None;
    if args.fake_wodify {
        let spec = iron_wodify_fake::gym::GymSpec {
            clients: args.fake_wodify_clients as usize,
            today: chrono::Utc::now().date_naive(),
            ..Default::default()
        };
        match iron_wodify_fake::FakeWodify::new(spec, vec![FAKE_WODIFY_KEY.into()]).spawn(0).await {
            Ok(running) => {
                wodify_base_url = Some(running.base_url());
                fake = Some(running);
            }
            Err(e) => {
                eprintln!("iron-local: the fake Wodify could not start: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    let config = iron_local::LocalConfig {
        port: args.port,
        data_dir: args.data_dir.clone(),
        seed_demo: true,
        audit: !args.no_audit,
        audit_retention_days: args.audit_retention_days,
        trust_forwarded_for: args.trust_x_forwarded_for,
        allow_local_webhooks: args.allow_local_webhooks,
        wodify_base_url,
        wodify_unpaced: args.wodify_unpaced,
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
    if let Some(fake) = &fake {
        let _ = writeln!(
            out,
            "Fake Wodify ({} clients): {}\nConnect the demo gym to it:\n  GYM=$(curl -s -H \"Authorization: Bearer {key}\" {base}/api/external/v1/gyms | sed -E 's/.*\"id\":\"(gym_[^\"]+)\".*/\\1/')\n  curl -s -H \"Authorization: Bearer {key}\" -H 'Content-Type: application/json' -d \"{{\\\"gymId\\\":\\\"$GYM\\\",\\\"apiKey\\\":\\\"{FAKE_WODIFY_KEY}\\\"}}\" {base}/api/external/v1/integrations/wodify/connect\n  curl -s -H \"Authorization: Bearer {key}\" \"{base}/api/external/v1/integrations/wodify/status?gymId=$GYM\"",
            args.fake_wodify_clients,
            fake.base_url(),
            key = started.api_key,
        );
    }
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
