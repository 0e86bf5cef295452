//! Brotli and gzip copies of the bundle's files that came without `.br`/`.gz` beside them:
//! made on first request (one compression however many browsers ask at once) and kept in
//! memory for the life of the process. A release bundle's are ~0.5 MB in all.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{header, HeaderMap, Method, StatusCode};
use tokio::sync::OnceCell;

/// The files a browser downloads and that compress well.
const COMPRESSIBLE: &[(&str, &str)] = &[
    ("wasm", "application/wasm"),
    ("js", "text/javascript"),
    ("css", "text/css"),
];
/// Brotli's best quality takes ~1 s per megabyte; a debug build's WebAssembly is tens of
/// megabytes, for which a faster quality still saves most of the bytes.
const BEST_QUALITY_UP_TO_BYTES: u64 = 4 * 1024 * 1024;
const BROTLI_BEST: u32 = 11;
const BROTLI_FAST: u32 = 5;
const BROTLI_WINDOW_BITS: u32 = 22;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    fn extension(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gz",
        }
    }

    fn header_value(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

struct File {
    path: PathBuf,
    content_type: &'static str,
    brotli: Variant,
    gzip: Variant,
}

/// One encoding of a file: on disk already (served from there), or made when first asked.
struct Variant {
    on_disk: bool,
    in_memory: OnceCell<Bytes>,
}

impl Variant {
    fn of(path: &Path, encoding: Encoding) -> Variant {
        Variant {
            on_disk: on_disk(path, encoding),
            in_memory: OnceCell::new(),
        }
    }
}

impl File {
    fn variant(&self, encoding: Encoding) -> &Variant {
        match encoding {
            Encoding::Brotli => &self.brotli,
            Encoding::Gzip => &self.gzip,
        }
    }
}

/// The bundle's files that lack a precompressed copy on disk, by name under `/pkg`.
#[derive(Clone, Default)]
pub struct InMemoryCopies(Arc<HashMap<String, File>>);

impl InMemoryCopies {
    /// Looks through `dir` (the site's `pkg`) once. A missing folder has nothing to serve.
    pub fn for_files_without_copies(dir: &Path) -> InMemoryCopies {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return InMemoryCopies::default();
        };
        let mut files = HashMap::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            let extension = path.extension().and_then(|ext| ext.to_str());
            let Some((_, content_type)) =
                COMPRESSIBLE.iter().find(|(ext, _)| Some(*ext) == extension)
            else {
                continue;
            };
            let file = File {
                path: path.clone(),
                content_type,
                brotli: Variant::of(&path, Encoding::Brotli),
                gzip: Variant::of(&path, Encoding::Gzip),
            };
            let has_every_copy = file.brotli.on_disk && file.gzip.on_disk;
            if path.is_file() && !has_every_copy {
                files.insert(name.to_owned(), file);
            }
        }
        InMemoryCopies(Arc::new(files))
    }

    /// Tells the operator, once at start-up, how to ship the copies ready.
    pub fn say_what_is_missing(&self, dir: &Path) {
        if self.0.is_empty() {
            return;
        }
        let mut names: Vec<&str> = self.0.keys().map(String::as_str).collect();
        names.sort_unstable();
        let message = "the bundle has no precompressed copies of these files: they will be \
            compressed on first request and kept in memory. Build with `.dev/build-release` \
            (or `cargo leptos build --release --precompress`) to ship them ready";
        if cfg!(debug_assertions) {
            tracing::debug!(dir = %dir.display(), files = ?names, "{message}");
        } else {
            tracing::warn!(dir = %dir.display(), files = ?names, "{message}");
        }
    }
}

fn on_disk(path: &Path, encoding: Encoding) -> bool {
    let mut copy = path.as_os_str().to_owned();
    copy.push(".");
    copy.push(encoding.extension());
    Path::new(&copy).is_file()
}

/// Serves a kept copy when the browser accepts an encoding this file has no copy of on
/// disk; everything else goes on to the files on disk.
pub async fn serve(State(copies): State<InMemoryCopies>, request: Request, next: Next) -> Response {
    if copies.0.is_empty() || !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let name = request.uri().path().trim_start_matches('/');
    let Some(file) = copies.0.get(name) else {
        return next.run(request).await;
    };
    let Some(encoding) = preferred_encoding(request.headers()) else {
        return next.run(request).await;
    };
    let variant = file.variant(encoding);
    if variant.on_disk {
        return next.run(request).await;
    }
    let path = file.path.clone();
    let compressed = variant
        .in_memory
        .get_or_try_init(|| async move {
            tokio::task::spawn_blocking(move || compress(&path, encoding))
                .await
                .map_err(std::io::Error::other)?
        })
        .await;
    match compressed {
        Ok(bytes) => {
            let head_only = request.method() == Method::HEAD;
            let body = if head_only {
                Body::empty()
            } else {
                Body::from(bytes.clone())
            };
            (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, file.content_type),
                    (header::CONTENT_ENCODING, encoding.header_value()),
                    (header::CONTENT_LENGTH, &bytes.len().to_string()),
                ],
                body,
            )
                .into_response()
        }
        Err(err) => {
            // Sent as it is rather than not at all; tried again on the next request.
            tracing::warn!(file = name, error = %err, "could not compress a bundle file");
            next.run(request).await
        }
    }
}

/// Brotli when the browser takes it, else gzip; `None` when it takes neither (`q=0` refuses).
fn preferred_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let (mut brotli, mut gzip) = (false, false);
    let values = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok());
    for item in values.flat_map(|value| value.split(',')) {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let quality = parts
            .find_map(|param| param.trim().strip_prefix("q="))
            .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
        if quality <= 0.0 {
            continue;
        }
        if name.eq_ignore_ascii_case("br") {
            brotli = true;
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip = true;
        }
    }
    match (brotli, gzip) {
        (true, _) => Some(Encoding::Brotli),
        (false, true) => Some(Encoding::Gzip),
        (false, false) => None,
    }
}

fn compress(path: &Path, encoding: Encoding) -> std::io::Result<Bytes> {
    let raw = std::fs::read(path)?;
    let compressed = match encoding {
        Encoding::Brotli => {
            let quality = if raw.len() as u64 <= BEST_QUALITY_UP_TO_BYTES {
                BROTLI_BEST
            } else {
                BROTLI_FAST
            };
            let mut writer =
                brotli::CompressorWriter::new(Vec::new(), 64 * 1024, quality, BROTLI_WINDOW_BITS);
            writer.write_all(&raw)?;
            writer.into_inner()
        }
        Encoding::Gzip => {
            let mut writer = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            writer.write_all(&raw)?;
            writer.finish()?
        }
    };
    Ok(Bytes::from(compressed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> Option<Encoding> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, value.parse().unwrap());
        preferred_encoding(&headers)
    }

    #[test]
    fn brotli_first_then_gzip_and_a_zero_quality_refuses() {
        assert_eq!(accepting("gzip, deflate, br, zstd"), Some(Encoding::Brotli));
        assert_eq!(accepting("gzip;q=0.5, br;q=0"), Some(Encoding::Gzip));
        assert_eq!(accepting("GZIP"), Some(Encoding::Gzip));
        assert_eq!(accepting("identity, deflate"), None);
        assert_eq!(accepting("br;q=0, gzip;q=0.0"), None);
    }
}
