//! The WebAssembly, JavaScript and CSS bundle under `/pkg`: served precompressed (brotli,
//! else gzip, else as is, by the browser's `Accept-Encoding`) and, when the build hashes
//! file names, cached for good: a new build has new names.

use std::sync::OnceLock;

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

static STYLESHEET_HREF: OnceLock<String> = OnceLock::new();

/// Remembers where the stylesheet is, for pages the server writes by hand (the rate-limit
/// and demo-provider pages). Reads cargo-leptos' `hash.txt` once, at start-up.
pub fn init_stylesheet_href(options: &LeptosOptions) {
    STYLESHEET_HREF.get_or_init(|| {
        let hash = options
            .hash_files
            .then(|| {
                let exe_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
                let hashes =
                    std::fs::read_to_string(exe_dir.join(options.hash_file.as_ref())).ok()?;
                hashes.lines().find_map(|line| {
                    line.trim()
                        .strip_prefix("css:")
                        .map(|h| h.trim().to_owned())
                })
            })
            .flatten();
        match hash {
            Some(hash) => format!(
                "/{}/{}.{hash}.css",
                options.site_pkg_dir, options.output_name
            ),
            None => format!("/{}/{}.css", options.site_pkg_dir, options.output_name),
        }
    });
}

/// The stylesheet's URL path (`/pkg/social-signin.css` before [`init_stylesheet_href`]).
pub fn stylesheet_href() -> &'static str {
    STYLESHEET_HREF
        .get()
        .map(String::as_str)
        .unwrap_or("/pkg/social-signin.css")
}
