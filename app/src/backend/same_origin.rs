//! Cross-site request detection (OWASP CSRF cheat sheet: Fetch Metadata first, `Origin` as
//! the fallback), for state-changing requests and for sign-in routes embedded elsewhere.

use http::HeaderMap;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// What `Sec-Fetch-Site` says, when the browser sent it: whether another site's page made
/// the request. `none` is a user typing the URL or a bookmark; `same-site` is a sibling
/// subdomain, which we do not trust with our state either.
fn fetch_site_is_elsewhere(headers: &HeaderMap) -> Option<bool> {
    header(headers, "sec-fetch-site").map(|site| !matches!(site, "same-origin" | "none"))
}

pub fn is_cross_site(headers: &HeaderMap, expected_origin: &str) -> bool {
    if let Some(elsewhere) = fetch_site_is_elsewhere(headers) {
        return elsewhere;
    }
    match headers.get(http::header::ORIGIN) {
        Some(origin) => origin.as_bytes() != expected_origin.as_bytes(),
        // Non-browser clients send neither header; they cannot ride a victim's cookies.
        None => false,
    }
}

/// Another site's page loaded this as an image, script, iframe or fetch: from elsewhere
/// (Fetch Metadata) and not a top-level navigation (`Sec-Fetch-Mode: navigate` with
/// `Sec-Fetch-Dest: document`). Browsers that send no Fetch Metadata cannot be told apart.
pub fn is_embedded_by_another_site(headers: &HeaderMap) -> bool {
    let top_level = header(headers, "sec-fetch-mode") == Some("navigate")
        && header(headers, "sec-fetch-dest") == Some("document");
    fetch_site_is_elsewhere(headers) == Some(true) && !top_level
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        let me = "http://127.0.0.1:3000";
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            me
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "cross-site")]),
            me
        ));
        assert!(is_cross_site(
            &headers(&[("sec-fetch-site", "same-site")]),
            me
        ));
    }

    #[test]
    fn origin_is_the_fallback() {
        let me = "http://127.0.0.1:3000";
        assert!(!is_cross_site(
            &headers(&[("origin", "http://127.0.0.1:3000")]),
            me
        ));
        assert!(is_cross_site(
            &headers(&[("origin", "https://evil.example")]),
            me
        ));
        assert!(is_cross_site(&headers(&[("origin", "null")]), me));
        assert!(!is_cross_site(&headers(&[]), me));
    }

    #[test]
    fn embedding_is_anything_but_a_top_level_navigation_from_elsewhere() {
        let embedded = |site, mode, dest| {
            is_embedded_by_another_site(&headers(&[
                ("sec-fetch-site", site),
                ("sec-fetch-mode", mode),
                ("sec-fetch-dest", dest),
            ]))
        };
        assert!(embedded("cross-site", "no-cors", "image"));
        assert!(embedded("same-site", "navigate", "iframe"));
        assert!(embedded("cross-site", "cors", "empty"));
        assert!(!embedded("cross-site", "navigate", "document"));
        assert!(!embedded("same-origin", "no-cors", "image"));
        assert!(!embedded("none", "navigate", "document"));
        assert!(!is_embedded_by_another_site(&headers(&[])));
    }
}
