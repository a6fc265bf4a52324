//! Test harness: finds the local AWS emulator (moto_server) or starts one.
//!
//! `IRON_MOTO_URL` (set by `.ci/run`) names a running emulator. Without it, the first test that
//! asks starts one (`infra/moto/serve.py`: moto serving one request at a time, which keeps
//! DynamoDB's per-item atomicity) on a free loopback port for the rest of the test binary. When
//! neither works the harness panics with how to install it: AWS adapter tests never pass silently.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Emulator {
    url: String,
    _child: Option<Child>,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

fn reachable(url: &str) -> bool {
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    std::net::TcpStream::connect_timeout(
        &match addr.parse() {
            Ok(a) => a,
            Err(_) => return false,
        },
        Duration::from_millis(300),
    )
    .is_ok()
}

/// The emulator's endpoint URL, starting one if needed.
pub fn endpoint() -> String {
    EMULATOR
        .get_or_init(|| {
            if let Some(url) = std::env::var("IRON_MOTO_URL").ok().filter(|u| !u.trim().is_empty()) {
                assert!(reachable(&url), "IRON_MOTO_URL={url} is not answering");
                return Emulator { url, _child: None };
            }
            let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
            // A shell minds the emulator and stops it once this test process is gone.
            let serve = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/moto/serve.py");
            let script = format!(
                "python3 {serve} --host 127.0.0.1 --port {port} & m=$!; while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m",
                parent = std::process::id()
            );
            let child = Command::new("sh")
                .args(["-c", &script])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("could not run sh to start moto_server");
            let url = format!("http://127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            while !reachable(&url) {
                assert!(Instant::now() < deadline, "moto_server did not start on {url}: `pip install \"moto[server]\"`, or set IRON_MOTO_URL");
                std::thread::sleep(Duration::from_millis(100));
            }
            Emulator { url, _child: Some(child) }
        })
        .url
        .clone()
}

/// A unique resource name for one test.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}-{:x}", std::process::id(), rand::random::<u64>())
}
