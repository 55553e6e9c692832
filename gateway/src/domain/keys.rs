//! API keys: `pk_test_` / `sk_test_` / `pk_live_` / `sk_live_` + 32 CSPRNG bytes (hex).
//! Only a keyed hash and a short display prefix are stored; the plaintext is shown once.

use crate::clock::Millis;
use crate::ids::random_bytes;
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Publishable,
    Secret,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Publishable => "publishable",
            KeyKind::Secret => "secret",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "publishable" => Some(KeyKind::Publishable),
            "secret" => Some(KeyKind::Secret),
            _ => None,
        }
    }

    fn letters(self) -> &'static str {
        match self {
            KeyKind::Publishable => "pk",
            KeyKind::Secret => "sk",
        }
    }
}

fn mode_word(livemode: bool) -> &'static str {
    if livemode { "live" } else { "test" }
}

const KEY_BYTES: usize = 32;
/// Characters of the full key kept for display: the prefix and four of the random part.
const DISPLAY_RANDOM_CHARS: usize = 4;

/// A freshly made key in plaintext; exists only until it is shown once.
pub struct PlainApiKey {
    pub kind: KeyKind,
    pub livemode: bool,
    pub value: Secret,
}

impl fmt::Debug for PlainApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainApiKey")
            .field("kind", &self.kind)
            .field("livemode", &self.livemode)
            .field("display", &self.display_prefix())
            .finish()
    }
}

impl PlainApiKey {
    pub fn generate(kind: KeyKind, livemode: bool) -> Self {
        let value = format!("{}_{}_{}", kind.letters(), mode_word(livemode), hex::encode(random_bytes::<KEY_BYTES>()));
        Self { kind, livemode, value: Secret::new(value) }
    }

    pub fn display_prefix(&self) -> String {
        let value = self.value.expose();
        let prefix_len = "sk_test_".len() + DISPLAY_RANDOM_CHARS;
        format!("{}…", &value[..prefix_len.min(value.len())])
    }
}

/// Reads kind and mode from a presented key's prefix, and checks its shape.
pub fn classify_presented(key: &str) -> Option<(KeyKind, bool)> {
    let (head, random) = key.rsplit_once('_')?;
    let (kind, livemode) = match head {
        "pk_test" => (KeyKind::Publishable, false),
        "sk_test" => (KeyKind::Secret, false),
        "pk_live" => (KeyKind::Publishable, true),
        "sk_live" => (KeyKind::Secret, true),
        _ => return None,
    };
    let well_formed = random.len() == KEY_BYTES * 2 && random.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some((kind, livemode))
}

/// A keyed hash of an API key (HMAC-SHA256 under the server's key-hash secret).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyHash(pub String);

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash([REDACTED])")
    }
}

/// Hashes keys under a server-side secret, so a leaked database does not reveal usable keys
/// and cannot be brute-forced offline without that secret.
#[derive(Clone)]
pub struct KeyHasher {
    secret: Secret,
}

impl fmt::Debug for KeyHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHasher([REDACTED])")
    }
}

impl KeyHasher {
    pub fn new(secret: Secret) -> Self {
        Self { secret }
    }

    pub fn hash(&self, key: &str) -> KeyHash {
        KeyHash(hex::encode(self.derive(key)))
    }

    /// 32 bytes derived from `label` under the secret (HMAC-SHA256): a key of its own per use.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// A stored key: never the plaintext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub merchant_id: String,
    pub kind: KeyKind,
    pub livemode: bool,
    pub key_hash: KeyHash,
    pub display_prefix: String,
    pub created_at: Millis,
    /// Set when the key was rolled: it keeps working until then.
    pub expires_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// When the key last authenticated a request, to [`LAST_USED_RESOLUTION_MS`].
    pub last_used_at: Option<Millis>,
}

/// How fresh a key's `last_used_at` is kept: the auth path writes it at most this often.
pub const LAST_USED_RESOLUTION_MS: Millis = 60_000;

impl ApiKeyRecord {
    pub fn is_usable_at(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }

    /// Whether a use at `now` should be written down: never yet, or not for a resolution.
    pub fn use_is_news_at(&self, now: Millis) -> bool {
        self.last_used_at.is_none_or(|at| now - at >= LAST_USED_RESOLUTION_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_documented_shape_and_classify_back() {
        for (kind, live, prefix) in [
            (KeyKind::Publishable, false, "pk_test_"),
            (KeyKind::Secret, false, "sk_test_"),
            (KeyKind::Publishable, true, "pk_live_"),
            (KeyKind::Secret, true, "sk_live_"),
        ] {
            let key = PlainApiKey::generate(kind, live);
            assert!(key.value.expose().starts_with(prefix));
            assert_eq!(key.value.expose().len(), prefix.len() + 64);
            assert_eq!(classify_presented(key.value.expose()), Some((kind, live)));
        }
        assert_eq!(classify_presented("sk_test_xyz"), None);
        assert_eq!(classify_presented("bogus"), None);
    }

    #[test]
    fn the_hash_depends_on_the_server_secret() {
        let key = PlainApiKey::generate(KeyKind::Secret, false);
        let a = KeyHasher::new(Secret::new("one")).hash(key.value.expose());
        let b = KeyHasher::new(Secret::new("two")).hash(key.value.expose());
        assert_ne!(a, b);
        assert!(!format!("{key:?}{a:?}").contains(key.value.expose()));
    }
}
