//! The nickname a person chooses: trimmed, in one Unicode form (NFC, so that the same
//! name typed on two systems is the same text), 1 to 64 characters, and nothing that
//! hides or reorders what others see.

use unicode_normalization::UnicodeNormalization;

use crate::backend::oauth::profile::{is_invisible_format, MAX_NICKNAME_CHARS};

/// The nickname to store, or `None` when it is not acceptable.
pub fn checked(raw: &str) -> Option<String> {
    let nickname: String = raw.trim().nfc().collect();
    let length = nickname.chars().count();
    if length == 0 || length > MAX_NICKNAME_CHARS {
        return None;
    }
    if nickname
        .chars()
        .any(|c| c.is_control() || is_invisible_format(c))
    {
        return None;
    }
    Some(nickname)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_trimmed_and_composed() {
        assert_eq!(checked("  Ann  ").as_deref(), Some("Ann"));
        // "e" + combining acute accent becomes the single character "é".
        assert_eq!(checked("Rene\u{301}").as_deref(), Some("Ren\u{e9}"));
        assert_eq!(checked("名前").as_deref(), Some("名前"));
    }

    #[test]
    fn empty_long_hidden_or_reordering_nicknames_are_refused() {
        assert_eq!(checked("   "), None);
        assert_eq!(checked(""), None);
        assert!(checked(&"x".repeat(64)).is_some());
        assert_eq!(checked(&"x".repeat(65)), None);
        // 64 characters of several bytes each are fine.
        assert!(checked(&"é".repeat(64)).is_some());
        for bad in [
            "a\u{202E}b",
            "a\u{2066}b",
            "a\u{200B}b",
            "a\nb",
            "a\u{7}b",
            "\u{FEFF}a",
        ] {
            assert_eq!(checked(bad), None, "{bad:?}");
        }
    }
}
