//! Short-lived values kept in the browser in an encrypted cookie rather than in a database
//! row: sealed with AES-256-GCM by `cookie`'s private jar (the cookie's name is bound in, so
//! a value cannot be replayed under another name), with a key derived from `SECRET_KEY`
//! (HKDF-SHA256), so instances sharing it open each other's cookies.

use cookie::{Cookie, CookieJar, Key, SameSite};
use http::{header, HeaderMap, HeaderValue};

use super::secret::Secret;

/// One kind of sealed cookie: its name and attributes.
pub struct SealedCookie {
    key: Key,
    name: &'static str,
    https: bool,
    same_site: SameSite,
}

impl std::fmt::Debug for SealedCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedCookie({}, [key redacted])", self.name())
    }
}

impl SealedCookie {
    /// `secret_key` is `SECRET_KEY` (at least 32 bytes, checked by the configuration).
    /// On https the name gets the `__Host-` prefix, which pins the cookie to this exact
    /// origin (browsers accept it only over https, as for the session cookie).
    pub fn new(secret_key: &Secret, https: bool, name: &'static str, same_site: SameSite) -> Self {
        Self {
            key: Key::derive_from(secret_key.expose().as_bytes()),
            name,
            https,
            same_site,
        }
    }

    fn name(&self) -> String {
        if self.https {
            format!("__Host-{}", self.name)
        } else {
            self.name.to_owned()
        }
    }

    /// The `Set-Cookie` value that keeps `value` in the browser for `max_age_secs`.
    pub fn seal(&self, value: String, max_age_secs: i64) -> HeaderValue {
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key)
            .add(self.attributes(Cookie::new(self.name(), value), max_age_secs));
        header_value(jar.get(&self.name()).expect("just added"))
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub fn removal(&self) -> HeaderValue {
        header_value(&self.attributes(Cookie::new(self.name(), ""), 0))
    }

    /// The value the request's cookie holds, if it carries one sealed with our key under
    /// this name; a forged, altered, renamed or unreadable one counts as none.
    pub fn open(&self, headers: &HeaderMap) -> Option<String> {
        let name = self.name();
        let sealed = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|cookie| cookie.name() == name)?
            .into_owned();
        let opened = CookieJar::new().private(&self.key).decrypt(sealed)?;
        Some(opened.value().to_owned())
    }

    fn attributes(&self, mut cookie: Cookie<'static>, max_age_secs: i64) -> Cookie<'static> {
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_secure(self.https);
        cookie.set_same_site(self.same_site);
        cookie.set_max_age(time::Duration::seconds(max_age_secs));
        cookie
    }
}

/// The sealed value is base64, which needs no percent-encoding in a cookie.
fn header_value(cookie: &Cookie<'_>) -> HeaderValue {
    HeaderValue::from_str(&cookie.to_string()).expect("an encoded cookie is a valid header value")
}
