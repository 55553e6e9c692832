//! Wallets: a wallet customer's balance in one currency and mode, the book of the wallet-balance
//! connector. Test-mode wallets open funded and can be topped up; every movement is an entry,
//! and the balance is always the sum of its entries.

use super::money::{Amount, Currency};
use crate::clock::Millis;

/// Upper bound of any wallet's balance, in minor units.
pub const MAX_BALANCE: i64 = 100_000_000;

/// What a test-mode wallet holds when it opens: ₩1,000,000, or 1,000.00 in a two-decimal currency.
pub fn test_opening_balance(currency: Currency) -> Amount {
    let minor = match currency.exponent() {
        0 => 1_000_000,
        _ => 100_000,
    };
    Amount::parse(minor).expect("a positive constant below the maximum")
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Wallet {
    pub id: String,
    pub customer_id: String,
    pub livemode: bool,
    pub currency: Currency,
    pub balance: i64,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletAuthorizationStatus {
    Declined,
    /// The amount has left the balance and waits for capture or release.
    Held,
    Captured,
    /// Released back to the balance.
    Voided,
}

impl WalletAuthorizationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WalletAuthorizationStatus::Declined => "declined",
            WalletAuthorizationStatus::Held => "held",
            WalletAuthorizationStatus::Captured => "captured",
            WalletAuthorizationStatus::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "declined" => Some(WalletAuthorizationStatus::Declined),
            "held" => Some(WalletAuthorizationStatus::Held),
            "captured" => Some(WalletAuthorizationStatus::Captured),
            "voided" => Some(WalletAuthorizationStatus::Voided),
            _ => None,
        }
    }
}

/// The wallet connector's decision on one authorization request, kept per reference (intent id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletAuthorization {
    pub id: String,
    pub reference: String,
    pub wallet_id: String,
    pub amount: Amount,
    pub status: WalletAuthorizationStatus,
    /// Why it was declined.
    pub decline: Option<WalletDecline>,
}

/// Why the wallet book declined an authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletDecline {
    InsufficientFunds,
    /// The wallet holds another currency than the payment's.
    FundingSourceUnusable,
}

impl WalletDecline {
    pub fn code(self) -> &'static str {
        match self {
            WalletDecline::InsufficientFunds => "insufficient_funds",
            WalletDecline::FundingSourceUnusable => "funding_source_unusable",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [WalletDecline::InsufficientFunds, WalletDecline::FundingSourceUnusable].into_iter().find(|d| d.code() == code)
    }
}

impl Wallet {
    /// Whether this wallet can hold `amount` of `currency` for a payment, and if not, why.
    pub fn authorize(&self, amount: Amount, currency: Currency) -> Result<(), WalletDecline> {
        if self.currency != currency {
            Err(WalletDecline::FundingSourceUnusable)
        } else if self.balance < amount.minor_units() {
            Err(WalletDecline::InsufficientFunds)
        } else {
            Ok(())
        }
    }

    /// Whether a top-up of `amount` keeps the balance within [`MAX_BALANCE`].
    pub fn can_top_up(&self, amount: Amount) -> bool {
        self.balance.saturating_add(amount.minor_units()) <= MAX_BALANCE
    }
}

/// What a top-up did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopUpOutcome {
    /// Applied now, or earlier under the same reference.
    Applied(Wallet),
    /// The balance would pass [`MAX_BALANCE`]; nothing changed.
    OverLimit(Wallet),
}
