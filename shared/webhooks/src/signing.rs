//! Standard Webhooks signatures (<https://www.standardwebhooks.com>): headers `webhook-id`,
//! `webhook-timestamp` and `webhook-signature`; the signature is `v1,` + base64 of
//! HMAC-SHA256(secret, "{id}.{timestamp}.{body}"); secrets are `whsec_` + base64 of the key.
//! Several signatures may be sent space-separated (during a secret rotation).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::fmt;

pub const PREFIX: &str = "whsec_";
/// Receivers should refuse messages older or newer than this (the spec's recommendation).
pub const TOLERANCE_S: i64 = 5 * 60;

#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// 32 random bytes.
    pub fn generate() -> WebhookSecret {
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        WebhookSecret(key)
    }

    /// Accepts `whsec_<base64>` with a key of 24 to 64 bytes.
    pub fn parse(s: &str) -> Option<WebhookSecret> {
        let key = STANDARD.decode(s.strip_prefix(PREFIX)?).ok()?;
        (24..=64).contains(&key.len()).then_some(WebhookSecret(key))
    }

    /// The `whsec_…` form, to show the owner once (and to store encrypted).
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }

    /// Checks a `webhook-signature` header (any of its space-separated `v1,` signatures) in
    /// constant time, and the timestamp against `now`.
    pub fn verify(
        &self,
        msg_id: &str,
        timestamp: i64,
        body: &[u8],
        header: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        if (now - timestamp).abs() > TOLERANCE_S {
            return Err(SignatureError::Timestamp);
        }
        for candidate in header.split_whitespace() {
            let Some(sig) = candidate.strip_prefix("v1,") else { continue };
            let Ok(sig) = STANDARD.decode(sig) else { continue };
            let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
            mac.update(format!("{msg_id}.{timestamp}.").as_bytes());
            mac.update(body);
            if mac.verify_slice(&sig).is_ok() {
                return Ok(());
            }
        }
        Err(SignatureError::Mismatch)
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// The `webhook-signature` header for a message signed with every current secret (the new one
/// and, during a rotation's overlap, the old one).
pub fn signature_header(secrets: &[&WebhookSecret], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(msg_id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature matches")]
    Mismatch,
    #[error("the timestamp is outside the tolerance")]
    Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_specification_test_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(secret.verify("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body, &sig, 1614265330 + 10).is_ok());
    }

    #[test]
    fn verification_refuses_tampering_old_messages_and_other_secrets() {
        let secret = WebhookSecret::generate();
        let other = WebhookSecret::generate();
        let body = br#"{"type":"member.created"}"#;
        let header = signature_header(&[&other, &secret], "msg_1", 1_800_000_000, body);
        assert!(secret.verify("msg_1", 1_800_000_000, body, &header, 1_800_000_060).is_ok(), "either signature counts");
        assert_eq!(secret.verify("msg_1", 1_800_000_000, b"{}", &header, 1_800_000_000), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify("msg_2", 1_800_000_000, body, &header, 1_800_000_000), Err(SignatureError::Mismatch));
        assert_eq!(
            secret.verify("msg_1", 1_800_000_000, body, &header, 1_800_000_000 + 301),
            Err(SignatureError::Timestamp)
        );
        assert!(WebhookSecret::parse(&secret.expose()).is_some_and(|s| s == secret));
        assert!(WebhookSecret::parse("whsec_short").is_none());
        assert!(!format!("{secret:?}").contains(&secret.expose()[6..]));
    }
}
