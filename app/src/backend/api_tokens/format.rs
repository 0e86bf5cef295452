//! What a personal API token looks like: `sspat_`, 30 random base62 characters, and a
//! 6-character base62 CRC32 of everything before it (GitHub's scheme). The prefix lets
//! secret scanners and people recognise a leaked token; the checksum lets a scanner tell a
//! real one from a look-alike without asking us, and lets the server refuse a mistyped or
//! made-up token before any database look-up.

use rand::{distr::Alphanumeric, Rng};

/// "social-signin personal access token".
pub const PREFIX: &str = "sspat_";
const RANDOM_CHARS: usize = 30; // 62^30: ~178 bits
const CHECKSUM_CHARS: usize = 6; // 62^6 > 2^32
pub const TOKEN_CHARS: usize = PREFIX.len() + RANDOM_CHARS + CHECKSUM_CHARS;
/// How many random characters the account page shows, to tell tokens apart.
const HINT_CHARS: usize = 4;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new token, from the operating system's random source (through `rand`'s thread RNG).
pub fn generate() -> String {
    let random: String = rand::rng()
        .sample_iter(Alphanumeric)
        .take(RANDOM_CHARS)
        .map(char::from)
        .collect();
    with_checksum(&format!("{PREFIX}{random}"))
}

fn with_checksum(body: &str) -> String {
    format!("{body}{}", base62_fixed(crc32fast::hash(body.as_bytes())))
}

fn base62_fixed(mut value: u32) -> String {
    let mut digits = [b'0'; CHECKSUM_CHARS];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(digits.to_vec()).expect("base62 digits are ASCII")
}

/// Whether `text` has a token's shape and a checksum that matches. Says nothing about
/// whether such a token was ever issued.
pub fn is_well_formed(text: &str) -> bool {
    text.len() == TOKEN_CHARS
        && text.starts_with(PREFIX)
        && text[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
        && with_checksum(&text[..TOKEN_CHARS - CHECKSUM_CHARS]) == text
}

/// What the account page shows of a token: its prefix and first random characters.
pub fn hint(token: &str) -> String {
    format!("{}…", &token[..PREFIX.len() + HINT_CHARS])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_is_the_crc32_of_the_text_before_it_in_base62() {
        // CRC-32 (ISO-HDLC, as zlib and PNG use) check value: "123456789" -> 0xCBF43926,
        // which is 3jZRME in base62 (0-9, A-Z, a-z).
        assert_eq!(crc32fast::hash(b"123456789"), 0xCBF4_3926);
        assert_eq!(base62_fixed(0xCBF4_3926), "3jZRME");
        assert_eq!(base62_fixed(0), "000000");
        assert_eq!(
            with_checksum("sspat_AbCdEfGhIjKlMnOpQrStUvWxYz0123"),
            "sspat_AbCdEfGhIjKlMnOpQrStUvWxYz01230C8RpT"
        );
    }

    #[test]
    fn generated_tokens_are_well_formed_and_differ() {
        let first = generate();
        let second = generate();
        assert_eq!(first.len(), TOKEN_CHARS);
        assert!(first.starts_with(PREFIX));
        assert!(is_well_formed(&first), "{first}");
        assert_ne!(first, second);
        assert_eq!(hint(&first), format!("{}…", &first[..10]));
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let token = "sspat_AbCdEfGhIjKlMnOpQrStUvWxYz01230C8RpT";
        assert!(is_well_formed(token));
        for at in PREFIX.len()..token.len() {
            let mut bytes = token.as_bytes().to_vec();
            bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(!is_well_formed(&changed), "{changed}");
        }
        assert!(!is_well_formed(&token[..token.len() - 1]));
        assert!(!is_well_formed(&token.replace("sspat_", "ghp_xx")));
        assert!(!is_well_formed(&token.replace("sspat_", "SSPAT_")));
        assert!(!is_well_formed(
            "sspat_AbCdEfGhIjKlMnOpQrStUvWxYz0123-C8RpT"
        ));
        assert!(!is_well_formed(""));
    }
}
