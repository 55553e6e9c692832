//! What the store keeps about wallets: balances, the wallet connector's authorizations and the
//! entries that move a balance. Each operation is one transaction that locks the wallet row, so
//! concurrent requests on one wallet queue up, and each is idempotent on its reference.

use super::StoreError;
use crate::clock::Millis;
use crate::domain::money::Currency;
use crate::domain::wallet::{Wallet, WalletAuthorization, WalletAuthorizationStatus};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopUpOutcome {
    /// Applied now, or earlier under the same reference.
    Applied(Wallet),
    /// The balance would pass [`crate::domain::wallet::MAX_BALANCE`]; nothing changed.
    OverLimit(Wallet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletCapture {
    Captured,
    /// Not held (voided or declined), unknown, or for another amount.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletRefund {
    /// Credited now, or earlier under the same refund reference.
    Credited,
    /// Not captured, or more than is left to refund.
    Refused,
}

/// The store's wallet operations (a part of [`Store`](super::Store), both engines, one SQL).
#[async_trait]
pub trait WalletStore: Send + Sync {
    /// The customer's wallet in `currency` and mode; opened with `opening` (an `opening` entry)
    /// if it has none yet.
    async fn open_wallet(&self, customer_id: &str, livemode: bool, currency: Currency, opening: i64, now: Millis) -> Result<Wallet, StoreError>;
    /// Test-mode wallets first, then by currency code.
    async fn list_wallets(&self, customer_id: &str) -> Result<Vec<Wallet>, StoreError>;
    /// Another customer's wallet is not found.
    async fn get_wallet(&self, customer_id: &str, wallet_id: &str) -> Result<Wallet, StoreError>;
    async fn top_up_wallet(&self, customer_id: &str, wallet_id: &str, amount: i64, reference: &str, now: Millis) -> Result<TopUpOutcome, StoreError>;

    // The wallet connector's side.
    /// Holds `amount` of the wallet for `reference`, or declines; a reference already decided
    /// gets its first decision back, whatever is asked the second time.
    async fn wallet_authorize(&self, reference: &str, wallet_id: &str, amount: i64, currency: Currency, now: Millis) -> Result<WalletAuthorization, StoreError>;
    async fn wallet_authorization(&self, reference: &str) -> Result<Option<WalletAuthorization>, StoreError>;
    /// Idempotent: capturing a captured authorization again changes nothing.
    async fn wallet_capture(&self, authorization_id: &str, amount: i64, now: Millis) -> Result<WalletCapture, StoreError>;
    /// Releases a held amount back to the balance, once; anything else is left as it is.
    async fn wallet_void(&self, authorization_id: &str, now: Millis) -> Result<WalletAuthorizationStatus, StoreError>;
    /// Credits `amount` back for `refund_reference`, once.
    async fn wallet_refund(&self, authorization_id: &str, refund_reference: &str, amount: i64, now: Millis) -> Result<WalletRefund, StoreError>;
}

pub const WALLET_COLUMNS: &str = "id, customer_id, livemode, currency, balance, created_at";

#[derive(sqlx::FromRow)]
pub struct WalletRow {
    id: String,
    customer_id: String,
    livemode: bool,
    currency: String,
    balance: i64,
    created_at: i64,
}

impl TryFrom<WalletRow> for Wallet {
    type Error = StoreError;
    fn try_from(r: WalletRow) -> Result<Self, StoreError> {
        let currency = r.currency.parse().map_err(|()| StoreError::Corrupt(format!("wallet currency `{}`", r.currency)))?;
        Ok(Wallet { id: r.id, customer_id: r.customer_id, livemode: r.livemode, currency, balance: r.balance, created_at: r.created_at })
    }
}

pub const WALLET_AUTHORIZATION_COLUMNS: &str = "id, reference, wallet_id, amount, status, decline_code";

#[derive(sqlx::FromRow)]
pub struct WalletAuthorizationRow {
    id: String,
    reference: String,
    wallet_id: String,
    amount: i64,
    status: String,
    decline_code: Option<String>,
}

impl TryFrom<WalletAuthorizationRow> for WalletAuthorization {
    type Error = StoreError;
    fn try_from(r: WalletAuthorizationRow) -> Result<Self, StoreError> {
        let status = WalletAuthorizationStatus::parse(&r.status).ok_or_else(|| StoreError::Corrupt(format!("wallet authorization status `{}`", r.status)))?;
        Ok(WalletAuthorization { id: r.id, reference: r.reference, wallet_id: r.wallet_id, amount: r.amount, status, decline_code: r.decline_code })
    }
}
