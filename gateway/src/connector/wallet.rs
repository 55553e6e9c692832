//! The wallet-balance connector: pays from the customer's wallet, whose book the store keeps
//! (`wallets`, `wallet_authorizations`, `wallet_entries`). An authorization holds the amount out
//! of the balance; capture keeps it; void gives it back; refunds credit it again. Every call is
//! one short database transaction of its own, never inside the core's.

use super::{Authorization, AuthorizeRequest, Connector, ConnectorError, DeclineReason, PaymentMethod, RefundResult};
use crate::clock::Clock;
use crate::domain::money::Amount;
use crate::domain::wallet::{WalletAuthorization, WalletAuthorizationStatus, WalletDecline};
use crate::store::{StoreError, WalletBook, WalletCapture, WalletRefund};
use async_trait::async_trait;
use std::sync::Arc;

pub const NAME: &str = "wallet";

pub struct WalletConnector {
    book: Arc<dyn WalletBook>,
    clock: Arc<dyn Clock>,
}

impl WalletConnector {
    pub fn new(book: Arc<dyn WalletBook>, clock: Arc<dyn Clock>) -> Self {
        Self { book, clock }
    }
}

/// A database that cannot be reached is a processor that cannot be reached; whether a write
/// committed before the error is unknown, so it is reported as a timeout (a status check decides).
fn unreachable(e: StoreError) -> ConnectorError {
    match e {
        StoreError::NotFound => ConnectorError::Refused("no such wallet or authorization".into()),
        other => ConnectorError::Timeout(format!("wallet book: {other}")),
    }
}

/// The book's decision as the core's outcome. No catch-all: a new status must be mapped on purpose.
fn to_authorization(a: WalletAuthorization) -> Authorization {
    match a.status {
        WalletAuthorizationStatus::Held | WalletAuthorizationStatus::Captured | WalletAuthorizationStatus::Voided => {
            Authorization::Approved { connector_ref: a.id }
        }
        WalletAuthorizationStatus::Declined => Authorization::Declined(match a.decline {
            Some(WalletDecline::InsufficientFunds) => DeclineReason::InsufficientFunds,
            // A declined authorization always says why; a row without a reason cannot pay either.
            Some(WalletDecline::FundingSourceUnusable) | None => DeclineReason::FundingSourceUnusable,
        }),
    }
}

#[async_trait]
impl Connector for WalletConnector {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, ConnectorError> {
        let PaymentMethod::Wallet { wallet_id } = &req.payment_method else {
            return Ok(Authorization::Declined(DeclineReason::FundingSourceUnusable));
        };
        match self.book.wallet_authorize(&req.reference, wallet_id, req.amount, req.currency, self.clock.now()).await {
            Ok(decided) => Ok(to_authorization(decided)),
            Err(StoreError::NotFound) => Ok(Authorization::Declined(DeclineReason::FundingSourceUnusable)),
            Err(e) => Err(unreachable(e)),
        }
    }

    async fn authorization_status(&self, reference: &str) -> Result<Option<Authorization>, ConnectorError> {
        Ok(self.book.wallet_authorization(reference).await.map_err(unreachable)?.map(to_authorization))
    }

    async fn capture(&self, connector_ref: &str, amount: Amount) -> Result<(), ConnectorError> {
        match self.book.wallet_capture(connector_ref, amount, self.clock.now()).await.map_err(unreachable)? {
            WalletCapture::Captured => Ok(()),
            WalletCapture::Refused => Err(ConnectorError::Refused("wallet authorization not held for this amount".into())),
        }
    }

    async fn void(&self, connector_ref: &str) -> Result<(), ConnectorError> {
        self.book.wallet_void(connector_ref, self.clock.now()).await.map_err(unreachable)?;
        Ok(())
    }

    async fn refund(&self, connector_ref: &str, refund_reference: &str, amount: Amount) -> Result<RefundResult, ConnectorError> {
        match self.book.wallet_refund(connector_ref, refund_reference, amount, self.clock.now()).await.map_err(unreachable)? {
            WalletRefund::Credited => Ok(RefundResult::Succeeded { connector_ref: format!("wallet_refund_{refund_reference}") }),
            WalletRefund::Refused => Ok(RefundResult::Failed { code: "refund_exceeds_capture".into() }),
        }
    }
}
