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
//! It keeps its own book of authorizations, captures and refunds, so tests can check that money
//! moved once at the processor too.

pub mod transformers;

use super::{Authorization, AuthorizeRequest, Connector, ConnectorError, PaymentMethod, RefundResult};
use crate::domain::money::Amount;
use crate::ids::random_base62;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use transformers::{AuthorizationResponse, ResponseCode};

pub const NAME: &str = "test_card";
pub const CARD_SUCCEEDS: &str = "4242424242424242";
pub const CARD_DECLINED: &str = "4000000000000002";
pub const CARD_INSUFFICIENT_FUNDS: &str = "4000000000009995";
pub const CARD_TIMEOUT: &str = "4000000000000119";

#[derive(Debug, Default, Clone)]
struct AuthorizationBook {
    reference: String,
    amount: i64,
    captures: u32,
    voided: bool,
    refunds: HashMap<String, i64>,
}

#[derive(Default)]
pub struct TestCardProcessor {
    book: Mutex<HashMap<String, AuthorizationBook>>,
    /// Every authorization request's outcome by our reference, for status checks.
    decisions: Mutex<HashMap<String, AuthorizationResponse>>,
    /// Authorization requests received, by our reference.
    requests: Mutex<HashMap<String, u32>>,
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
    pub fn new() -> Self {
        Self::default()
    }

    pub fn view(&self, reference: &str) -> ProcessorView {
        let book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let auths: Vec<_> = book.values().filter(|a| a.reference == reference).collect();
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner()).get(reference).copied().unwrap_or(0);
        ProcessorView {
            authorization_requests: requests,
            authorizations: auths.len(),
            captures: auths.iter().map(|a| a.captures).sum(),
            voided: auths.iter().filter(|a| a.voided).count(),
            refunded: auths.iter().flat_map(|a| a.refunds.values()).sum(),
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
        if let Ok(mut requests) = self.requests.lock() {
            *requests.entry(req.reference.clone()).or_default() += 1;
        }
        let mut decisions = self.decisions.lock().map_err(|_| ConnectorError::Unavailable("book poisoned".into()))?;
        // Like a real processor, one decision per reference: a repeated request gets the first answer.
        if let Some(decided) = decisions.get(&req.reference) {
            return Ok(transformers::to_authorization(decided.clone()));
        }
        let code = Self::respond(number);
        let authorization_id = format!("tc_auth_{}", random_base62(20));
        if code == ResponseCode::Approved {
            let mut book = self.book.lock().map_err(|_| ConnectorError::Unavailable("book poisoned".into()))?;
            book.insert(
                authorization_id.clone(),
                AuthorizationBook { reference: req.reference.clone(), amount: req.amount.minor_units(), ..Default::default() },
            );
        }
        let response = AuthorizationResponse { code, authorization_id };
        decisions.insert(req.reference.clone(), response.clone());
        if number == CARD_TIMEOUT {
            return Err(ConnectorError::Timeout("no answer from the test card processor".into()));
        }
        Ok(transformers::to_authorization(response))
    }

    async fn authorization_status(&self, reference: &str) -> Result<Option<Authorization>, ConnectorError> {
        self.reachable()?;
        let decisions = self.decisions.lock().map_err(|_| ConnectorError::Unavailable("book poisoned".into()))?;
        Ok(decisions.get(reference).cloned().map(transformers::to_authorization))
    }

    async fn capture(&self, connector_ref: &str, amount: Amount) -> Result<(), ConnectorError> {
        let amount = amount.minor_units();
        self.reachable()?;
        let mut book = self.book.lock().map_err(|_| ConnectorError::Unavailable("book poisoned".into()))?;
        // An authorization from before a restart is not in this in-memory book: honour it.
        let auth = book
            .entry(connector_ref.to_owned())
            .or_insert_with(|| AuthorizationBook { amount, ..Default::default() });
        if auth.voided || amount != auth.amount {
            return Err(ConnectorError::Refused("authorization voided or amount differs".into()));
        }
        auth.captures = 1;
        Ok(())
    }

    async fn void(&self, connector_ref: &str) -> Result<(), ConnectorError> {
        self.reachable()?;
        let mut book = self.book.lock().map_err(|_| ConnectorError::Unavailable("book poisoned".into()))?;
        if let Some(auth) = book.get_mut(connector_ref) {
            if auth.captures == 0 {
                auth.voided = true;
            }
        }
        Ok(())
    }

    async fn refund(&self, connector_ref: &str, refund_reference: &str, amount: Amount) -> Result<RefundResult, ConnectorError> {
        let amount = amount.minor_units();
        self.reachable()?;
        let mut book = self.book.lock().map_err(|_| ConnectorError::Unavailable("book poisoned".into()))?;
        // A capture from before a restart: the core's compare-and-set already bounds the amount.
        let auth = book
            .entry(connector_ref.to_owned())
            .or_insert_with(|| AuthorizationBook { amount: i64::MAX, captures: 1, ..Default::default() });
        let already: i64 = auth.refunds.iter().filter(|(r, _)| r.as_str() != refund_reference).map(|(_, a)| a).sum();
        if auth.captures == 0 || already + amount > auth.amount {
            return Ok(RefundResult::Failed { code: "refund_exceeds_capture".into() });
        }
        auth.refunds.insert(refund_reference.to_owned(), amount);
        Ok(RefundResult::Succeeded { connector_ref: format!("tc_ref_{refund_reference}") })
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
