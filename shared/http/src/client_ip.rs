//! The client's IP address: from the API Gateway request context on Lambda, from the socket
//! locally, and from `X-Forwarded-For` only when configured to trust a proxy in front.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::net::{IpAddr, SocketAddr};

/// Set on every request by [`resolve`]; `None` inside when no source is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

/// Where to take the client IP from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientIpConfig {
    /// Trust the right-most `X-Forwarded-For` entry (only behind a proxy you run).
    pub trust_forwarded_for: bool,
}

pub fn client_ip(req: &Request, config: ClientIpConfig) -> Option<IpAddr> {
    if config.trust_forwarded_for {
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    if let Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) =
        req.extensions().get::<lambda_http::request::RequestContext>()
    {
        return ctx.http.source_ip.as_deref().and_then(|ip| ip.parse().ok());
    }
    req.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip())
}

pub async fn resolve(State(config): State<ClientIpConfig>, mut req: Request, next: Next) -> Response {
    let ip = client_ip(&req, config);
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}
