//! A test card processor: in-process, with magic card numbers that force outcomes.
//!
//! | number | outcome |
//! | --- | --- |
//! | 4242 4242 4242 4242 | approved |
//! | 4000 0000 0000 0002 | declined (`card_declined`) |
//! | 4000 0000 0000 9995 | declined (`insufficient_funds`) |
//! | 4000 0000 0000 0119 | approved, but the answer is lost (a timeout): only a status check tells |
//! | any other number passing the Luhn check | approved |
//! | a number failing the Luhn check | declined (`invalid_card`) |
//!
//! It keeps its own book of decisions, authorizations, captures and refunds in the database
//! (`store::TestCardBook`), as a real processor keeps its own: after a restart its status check
//! still knows what it decided, so crash recovery works the way it does with an upstream PG, and
//! tests can check that money moved once at the processor too.

pub mod transformers;

use super::{Authorization, AuthorizeRequest, Connector, ConnectorError, PaymentMethod, RefundResult};
use crate::clock::Clock;
use crate::domain::money::Amount;
use crate::ids::random_base62;
use crate::store::{CardAuthorization, StoreError, TestCardBook};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use transformers::{AuthorizationResponse, ResponseCode};

pub const NAME: &str = "test_card";
pub const CARD_SUCCEEDS: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const CARD_TIMEOUT: &str = "4000000000000119";

pub struct TestCardProcessor {
    book: Arc<dyn TestCardBook>,
    clock: Arc<dyn Clock>,
    /// While set, every call fails as if the processor could not be reached (outage drills).
    unreachable: AtomicBool,
}

/// What the processor's own book says about the intent it knows by `reference`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessorView {
    /// Authorization requests received for the reference, answered or not.
    pub authorization_requests: u32,
    pub authorizations: usize,
    pub captures: u32,
    pub voided: usize,
    pub refunded: i64,
}

impl TestCardProcessor {
    pub fn new(book: Arc<dyn TestCardBook>, clock: Arc<dyn Clock>) -> Self {
        Self { book, clock, unreachable: AtomicBool::new(false) }
    }

    /// The book's record of `reference` (for tests: money moved once at the processor too).
    pub async fn view(&self, reference: &str) -> ProcessorView {
        let found = self.book.card_authorization(reference).await.ok().flatten();
        let approved = found.as_ref().filter(|a| a.response_code == ResponseCode::Approved.wire());
        ProcessorView {
            authorization_requests: found.as_ref().map_or(0, |a| a.requests as u32),
            authorizations: usize::from(approved.is_some()),
            captures: u32::from(approved.is_some_and(|a| a.captured)),
            voided: usize::from(approved.is_some_and(|a| a.voided)),
            refunded: approved.map_or(0, |a| a.refunded),
        }
    }

    /// Makes every call fail as unreachable (`true`) or work again (`false`).
    pub fn set_unreachable(&self, unreachable: bool) {
        self.unreachable.store(unreachable, Ordering::SeqCst);
    }

    fn reachable(&self) -> Result<(), ConnectorError> {
        if self.unreachable.load(Ordering::SeqCst) {
            Err(ConnectorError::Unavailable("test card processor unreachable".into()))
        } else {
            Ok(())
        }
    }

    fn respond(number: &str) -> ResponseCode {
        match number {
            CARD_DECLINED => ResponseCode::DoNotHonor,
            CARD_INSUFFICIENT_FUNDS => ResponseCode::InsufficientFunds,
            CARD_TIMEOUT => ResponseCode::Approved,
            n if luhn_valid(n) => ResponseCode::Approved,
            _ => ResponseCode::InvalidCardNumber,
        }
    }
}

/// The book cannot be read: as a processor that does not answer (the outcome is unknown).
fn book_unavailable(e: StoreError) -> ConnectorError {
    ConnectorError::Timeout(format!("test card book: {e}"))
}

fn response(a: &CardAuthorization) -> Result<AuthorizationResponse, ConnectorError> {
    let code = ResponseCode::from_wire(&a.response_code).ok_or_else(|| ConnectorError::Refused(format!("unknown response code {}", a.response_code)))?;
    Ok(AuthorizationResponse { code, authorization_id: a.id.clone() })
}

pub fn luhn_valid(number: &str) -> bool {
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = number
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[async_trait]
impl Connector for TestCardProcessor {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn authorize(&self, req: &AuthorizeRequest) -> Result<Authorization, ConnectorError> {
        self.reachable()?;
        let PaymentMethod::TestCard { number } = &req.payment_method else {
            return Ok(Authorization::Declined(super::DeclineReason::InvalidCard));
        };
        // Like a real processor, one decision per reference: a repeated request gets the first answer.
        let asked = CardAuthorization {
            id: format!("tc_auth_{}", random_base62(20)),
            reference: req.reference.clone(),
            response_code: Self::respond(number).wire().to_owned(),
            amount: req.amount.minor_units(),
            captured: false,
            voided: false,
            requests: 1,
            refunded: 0,
        };
        let decided = self.book.card_decide(&asked, self.clock.now()).await.map_err(book_unavailable)?;
        if number == CARD_TIMEOUT && decided.requests == 1 {
            return Err(ConnectorError::Timeout("no answer from the test card processor".into()));
        }
        Ok(transformers::to_authorization(response(&decided)?))
    }

    async fn authorization_status(&self, reference: &str) -> Result<Option<Authorization>, ConnectorError> {
        self.reachable()?;
        match self.book.card_authorization(reference).await.map_err(book_unavailable)? {
            Some(decided) => Ok(Some(transformers::to_authorization(response(&decided)?))),
            None => Ok(None),
        }
    }

    async fn capture(&self, connector_ref: &str, amount: Amount) -> Result<(), ConnectorError> {
        self.reachable()?;
        if self.book.card_capture(connector_ref, amount.minor_units()).await.map_err(book_unavailable)? {
            Ok(())
        } else {
            Err(ConnectorError::Refused("authorization unknown, declined, voided, or for another amount".into()))
        }
    }

    async fn void(&self, connector_ref: &str) -> Result<(), ConnectorError> {
        self.reachable()?;
        self.book.card_void(connector_ref).await.map_err(book_unavailable)
    }

    async fn refund(&self, connector_ref: &str, refund_reference: &str, amount: Amount) -> Result<RefundResult, ConnectorError> {
        self.reachable()?;
        if self.book.card_refund(connector_ref, refund_reference, amount.minor_units()).await.map_err(book_unavailable)? {
            Ok(RefundResult::Succeeded { connector_ref: format!("tc_ref_{refund_reference}") })
        } else {
            Ok(RefundResult::Failed { code: "refund_exceeds_capture".into() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers_pass_the_luhn_check() {
        for n in [CARD_SUCCEEDS, CARD_DECLINED, CARD_INSUFFICIENT_FUNDS, CARD_TIMEOUT] {
            assert!(luhn_valid(n), "{n}");
        }
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("42"));
    }
}
