//! Sealing provider tokens for the database: XChaCha20-Poly1305 with a fresh random nonce
//! per value, the identity and column as associated data (a value copied to another row or
//! column does not open), and the id of the key it was sealed with in front, so that a
//! rotated key still opens older values:
//!
//! `v1.<key id>.<base64url(nonce || ciphertext || tag)>`

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

use super::keys::{TokenKey, TokenKeys};
use crate::backend::secret::Secret;

const VERSION: &str = "v1";
const NONCE_BYTES: usize = 24;

/// Where a sealed value belongs: it opens only there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place<'a> {
    pub identity_id: i32,
    /// The column, e.g. `access_token`.
    pub column: &'a str,
}

impl Place<'_> {
    fn associated_data(&self) -> Vec<u8> {
        format!(
            "social-signin provider token\0{}\0{}",
            self.identity_id, self.column
        )
        .into_bytes()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Not `v1.<id>.<data>`, or not base64.
    Malformed,
    /// Sealed with a key that is neither the current nor the previous one.
    UnknownKey,
    /// The key is known but the value does not open: altered, or moved from another place.
    Refused,
}

/// Seals `value` for `place` with the current key.
pub fn seal(keys: &TokenKeys, place: Place<'_>, value: &str) -> String {
    let key = keys.current();
    let mut nonce = [0u8; NONCE_BYTES];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = aead(key)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: value.as_bytes(),
                aad: &place.associated_data(),
            },
        )
        .expect("XChaCha20-Poly1305 seals any length we store");
    let mut data = nonce.to_vec();
    data.extend(sealed);
    format!("{VERSION}.{}.{}", key.id(), URL_SAFE_NO_PAD.encode(data))
}

/// Opens a value sealed for `place`; also says whether it was sealed with an older key
/// (the caller may seal it again with the current one).
pub fn open(keys: &TokenKeys, place: Place<'_>, stored: &str) -> Result<Opened, OpenError> {
    let mut parts = stored.splitn(3, '.');
    let (Some(VERSION), Some(key_id), Some(data)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(OpenError::Malformed);
    };
    let data = URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| OpenError::Malformed)?;
    if data.len() < NONCE_BYTES {
        return Err(OpenError::Malformed);
    }
    let key = keys.by_id(key_id).ok_or(OpenError::UnknownKey)?;
    let (nonce, sealed) = data.split_at(NONCE_BYTES);
    let plain = aead(key)
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &place.associated_data(),
            },
        )
        .map_err(|_| OpenError::Refused)?;
    let value = String::from_utf8(plain).map_err(|_| OpenError::Refused)?;
    Ok(Opened {
        value: Secret::new(value),
        stale_key: key.id() != keys.current().id(),
    })
}

pub struct Opened {
    pub value: Secret,
    /// Sealed with the previous key.
    pub stale_key: bool,
}

fn aead(key: &TokenKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let text: String = text.split_whitespace().collect();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn the_aead_is_xchacha20_poly1305_as_published() {
        // draft-irtf-cfrg-xchacha-03, appendix A.3.1.
        let key: [u8; 32] = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
            .try_into()
            .unwrap();
        let nonce = hex("404142434445464748494a4b4c4d4e4f5051525354555657");
        let aad = hex("50515253c0c1c2c3c4c5c6c7");
        let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
        let expected = hex(
            "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb
             731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452
             2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9
             21f9664c97637da9768812f615c68b13b52e
             c0875924c1c7987947deafd8780acf49",
        );
        let sealed = XChaCha20Poly1305::new(&key.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .unwrap();
        assert_eq!(sealed, expected);
    }

    fn keys(current: u8, previous: Option<u8>) -> TokenKeys {
        TokenKeys::new(
            TokenKey::from_bytes([current; 32]),
            previous.map(|byte| TokenKey::from_bytes([byte; 32])),
        )
    }

    const HERE: Place<'static> = Place {
        identity_id: 7,
        column: "access_token",
    };

    #[test]
    fn a_sealed_value_opens_in_its_place_only() {
        let keys = keys(1, None);
        let sealed = seal(&keys, HERE, "the-token");
        assert!(
            sealed.starts_with(&format!("v1.{}.", keys.current().id())),
            "{sealed}"
        );
        assert!(!sealed.contains("the-token"));
        assert_ne!(
            sealed,
            seal(&keys, HERE, "the-token"),
            "a fresh nonce each time"
        );
        let opened = open(&keys, HERE, &sealed).unwrap();
        assert_eq!(opened.value.expose(), "the-token");
        assert!(!opened.stale_key);

        let other_row = Place {
            identity_id: 8,
            ..HERE
        };
        let other_column = Place {
            column: "token_secret",
            ..HERE
        };
        for place in [other_row, other_column] {
            assert_eq!(open(&keys, place, &sealed).err(), Some(OpenError::Refused));
        }
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 3;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert_eq!(open(&keys, HERE, &altered).err(), Some(OpenError::Refused));
        for malformed in ["", "the-token", "v2.x.y", "v1.abc", "v1.abc.%%%"] {
            assert!(open(&keys, HERE, malformed).is_err(), "{malformed}");
        }
    }

    #[test]
    fn the_previous_key_opens_older_values_and_says_so() {
        let old = keys(1, None);
        let sealed = seal(&old, HERE, "the-token");
        let rotated = keys(2, Some(1));
        let opened = open(&rotated, HERE, &sealed).unwrap();
        assert_eq!(opened.value.expose(), "the-token");
        assert!(opened.stale_key);
        let resealed = seal(&rotated, HERE, opened.value.expose());
        assert!(!open(&rotated, HERE, &resealed).unwrap().stale_key);
        // Once the old key is dropped, what it sealed no longer opens.
        let only_new = keys(2, None);
        assert_eq!(
            open(&only_new, HERE, &sealed).err(),
            Some(OpenError::UnknownKey)
        );
    }
}
