//! Where webhooks may be sent. HTTPS only, and never to loopback, private, link-local (cloud
//! metadata included), shared, multicast or otherwise special addresses: checked when a webhook
//! is registered and again on every delivery against the addresses DNS gives then (a name that
//! resolved to a public address at registration may resolve to 127.0.0.1 later: DNS rebinding).
//! Deliveries then connect to the checked addresses only, and follow no redirects.
//!
//! Local development may allow `http://` and loopback receivers, by an explicit setting;
//! link-local and metadata addresses stay refused everywhere.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use url::Url;

/// Name resolution, as a port: the system resolver in every deployed and local process; a
/// table of answers in tests, so they can make a name resolve to 10.0.0.1 or 169.254.169.254
/// (or change its answer between registration and delivery, as DNS rebinding does).
#[async_trait::async_trait]
pub trait Resolve: Send + Sync + 'static {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolve for SystemResolver {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((host, port)).await?.collect())
    }
}

/// Fixed answers, changeable at any time (tests). Unknown names don't resolve.
#[derive(Debug, Default)]
pub struct StaticResolver {
    answers: Mutex<HashMap<String, Vec<IpAddr>>>,
}

impl StaticResolver {
    pub fn new() -> StaticResolver {
        StaticResolver::default()
    }

    /// From now on `host` resolves to `addrs`.
    pub fn answer(&self, host: &str, addrs: &[IpAddr]) {
        self.answers.lock().unwrap_or_else(|e| e.into_inner()).insert(host.to_ascii_lowercase(), addrs.to_vec());
    }
}

#[async_trait::async_trait]
impl Resolve for StaticResolver {
    async fn lookup(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        match answers.get(&host.to_ascii_lowercase()) {
            Some(ips) => Ok(ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()),
            None => Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such name")),
        }
    }
}

#[derive(Clone)]
pub struct DestinationPolicy {
    /// Allow `http://` and loopback addresses (iron-local only; announced at start).
    pub allow_loopback_http: bool,
    resolver: Arc<dyn Resolve>,
}

impl Default for DestinationPolicy {
    /// The deployed policy: https to public addresses only, system DNS.
    fn default() -> DestinationPolicy {
        DestinationPolicy { allow_loopback_http: false, resolver: Arc::new(SystemResolver) }
    }
}

impl std::fmt::Debug for DestinationPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationPolicy").field("allow_loopback_http", &self.allow_loopback_http).finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("`{0}` is not a valid URL")]
    Malformed(String),
    #[error("webhook URLs must use https")]
    NotHttps,
    #[error("webhook URLs can't carry credentials")]
    Credentials,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is not a public address; webhooks can't be sent there")]
    Forbidden(IpAddr),
    #[error("the host `{0}` does not resolve")]
    Unresolvable(String),
    #[error("URLs are limited to 2048 characters")]
    TooLong,
}

/// Whether an address is refused.
fn refused(ip: IpAddr, policy: &DestinationPolicy) -> bool {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4, policy),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refused_v4(v4, policy);
            }
            let seg0 = v6.segments()[0];
            if v6.is_loopback() {
                return !policy.allow_loopback_http;
            }
            v6.is_unspecified()
                || v6.is_multicast()
                || (seg0 & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (seg0 & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (seg0 == 0x2001 && v6.segments()[1] == 0x0db8) // documentation
                || (seg0 == 0x0064 && v6.segments()[1] == 0xff9b) // NAT64 to anything
                || seg0 == 0x2002 // 6to4 embeds IPv4
                || (seg0 & 0xffc0) == 0xfec0 // deprecated site-local fec0::/10
                || v6.segments()[..6].iter().all(|s| *s == 0) // IPv4-compatible ::/96 (and ::, ::1)
        }
    }
}

fn refused_v4(ip: Ipv4Addr, policy: &DestinationPolicy) -> bool {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        return !policy.allow_loopback_http;
    }
    ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, with 169.254.169.254 (metadata)
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (18..=19).contains(&b)) // benchmarking
        || a >= 240 // reserved
}

impl DestinationPolicy {
    /// Local development (iron-local's `--allow-local-webhooks`): also `http://` to loopback.
    pub fn local_development() -> DestinationPolicy {
        DestinationPolicy { allow_loopback_http: true, ..DestinationPolicy::default() }
    }

    pub fn allowing_loopback_http(mut self, allow: bool) -> DestinationPolicy {
        self.allow_loopback_http = allow;
        self
    }

    /// Resolves names with `resolver` instead of the system's.
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> DestinationPolicy {
        self.resolver = resolver;
        self
    }

    /// Checks a URL's form and, if its host is an address literal, the address.
    pub fn check_url(&self, raw: &str) -> Result<Url, DestinationError> {
        if raw.len() > 2048 {
            return Err(DestinationError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| DestinationError::Malformed(raw.chars().take(100).collect()))?;
        let loopback_http = self.allow_loopback_http && url.scheme() == "http";
        if url.scheme() != "https" && !loopback_http {
            return Err(DestinationError::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(DestinationError::Credentials);
        }
        match url.host() {
            None => return Err(DestinationError::NoHost),
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(d)) => {
                if d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost") {
                    self.check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
                }
            }
        }
        if loopback_http {
            // Plain http only ever to loopback, even with the local relaxation.
            let is_loopback = match url.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !is_loopback {
                return Err(DestinationError::NotHttps);
            }
        }
        Ok(url)
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), DestinationError> {
        if refused(ip, self) { Err(DestinationError::Forbidden(ip)) } else { Ok(()) }
    }

    /// Resolves the URL's host now and checks every address; deliveries connect to exactly
    /// these (so a second lookup can't swap in a private address).
    pub async fn resolve(&self, url: &Url) -> Result<Vec<SocketAddr>, DestinationError> {
        let host = url.host_str().ok_or(DestinationError::NoHost)?;
        let port = url.port_or_known_default().unwrap_or(443);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                self.resolver.lookup(host, port).await.map_err(|_| DestinationError::Unresolvable(host.to_owned()))?
            }
        };
        if addrs.is_empty() {
            return Err(DestinationError::Unresolvable(host.to_owned()));
        }
        for addr in &addrs {
            self.check_ip(addr.ip())?;
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_private_loopback_link_local_and_metadata_urls() {
        let strict = DestinationPolicy::default();
        for bad in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://172.20.0.1/hook",
            "https://192.168.1.10/hook",
            "https://169.254.169.254/latest/meta-data/",
            "https://[::1]/hook",
            "https://[fe80::1]/hook",
            "https://[fd00::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://[::a9fe:a9fe]/hook",
            "https://[fec0::1]/hook",
            "https://100.64.0.1/hook",
            "https://0.0.0.0/hook",
            "https://localhost/hook",
        ] {
            assert!(matches!(strict.check_url(bad), Err(DestinationError::Forbidden(_))), "{bad}");
        }
        assert_eq!(strict.check_url("http://hooks.example.com/x"), Err(DestinationError::NotHttps));
        assert_eq!(strict.check_url("https://user:pw@hooks.example.com/x"), Err(DestinationError::Credentials));
        assert!(matches!(strict.check_url("not a url"), Err(DestinationError::Malformed(_))));
        assert!(strict.check_url("https://hooks.example.com/iron?x=1").is_ok());
        assert!(strict.check_url("https://93.184.215.14/hook").is_ok());
    }

    #[test]
    fn local_development_relaxes_loopback_only() {
        let local = DestinationPolicy::local_development();
        assert!(local.check_url("http://127.0.0.1:9999/hook").is_ok());
        assert!(local.check_url("http://localhost:9999/hook").is_ok());
        assert!(local.check_url("http://[::1]:9999/hook").is_ok());
        assert_eq!(local.check_url("http://hooks.example.com/x"), Err(DestinationError::NotHttps));
        assert!(matches!(local.check_url("http://169.254.169.254/"), Err(DestinationError::Forbidden(_))));
        assert!(matches!(local.check_url("https://10.0.0.1/"), Err(DestinationError::Forbidden(_))));
    }

    #[tokio::test]
    async fn resolution_checks_every_address() {
        let strict = DestinationPolicy::default();
        // `localhost` resolves to loopback: refused at delivery even if it passed a form check.
        let url = Url::parse("https://localhost:8443/hook").unwrap();
        assert!(matches!(strict.resolve(&url).await, Err(DestinationError::Forbidden(_))));
        let local = DestinationPolicy::local_development();
        let addrs = local.resolve(&Url::parse("http://127.0.0.1:9/hook").unwrap()).await.unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:9".parse().unwrap()]);
    }

    #[tokio::test]
    async fn dns_answers_are_checked_address_by_address() {
        let dns = Arc::new(StaticResolver::new());
        let strict = DestinationPolicy::default().with_resolver(dns.clone());
        let local = DestinationPolicy::local_development().with_resolver(dns.clone());
        let url = Url::parse("https://hooks.partner.test/iron").unwrap();
        let public: IpAddr = "93.184.215.14".parse().unwrap();
        dns.answer("hooks.partner.test", &[public]);
        assert_eq!(strict.resolve(&url).await.unwrap(), vec![SocketAddr::new(public, 443)]);
        for inside in
            ["127.0.0.1", "10.0.0.1", "10.255.255.254", "169.254.169.254", "::1", "fd12::1", "::ffff:10.1.1.1"]
        {
            let ip: IpAddr = inside.parse().unwrap();
            dns.answer("hooks.partner.test", &[public, ip]);
            assert_eq!(strict.resolve(&url).await, Err(DestinationError::Forbidden(ip)), "{inside}");
        }
        // The local relaxation covers loopback only: private and metadata answers stay refused.
        for inside in ["10.0.0.1", "169.254.169.254"] {
            let ip: IpAddr = inside.parse().unwrap();
            dns.answer("hooks.partner.test", &[ip]);
            assert_eq!(local.resolve(&url).await, Err(DestinationError::Forbidden(ip)), "{inside}");
        }
        let unknown = Url::parse("https://nowhere.partner.test/").unwrap();
        assert_eq!(strict.resolve(&unknown).await, Err(DestinationError::Unresolvable("nowhere.partner.test".into())));
    }
}
