//! Where the site is and how it was built (`LeptosOptions`), without cargo-leptos:
//! `LEPTOS_*` variables win when set (cargo-leptos sets them for `cargo leptos serve` and
//! the tests); otherwise what this binary was built with, and the site beside the binary
//! when it runs from a release bundle (`.dev/build-release`):
//!
//! ```text
//! social-signin/
//!   server        this binary
//!   hash.txt      the bundle's file hashes (read by app::backend::bundle)
//!   site/         pkg/ (the hashed, precompressed bundle), favicon, …
//!   env.example
//! ```
//!
//! So `./server` starts from the unpacked bundle, from any working directory, with only
//! the README's variables.

use std::path::{Path, PathBuf};

use leptos::config::{get_configuration, Env, LeptosOptions};

/// The bundle's folder of site files, beside the binary.
pub const BUNDLED_SITE_DIR: &str = "site";

pub fn options() -> Result<LeptosOptions, String> {
    let mut options = get_configuration(None)
        .map_err(|err| format!("LEPTOS_* settings: {err}"))?
        .leptos_options;
    let is_set = |name: &str| std::env::var_os(name).is_some();
    if !is_set("LEPTOS_SITE_ROOT") {
        if let Some(site) = bundled_site() {
            options.site_root = site.display().to_string().into();
        }
    }
    if !is_set("LEPTOS_HASH_FILES") {
        // As cargo-leptos built this binary (it sets the variable at compile time too).
        options.hash_files = option_env!("LEPTOS_HASH_FILES") == Some("true");
    }
    if !is_set("LEPTOS_ENV") && !cfg!(debug_assertions) {
        options.env = Env::PROD;
    }
    Ok(options)
}

/// `site/` beside the running binary, if there is one.
fn bundled_site() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let site = exe.parent()?.join(BUNDLED_SITE_DIR);
    is_site(&site).then_some(site)
}

fn is_site(dir: &Path) -> bool {
    dir.join("pkg").is_dir()
}
