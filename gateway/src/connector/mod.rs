//! Connectors: whatever moves the money behind an approval. One module per connector, its wire
//! types and status mapping beside it. The core only speaks this trait.

pub mod test_card;
pub mod wallet;

use crate::domain::intent::FailureReason;
use crate::domain::money::{Amount, Currency};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;

/// How the customer pays. More kinds arrive with more connectors (upstream PGs). Kept with an
/// approval's checkpoint, so that a retry of an approval cut off before the processor heard of
/// it can ask again (test card numbers and wallet ids only: no real card reaches this core).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PaymentMethod {
    TestCard { number: String },
    /// The customer's wallet balance; the wallet's currency must be the intent's.
    Wallet { wallet_id: String },
}

impl PaymentMethod {
    /// The connector that serves this method.
    pub fn connector(&self) -> &'static str {
        match self {
            PaymentMethod::TestCard { .. } => test_card::NAME,
            PaymentMethod::Wallet { .. } => wallet::NAME,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    /// Our reference (the intent id); connectors use it to refuse a second authorization.
    pub reference: String,
    pub amount: Amount,
    pub currency: Currency,
    pub payment_method: PaymentMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    CardDeclined,
    InsufficientFunds,
    InvalidCard,
    /// The funding source cannot pay this payment (another currency, or it no longer exists).
    FundingSourceUnusable,
}

impl From<DeclineReason> for FailureReason {
    /// Why the intent fails when its authorization is declined.
    fn from(reason: DeclineReason) -> Self {
        match reason {
            DeclineReason::CardDeclined => FailureReason::CardDeclined,
            DeclineReason::InsufficientFunds => FailureReason::InsufficientFunds,
            DeclineReason::InvalidCard => FailureReason::InvalidCard,
            DeclineReason::FundingSourceUnusable => FailureReason::FundingSourceUnusable,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    Approved { connector_ref: String },
    Declined(DeclineReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundResult {
    Succeeded { connector_ref: String },
    Failed { code: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// The request never reached the processor (connection refused, outage): nothing happened.
    #[error("connector unavailable: {0}")]
    Unavailable(String),
    /// The request may have reached the processor, but no answer came: the outcome is unknown
    /// until a status check tells it.
    #[error("connector timed out: {0}")]
    Timeout(String),
    #[error("connector refused the request: {0}")]
    Refused(String),
}

#[async_trait]
pub trait Connector: Send + Sync {
    fn name(&self) -> &'static str;
    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, ConnectorError>;
    /// The status check: what the processor decided for the authorization request with our
    /// `reference`, or `None` when it never received one. Never authorizes anything itself.
    async fn authorization_status(&self, reference: &str) -> Result<Option<Authorization>, ConnectorError>;
    /// Idempotent per authorization: a second capture of the same authorization moves nothing.
    async fn capture(&self, connector_ref: &str, amount: Amount) -> Result<(), ConnectorError>;
    /// Releases an authorization that will never be captured.
    async fn void(&self, connector_ref: &str) -> Result<(), ConnectorError>;
    /// Idempotent per `refund_reference`.
    async fn refund(&self, connector_ref: &str, refund_reference: &str, amount: Amount) -> Result<RefundResult, ConnectorError>;
}

/// The connectors this process can route to, by name.
#[derive(Clone, Default)]
pub struct Connectors(HashMap<&'static str, Arc<dyn Connector>>);

impl Connectors {
    pub fn with(mut self, connector: Arc<dyn Connector>) -> Self {
        self.0.insert(connector.name(), connector);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Connector>> {
        self.0.get(name)
    }
}
