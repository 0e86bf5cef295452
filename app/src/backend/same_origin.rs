//! Cross-site request detection for state-changing requests (OWASP CSRF cheat sheet:
//! Fetch Metadata first, `Origin` as the fallback).

use http::HeaderMap;

pub fn is_cross_site(headers: &HeaderMap, expected_origin: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        // `none` is a user typing the URL or a bookmark; `same-site` is a sibling
        // subdomain, which we do not trust with our state either.
        return !matches!(site, "same-origin" | "none");
    }
    match headers.get(http::header::ORIGIN) {
        Some(origin) => origin.as_bytes() != expected_origin.as_bytes(),
        // Non-browser clients send neither header; they cannot ride a victim's cookies.
        None => false,
    }
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
}
