//! Prefixed, time-ordered identifiers (`ath_01J…`), in the manner of Stripe and Svix.
//!
//! The body is a ULID (48-bit millisecond timestamp + 80 random bits, Crockford base32), so ids
//! sort by creation time: the single-table design relies on that for stable list order.

use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    Business,
    Location,
    ApiKey,
    Athlete,
    Test,
    Partner,
    Referral,
    Event,
    Webhook,
    Delivery,
    Workout,
    Readiness,
    Injury,
    CheckIn,
    Import,
    Export,
    Challenge,
    Team,
    Entry,
    Task,
    Gym,
    SyncRun,
    Membership,
    Payment,
}

impl IdKind {
    pub const ALL: [IdKind; 24] = [
        IdKind::Business,
        IdKind::Location,
        IdKind::ApiKey,
        IdKind::Athlete,
        IdKind::Test,
        IdKind::Partner,
        IdKind::Referral,
        IdKind::Event,
        IdKind::Webhook,
        IdKind::Delivery,
        IdKind::Workout,
        IdKind::Readiness,
        IdKind::Injury,
        IdKind::CheckIn,
        IdKind::Import,
        IdKind::Export,
        IdKind::Challenge,
        IdKind::Team,
        IdKind::Entry,
        IdKind::Task,
        IdKind::Gym,
        IdKind::SyncRun,
        IdKind::Membership,
        IdKind::Payment,
    ];

    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::Business => "biz",
            IdKind::Location => "loc",
            IdKind::ApiKey => "key",
            IdKind::Athlete => "ath",
            IdKind::Test => "tst",
            IdKind::Partner => "ptn",
            IdKind::Referral => "ref",
            IdKind::Event => "evt",
            IdKind::Webhook => "whk",
            IdKind::Delivery => "dlv",
            IdKind::Workout => "wko",
            IdKind::Readiness => "rdy",
            IdKind::Injury => "inj",
            IdKind::CheckIn => "chk",
            IdKind::Import => "imp",
            IdKind::Export => "exp",
            IdKind::Challenge => "chl",
            IdKind::Team => "team",
            IdKind::Entry => "ent",
            IdKind::Task => "tsk",
            IdKind::Gym => "gym",
            IdKind::SyncRun => "run",
            IdKind::Membership => "mbr",
            IdKind::Payment => "pay",
        }
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A validated prefixed id. `Id::parse` is the only way in from outside, so a value of this type
/// is always well formed (and safe to embed in a storage key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Id(String);

impl Id {
    /// A new id of `kind` created at `now_ms` (Unix milliseconds).
    pub fn generate(kind: IdKind, now_ms: i64) -> Id {
        let mut random = [0u8; 10];
        rand::rng().fill_bytes(&mut random);
        Self::from_parts(kind, now_ms, random)
    }

    /// Deterministic construction, for seeds and tests.
    pub fn from_parts(kind: IdKind, now_ms: i64, random: [u8; 10]) -> Id {
        Id(format!("{}_{}", kind.prefix(), ulid_body(now_ms, random)))
    }

    /// Parses an id that must be of `kind`.
    pub fn parse_kind(kind: IdKind, s: &str) -> Option<Id> {
        let id = Self::parse(s)?;
        (id.kind() == Some(kind)).then_some(id)
    }

    pub fn parse(s: &str) -> Option<Id> {
        let (prefix, body) = s.split_once('_')?;
        if !IdKind::ALL.iter().any(|k| k.prefix() == prefix) {
            return None;
        }
        if body.len() != 26 || !body.bytes().all(|b| CROCKFORD.contains(&b)) {
            return None;
        }
        Some(Id(s.to_owned()))
    }

    pub fn kind(&self) -> Option<IdKind> {
        let prefix = self.0.split('_').next()?;
        IdKind::ALL.into_iter().find(|k| k.prefix() == prefix)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bare ULID (26 Crockford base32 characters), time-ordered: for ids that are not entities
/// (request ids, queue message ids).
pub fn new_ulid(now_ms: i64) -> String {
    let mut random = [0u8; 10];
    rand::rng().fill_bytes(&mut random);
    ulid_body(now_ms, random)
}

fn ulid_body(now_ms: i64, random: [u8; 10]) -> String {
    let ts = (now_ms.max(0) as u128) & ((1u128 << 48) - 1);
    let mut value: u128 = ts << 80;
    for (i, b) in random.iter().enumerate() {
        value |= (*b as u128) << (72 - 8 * i);
    }
    let mut body = [0u8; 26];
    for i in (0..26).rev() {
        body[i] = CROCKFORD[(value & 31) as usize];
        value >>= 5;
    }
    body.iter().map(|&b| b as char).collect()
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Id {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Id::parse(&value).ok_or_else(|| format!("`{value}` is not a valid id"))
    }
}

impl From<Id> for String {
    fn from(id: Id) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_sort_by_time() {
        let a = Id::from_parts(IdKind::Athlete, 1_700_000_000_000, [0xff; 10]);
        let b = Id::from_parts(IdKind::Athlete, 1_700_000_000_001, [0; 10]);
        assert!(a < b, "{a} should sort before {b}");
        assert_eq!(Id::parse(a.as_str()), Some(a.clone()));
        assert_eq!(a.kind(), Some(IdKind::Athlete));
        assert!(Id::parse_kind(IdKind::Test, a.as_str()).is_none());
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "ath_",
            "ath_123",
            "xyz_01HZZZZZZZZZZZZZZZZZZZZZZZ",
            "ath_01hzzzzzzzzzzzzzzzzzzzzz",
            "ath_01HZZZZZZZZZZZZZZZZZZZZZZ#",
        ] {
            assert!(Id::parse(bad).is_none(), "{bad} should be rejected");
        }
    }
}
