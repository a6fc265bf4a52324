//! The Wodify connector: the integration boundary. It builds requests (`x-api-key`,
//! `page_size=100`, the `q` syntax, `sort`), follows `has_more`, reads error bodies sent with
//! a 2xx status as errors, tells a refused key from an unknown route, keeps to a token bucket,
//! retries 429 / 5xx / timeouts with exponential backoff and jitter under hard timeouts, and
//! opens a circuit breaker after repeated failures. It stores nothing.
//!
//! The key is held as a `SecretString`, sent in a header marked sensitive, and no error or log
//! line carries it (errors keep Wodify's own message, cut short, with the key struck out should
//! it ever be echoed).

use crate::breaker::Breaker;
use crate::limit::{Limiter, Pace, WODIFY_PACE};
use crate::metrics::{Outcome, RequestMetrics};
use backon::{ExponentialBuilder, Retryable};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use std::time::{Duration, Instant};
use url::Url;

/// Wodify's real base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.wodify.com/v1";
/// Records a page holds at most (Wodify's maximum).
pub const PAGE_SIZE: u32 = 100;
/// How much of a provider's error message is kept.
const MESSAGE_KEPT: usize = 300;

#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// The first backoff; each next one doubles, with jitter, up to `max_delay`.
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// Tries of one request on 5xx, timeouts and connection errors (the first included).
    pub attempts: u32,
    /// How long one request keeps backing off through 429s (Wodify sends no `Retry-After`):
    /// a storm shorter than this is waited out.
    pub throttled_patience: Duration,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            attempts: 5,
            throttled_patience: Duration::from_secs(300),
        }
    }
}

/// How a connector talks to Wodify (one per connection's run).
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    pub base_url: Url,
    /// The token bucket (`None`: unpaced, for benchmarks against a fake only).
    pub pace: Option<Pace>,
    /// The whole of one request, connect to last byte.
    pub timeout: Duration,
    pub retry: RetryConfig,
    /// Failed attempts in a row that open the breaker.
    pub breaker_threshold: u32,
}

impl Default for ConnectorConfig {
    fn default() -> ConnectorConfig {
        ConnectorConfig {
            base_url: Url::parse(DEFAULT_BASE_URL).unwrap_or_else(|_| unreachable_url()),
            pace: Some(WODIFY_PACE),
            timeout: Duration::from_secs(20),
            retry: RetryConfig::default(),
            breaker_threshold: 8,
        }
    }
}

impl ConnectorConfig {
    /// For a call a person waits on (the key's check at connect): the same pace, short timeouts,
    /// one retry — a slow or failing Wodify is a quick 502, not a request that outlives its
    /// gateway.
    pub fn interactive() -> ConnectorConfig {
        ConnectorConfig {
            timeout: Duration::from_secs(5),
            retry: RetryConfig {
                min_delay: Duration::from_millis(200),
                max_delay: Duration::from_secs(1),
                attempts: 2,
                throttled_patience: Duration::from_secs(2),
            },
            ..ConnectorConfig::default()
        }
    }

    /// The configuration with Wodify at `base_url` (`IRON_WODIFY_BASE_URL`, an iron-local flag):
    /// an absolute http(s) URL; `None` keeps the real one.
    pub fn at(mut self, base_url: Option<&str>) -> Result<ConnectorConfig, String> {
        if let Some(raw) = base_url {
            let url = Url::parse(raw.trim()).map_err(|e| format!("the Wodify base URL `{raw}` is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(format!("the Wodify base URL `{raw}` must be an http(s) URL with a host"));
            }
            self.base_url = url;
        }
        Ok(self)
    }
}

fn unreachable_url() -> Url {
    // DEFAULT_BASE_URL is a constant that parses; this is never reached.
    Url::parse("http://127.0.0.1/").expect("a literal URL")
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    /// 401 or 403 `{"message":"Forbidden"}`: the key is refused — or, when the key works
    /// elsewhere, the gym's Wodify plan does not include this route.
    #[error("Wodify refused the request ({status} {message})")]
    Forbidden { status: u16, message: String },
    /// 403 `{"message":"Missing Authentication Token"}`: the route does not exist.
    #[error("Wodify has no such route ({path})")]
    UnknownRoute { path: String },
    /// Wodify's PascalCase error body (with any status, 2xx included).
    #[error("Wodify error {http_code} {code}: {message}")]
    Application { http_code: u16, code: String, message: String },
    #[error("Wodify kept answering 429 Too Many Requests")]
    Throttled,
    #[error("Wodify answered {status}")]
    Server { status: u16 },
    #[error("Wodify did not answer within {0:?}")]
    Timeout(Duration),
    #[error("could not reach Wodify: {0}")]
    Transport(String),
    #[error("Wodify sent a response that is not what its API documents: {0}")]
    Malformed(String),
    #[error("too many failed requests to Wodify in a row: stopped until the next scheduled run")]
    BreakerOpen,
}

impl ConnectorError {
    fn retryable(&self) -> bool {
        match self {
            ConnectorError::Throttled
            | ConnectorError::Server { .. }
            | ConnectorError::Timeout(_)
            | ConnectorError::Transport(_) => true,
            ConnectorError::Application { http_code, .. } => *http_code >= 500 || *http_code == 429,
            _ => false,
        }
    }
    /// What counts toward the breaker: the provider failing, not pacing us.
    fn is_failure(&self) -> bool {
        self.retryable() && !matches!(self, ConnectorError::Throttled)
    }
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConnectorError::Application { http_code: 404, .. })
    }
}

/// One page of a list or search.
#[derive(Debug, Clone)]
pub struct Page {
    pub records: Vec<Value>,
    pub has_more: bool,
}

/// A search (`q`): clauses ANDed. Values that Wodify's syntax cannot carry (`'`, `|`, `;`) are
/// refused when built, since Wodify documents no escaping.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search(Vec<String>);

impl Search {
    pub fn new() -> Search {
        Search::default()
    }
    fn clause(mut self, field: &str, op: &str, value: &str) -> Search {
        debug_assert!(!value.contains(['\'', '|', ';']), "Wodify has no escaping for {value}");
        self.0.push(format!("{field}|{op}|{value}"));
        self
    }
    /// `field|gte|value` on a bare value (a date, a number).
    pub fn gte(self, field: &str, value: &str) -> Search {
        self.clause(field, "gte", value)
    }
    pub fn lt(self, field: &str, value: &str) -> Search {
        self.clause(field, "lt", value)
    }
    pub fn gt(self, field: &str, value: &str) -> Search {
        self.clause(field, "gt", value)
    }
    pub fn eq_text(self, field: &str, value: &str) -> Result<Search, ConnectorError> {
        if value.contains(['\'', '|', ';']) {
            return Err(ConnectorError::Malformed(format!("a search value cannot contain ' | or ; ({field})")));
        }
        Ok(self.clause(field, "eq", &format!("'{value}'")))
    }
    pub fn to_q(&self) -> String {
        self.0.join(";")
    }
}

pub struct Connector {
    http: reqwest::Client,
    base: Url,
    key: SecretString,
    limiter: Option<Limiter>,
    retry: RetryConfig,
    timeout: Duration,
    breaker: Breaker,
    pub metrics: RequestMetrics,
}

impl Connector {
    pub fn new(config: &ConnectorConfig, key: SecretString) -> Result<Connector, ConnectorError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent("IronMetrics-Sync/1.0")
            .build()
            .map_err(|e| ConnectorError::Transport(e.to_string()))?;
        let mut base = config.base_url.clone();
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        Ok(Connector {
            http,
            base,
            key,
            limiter: config.pace.map(Limiter::new),
            retry: config.retry.clone(),
            timeout: config.timeout,
            breaker: Breaker::new(config.breaker_threshold),
            metrics: RequestMetrics::default(),
        })
    }

    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// A GET of `path` (relative to the base, `clients/search`), `endpoint` naming it in the
    /// metrics (`/clients/search`), with retries.
    pub async fn get(&self, path: &str, endpoint: &str, query: &[(&str, String)]) -> Result<Value, ConnectorError> {
        let mut first_throttle: Option<Instant> = None;
        let mut failures = 0u32;
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.retry.min_delay)
            .with_max_delay(self.retry.max_delay)
            .with_jitter()
            // The limits are in `when`: tries for failures, patience for 429s.
            .with_max_times(100_000);
        (|| self.attempt(path, endpoint, query))
            .retry(backoff)
            .when(|e: &ConnectorError| {
                if !e.retryable() || self.breaker.is_open() {
                    return false;
                }
                if matches!(e, ConnectorError::Throttled) {
                    first_throttle.get_or_insert_with(Instant::now).elapsed() < self.retry.throttled_patience
                } else {
                    failures += 1;
                    failures < self.retry.attempts
                }
            })
            .notify(|e: &ConnectorError, after: Duration| {
                tracing::debug!(endpoint, error = %e, retry_in_ms = after.as_millis() as u64, "Wodify request retried");
            })
            .await
    }

    async fn attempt(&self, path: &str, endpoint: &str, query: &[(&str, String)]) -> Result<Value, ConnectorError> {
        if self.breaker.is_open() {
            return Err(ConnectorError::BreakerOpen);
        }
        if let Some(l) = &self.limiter {
            l.ready().await;
        }
        let mut url = self.base.join(path).map_err(|e| ConnectorError::Malformed(e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut key = reqwest::header::HeaderValue::from_str(self.key.expose_secret()).map_err(|_| {
            ConnectorError::Forbidden { status: 0, message: "the key holds characters a header cannot".into() }
        })?;
        key.set_sensitive(true);
        let started = Instant::now();
        let sent = self
            .http
            .get(url)
            .header("x-api-key", key)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await;
        let result = match sent {
            Err(e) if e.is_timeout() => Err(ConnectorError::Timeout(self.timeout)),
            Err(e) => Err(ConnectorError::Transport(self.sanitise(&without_url(&e)))),
            Ok(response) => {
                let status = response.status().as_u16();
                match response.bytes().await {
                    Err(e) if e.is_timeout() => Err(ConnectorError::Timeout(self.timeout)),
                    Err(e) => Err(ConnectorError::Transport(self.sanitise(&without_url(&e)))),
                    Ok(body) => self.classify(status, &body, path),
                }
            }
        };
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(ConnectorError::Throttled) => Outcome::Throttled,
            Err(_) => Outcome::Error,
        };
        self.metrics.record(endpoint, started.elapsed(), outcome);
        match &result {
            Ok(_) => self.breaker.success(),
            Err(e) if e.is_failure() => self.breaker.failure(),
            Err(_) => {}
        }
        result
    }

    fn classify(&self, status: u16, body: &[u8], path: &str) -> Result<Value, ConnectorError> {
        let json: Option<Value> = serde_json::from_slice(body).ok();
        // The PascalCase application error, whatever the status.
        if let Some(err) = json.as_ref().filter(|v| v.get("HTTPCode").is_some() && v.get("ErrorCode").is_some()) {
            let http_code = err["HTTPCode"].as_u64().and_then(|c| u16::try_from(c).ok()).unwrap_or(status);
            let message = err["DeveloperMessage"].as_str().or(err["UserMessage"].as_str()).unwrap_or_default();
            return Err(ConnectorError::Application {
                http_code,
                code: self.sanitise(err["ErrorCode"].as_str().unwrap_or_default()),
                message: self.sanitise(message),
            });
        }
        let gateway_message = json.as_ref().and_then(|v| v.get("message")).and_then(Value::as_str).unwrap_or_default();
        match status {
            200..=299 => json.ok_or_else(|| ConnectorError::Malformed(format!("{path}: the body is not JSON"))),
            429 => Err(ConnectorError::Throttled),
            401 | 403 if gateway_message == "Missing Authentication Token" => {
                Err(ConnectorError::UnknownRoute { path: path.to_string() })
            }
            401 | 403 => Err(ConnectorError::Forbidden {
                status,
                message: if gateway_message.is_empty() { "Forbidden".into() } else { self.sanitise(gateway_message) },
            }),
            404 => Err(ConnectorError::Application {
                http_code: 404,
                code: "NotFound".into(),
                message: "not found".into(),
            }),
            500..=599 => Err(ConnectorError::Server { status }),
            _ => Err(ConnectorError::Application {
                http_code: status,
                code: String::new(),
                message: self.sanitise(gateway_message),
            }),
        }
    }

    /// A provider message fit to keep and show: cut short, the key struck out.
    fn sanitise(&self, message: &str) -> String {
        let key = self.key.expose_secret();
        let clean = if key.len() >= 4 { message.replace(key, "[key]") } else { message.to_string() };
        clean.chars().take(MESSAGE_KEPT).collect()
    }

    /// One page of a list (`search: None`) or a search route.
    pub async fn page(
        &self,
        path: &str,
        records_key: &str,
        search: Option<&Search>,
        sort: &str,
        page: u32,
    ) -> Result<Page, ConnectorError> {
        let mut query =
            vec![("page", page.to_string()), ("page_size", PAGE_SIZE.to_string()), ("sort", sort.to_string())];
        if let Some(s) = search {
            query.push(("q", s.to_q()));
        }
        let body = self.get(path, &format!("/{path}"), &query).await?;
        let records = match body.get(records_key) {
            Some(Value::Array(r)) => r.clone(),
            Some(Value::Null) | None if body.get("pagination").is_some() => vec![],
            _ => return Err(ConnectorError::Malformed(format!("/{path}: no {records_key} list in the response"))),
        };
        let has_more = body.pointer("/pagination/has_more").and_then(Value::as_bool).unwrap_or(false);
        // No total and no cursor: stop on has_more = false or on an empty page.
        Ok(Page { has_more: has_more && !records.is_empty(), records })
    }

    /// One record by id (`clients/{id}` with `template` `/clients/{id}`): the bare object or the
    /// one wrapped as `{"client": {…}}`; `None` when Wodify says it does not exist.
    pub async fn detail(&self, path: &str, template: &str) -> Result<Option<Value>, ConnectorError> {
        match self.get(path, template, &[]).await {
            Ok(v) => Ok(Some(unwrap_detail(v))),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A transport error's text without its URL (which holds the query, never the key, but is
/// noise in a status message).
fn without_url(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    if let Some(url) = e.url() {
        msg = msg.replace(url.as_str(), "");
    }
    msg
}

/// `{"client": {…}}` → `{…}`; a bare record is returned as is.
pub fn unwrap_detail(v: Value) -> Value {
    match v {
        Value::Object(ref map) if map.len() == 1 && !map.contains_key("id") => match map.values().next() {
            Some(inner @ Value::Object(_)) => inner.clone(),
            _ => v,
        },
        other => other,
    }
}
