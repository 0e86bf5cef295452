//! The `/pkg` bundle: precompressed variants by `Accept-Encoding`, cached for good only
//! when file names are hashed.

mod support;

use axum::{body::Body, Router};
use http::{header, Request};
use leptos::config::LeptosOptions;
use tower::ServiceExt;

fn site(hash_files: bool) -> (support::TempDir, Router) {
    let dir = support::TempDir::new();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("app.abc123.wasm"), b"raw wasm").unwrap();
    std::fs::write(pkg.join("app.abc123.wasm.br"), b"brotli wasm").unwrap();
    std::fs::write(pkg.join("app.abc123.wasm.gz"), b"gzip wasm").unwrap();
    let options = LeptosOptions::builder()
        .output_name("app")
        .site_root(dir.path().display().to_string())
        .hash_files(hash_files)
        .build();
    let router = Router::new().nest_service("/pkg", server::assets::pkg_router::<()>(&options));
    (dir, router)
}

async fn fetch(router: &Router, accept_encoding: Option<&str>) -> (http::HeaderMap, Vec<u8>) {
    let mut request = Request::get("/pkg/app.abc123.wasm");
    if let Some(encodings) = accept_encoding {
        request = request.header(header::ACCEPT_ENCODING, encodings);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (headers, body.to_vec())
}

#[tokio::test]
async fn brotli_then_gzip_then_plain_by_what_the_browser_accepts() {
    let (_dir, router) = site(true);
    let (headers, body) = fetch(&router, Some("gzip, deflate, br, zstd")).await;
    assert_eq!(body, b"brotli wasm");
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(headers[header::VARY], "accept-encoding");

    let (headers, body) = fetch(&router, Some("gzip")).await;
    assert_eq!(body, b"gzip wasm");
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");

    let (headers, body) = fetch(&router, None).await;
    assert_eq!(body, b"raw wasm");
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
}

#[tokio::test]
async fn hashed_names_are_cached_for_good_unhashed_ones_revalidated() {
    let (_dir, hashed) = site(true);
    let (headers, _) = fetch(&hashed, Some("br")).await;
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let (_dir, plain) = site(false);
    let (headers, _) = fetch(&plain, Some("br")).await;
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
}
