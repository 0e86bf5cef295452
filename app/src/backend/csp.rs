//! Content-Security-Policy values.

use super::config::Config;
use super::oauth::protocol;

/// For responses that do not set their own policy (the app's pages set one with a
/// per-response script nonce): nothing but our own resources, never framed.
pub const DEFAULT_CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                               base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// The policy for the app's pages: scripts only with this response's nonce (the hydration
/// scripts) or from our own origin, WebAssembly allowed to compile, avatars from any https
/// host, forms only to `form_action` (see [`form_action_sources`]).
pub fn page_csp(nonce: &str, form_action: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' https: data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action {form_action}"
    )
}

/// Where the pages' forms may lead: this site, and each provider's sign-in page, because
/// the sign-in form's GET to `/authorize/{provider}` is redirected there and browsers check
/// the redirects that follow a form submission against `form-action` too. An OpenID
/// Connect issuer's sign-in page is known once it is discovered (until then, the issuer's
/// own origin, where it nearly always is), so this is worked out for each page.
pub fn form_action_sources(config: &Config) -> String {
    let own = config.origin();
    let mut sources = vec!["'self'".to_owned()];
    for provider in &config.providers {
        let origin = protocol::sign_in_page(provider)
            .origin()
            .ascii_serialization();
        if origin != own && !sources.contains(&origin) {
            sources.push(origin);
        }
    }
    sources.join(" ")
}
