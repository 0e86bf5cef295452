//! The WebAssembly, JavaScript and CSS bundle under `/pkg`: served precompressed (brotli,
//! else gzip, else as is, by the browser's `Accept-Encoding`) and, when the build hashes
//! file names, cached for good: a new build has new names.
//!
//! A bundle built without `--precompress` (plain `cargo leptos build --release`) has no
//! `.br`/`.gz` copies; its files are then compressed once, on first request, and kept in
//! memory (`in_memory_copies`), so the WebAssembly never goes out uncompressed whatever
//! way the bundle was made. The server says so at start-up, with the command that ships
//! the copies ready.

mod in_memory_copies;

use axum::Router;
use http::{header, HeaderValue};
use leptos::config::LeptosOptions;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

const FOREVER: &str = "public, max-age=31536000, immutable";
/// Unhashed names (development builds) must be revalidated on every load.
const REVALIDATE: &str = "no-cache";

pub fn pkg_router<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let copies = in_memory_copies::InMemoryCopies::for_files_without_copies(&dir);
    copies.say_what_is_missing(&dir);
    let files = ServeDir::new(dir).precompressed_br().precompressed_gzip();
    let cache_control = if options.hash_files {
        FOREVER
    } else {
        REVALIDATE
    };
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn_with_state(
            copies,
            in_memory_copies::serve,
        ))
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
