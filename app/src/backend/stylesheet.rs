//! Where the stylesheet is, for the app's shell and for the pages the server writes by
//! hand (rate limit, demo provider). Leptos' `HashedStylesheet` reads `hash.txt` from disk
//! on every render (~3% of a signed-in page's CPU); the name only changes with a build.

use std::sync::OnceLock;

use leptos::config::LeptosOptions;

static STYLESHEET_HREF: OnceLock<String> = OnceLock::new();

/// Remembers where the stylesheet is. Reads cargo-leptos' `hash.txt` once, at start-up.
pub fn init(options: &LeptosOptions) {
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

/// The stylesheet's URL path (`/pkg/social-signin.css` before [`init`]).
pub fn href() -> &'static str {
    STYLESHEET_HREF
        .get()
        .map(String::as_str)
        .unwrap_or("/pkg/social-signin.css")
}
