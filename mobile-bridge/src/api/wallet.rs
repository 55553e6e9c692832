//! Funding sources, approvals and one's own payments: thin handlers over [`crate::approvals`].

use crate::approvals::{self, ApprovalError, ApprovalView, FundingSource, OwnPayment};
use crate::auth::SignedIn;
use crate::limits::Bucket;
use crate::Bridge;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use gateway::api::error::ApiError;
use gateway::api::extract::{JsonBody, QueryParams};
use gateway::api::pagination::{list_response, page};
use gateway::api::error::ErrorBody;
use gateway::api::idempotency::RequestKey;
use gateway::service::List;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use std::sync::Arc;

impl From<ApprovalError> for ApiError {
    fn from(e: ApprovalError) -> Self {
        match e {
            ApprovalError::LinkInvalid => ApiError::new(StatusCode::NOT_FOUND, "approval_link_invalid", "This payment link is not valid."),
            ApprovalError::Closed(status) => ApiError::new(
                StatusCode::CONFLICT,
                "approval_closed",
                format!("This payment can no longer be approved or declined: it is {}.", status.as_str()),
            ),
            ApprovalError::FundingSourceMissing => {
                ApiError::new(StatusCode::NOT_FOUND, "funding_source_missing", "No such funding source.").with_param("funding_source")
            }
            ApprovalError::CurrencyMismatch { source_currency, payment_currency } => ApiError::bad_request(
                "funding_source_currency_mismatch",
                "funding_source",
                format!("This wallet holds {source_currency}; the payment is in {payment_currency}."),
            ),
            ApprovalError::ModeMismatch => ApiError::bad_request(
                "funding_source_mode_mismatch",
                "funding_source",
                "Test-mode funding sources pay test-mode payments only, and live ones live payments only.",
            ),
            ApprovalError::LiveTopUp => ApiError::new(StatusCode::FORBIDDEN, "test_mode_only", "Only test-mode wallets can be topped up here."),
            ApprovalError::TopUpLimit => ApiError::bad_request(
                "wallet_limit_exceeded",
                "amount",
                format!("A wallet holds at most {} minor units.", gateway::domain::wallet::MAX_BALANCE),
            ),
            ApprovalError::Service(e) => e.into(),
        }
    }
}

list_response!(FundingSourceList, FundingSource);
list_response!(PaymentList, OwnPayment);

/// `GET /wallet/v1/approvals/{code}`: what the link asks to be paid (no sign-in needed: the
/// code is the credential); tells the checkout that it was scanned.
#[utoipa::path(
    get, path = "/wallet/v1/approvals/{code}", tag = "Approvals",
    description = "What an approval link asks to be paid, or how it ended. No sign-in needed: the code is the credential. \
Opening it while the payment awaits the customer tells the merchant's checkout (`payment_intent.scanned`).",
    params(("code" = String, Path, description = "The last segment of `next_action.url` (`/p/{code}`)")),
    responses((status = 200, body = ApprovalView), (status = 404, description = "approval_link_invalid", body = ErrorBody)),
)]
pub async fn approval(State(bridge): State<Arc<Bridge>>, Path(code): Path<String>) -> Result<Json<ApprovalView>, ApiError> {
    Ok(Json(approvals::open(&bridge.services, &code).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// A funding source id from `GET /wallet/v1/funding_sources`.
    funding_source: String,
}

/// `POST /wallet/v1/approvals/{code}/approve`
#[utoipa::path(
    post, path = "/wallet/v1/approvals/{code}/approve", tag = "Approvals",
    description = "Pays with one of the customer's funding sources. Answers once the processor has decided: `succeeded`, \
`failed` (with `failure_code`), or `requires_confirmation` when the merchant confirms manually. Of several phones approving \
one payment at once, exactly one goes through; the others get `approval_closed`. The same customer approving again \
(a retry after a lost answer) gets the outcome of their first approval, and nothing is charged again.",
    params(
        ("code" = String, Path, description = "The approval code"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer; the payment is made once."),
    ),
    request_body = ApproveRequest,
    responses(
        (status = 200, body = ApprovalView),
        (status = 400, description = "funding_source_currency_mismatch, funding_source_mode_mismatch", body = ErrorBody),
        (status = 401, description = "authentication_required, token_invalid, token_expired", body = ErrorBody),
        (status = 404, description = "approval_link_invalid, funding_source_missing", body = ErrorBody),
        (status = 409, description = "approval_closed, intent_expired", body = ErrorBody),
        (status = 429, description = "rate_limited (see Retry-After)", body = ErrorBody),
    ),
    security(("access_token" = []))
)]
pub async fn approve(
    State(bridge): State<Arc<Bridge>>,
    who: SignedIn,
    key: RequestKey,
    Path(code): Path<String>,
    JsonBody(req): JsonBody<ApproveRequest>,
) -> Result<Json<ApprovalView>, ApiError> {
    bridge.limits.check(Bucket::Approve, &who.customer_id).await?;
    Ok(Json(approvals::approve(&bridge.services, &who.customer_id, &code, &req.funding_source, &key).await?))
}

/// `POST /wallet/v1/approvals/{code}/decline`
#[utoipa::path(
    post, path = "/wallet/v1/approvals/{code}/decline", tag = "Approvals",
    description = "The customer refuses the payment: it fails with `customer_declined` and nothing moves.",
    params(
        ("code" = String, Path, description = "The approval code"),
        ("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key gets the first answer."),
    ),
    responses(
        (status = 200, body = ApprovalView),
        (status = 401, body = ErrorBody),
        (status = 404, description = "approval_link_invalid", body = ErrorBody),
        (status = 409, description = "approval_closed", body = ErrorBody),
        (status = 429, description = "rate_limited (see Retry-After)", body = ErrorBody),
    ),
    security(("access_token" = []))
)]
pub async fn decline(State(bridge): State<Arc<Bridge>>, who: SignedIn, key: RequestKey, Path(code): Path<String>) -> Result<Json<ApprovalView>, ApiError> {
    bridge.limits.check(Bucket::Approve, &who.customer_id).await?;
    Ok(Json(approvals::decline(&bridge.services, &who.customer_id, &code, &key).await?))
}

/// `GET /wallet/v1/funding_sources`
#[utoipa::path(
    get, path = "/wallet/v1/funding_sources", tag = "Wallet",
    description = "The customer's wallets (test-mode KRW and USD wallets open funded with ₩1,000,000 and $1,000.00) and, for \
test-mode payments, the test cards: `card_test_visa` approves, `card_test_declined` and `card_test_insufficient_funds` are \
declined, `card_test_timeout` approves but its answer is lost (the status check finds it; it is never charged twice). \
`label` is in the customer's language: the `lang` cookie (`ko` or `en`), else Accept-Language.",
    responses((status = 200, body = FundingSourceList), (status = 401, body = ErrorBody)),
    security(("access_token" = []))
)]
pub async fn funding_sources(State(bridge): State<Arc<Bridge>>, who: SignedIn, headers: HeaderMap) -> Result<Json<FundingSourceList>, ApiError> {
    let lang = crate::i18n::choose(None, &headers).lang;
    let data = approvals::funding_sources(&bridge.services, &who.customer_id, lang).await?;
    Ok(Json(List { data, next: None }.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    /// Minor units of the wallet's currency.
    #[schema(format = "contract:amount")]
    #[serde(deserialize_with = "gateway::api::extract::whole::number")]
    amount: i64,
}

/// `POST /wallet/v1/wallets/{id}/top_ups`: test money, once per `Idempotency-Key` when one is sent.
#[utoipa::path(
    post, path = "/wallet/v1/wallets/{id}/top_ups", tag = "Wallet",
    description = "Adds test money to a test-mode wallet (at most 100,000,000 minor units in a wallet).",
    params(
        ("id" = String, Path, description = "wal_..."),
        ("Idempotency-Key" = Option<String>, Header, description = "A retried top-up with the same key is applied once."),
    ),
    request_body = TopUpRequest,
    responses(
        (status = 200, body = FundingSource),
        (status = 400, description = "amount_invalid, wallet_limit_exceeded", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "test_mode_only", body = ErrorBody),
        (status = 404, description = "funding_source_missing", body = ErrorBody),
    ),
    security(("access_token" = []))
)]
pub async fn top_up(
    State(bridge): State<Arc<Bridge>>,
    who: SignedIn,
    key: RequestKey,
    Path(wallet_id): Path<String>,
    headers: HeaderMap,
    JsonBody(req): JsonBody<TopUpRequest>,
) -> Result<Json<FundingSource>, ApiError> {
    // The key is also the top-up's reference in the wallet's book: applied once, even after
    // the key itself was purged.
    let reference = key.header().unwrap_or_else(|| gateway::ids::random_base62(24));
    let lang = crate::i18n::choose(None, &headers).lang;
    Ok(Json(approvals::top_up(&bridge.services, &who.customer_id, &wallet_id, req.amount, &reference, lang, &key).await?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to 100, default 20.
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// `GET /wallet/v1/payments`: the signed-in customer's own payments, newest first.
#[utoipa::path(
    get, path = "/wallet/v1/payments", tag = "Wallet",
    description = "The payments this customer approved or declined, newest first, in every merchant and mode.",
    params(ListParams),
    responses((status = 200, body = PaymentList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("access_token" = []))
)]
pub async fn payments(
    State(bridge): State<Arc<Bridge>>,
    who: SignedIn,
    QueryParams(params): QueryParams<ListParams>,
) -> Result<Json<PaymentList>, ApiError> {
    let page = page(params.limit, params.cursor.as_deref())?;
    Ok(Json(approvals::payments(&bridge.services, &who.customer_id, page).await?.into()))
}
