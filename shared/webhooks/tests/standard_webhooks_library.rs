//! The official `standardwebhooks` library (PyPI) verifies our signatures, including the
//! two-signature header sent during a secret rotation, and rejects tampered bodies.
//! `infra/test` installs the library; without it this test fails rather than skips.

use iron_webhooks::WebhookSecret;
use iron_webhooks::signing::signature_header;
use std::process::Command;

const VERIFY: &str = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
secret, msg_id, ts, sig, body = sys.argv[1:6]
headers = {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": sig}
try:
    payload = Webhook(secret).verify(body, headers)
    print("OK", json.dumps(payload, sort_keys=True))
except Exception as e:
    print("REJECTED", type(e).__name__)
"#;

fn verify_with_library(secret: &str, msg_id: &str, ts: i64, sig: &str, body: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", VERIFY, secret, msg_id, &ts.to_string(), sig, body])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the standardwebhooks library is missing (pip install standardwebhooks): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn official_library_verifies_our_deliveries() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let secret = WebhookSecret::generate();
    let body = r#"{"type":"member.created","timestamp":"2026-11-22T10:00:30Z","data":{"id":"ath_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7","firstName":"José","lastName":"Núñez"}}"#;
    let msg_id = "msg_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7";
    let sig = secret.sign(msg_id, now, body.as_bytes());
    assert!(verify_with_library(&secret.expose(), msg_id, now, &sig, body).starts_with("OK"), "single signature");

    // During a rotation we sign with both secrets; a receiver holding either verifies.
    let old = WebhookSecret::generate();
    let both = signature_header(&[&secret, &old], msg_id, now, body.as_bytes());
    assert!(verify_with_library(&old.expose(), msg_id, now, &both, body).starts_with("OK"));
    assert!(verify_with_library(&secret.expose(), msg_id, now, &both, body).starts_with("OK"));

    let tampered = body.replace("Núñez", "Nunez");
    assert!(verify_with_library(&secret.expose(), msg_id, now, &sig, &tampered).starts_with("REJECTED"));
    let other = WebhookSecret::generate();
    assert!(verify_with_library(&other.expose(), msg_id, now, &sig, body).starts_with("REJECTED"));
}
