use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Checks one Paygate webhook. `body` is the raw request body, exactly as received;
/// `signatures` is the `webhook-signature` header; `now_secs` is the current Unix time.
pub fn verify(secret: &str, id: &str, timestamp: &str, signatures: &str, body: &[u8], now_secs: i64) -> bool {
    let Ok(ts) = timestamp.parse::<i64>() else { return false };
    if (now_secs - ts).abs() > 5 * 60 {
        return false; // too old or too new: refuse replays
    }
    let Ok(key) = STANDARD.decode(secret.trim_start_matches("whsec_")) else { return false };
    signatures.split(' ').filter_map(|s| s.strip_prefix("v1,")).any(|sig| {
        let Ok(sig) = STANDARD.decode(sig) else { return false };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&sig).is_ok() // constant-time comparison
    })
}
