//! The first look at a sign-in route's raw query string, before any parsing.

/// Longest query string a sign-in route reads.
pub const MAX_QUERY_LEN: usize = 8 * 1024;

/// Refuses what a form decoder would quietly repair: percent-escapes that are not UTF-8
/// (decoded lossily otherwise), NUL bytes, and oversized queries. Duplicated parameters are
/// refused later by the typed `Query` extractor.
pub fn well_formed_query(query: Option<&str>) -> bool {
    let Some(query) = query else { return true };
    query.len() <= MAX_QUERY_LEN
        && query.split('&').all(|pair| {
            percent_encoding::percent_decode_str(pair)
                .decode_utf8()
                .is_ok_and(|decoded| !decoded.contains('\0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn examples() {
        assert!(well_formed_query(None));
        assert!(well_formed_query(Some("code=abc&state=x%20y%C3%A9")));
        assert!(!well_formed_query(Some("code=%FF")));
        assert!(!well_formed_query(Some("state=a%00b")));
        assert!(!well_formed_query(Some(&"a".repeat(MAX_QUERY_LEN + 1))));
    }

    proptest! {
        /// Any query built from real strings, percent-encoded, passes.
        #[test]
        fn prop_encoded_utf8_queries_pass(pairs in proptest::collection::vec(("[^\0]{0,20}", "[^\0]{0,40}"), 0..6)) {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            prop_assume!(query.len() <= MAX_QUERY_LEN);
            prop_assert!(well_formed_query(Some(&query)));
        }

        /// Any byte soup is judged without panicking, and a NUL escape always fails.
        #[test]
        fn prop_arbitrary_queries_never_panic(raw in "\\PC{0,200}", nul_at in 0usize..200) {
            let _ = well_formed_query(Some(&raw));
            let cut = raw.char_indices().map(|(i, _)| i).find(|i| *i >= nul_at).unwrap_or(raw.len());
            let with_nul = format!("{}%00{}", &raw[..cut], &raw[cut..]);
            prop_assert!(!well_formed_query(Some(&with_nul)));
        }
    }
}
