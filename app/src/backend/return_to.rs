//! Where to land after sign-in. Only same-origin relative paths survive: anything that a
//! browser could read as another host (`//evil.com`, `/\evil.com`, schemes, control
//! characters) becomes `/`, so the sign-in can never be used as an open redirector.

/// Longest `next` kept.
const MAX_LEN: usize = 512;

pub fn safe_next(raw: Option<&str>) -> String {
    let Some(next) = raw else { return "/".into() };
    let acceptable = next.starts_with('/')
        && !next.starts_with("//")
        && next.len() <= MAX_LEN
        // Browsers treat `\` as `/` and drop tabs and newlines inside URLs.
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        // `/%2F%2Fevil.com` and friends: encoded slashes or backslashes anywhere.
        && !next.to_ascii_lowercase().contains("%2f")
        && !next.to_ascii_lowercase().contains("%5c");
    if acceptable {
        next.to_owned()
    } else {
        "/".into()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn keeps_local_paths() {
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/")), "/");
        assert_eq!(safe_next(Some("/account?tab=1#x")), "/account?tab=1#x");
    }

    #[test]
    fn everything_that_could_leave_the_site_lands_on_root() {
        for evil in [
            "https://evil.com",
            "//evil.com",
            "/\\evil.com",
            "\\\\evil.com",
            "/%2F%2Fevil.com",
            "/%5cevil.com",
            "javascript:alert(1)",
            "data:text/html,x",
            "/\t/evil.com",
            "/\r\n/evil.com",
            "/ /evil.com",
            "evil.com",
            "",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil:?}");
        }
        assert_eq!(safe_next(Some(&format!("/{}", "a".repeat(600)))), "/");
    }

    mod properties {
        use super::super::safe_next;
        use proptest::prelude::*;

        proptest! {
            /// Whatever comes in, what goes out is a local path a browser cannot read as
            /// another host.
            #[test]
            fn prop_next_is_always_local(raw in "\\PC{0,80}|/[/\\\\a-z%:.\t\r\n ]{0,20}") {
                let next = safe_next(Some(&raw));
                prop_assert!(next == "/" || next == raw);
                prop_assert!(next.starts_with('/'));
                prop_assert!(!next.starts_with("//"));
                prop_assert!(!next.contains('\\'));
                prop_assert!(!next.chars().any(|c| c.is_control() || c.is_whitespace()));
            }
        }
    }
}
