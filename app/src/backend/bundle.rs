//! Where the bundle (stylesheet, JS, WASM) is, for the app's shell and for the pages the
//! server writes by hand (rate limit, demo provider). Leptos' `HashedStylesheet` and
//! `HydrationScripts` read `hash.txt` from disk on every render (~3% of a signed-in page's
//! CPU each); the names only change with a build, so they are read once here.

use std::sync::OnceLock;

use leptos::config::LeptosOptions;

/// URL paths of the bundle's files.
#[derive(Debug, PartialEq)]
pub struct Bundle {
    pub stylesheet: String,
    pub js: String,
    pub wasm: String,
}

static BUNDLE: OnceLock<Bundle> = OnceLock::new();

/// Remembers where the bundle is. Reads cargo-leptos' `hash.txt` once, at start-up.
pub fn init(options: &LeptosOptions) {
    BUNDLE.get_or_init(|| {
        let hashes = options
            .hash_files
            .then(|| {
                let exe_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
                std::fs::read_to_string(exe_dir.join(options.hash_file.as_ref())).ok()
            })
            .flatten();
        locate(options, hashes.as_deref())
    });
}

/// The file names cargo-leptos gave the bundle: `<output>.<hash>.<ext>` with the hashes of
/// `hash.txt` (lines `css: <hash>`, `js: …`, `wasm: …`), `<output>.<ext>` without.
fn locate(options: &LeptosOptions, hashes: Option<&str>) -> Bundle {
    let path = |ext: &str| {
        let hash = hashes.and_then(|hashes| {
            hashes.lines().find_map(|line| {
                let (file, hash) = line.trim().split_once(':')?;
                (file == ext).then(|| hash.trim())
            })
        });
        let (pkg, name) = (&options.site_pkg_dir, &options.output_name);
        match hash {
            Some(hash) => format!("/{pkg}/{name}.{hash}.{ext}"),
            None => format!("/{pkg}/{name}.{ext}"),
        }
    };
    Bundle {
        stylesheet: path("css"),
        js: path("js"),
        wasm: path("wasm"),
    }
}

/// The bundle's paths (unhashed `/pkg/social-signin.*` before [`init`]).
pub fn get() -> &'static Bundle {
    static UNHASHED: OnceLock<Bundle> = OnceLock::new();
    BUNDLE.get().unwrap_or_else(|| {
        UNHASHED.get_or_init(|| {
            let options = LeptosOptions::builder()
                .output_name("social-signin")
                .build();
            locate(&options, None)
        })
    })
}

/// The stylesheet's URL path.
pub fn stylesheet_href() -> &'static str {
    &get().stylesheet
}

/// The module script that loads the WASM and hydrates the page (what Leptos'
/// `HydrationScripts` writes, without re-reading `hash.txt`).
pub fn hydration_script() -> &'static str {
    static SCRIPT: OnceLock<String> = OnceLock::new();
    SCRIPT.get_or_init(|| {
        let Bundle { js, wasm, .. } = get();
        format!(
            "import init, {{ hydrate }} from {js:?};\n\
             init({{ module_or_path: {wasm:?} }}).then(hydrate);"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> LeptosOptions {
        LeptosOptions::builder()
            .output_name("social-signin")
            .site_pkg_dir("pkg")
            .build()
    }

    #[test]
    fn hashed_names_come_from_hash_txt() {
        let hashes = "js: j1\nwasm: w2\ncss: c3\n";
        assert_eq!(
            locate(&options(), Some(hashes)),
            Bundle {
                stylesheet: "/pkg/social-signin.c3.css".into(),
                js: "/pkg/social-signin.j1.js".into(),
                wasm: "/pkg/social-signin.w2.wasm".into(),
            }
        );
    }

    #[test]
    fn without_hashes_the_names_are_plain() {
        assert_eq!(locate(&options(), None).wasm, "/pkg/social-signin.wasm");
    }
}
