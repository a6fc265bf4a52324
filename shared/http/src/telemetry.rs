//! Logging: JSON lines on Lambda (CloudWatch), compact text locally unless asked for JSON.
//! Request spans carry the request id and business id; no header or body is ever logged, so
//! no key or secret can reach a log line.

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    // An empty RUST_LOG counts as unset (it would otherwise silence everything).
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // stderr: stdout is for what a program prints on purpose (iron-local's banner).
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let result = if json {
        builder.json().with_current_span(true).with_span_list(false).flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
