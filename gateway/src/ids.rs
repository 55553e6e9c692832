//! Object identifiers: a type prefix and 24 base62 characters from the operating system's CSPRNG.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 24;

/// Bytes from the operating system's CSPRNG. A failing OS RNG leaves nothing safe to do.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// `len` base62 characters, unbiased (rejection sampling).
pub fn random_base62(len: usize) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>() {
            // 248 = 4 * 62: bytes at or above it would bias the alphabet.
            if b < 248 && out.len() < len {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Merchant,
    ApiKey,
    PaymentIntent,
    Refund,
    Transaction,
    Event,
    Posting,
    WebhookEndpoint,
    WebhookAttempt,
    Wallet,
    WalletAuthorization,
    WalletEntry,
    Customer,
    RefreshToken,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Merchant => "mer_",
            IdKind::ApiKey => "key_",
            IdKind::PaymentIntent => "pi_",
            IdKind::Refund => "re_",
            IdKind::Transaction => "txn_",
            IdKind::Event => "evt_",
            IdKind::Posting => "lp_",
            IdKind::WebhookEndpoint => "we_",
            IdKind::WebhookAttempt => "wha_",
            IdKind::Wallet => "wal_",
            IdKind::WalletAuthorization => "wauth_",
            IdKind::WalletEntry => "went_",
            IdKind::Customer => "cus_",
            IdKind::RefreshToken => "rt_",
        }
    }

    /// What the id names, for error messages.
    pub fn noun(self) -> &'static str {
        match self {
            IdKind::Merchant => "merchant",
            IdKind::ApiKey => "API key",
            IdKind::PaymentIntent => "payment intent",
            IdKind::Refund => "refund",
            IdKind::Transaction => "transaction",
            IdKind::Event => "event",
            IdKind::Posting => "ledger posting",
            IdKind::WebhookEndpoint => "webhook endpoint",
            IdKind::WebhookAttempt => "webhook attempt",
            IdKind::Wallet => "wallet",
            IdKind::WalletAuthorization => "wallet authorization",
            IdKind::WalletEntry => "wallet entry",
            IdKind::Customer => "customer",
            IdKind::RefreshToken => "refresh token",
        }
    }

    pub fn generate(self) -> String {
        format!("{}{}", self.prefix(), random_base62(RANDOM_LEN))
    }

    /// True when `id` has this kind's shape; says nothing about whether it exists.
    pub fn is_well_formed(self, id: &str) -> bool {
        id.strip_prefix(self.prefix()).is_some_and(|rest| {
            rest.len() == RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_well_formed_and_distinct() {
        let a = IdKind::PaymentIntent.generate();
        let b = IdKind::PaymentIntent.generate();
        assert!(IdKind::PaymentIntent.is_well_formed(&a));
        assert_ne!(a, b);
        assert!(!IdKind::Refund.is_well_formed(&a));
        assert!(!IdKind::PaymentIntent.is_well_formed("pi_short"));
        assert!(!IdKind::PaymentIntent.is_well_formed("pi_ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"));
    }
}
