//! The official `standardwebhooks` libraries (PyPI and npm) verify our signatures, including
//! the two-signature header sent during a secret rotation, and reject tampered bodies.
//! `infra/test` installs both (the npm one under `NODE_PATH`); without them this test fails
//! rather than skips.

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

const VERIFY_JS: &str = r#"
const { Webhook } = require("standardwebhooks");
const [secret, id, ts, sig, body] = process.argv.slice(1);
const headers = { "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig };
try {
  const payload = new Webhook(secret).verify(body, headers);
  console.log("OK " + JSON.stringify(payload));
} catch (e) {
  console.log("REJECTED " + e.name);
}
"#;

#[derive(Clone, Copy, Debug)]
enum Library {
    Python,
    Node,
}

fn verify_with(library: Library, secret: &str, msg_id: &str, ts: i64, sig: &str, body: &str) -> String {
    let ts = ts.to_string();
    let args = [secret, msg_id, ts.as_str(), sig, body];
    let out = match library {
        Library::Python => Command::new("python3").arg("-c").arg(VERIFY).args(args).output().expect("python3 runs"),
        Library::Node => Command::new("node").arg("-e").arg(VERIFY_JS).args(args).output().expect("node runs"),
    };
    assert!(
        out.status.success(),
        "the {library:?} standardwebhooks library is missing (infra/test installs it: pip install \
         standardwebhooks; npm install standardwebhooks with NODE_PATH pointing at it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn python_library_verifies_our_deliveries() {
    official_library_verifies_our_deliveries(Library::Python);
}

#[test]
fn npm_library_verifies_our_deliveries() {
    official_library_verifies_our_deliveries(Library::Node);
}

fn official_library_verifies_our_deliveries(library: Library) {
    let verify_with_library = |secret: &str, msg_id: &str, ts: i64, sig: &str, body: &str| {
        verify_with(library, secret, msg_id, ts, sig, body)
    };
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
