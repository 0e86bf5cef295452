//! The keys that seal provider tokens: `TOKEN_ENCRYPTION_KEY` (32 random bytes in base64,
//! e.g. `openssl rand -base64 32`), and `TOKEN_ENCRYPTION_KEY_PREVIOUS` after a rotation,
//! which still opens older values. On a loopback set-up without a key, one is made once
//! and kept in a file beside the SQLite database (mode 0600).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::{engine::general_purpose, Engine as _};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const KEY_BYTES: usize = 32;
/// The file a loopback set-up keeps its made-up key in, in the database's folder.
pub const KEY_FILE_NAME: &str = "token-encryption.key";

#[derive(Clone)]
pub struct TokenKey {
    bytes: [u8; KEY_BYTES],
    id: String,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenKey({}, [redacted])", self.id)
    }
}

impl TokenKey {
    pub fn from_bytes(bytes: [u8; KEY_BYTES]) -> Self {
        // An id that names the key without revealing it: a hash with its own label.
        let digest = Sha256::new()
            .chain_update(b"social-signin token key id\0")
            .chain_update(bytes)
            .finalize();
        let id = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
        Self { bytes, id }
    }

    /// The key in base64 (standard or URL-safe alphabet, padded or not).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let decoded = [
            &general_purpose::STANDARD,
            &general_purpose::STANDARD_NO_PAD,
            &general_purpose::URL_SAFE,
            &general_purpose::URL_SAFE_NO_PAD,
        ]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or("is not base64 (make one with `openssl rand -base64 32`)")?;
        let bytes: [u8; KEY_BYTES] = decoded.try_into().map_err(|bytes: Vec<u8>| {
            format!(
                "must be {KEY_BYTES} bytes in base64, not {} (make one with `openssl rand \
                 -base64 32`)",
                bytes.len()
            )
        })?;
        Ok(Self::from_bytes(bytes))
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self::from_bytes(bytes)
    }

    /// Eight hex digits, stored with every value it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn bytes(&self) -> &[u8; KEY_BYTES] {
        &self.bytes
    }

    fn to_base64(&self) -> String {
        general_purpose::STANDARD.encode(self.bytes)
    }
}

/// The key that seals, and the one before it, which only opens.
#[derive(Clone, Debug)]
pub struct TokenKeys {
    current: TokenKey,
    previous: Option<TokenKey>,
}

impl TokenKeys {
    pub fn new(current: TokenKey, previous: Option<TokenKey>) -> Self {
        Self { current, previous }
    }

    pub fn current(&self) -> &TokenKey {
        &self.current
    }

    pub fn previous(&self) -> Option<&TokenKey> {
        self.previous.as_ref()
    }

    pub fn by_id(&self, id: &str) -> Option<&TokenKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id() == id)
    }
}

/// Where a loopback set-up keeps its key: beside a SQLite database file; `None` for other
/// databases (the key then lives as long as the process).
pub fn key_file_beside(database_url: &str) -> Option<PathBuf> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?
        .split('?')
        .next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let folder = Path::new(path).parent().unwrap_or(Path::new("."));
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    Some(folder.join(KEY_FILE_NAME))
}

/// The key in `file`, made and written there (readable by this user only) on first use.
/// Two instances starting at once agree: the file is created exclusively, and the loser
/// reads the winner's.
pub fn load_or_create(file: &Path) -> Result<TokenKey, String> {
    let shown = file.display();
    loop {
        match std::fs::read_to_string(file) {
            Ok(text) if !text.trim().is_empty() => {
                return TokenKey::parse(&text).map_err(|problem| format!("{shown} {problem}"))
            }
            // Being written by another instance this moment.
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = TokenKey::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                match options.open(file) {
                    Ok(mut out) => {
                        writeln!(out, "{}", key.to_base64())
                            .and_then(|()| out.sync_all())
                            .map_err(|err| format!("cannot write {shown}: {err}"))?;
                        tracing::info!(
                            file = %shown,
                            key_id = key.id(),
                            "made a key for provider tokens (set TOKEN_ENCRYPTION_KEY instead \
                             outside a loopback set-up)"
                        );
                        return Ok(key);
                    }
                    Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(err) => return Err(format!("cannot create {shown}: {err}")),
                }
            }
            Err(err) => return Err(format!("cannot read {shown}: {err}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_32_bytes_of_base64_in_either_alphabet() {
        let standard = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
        let key = TokenKey::parse(standard).unwrap();
        assert_eq!(key.to_base64(), standard);
        assert_eq!(key.id().len(), 8);
        let url_safe = standard
            .replace('+', "-")
            .replace('/', "_")
            .replace('=', "");
        assert_eq!(TokenKey::parse(&url_safe).unwrap().id(), key.id());
        assert!(TokenKey::parse("c2hvcnQ=").unwrap_err().contains("not 5"));
        assert!(TokenKey::parse("not base64!").is_err());
        assert!(!format!("{key:?}").contains(standard));
    }

    #[test]
    fn the_key_file_sits_beside_a_sqlite_file_only() {
        assert_eq!(
            key_file_beside("sqlite://data/app.db?mode=rwc"),
            Some(PathBuf::from("data/token-encryption.key"))
        );
        assert_eq!(
            key_file_beside("sqlite:app.db"),
            Some(PathBuf::from("./token-encryption.key"))
        );
        assert_eq!(key_file_beside("sqlite::memory:"), None);
        assert_eq!(key_file_beside("postgres://localhost/db"), None);
    }

    #[test]
    fn a_made_key_is_kept_private_and_read_back() {
        let folder = std::env::temp_dir().join(format!("token-key-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join(KEY_FILE_NAME);
        let _ = std::fs::remove_file(&file);
        let made = load_or_create(&file).unwrap();
        let again = load_or_create(&file).unwrap();
        assert_eq!(made.id(), again.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
