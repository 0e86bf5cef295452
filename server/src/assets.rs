//! The WebAssembly, JavaScript and CSS bundle under `/pkg`: served precompressed (brotli,
//! else gzip, else as is, by the browser's `Accept-Encoding`) and, when the build hashes
//! file names, cached for good: a new build has new names.

use axum::Router;
use http::{header, HeaderValue};
use leptos::config::LeptosOptions;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const FOREVER: &str = "public, max-age=31536000, immutable";
/// Unhashed names (development builds) must be revalidated on every load.
const REVALIDATE: &str = "no-cache";

pub fn pkg_router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let cache_control = if options.hash_files {
        FOREVER
    } else {
        REVALIDATE
    };
    Router::new()
        .fallback_service(files)
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ))
        // Caches between here and the browser must keep one copy per encoding.
        .layer(SetResponseHeaderLayer::overriding(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
}
