//! Content-Security-Policy values.

/// For responses that do not set their own policy (the app's pages set one with a
/// per-response script nonce): nothing but our own resources, never framed.
pub const DEFAULT_CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; \
                               base-uri 'none'; frame-ancestors 'none'";

/// The policy for the app's pages: scripts only with this response's nonce (the hydration
/// scripts) or from our own origin, WebAssembly allowed to compile, avatars from any https
/// host.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' https: data:; connect-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
}
