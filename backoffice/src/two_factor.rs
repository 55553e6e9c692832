//! Two-factor sign-in: TOTP (RFC 6238: HMAC-SHA1, six digits, 30-second steps, as every
//! authenticator app reads an `otpauth://` URI) and single-use recovery codes. A code is good
//! for the step before, the current and the next one (clock drift), and each step is accepted
//! once per account: the store keeps the last step used and only moves it forward, so a code
//! seen over a shoulder or replayed is refused.

use gateway::clock::Millis;
use gateway::secret::Secret;
use std::fmt;

/// Seconds per TOTP step.
pub const STEP_SECS: i64 = 30;
/// Recovery codes issued when two-factor sign-in is turned on.
pub const RECOVERY_CODES: usize = 10;
/// The purpose TOTP keys are sealed under (see `Services::seal_secret`).
pub const SEALING_PURPOSE: &str = "staff-totp-sealing";

/// A TOTP key: 20 random bytes (160 bits, RFC 4226's recommendation). `Debug` redacts it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpKey(Vec<u8>);

impl fmt::Debug for TotpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpKey([REDACTED])")
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl TotpKey {
    pub fn generate() -> Self {
        TotpKey(gateway::ids::random_bytes::<20>().to_vec())
    }

    /// The key as an authenticator app is given it: RFC 4648 base32, no padding.
    pub fn base32(&self) -> Secret {
        let mut out = String::with_capacity(self.0.len() * 8 / 5 + 1);
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &byte in &self.0 {
            buffer = (buffer << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        Secret::new(out)
    }

    /// Reads a base32 key (case and spaces forgiven); `None` when it is not one.
    pub fn from_base32(text: &str) -> Option<Self> {
        let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
        for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
            let value = BASE32.iter().position(|&b| b as char == c.to_ascii_uppercase())? as u32;
            buffer = (buffer << 5) | value;
            bits += 5;
            if bits >= 8 {
                out.push((buffer >> (bits - 8)) as u8);
                bits -= 8;
            }
        }
        (out.len() >= 16).then_some(TotpKey(out))
    }

    /// The six-digit code of time step `step` (seconds since the epoch / 30).
    pub fn code_at_step(&self, step: i64) -> String {
        let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, STEP_SECS as u64, self.0.clone());
        totp.generate(u64::try_from(step.max(0)).unwrap_or(0) * STEP_SECS as u64)
    }

    /// The step whose code `code` is, among the one before `now`'s, `now`'s and the next.
    pub fn matching_step(&self, code: &str, now: Millis) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = step_of(now);
        (current - 1..=current + 1).find(|&step| same(&self.code_at_step(step), &code))
    }

    /// The `otpauth://` URI an authenticator app reads (from its QR code).
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Secret {
        let label = url::form_urlencoded::byte_serialize(format!("{issuer}:{account}").as_bytes()).collect::<String>().replace('+', "%20");
        let issuer = url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>().replace('+', "%20");
        Secret::new(format!("otpauth://totp/{label}?secret={}&issuer={issuer}&algorithm=SHA1&digits=6&period=30", self.base32().expose()))
    }
}

/// The TOTP step of instant `now`.
pub fn step_of(now: Millis) -> i64 {
    now.div_euclid(STEP_SECS * 1000)
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Fresh recovery codes: `xxxxx-xxxxx`, lower-case base32 (50 bits each).
pub fn new_recovery_codes() -> Vec<Secret> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = TotpKey(gateway::ids::random_bytes::<7>().to_vec()).base32();
            let chars: String = raw.expose().to_lowercase().chars().take(10).collect();
            Secret::new(format!("{}-{}", &chars[..5], &chars[5..]))
        })
        .collect()
}

/// A recovery code as typed, in its stored form (lower case, with its dash); `None` if it is
/// not shaped like one.
pub fn normalize_recovery_code(text: &str) -> Option<String> {
    let compact: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    (compact.len() == 10 && compact.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)))
        .then(|| format!("{}-{}", &compact[..5], &compact[5..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_rfc_6238s_sha1_test_vectors() {
        // RFC 6238 appendix B: the key is "12345678901234567890"; 8-digit codes there, whose
        // last six digits are the 6-digit codes.
        let key = TotpKey(b"12345678901234567890".to_vec());
        assert_eq!(key.code_at_step(59 / 30), "287082");
        assert_eq!(key.code_at_step(1_111_111_109 / 30), "081804");
        assert_eq!(key.code_at_step(2_000_000_000 / 30), "279037");
    }

    #[test]
    fn a_code_is_good_one_step_either_side_and_no_further() {
        let key = TotpKey::generate();
        let now: Millis = 1_796_094_000_000;
        let step = step_of(now);
        for (offset, good) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            assert_eq!(key.matching_step(&key.code_at_step(step + offset), now), good.then_some(step + offset), "offset {offset}");
        }
        assert_eq!(key.matching_step("12345", now), None);
    }

    #[test]
    fn the_base32_key_reads_back_and_the_uri_names_issuer_and_account() {
        let key = TotpKey::generate();
        assert_eq!(key.base32().expose().len(), 32);
        assert_eq!(TotpKey::from_base32(&key.base32().expose().to_lowercase()), Some(key.clone()));
        assert_eq!(TotpKey::from_base32("not base32!"), None);
        let uri = key.otpauth_uri("Paygate", "a@shop.example");
        assert!(uri.expose().starts_with("otpauth://totp/Paygate%3Aa%40shop.example?secret="), "{}", uri.expose());
        assert!(!format!("{key:?}").contains(key.base32().expose()));
    }

    #[test]
    fn recovery_codes_are_distinct_and_read_back_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(normalize_recovery_code(&code.expose().to_uppercase().replace('-', " ")).as_deref(), Some(code.expose()));
        }
        let mut unique: Vec<_> = codes.iter().map(|c| c.expose().to_owned()).collect();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        assert_eq!(normalize_recovery_code("short"), None);
    }
}
