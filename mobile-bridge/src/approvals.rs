//! Approving and declining by approval code, with one of the signed-in customer's funding
//! sources, and what a customer may see: their funding sources and their own payments.
//! No HTTP here; the handlers in `api::wallet` are thin.

use crate::i18n::Localized as _;
use gateway::clock::to_rfc3339;
use gateway::connector::test_card;
use gateway::connector::PaymentMethod;
use gateway::domain::intent::{parse_amount, FailureReason, IntentStatus, PaymentIntent};
use gateway::domain::money::Amount;
use gateway::domain::money::Currency;
use gateway::domain::wallet::{test_opening_balance, Wallet, MAX_BALANCE};
use gateway::domain::approval;
use gateway::service::{intent_cursor, paginate, List, ServiceError, Services};
use gateway::api::idempotency::RequestKey;
use gateway::domain::idempotency::{Keyed, Saved, View};
use gateway::domain::query::Page;
use gateway::domain::approval::{CodedIntent, CustomerPayment};
use gateway::domain::wallet::TopUpOutcome;
use crate::i18n::{Lang, SourceTexts};
use serde::Serialize;
use utoipa::ToSchema;
use std::sync::Arc;

/// A test-mode card every customer may pay with; its label is one of the page texts.
pub struct TestCard {
    pub id: &'static str,
    pub number: &'static str,
    label: fn(&SourceTexts) -> &'static str,
}

/// One test card per outcome of the test card processor.
pub const TEST_CARDS: [TestCard; 4] = [
    TestCard { id: "card_test_visa", number: test_card::CARD_SUCCEEDS, label: |t| t.card_approves },
    TestCard { id: "card_test_declined", number: test_card::CARD_DECLINED, label: |t| t.card_declined },
    TestCard { id: "card_test_insufficient_funds", number: test_card::CARD_INSUFFICIENT_FUNDS, label: |t| t.card_insufficient_funds },
    TestCard { id: "card_test_timeout", number: test_card::CARD_TIMEOUT, label: |t| t.card_timeout },
];

/// Currencies whose test wallets every customer has from the start.
const TEST_WALLET_CURRENCIES: [Currency; 2] = [Currency::KRW, Currency::USD];

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("no intent has this approval code")]
    LinkInvalid,
    #[error("the intent is {0:?}: nothing to approve or decline")]
    Closed(IntentStatus),
    #[error("no such funding source")]
    FundingSourceMissing,
    #[error("the funding source holds {source_currency}, the payment is in {payment_currency}")]
    CurrencyMismatch { source_currency: &'static str, payment_currency: &'static str },
    #[error("test-mode funding source for a live payment, or the reverse")]
    ModeMismatch,
    #[error("top-ups are for test-mode wallets")]
    LiveTopUp,
    #[error("the balance would pass the wallet limit")]
    TopUpLimit,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// What the customer's phone shows of a payment awaiting approval (or of how it ended).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    pub code: String,
    pub status: IntentStatus,
    pub merchant_name: String,
    pub order_name: String,
    pub amount: Amount,
    pub currency: Currency,
    /// `₩12,000`, `$12.00`.
    pub amount_display: String,
    #[schema(format = DateTime)]
    pub expires_at: String,
    pub livemode: bool,
    pub failure_code: Option<FailureReason>,
    pub failure_message: Option<String>,
}

impl ApprovalView {
    pub fn new(code: &str, merchant_name: &str, intent: &PaymentIntent) -> Self {
        Self {
            code: code.to_owned(),
            status: intent.status,
            merchant_name: merchant_name.to_owned(),
            order_name: intent.order_name.clone(),
            amount: intent.amount,
            currency: intent.currency,
            amount_display: intent.currency.display(intent.amount.minor_units()),
            expires_at: to_rfc3339(intent.expires_at),
            livemode: intent.livemode,
            failure_code: intent.failure_code,
            failure_message: intent.failure_message.clone(),
        }
    }
}

/// A funding source as the customer picks it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FundingSource {
    pub id: String,
    /// `wallet` or `test_card`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: &'static str,
    pub label: String,
    pub livemode: bool,
    pub currency: Option<Currency>,
    pub balance: Option<i64>,
    pub balance_display: Option<String>,
}

impl FundingSource {
    /// A wallet as a funding source, labelled in the customer's language.
    pub(crate) fn wallet(w: &Wallet, lang: Lang) -> Self {
        let texts = &lang.texts().sources;
        let label = if w.livemode {
            format!("{} {}", texts.wallet, w.currency.code())
        } else {
            format!("{} {} ({})", texts.wallet, w.currency.code(), texts.test_mode)
        };
        Self {
            id: w.id.clone(),
            kind: "wallet",
            label,
            livemode: w.livemode,
            currency: Some(w.currency),
            balance: Some(w.balance),
            balance_display: Some(w.currency.format(w.balance, lang.locale())),
        }
    }
}

/// One of the customer's own payments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OwnPayment {
    pub id: String,
    pub merchant_name: String,
    pub order_name: String,
    pub amount: Amount,
    pub currency: Currency,
    pub amount_display: String,
    pub status: IntentStatus,
    pub amount_refunded: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<CustomerPayment> for OwnPayment {
    fn from(p: CustomerPayment) -> Self {
        let i = p.intent;
        Self {
            amount_display: i.currency.display(i.amount.minor_units()),
            created_at: to_rfc3339(i.created_at),
            merchant_name: p.merchant_name,
            order_name: i.order_name,
            amount: i.amount,
            currency: i.currency,
            status: i.status,
            amount_refunded: i.amount_refunded,
            id: i.id,
        }
    }
}

/// The intent behind an approval code; malformed and unknown codes are the same to the caller.
pub async fn find(services: &Services, code: &str) -> Result<CodedIntent, ApprovalError> {
    if !approval::is_code(code) {
        return Err(ApprovalError::LinkInvalid);
    }
    services.find_intent_by_code(code).await?.ok_or(ApprovalError::LinkInvalid)
}

/// The intent behind a code as the phone opening the link should see it. While it awaits the
/// customer, the checkout is told it was scanned (once per intent); the intent may have moved on
/// meanwhile, so it is read again. A failed scan is logged, never shown: the customer still sees
/// the payment.
pub async fn open_coded(services: &Services, code: &str) -> Result<CodedIntent, ApprovalError> {
    let mut coded = find(services, code).await?;
    if coded.intent.status == IntentStatus::RequiresAction {
        let current = match services.record_scan(&coded.scope, &coded.intent.id, None).await {
            Ok(Some(scanned)) => Ok(scanned),
            Ok(None) => services.get_intent(&coded.scope, &coded.intent.id).await,
            Err(e) => Err(e),
        };
        match current {
            Ok(intent) => coded.intent = intent,
            Err(e) => tracing::warn!(error = %e, "recording a scan failed; showing the intent as found"),
        }
    }
    Ok(coded)
}

/// The approval as a phone opening the link sees it; opening it tells the checkout it was scanned.
pub async fn open(services: &Services, code: &str) -> Result<ApprovalView, ApprovalError> {
    let coded = open_coded(services, code).await?;
    Ok(ApprovalView::new(code, &coded.merchant_name, &coded.intent))
}

/// The customer's funding sources: wallets (test-mode ones in KRW and USD open funded on first
/// sight) and, for test-mode payments, the test cards; labels in the customer's language.
pub async fn funding_sources(services: &Services, customer_id: &str, lang: Lang) -> Result<Vec<FundingSource>, ApprovalError> {
    for currency in TEST_WALLET_CURRENCIES {
        services.open_wallet(customer_id, false, currency, Some(test_opening_balance(currency))).await?;
    }
    let mut sources: Vec<FundingSource> = services.list_wallets(customer_id).await?.iter().map(|w| FundingSource::wallet(w, lang)).collect();
    sources.extend(TEST_CARDS.iter().map(|card| FundingSource {
        id: card.id.to_owned(),
        kind: "test_card",
        label: (card.label)(&lang.texts().sources).to_owned(),
        livemode: false,
        currency: None,
        balance: None,
        balance_display: None,
    }));
    Ok(sources)
}

/// One of the customer's wallets. Another customer's wallet is as missing as one that never existed.
async fn own_wallet(services: &Services, customer_id: &str, wallet_id: &str) -> Result<Wallet, ApprovalError> {
    services.get_wallet(customer_id, wallet_id).await.map_err(|e| match e {
        ServiceError::NotFound(_) => ApprovalError::FundingSourceMissing,
        other => other.into(),
    })
}

/// Turns the customer's pick into a payment method for this intent, or says why it cannot pay.
async fn payment_method(services: &Services, customer_id: &str, source: &str, intent: &PaymentIntent) -> Result<PaymentMethod, ApprovalError> {
    if let Some(card) = TEST_CARDS.iter().find(|card| card.id == source) {
        if intent.livemode {
            return Err(ApprovalError::ModeMismatch);
        }
        return Ok(PaymentMethod::TestCard { number: card.number.to_owned() });
    }
    let wallet = own_wallet(services, customer_id, source).await?;
    if wallet.livemode != intent.livemode {
        return Err(ApprovalError::ModeMismatch);
    }
    if wallet.currency != intent.currency {
        return Err(ApprovalError::CurrencyMismatch { source_currency: wallet.currency.code(), payment_currency: intent.currency.code() });
    }
    Ok(PaymentMethod::Wallet { wallet_id: wallet.id })
}

/// The customer approves with `source`: exactly one approval of an intent goes through, however
/// many phones try at once; the others learn that it was already handled.
///
/// The same customer asking again (a retry after a lost answer, a second tap) gets the outcome of
/// their first approval, and nothing moves again.
///
/// With an Idempotency-Key (`key`), the approval's last phase saves the answer, as the page
/// shows it, with its effect.
pub async fn approve(services: &Arc<Services>, customer_id: &str, code: &str, source: &str, key: &RequestKey) -> Result<ApprovalView, ApprovalError> {
    let coded = find(services, code).await?;
    let keyed = answering_as_approval(key, code, &coded);
    if coded.intent.status != IntentStatus::RequiresAction {
        return repeat(services, keyed.as_ref(), code, coded, customer_id, Answer::Approve).await;
    }
    let method = payment_method(services, customer_id, source, &coded.intent).await?;
    match services.approve_intent(&coded.scope, &coded.intent.id, method, Some(customer_id), keyed.as_ref()).await {
        Ok(after) => Ok(ApprovalView::new(code, &coded.merchant_name, &after)),
        Err(ServiceError::InvalidState { .. }) => {
            repeat(services, keyed.as_ref(), code, find(services, code).await?, customer_id, Answer::Approve).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The customer refuses; asking again answers the same.
pub async fn decline(services: &Services, customer_id: &str, code: &str, key: &RequestKey) -> Result<ApprovalView, ApprovalError> {
    let coded = find(services, code).await?;
    let keyed = answering_as_approval(key, code, &coded);
    if coded.intent.status != IntentStatus::RequiresAction {
        return repeat(services, keyed.as_ref(), code, coded, customer_id, Answer::Decline).await;
    }
    match services.decline_intent(&coded.scope, &coded.intent.id, Some(customer_id), keyed.as_ref()).await {
        Ok(after) => Ok(ApprovalView::new(code, &coded.merchant_name, &after)),
        Err(ServiceError::InvalidState { .. }) => {
            repeat(services, keyed.as_ref(), code, find(services, code).await?, customer_id, Answer::Decline).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The request's key, answering with the approval as the page shows it.
fn answering_as_approval(key: &RequestKey, code: &str, coded: &CodedIntent) -> Option<Keyed> {
    key.answering(200, View::Approval { code: code.to_owned(), merchant_name: coded.merchant_name.clone() })
}

/// The customer's earlier answer repeated (see [`answered_before`]): nothing moved now, so it
/// is saved under the key on its own.
async fn repeat(
    services: &Services,
    key: Option<&Keyed>,
    code: &str,
    coded: CodedIntent,
    customer_id: &str,
    answer: Answer,
) -> Result<ApprovalView, ApprovalError> {
    let intent = coded.intent.clone();
    let view = answered_before(code, coded, customer_id, answer)?;
    services.answer_with(key, Saved::PaymentIntent { intent }).await?;
    Ok(view)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Approve,
    Decline,
}

/// The intent no longer awaits the customer. If this customer's own answer of the same kind
/// closed it, that answer's outcome is repeated; anything else (another phone got there first,
/// the merchant canceled, the window closed) is `approval_closed`.
fn answered_before(code: &str, coded: CodedIntent, customer_id: &str, answer: Answer) -> Result<ApprovalView, ApprovalError> {
    let intent = &coded.intent;
    let theirs = coded.customer_id.as_deref() == Some(customer_id);
    // A decline never reaches a connector; an approval always does.
    let same_kind = match answer {
        Answer::Approve => intent.connector.is_some(),
        Answer::Decline => intent.connector.is_none() && intent.failure_code == Some(FailureReason::CustomerDeclined),
    };
    if theirs && same_kind {
        Ok(ApprovalView::new(code, &coded.merchant_name, intent))
    } else {
        Err(ApprovalError::Closed(intent.status))
    }
}

/// Adds test money to one of the customer's test-mode wallets, once per `reference`.
pub async fn top_up(
    services: &Services,
    customer_id: &str,
    wallet_id: &str,
    amount: i64,
    reference: &str,
    lang: Lang,
    key: &RequestKey,
) -> Result<FundingSource, ApprovalError> {
    let amount = parse_amount(amount).map_err(ServiceError::from)?;
    let wallet = own_wallet(services, customer_id, wallet_id).await?;
    if wallet.livemode {
        return Err(ApprovalError::LiveTopUp);
    }
    if amount.minor_units() > MAX_BALANCE {
        return Err(ApprovalError::TopUpLimit);
    }
    match services.top_up_wallet(customer_id, wallet_id, amount, reference, key.answering(200, View::FundingSource).as_ref()).await? {
        TopUpOutcome::Applied(w) => Ok(FundingSource::wallet(&w, lang)),
        TopUpOutcome::OverLimit(_) => Err(ApprovalError::TopUpLimit),
    }
}

/// The customer's own payments, newest first, a page at a time.
pub async fn payments(services: &Services, customer_id: &str, page: Page) -> Result<List<OwnPayment>, ApprovalError> {
    let found = paginate(page, |p: &CustomerPayment| intent_cursor(&p.intent), |p| async move {
        services.list_customer_payments(customer_id, &p).await
    })
    .await?;
    Ok(List { data: found.data.into_iter().map(OwnPayment::from).collect(), next: found.next })
}
