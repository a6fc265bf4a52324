//! Configuration from the environment, one typed struct per function, read one way: every
//! variable is named with what it is for, a missing or malformed one stops the start with that
//! message, and optional ones have their default here.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// A snapshot of the environment (a map in tests).
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    pub fn process() -> Env {
        Env(std::env::vars().collect())
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set; `what` says what it names.
    pub fn required(&self, name: &str, what: &str) -> Result<String, ConfigError> {
        self.get(name).map(str::to_owned).ok_or_else(|| ConfigError(format!("{name} must name {what}")))
    }

    /// A variable that may be set (blank counts as unset).
    pub fn optional(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// `true`/`1` or `false`/`0`; absent is `false`.
    pub fn flag(&self, name: &str) -> Result<bool, ConfigError> {
        match self.get(name) {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => Err(ConfigError(format!("{name} must be true or false, not `{other}`"))),
        }
    }

    /// A whole number in `range`, or `default` when absent.
    pub fn number(&self, name: &str, range: std::ops::RangeInclusive<i64>, default: i64) -> Result<i64, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                ConfigError(format!(
                    "{name} must be a whole number from {} to {}, not `{v}`",
                    range.start(),
                    range.end()
                ))
            }),
        }
    }
}

/// A function's typed configuration.
pub trait FromEnv: Sized {
    fn from_env(env: &Env) -> Result<Self, ConfigError>;
}

/// What every API function reads: the table, audit retention, and whether to trust a proxy's
/// `X-Forwarded-For`.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// `TABLE_NAME`: the single DynamoDB table.
    pub table_name: String,
    /// `IRON_AUDIT_RETENTION_DAYS`, 1–3653, default 90.
    pub audit_retention_days: i64,
    /// `IRON_TRUST_X_FORWARDED_FOR=true` only behind a proxy of ours; otherwise the client IP is
    /// API Gateway's source IP.
    pub trust_forwarded_for: bool,
}

impl FromEnv for ApiConfig {
    fn from_env(env: &Env) -> Result<ApiConfig, ConfigError> {
        Ok(ApiConfig {
            table_name: env.required("TABLE_NAME", "the DynamoDB table")?,
            audit_retention_days: env.number(
                "IRON_AUDIT_RETENTION_DAYS",
                1..=3653,
                iron_http::DEFAULT_AUDIT_RETENTION_DAYS,
            )?,
            trust_forwarded_for: env.flag("IRON_TRUST_X_FORWARDED_FOR")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_and_refuses() {
        let env = Env::from_pairs([("TABLE_NAME", "t"), ("IRON_AUDIT_RETENTION_DAYS", "30")]);
        let c = ApiConfig::from_env(&env).unwrap();
        assert_eq!((c.table_name.as_str(), c.audit_retention_days, c.trust_forwarded_for), ("t", 30, false));
        let missing = ApiConfig::from_env(&Env::default()).unwrap_err().to_string();
        assert!(missing.contains("TABLE_NAME"), "{missing}");
        let bad = Env::from_pairs([("TABLE_NAME", "t"), ("IRON_AUDIT_RETENTION_DAYS", "0")]);
        assert!(ApiConfig::from_env(&bad).unwrap_err().to_string().contains("1 to 3653"));
        let flag = Env::from_pairs([("TABLE_NAME", "t"), ("IRON_TRUST_X_FORWARDED_FOR", "yes")]);
        assert!(ApiConfig::from_env(&flag).is_err());
    }
}
