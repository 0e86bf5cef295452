//! Per-client rate limiting of the sign-in routes (tower_governor), with a readable 429
//! page. The client is the TCP peer, or behind a trusted proxy the client it names
//! (`client_ip`); an IPv6 client is keyed by its /64, and its /48 has a wider bucket too, so
//! the 65,536 /64s of one /48 cannot each bring a fresh bucket of their own.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use app::backend::{
    client_ip,
    config::{Config, RateLimit},
};
use axum::{body::Body, extract::ConnectInfo, Router};
use http::{header, Request, Response, StatusCode};
use ipnet::IpNet;
use tower_governor::{
    governor::GovernorConfigBuilder, key_extractor::KeyExtractor, GovernorError, GovernorLayer,
};

const FORGET_IDLE_CLIENTS_EVERY: Duration = Duration::from_secs(60);
/// A network's (IPv6 /48's) bucket holds this many clients' worth: room for a busy site's
/// people, and still a bound on what one /48 can start.
const NETWORK_FACTOR: u32 = 8;

/// The rate-limit key of a request's client, as `key` groups addresses.
#[derive(Clone)]
struct ClientKey {
    trusted_proxies: Arc<[IpNet]>,
    key: fn(IpAddr) -> IpAddr,
}

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<IpAddr, GovernorError> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .ok_or(GovernorError::UnableToExtractKey)?
            .0
            .ip();
        let forwarded_for: Vec<&str> = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        let client = client_ip::client_address(peer, &forwarded_for, &self.trusted_proxies);
        Ok((self.key)(client))
    }
}

/// Puts `router`'s routes behind the configured per-client limit and the wider per-network
/// one, in buckets of their own (unchanged when `SIGN_IN_RATE_LIMIT_BURST=0`).
pub fn per_client<S: Clone + Send + Sync + 'static>(router: Router<S>, app: &Config) -> Router<S> {
    let Some(limit) = app.sign_in_rate_limit else {
        return router;
    };
    let network_limit = RateLimit {
        burst: limit.burst.saturating_mul(NETWORK_FACTOR),
        refill: limit.refill / NETWORK_FACTOR,
    };
    let router = limited(router, app, limit, client_ip::rate_limit_key);
    limited(
        router,
        app,
        network_limit,
        client_ip::network_rate_limit_key,
    )
}

/// `router` behind one token bucket per `key` of the client.
fn limited<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    app: &Config,
    limit: RateLimit,
    key: fn(IpAddr) -> IpAddr,
) -> Router<S> {
    let key = ClientKey {
        trusted_proxies: app.trusted_proxies.as_slice().into(),
        key,
    };
    let config = Arc::new(
        GovernorConfigBuilder::default()
            .key_extractor(key)
            .period(limit.refill.max(Duration::from_nanos(1)))
            .burst_size(limit.burst)
            .finish()
            .expect("burst and period are positive"),
    );
    // The limiter remembers every client it has seen; forget the idle ones now and then.
    let limiter = config.limiter().clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(FORGET_IDLE_CLIENTS_EVERY);
        loop {
            every.tick().await;
            limiter.retain_recent();
        }
    });
    router.route_layer(GovernorLayer::new(config).error_handler(too_many_requests))
}

fn too_many_requests(error: GovernorError) -> Response<Body> {
    refusal_page(error, "Too many sign-in attempts")
}

/// The 429 page (or a 500 when the client could not be told apart), titled `title`.
fn refusal_page(error: GovernorError, title: &str) -> Response<Body> {
    let (status, wait) = match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            (StatusCode::TOO_MANY_REQUESTS, wait_time)
        }
        other => {
            tracing::error!(error = ?other, "rate limiter could not key the request");
            (StatusCode::INTERNAL_SERVER_ERROR, 0)
        }
    };
    let css = app::backend::bundle::stylesheet_href();
    let page = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <title>{title}</title>\
         <link rel=\"stylesheet\" href=\"{css}\"/></head><body>\
         <main class=\"page\"><section class=\"card\"><h1>{title}</h1>\
         <p class=\"flash flash-error\" role=\"alert\">Please wait {wait} seconds and try again.</p>\
         <p><a href=\"/\">Back to the start page</a></p></section></main></body></html>"
    );
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::RETRY_AFTER, wait.max(1).to_string())
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from(page))
        .expect("static response parts")
}

/// The account page's changes (`POST /account/*`): each writes to the database, so each
/// client gets the sign-in routes' allowance for them too, in buckets of their own. Their
/// routes are mounted by leptos_axum with every server function, hence a middleware that
/// picks them by path rather than a layer on their routes.
#[derive(Clone)]
pub struct AccountWrites {
    limiter: Arc<governor::DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Arc<[IpNet]>,
}

impl AccountWrites {
    /// `None` when rate limiting is off (`SIGN_IN_RATE_LIMIT_BURST=0`).
    pub fn new(app: &Config) -> Option<Self> {
        let limit = app.sign_in_rate_limit?;
        let quota = governor::Quota::with_period(limit.refill.max(Duration::from_nanos(1)))?
            .allow_burst(std::num::NonZeroU32::new(limit.burst)?);
        let limiter = Arc::new(governor::RateLimiter::keyed(quota));
        let forget = limiter.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(FORGET_IDLE_CLIENTS_EVERY);
            loop {
                every.tick().await;
                forget.retain_recent();
            }
        });
        Some(Self {
            limiter,
            trusted_proxies: app.trusted_proxies.as_slice().into(),
        })
    }
}

const ACCOUNT_WRITES_TITLE: &str = "Too many changes at once";

pub async fn limit_account_writes(
    axum::extract::State(limit): axum::extract::State<Option<AccountWrites>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let is_write =
        request.method() == http::Method::POST && request.uri().path().starts_with("/account/");
    if let (true, Some(limit)) = (is_write, &limit) {
        let key = ClientKey {
            trusted_proxies: limit.trusted_proxies.clone(),
            key: client_ip::rate_limit_key,
        };
        match key.extract(&request) {
            Ok(client) => {
                if let Err(not_until) = limit.limiter.check_key(&client) {
                    let wait = not_until
                        .wait_time_from(governor::clock::Clock::now(
                            &governor::clock::DefaultClock::default(),
                        ))
                        .as_secs();
                    return refusal_page(
                        GovernorError::TooManyRequests {
                            wait_time: wait,
                            headers: None,
                        },
                        ACCOUNT_WRITES_TITLE,
                    );
                }
            }
            Err(err) => return refusal_page(err, ACCOUNT_WRITES_TITLE),
        }
    }
    next.run(request).await
}
