//! The `/pkg` bundle: precompressed variants by `Accept-Encoding`, cached for good only
//! when file names are hashed.

mod support;

use axum::{body::Body, Router};
use http::{header, Request};
use leptos::config::LeptosOptions;
use tower::ServiceExt;

/// A site whose `pkg` holds `files` (name, content).
fn site_with(files: &[(&str, &[u8])], hash_files: bool) -> (support::TempDir, Router) {
    let dir = support::TempDir::new();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for (name, content) in files {
        std::fs::write(pkg.join(name), content).unwrap();
    }
    let router = router_for(&dir, hash_files);
    (dir, router)
}

/// The `/pkg` router over the site in `dir`, as it stands now.
fn router_for(dir: &support::TempDir, hash_files: bool) -> Router {
    let options = LeptosOptions::builder()
        .output_name("app")
        .site_root(dir.path().display().to_string())
        .hash_files(hash_files)
        .build();
    Router::new().nest_service("/pkg", server::assets::pkg_router::<()>(&options))
}

fn site(hash_files: bool) -> (support::TempDir, Router) {
    site_with(
        &[
            ("app.abc123.wasm", b"raw wasm"),
            ("app.abc123.wasm.br", b"brotli wasm"),
            ("app.abc123.wasm.gz", b"gzip wasm"),
        ],
        hash_files,
    )
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

/// A bundle built without `--precompress`: no `.br` or `.gz` beside its files.
fn site_without_copies(wasm: &[u8]) -> (support::TempDir, Router) {
    site_with(&[("app.abc123.wasm", wasm)], true)
}

fn unbrotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::BrotliDecompress(&mut &bytes[..], &mut out).expect("valid brotli");
    out
}

fn ungzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

/// Compressible like WebAssembly: repetitive, but not a single repeated byte.
fn wasm_like() -> Vec<u8> {
    (0..200_000u32)
        .flat_map(|i| [(i % 251) as u8, (i / 7 % 13) as u8, b'a'])
        .collect()
}

#[tokio::test]
async fn a_bundle_without_copies_still_goes_out_compressed_and_is_compressed_once() {
    let raw = wasm_like();
    let (dir, router) = site_without_copies(&raw);

    let (headers, body) = fetch(&router, Some("gzip, deflate, br, zstd")).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
    assert_eq!(headers[header::VARY], "accept-encoding");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        headers[header::CONTENT_LENGTH],
        body.len().to_string().as_str()
    );
    assert!(
        body.len() * 4 < raw.len(),
        "{} of {}",
        body.len(),
        raw.len()
    );
    assert_eq!(unbrotli(&body), raw);

    let (headers, gzipped) = fetch(&router, Some("gzip")).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(ungzip(&gzipped), raw);

    // A browser that takes neither gets the file as it is.
    let (headers, plain) = fetch(&router, Some("identity")).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(plain, raw);

    // Kept in memory: a later request does not compress (or read) the file again.
    std::fs::write(dir.path().join("pkg/app.abc123.wasm"), b"changed on disk").unwrap();
    let (_, again) = fetch(&router, Some("br")).await;
    assert_eq!(again, body);
}

#[tokio::test]
async fn many_browsers_at_once_share_one_compression() {
    let raw = wasm_like();
    let (_dir, router) = site_without_copies(&raw);
    let fetches = (0..8).map(|_| fetch(&router, Some("br")));
    let bodies: Vec<Vec<u8>> = futures::future::join_all(fetches)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect();
    assert!(bodies.iter().all(|body| *body == bodies[0]));
    assert_eq!(unbrotli(&bodies[0]), raw);
}

#[tokio::test]
async fn a_copy_on_disk_is_used_and_only_the_missing_one_made() {
    let raw = wasm_like();
    let (dir, _) = site_without_copies(&raw);
    std::fs::write(dir.path().join("pkg/app.abc123.wasm.br"), b"brotli on disk").unwrap();
    let router = router_for(&dir, true);
    let (_, body) = fetch(&router, Some("br, gzip")).await;
    assert_eq!(body, b"brotli on disk");
    let (headers, body) = fetch(&router, Some("gzip")).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(ungzip(&body), raw);
}
