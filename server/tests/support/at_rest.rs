//! What the database holds at rest, to look for secrets in: the SQLite file and its
//! write-ahead log, or every row of our tables on PostgreSQL; and the encodings a secret
//! could hide in.

use base64::Engine;

use super::TestApp;

/// Everything the database holds, as bytes: the SQLite file and its write-ahead log, or
/// every row of every table of ours as JSON text on PostgreSQL.
pub async fn everything_stored(app: &TestApp) -> Vec<u8> {
    if app.is_postgres() {
        let mut text = String::new();
        for table in [
            "users",
            "identities",
            "provider_tokens",
            "sessions",
            "account_events",
        ] {
            for row in app
                .rows(&format!(
                    "SELECT CAST(row_to_json(t) AS TEXT) FROM {table} t"
                ))
                .await
            {
                text.push_str(&row);
            }
        }
        return text.into_bytes();
    }
    let url = app.database().url();
    let path = url
        .strip_prefix("sqlite://")
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    bytes
}

/// `value` as text, UTF-16, base64 (both alphabets) and hex.
pub fn encodings(value: &str) -> Vec<Vec<u8>> {
    let utf16: Vec<u8> = value.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let hex: String = value.bytes().map(|b| format!("{b:02x}")).collect();
    vec![
        value.as_bytes().to_vec(),
        utf16,
        base64::engine::general_purpose::STANDARD
            .encode(value)
            .into_bytes(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(value)
            .into_bytes(),
        hex.into_bytes(),
    ]
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}
