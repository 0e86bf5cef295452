//! A request id for every request: in the `request` span every log line of the request is
//! written in, and back to the client in `X-Request-Id`, so that a user's report or a
//! proxy's access log leads to the server's lines. A proxy in `TRUSTED_PROXIES` may hand
//! its own id down (HAProxy's `unique-id`, nginx's `$request_id`); anyone else's is
//! replaced, so a client cannot write what it likes into the logs.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    middleware::Next,
    response::Response,
};
use http::HeaderValue;
use ipnet::IpNet;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";
/// Longer ids, or other characters, are not an id a proxy we know makes.
const MAX_PASSED_DOWN_LEN: usize = 64;

pub async fn tag(
    State(trusted_proxies): State<Arc<[IpNet]>>,
    request: Request,
    next: Next,
) -> Response {
    let id = passed_down(&request, &trusted_proxies).unwrap_or_else(new_id);
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

/// The id a trusted proxy set, if it looks like one.
fn passed_down(request: &Request, trusted_proxies: &[IpNet]) -> Option<String> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()?
        .0
        .ip();
    let peer = peer.to_canonical();
    if !trusted_proxies.iter().any(|net| net.contains(&peer)) {
        return None;
    }
    let id = request.headers().get(HEADER)?.to_str().ok()?;
    let well_formed = !id.is_empty()
        && id.len() <= MAX_PASSED_DOWN_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    well_formed.then(|| id.to_owned())
}

/// 64 random bits: unique enough to find one request among a deployment's logs.
fn new_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
