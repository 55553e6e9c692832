//! Standard Webhooks verification: the HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`
//! under the base64 part of the `whsec_` secret, compared in constant time against each `v1,`
//! signature of the header, and a timestamp within five minutes of our clock. Checked on the
//! raw body before anything parses it.

use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How far a timestamp may be from our clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// The three Standard Webhooks headers, as received.
#[derive(Debug, Clone, Copy)]
pub struct SignedHeaders<'a> {
    pub id: &'a str,
    pub timestamp: &'a str,
    pub signature: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the webhook-timestamp header is not a Unix time")]
    BadTimestamp,
    #[error("the webhook-timestamp is more than five minutes from now")]
    Stale,
    #[error("the shop's webhook secret is not whsec_ and base64")]
    BadSecret,
    #[error("no webhook-signature matches")]
    NoMatch,
}

pub fn verify(
    secret: &Secret,
    headers: SignedHeaders<'_>,
    body: &[u8],
    now_secs: i64,
) -> Result<(), SignatureError> {
    let ts: i64 = headers
        .timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp)?;
    if now_secs.abs_diff(ts) > TOLERANCE_SECS as u64 {
        return Err(SignatureError::Stale);
    }
    let key = secret
        .expose()
        .strip_prefix("whsec_")
        .and_then(|b64| STANDARD.decode(b64).ok())
        .ok_or(SignatureError::BadSecret)?;
    let matches = headers
        .signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|candidate| {
            let Ok(candidate) = STANDARD.decode(candidate) else {
                return false;
            };
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
                return false;
            };
            mac.update(headers.id.as_bytes());
            mac.update(b".");
            mac.update(headers.timestamp.as_bytes());
            mac.update(b".");
            mac.update(body);
            mac.verify_slice(&candidate).is_ok()
        });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::NoMatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    /// The Standard Webhooks specification's own example.
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TS: &str = "1614265330";
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn headers<'a>(signature: &'a str) -> SignedHeaders<'a> {
        SignedHeaders {
            id: SPEC_ID,
            timestamp: SPEC_TS,
            signature,
        }
    }

    #[test]
    fn the_specification_example_verifies() {
        assert_eq!(
            verify(
                &Secret::new(SECRET),
                headers(SPEC_SIG),
                SPEC_BODY,
                1614265330
            ),
            Ok(())
        );
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let both = format!("v1,bm90IGl0 v1a,xyz {SPEC_SIG}");
        assert_eq!(
            verify(&Secret::new(SECRET), headers(&both), SPEC_BODY, 1614265330),
            Ok(())
        );
    }

    #[test]
    fn a_tampered_body_a_wrong_secret_or_a_stale_timestamp_is_refused() {
        let secret = Secret::new(SECRET);
        assert_eq!(
            verify(
                &secret,
                headers(SPEC_SIG),
                br#"{"test": 2432232315}"#,
                1614265330
            ),
            Err(SignatureError::NoMatch)
        );
        let other = Secret::new("whsec_c2VjcmV0LW9mLWFub3RoZXItc2hvcA==");
        assert_eq!(
            verify(&other, headers(SPEC_SIG), SPEC_BODY, 1614265330),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&secret, headers(SPEC_SIG), SPEC_BODY, 1614265330 + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&secret, headers(SPEC_SIG), SPEC_BODY, 1614265330 - 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(
                &secret,
                SignedHeaders {
                    timestamp: "soon",
                    ..headers(SPEC_SIG)
                },
                SPEC_BODY,
                0
            ),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(&secret, headers("v1,!!!"), SPEC_BODY, 1614265330),
            Err(SignatureError::NoMatch)
        );
        assert_eq!(
            verify(&secret, headers(""), SPEC_BODY, 1614265330),
            Err(SignatureError::NoMatch)
        );
    }
}
