//! API keys: `bak_` secrets shown once, stored only as a SHA-256 hash, carrying scopes and a tier.

use crate::id::Id;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// A permission a key may hold. Wire form: `read:athletes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    #[serde(rename = "read:athletes")]
    ReadAthletes,
    #[serde(rename = "write:athletes")]
    WriteAthletes,
    #[serde(rename = "read:tests")]
    ReadTests,
    #[serde(rename = "write:tests")]
    WriteTests,
    #[serde(rename = "read:analytics")]
    ReadAnalytics,
    #[serde(rename = "manage:keys")]
    ManageKeys,
    #[serde(rename = "manage:webhooks")]
    ManageWebhooks,
    #[serde(rename = "read:audit")]
    ReadAudit,
    /// Members' training and health data: readiness, workouts, injuries, check-ins, workouts of the day.
    #[serde(rename = "read:members")]
    ReadMembers,
    /// Record members' training data and check members in.
    #[serde(rename = "write:members")]
    WriteMembers,
    /// Create and change locations (hours, capacity, equipment).
    #[serde(rename = "manage:locations")]
    ManageLocations,
    /// Challenges, their leaderboards and members' badges.
    #[serde(rename = "read:challenges")]
    ReadChallenges,
    /// Join members to challenges and log their entries.
    #[serde(rename = "write:challenges")]
    WriteChallenges,
    /// Create, change and delete challenges and their teams; enrol members in private ones.
    #[serde(rename = "manage:challenges")]
    ManageChallenges,
    /// Gyms and third-party integrations (Wodify): connect a key, run and watch syncs, read the
    /// monthly metrics they feed.
    #[serde(rename = "manage:integrations")]
    ManageIntegrations,
    /// The business's analytics settings: the churn model's weights, the expiry notice.
    #[serde(rename = "manage:analytics")]
    ManageAnalytics,
}

impl Scope {
    pub const ALL: [Scope; 16] = [
        Scope::ReadAthletes,
        Scope::WriteAthletes,
        Scope::ReadTests,
        Scope::WriteTests,
        Scope::ReadAnalytics,
        Scope::ManageKeys,
        Scope::ManageWebhooks,
        Scope::ReadAudit,
        Scope::ReadMembers,
        Scope::WriteMembers,
        Scope::ManageLocations,
        Scope::ReadChallenges,
        Scope::WriteChallenges,
        Scope::ManageChallenges,
        Scope::ManageIntegrations,
        Scope::ManageAnalytics,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::ReadAthletes => "read:athletes",
            Scope::WriteAthletes => "write:athletes",
            Scope::ReadTests => "read:tests",
            Scope::WriteTests => "write:tests",
            Scope::ReadAnalytics => "read:analytics",
            Scope::ManageKeys => "manage:keys",
            Scope::ManageWebhooks => "manage:webhooks",
            Scope::ReadAudit => "read:audit",
            Scope::ReadMembers => "read:members",
            Scope::WriteMembers => "write:members",
            Scope::ManageLocations => "manage:locations",
            Scope::ReadChallenges => "read:challenges",
            Scope::WriteChallenges => "write:challenges",
            Scope::ManageChallenges => "manage:challenges",
            Scope::ManageIntegrations => "manage:integrations",
            Scope::ManageAnalytics => "manage:analytics",
        }
    }

    /// The scopes a read-only integration gets by default.
    pub const READ_ONLY: [Scope; 3] = [Scope::ReadAthletes, Scope::ReadTests, Scope::ReadAnalytics];
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s).ok_or_else(|| {
            format!(
                "unknown scope `{s}`; known scopes: {}",
                Scope::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// Rate-limit tiers. The one table of limits lives in [`RateTier::limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RateTier {
    Standard,
    Professional,
    Enterprise,
    Unlimited,
}

/// Requests allowed per window; `None` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierLimits {
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
    pub websocket_connections: Option<u32>,
}

impl RateTier {
    /// Order for "no higher than": Standard < Professional < Enterprise < Unlimited.
    pub const fn rank(self) -> u8 {
        match self {
            RateTier::Standard => 0,
            RateTier::Professional => 1,
            RateTier::Enterprise => 2,
            RateTier::Unlimited => 3,
        }
    }

    pub const ALL: [RateTier; 4] =
        [RateTier::Standard, RateTier::Professional, RateTier::Enterprise, RateTier::Unlimited];

    pub const fn limits(self) -> TierLimits {
        match self {
            RateTier::Standard => {
                TierLimits { per_minute: Some(60), per_day: Some(10_000), websocket_connections: Some(5) }
            }
            RateTier::Professional => {
                TierLimits { per_minute: Some(300), per_day: Some(50_000), websocket_connections: Some(25) }
            }
            RateTier::Enterprise => {
                TierLimits { per_minute: Some(1_000), per_day: Some(500_000), websocket_connections: Some(100) }
            }
            RateTier::Unlimited => TierLimits { per_minute: None, per_day: None, websocket_connections: None },
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            RateTier::Standard => "standard",
            RateTier::Professional => "professional",
            RateTier::Enterprise => "enterprise",
            RateTier::Unlimited => "unlimited",
        }
    }
}

impl FromStr for RateTier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RateTier::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("unknown tier `{s}`; known tiers: standard, professional, enterprise, unlimited"))
    }
}

/// The plaintext secret. Exists only between minting and showing it once; never stored or logged
/// (its `Debug` is redacted).
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    pub const PREFIX: &'static str = "bak_";

    /// 32 random bytes, hex: `bak_` + 64 hex characters.
    pub fn generate() -> ApiKeySecret {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        ApiKeySecret(format!("{}{}", Self::PREFIX, hex::encode(bytes)))
    }

    /// Accepts a presented key if it is shaped like one of ours; no lookup happens here.
    pub fn parse(presented: &str) -> Option<ApiKeySecret> {
        let body = presented.strip_prefix(Self::PREFIX)?;
        (body.len() == 64 && body.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
            .then(|| ApiKeySecret(presented.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }

    /// What may be shown later to tell keys apart: `bak_1a2b3c4d`.
    pub fn display_prefix(&self) -> String {
        self.0[..12].to_owned()
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKeySecret(<redacted>)")
    }
}

/// SHA-256 of a key, hex. This is what storage holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyHash(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyStatus {
    Active,
    Revoked,
}

/// The stored description of a key (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    pub id: Id,
    pub business_id: Id,
    pub name: String,
    /// First 12 characters of the secret, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub tier: RateTier,
    pub status: ApiKeyStatus,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
    /// Addresses and CIDR ranges the key may be used from; empty means anywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<ipnet::IpNet>,
    /// The key this one replaced by rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Id>,
    /// Bumped by every change; writes are conditional on the revision they read.
    #[serde(default)]
    pub revision: u64,
}

impl ApiKey {
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// Whether a request from `ip` may use this key (no allowlist: from anywhere; unknown IP with
    /// an allowlist: refused).
    pub fn allows_ip(&self, ip: Option<std::net::IpAddr>) -> bool {
        if self.allowed_ips.is_empty() {
            return true;
        }
        ip.is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&ip)))
    }

    /// `active`, `expired` or `revoked` at `now`.
    pub fn state_at(&self, now: DateTime<Utc>) -> &'static str {
        match self.status {
            ApiKeyStatus::Revoked => "revoked",
            ApiKeyStatus::Active if self.is_usable(now) => "active",
            ApiKeyStatus::Active => "expired",
        }
    }

    /// Whether the key authenticates at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.status == ApiKeyStatus::Active && self.expires_at.is_none_or(|at| now < at)
    }

    /// The escalation rule, for minting a key and for acting on one: a key can't grant, or
    /// manage a key holding, scopes it lacks or a tier above its own. The error says which.
    pub fn covers(&self, scopes: &[Scope], tier: RateTier) -> Result<(), String> {
        let excess: Vec<_> = scopes.iter().filter(|s| !self.has_scope(**s)).map(|s| s.as_str()).collect();
        if !excess.is_empty() {
            return Err(format!("this key doesn't hold the scopes involved: {}", excess.join(", ")));
        }
        if tier.rank() > self.tier.rank() {
            return Err(format!("this key's tier ({}) is below the one involved", self.tier.as_str()));
        }
        Ok(())
    }

    /// The expiry and allowlist of a key this key mints: never outliving it, never usable from
    /// an address it isn't. Omitted ones are inherited. The error says which rule was broken.
    pub fn bound_grant(
        &self,
        expires_at: Option<DateTime<Utc>>,
        allowed_ips: Vec<ipnet::IpNet>,
    ) -> Result<(Option<DateTime<Utc>>, Vec<ipnet::IpNet>), String> {
        let expires_at = match (self.expires_at, expires_at) {
            (Some(limit), Some(asked)) if asked > limit => {
                return Err(format!("a key can't create a key that outlives it (this one expires {limit})"));
            }
            (Some(limit), None) => Some(limit),
            (_, asked) => asked,
        };
        let allowed_ips = if self.allowed_ips.is_empty() {
            allowed_ips
        } else if allowed_ips.is_empty() {
            self.allowed_ips.clone()
        } else if allowed_ips.iter().all(|net| self.allowed_ips.iter().any(|mine| mine.contains(net))) {
            allowed_ips
        } else {
            return Err("a key can't allow addresses outside its own allowlist".into());
        };
        Ok((expires_at, allowed_ips))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_parse_and_hash_stably() {
        let secret = ApiKeySecret::generate();
        assert!(secret.expose().starts_with("bak_"));
        let reparsed = ApiKeySecret::parse(secret.expose()).expect("own keys parse");
        assert_eq!(reparsed.hash(), secret.hash());
        assert_eq!(secret.hash().0.len(), 64);
        assert!(!format!("{secret:?}").contains(secret.expose()));
        assert!(ApiKeySecret::parse("bak_short").is_none());
        assert!(ApiKeySecret::parse(&secret.expose().replace("bak_", "sk_")).is_none());
    }

    #[test]
    fn scopes_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("read:everything".parse::<Scope>().unwrap_err().contains("read:athletes"));
    }

    #[test]
    fn ip_allowlists_match_addresses_and_ranges() {
        let mut key: ApiKey = serde_json::from_value(serde_json::json!({
            "id": "key_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "businessId": "biz_01JD3M6Y5W8Q1ZK2T3V4X5Y6Z7", "name": "n",
            "prefix": "bak_12345678", "scopes": [], "tier": "standard", "status": "active",
            "createdAt": "2026-01-01T00:00:00Z"
        }))
        .unwrap();
        assert!(key.allows_ip(None), "no allowlist: anywhere");
        key.allowed_ips = vec![
            "203.0.113.0/24".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
            "198.51.100.7/32".parse().unwrap(),
        ];
        for ok in ["203.0.113.7", "2001:db8::1", "198.51.100.7"] {
            assert!(key.allows_ip(Some(ok.parse().unwrap())), "{ok}");
        }
        for no in ["203.0.114.1", "198.51.100.8", "2001:db9::1", "127.0.0.1"] {
            assert!(!key.allows_ip(Some(no.parse().unwrap())), "{no}");
        }
        assert!(!key.allows_ip(None), "unknown source with an allowlist: refused");
    }

    #[test]
    fn tier_table_matches_the_roadmap() {
        assert_eq!(RateTier::Standard.limits().per_minute, Some(60));
        assert_eq!(RateTier::Standard.limits().per_day, Some(10_000));
        assert_eq!(RateTier::Professional.limits().per_minute, Some(300));
        assert_eq!(RateTier::Enterprise.limits().per_day, Some(500_000));
        assert_eq!(RateTier::Unlimited.limits().per_minute, None);
    }
}
