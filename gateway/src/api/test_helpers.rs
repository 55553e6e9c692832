//! `/v1/test_helpers`: move a test-mode intent as the customer's phone would. Live keys are refused.

use super::error::{ApiError, ErrorBody};
use super::extract::{object_id, IdParam, JsonBody, MerchantAuth};
use super::idempotency::RequestKey;
use crate::connector::test_card::CARD_SUCCEEDS;
use crate::connector::PaymentMethod;
use crate::domain::intent::PaymentIntent;
use crate::ids::IdKind;
use crate::service::{ServiceError, Services};
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// Test card number; default 4242424242424242 (succeeds). 4000000000000002 declines,
    /// 4000000000009995 declines for insufficient funds, 4000000000000119 times out at the
    /// processor (resolved by a status check).
    #[schema(format = "contract:card_number")]
    pub card_number: Option<String>,
}

fn test_mode(auth: &MerchantAuth, id: &str) -> Result<(), ApiError> {
    object_id(IdKind::PaymentIntent, id, "id")?;
    if auth.scope().livemode {
        return Err(ServiceError::TestModeOnly.into());
    }
    Ok(())
}

#[utoipa::path(
    post, path = "/v1/test_helpers/payment_intents/{id}/approve", tag = "Test helpers",
    description = "Approves as the customer would, paying with a test card through the test card connector.",
    params(("id" = String, Path, description = "pi_...")),
    request_body(content = Option<ApproveRequest>),
    responses(
        (status = 200, description = "The intent after approval: succeeded, requires_confirmation or failed", body = PaymentIntent),
        (status = 403, description = "test_mode_only", body = ErrorBody),
        (status = 409, description = "intent_unexpected_state or intent_expired", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn approve(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    IdParam(id): IdParam,
    JsonBody(req): JsonBody<ApproveRequest>,
) -> Result<Json<PaymentIntent>, ApiError> {
    test_mode(&auth, &id)?;
    let number: String = req.card_number.unwrap_or_else(|| CARD_SUCCEEDS.into()).chars().filter(|c| !c.is_whitespace()).collect();
    if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_request("parameter_invalid", "card_number", "card_number must be 12 to 19 digits."));
    }
    Ok(Json(services.approve_intent(auth.scope(), &id, PaymentMethod::TestCard { number }, None, key.ok().as_ref()).await?))
}

#[utoipa::path(
    post, path = "/v1/test_helpers/payment_intents/{id}/decline", tag = "Test helpers",
    description = "Declines as the customer would on the approval page.",
    params(("id" = String, Path, description = "pi_...")),
    responses((status = 200, body = PaymentIntent), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn decline(State(services): State<Arc<Services>>, auth: MerchantAuth, key: RequestKey, IdParam(id): IdParam) -> Result<Json<PaymentIntent>, ApiError> {
    test_mode(&auth, &id)?;
    Ok(Json(services.decline_intent(auth.scope(), &id, None, key.ok().as_ref()).await?))
}

#[utoipa::path(
    post, path = "/v1/test_helpers/payment_intents/{id}/expire", tag = "Test helpers",
    description = "Ends the payment (or confirmation) window now.",
    params(("id" = String, Path, description = "pi_...")),
    responses((status = 200, body = PaymentIntent), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn expire(State(services): State<Arc<Services>>, auth: MerchantAuth, key: RequestKey, IdParam(id): IdParam) -> Result<Json<PaymentIntent>, ApiError> {
    test_mode(&auth, &id)?;
    Ok(Json(services.expire_intent_now(auth.scope(), &id, key.ok().as_ref()).await?))
}

#[utoipa::path(
    post, path = "/v1/test_helpers/payment_intents/{id}/scan", tag = "Test helpers",
    description = "Acts as the customer opening the approval page: emits `payment_intent.scanned` (once per intent) while the intent awaits the customer.",
    params(("id" = String, Path, description = "pi_...")),
    responses((status = 200, body = PaymentIntent), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn scan(State(services): State<Arc<Services>>, auth: MerchantAuth, key: RequestKey, IdParam(id): IdParam) -> Result<Json<PaymentIntent>, ApiError> {
    test_mode(&auth, &id)?;
    match services.record_scan(auth.scope(), &id, key.ok().as_ref()).await? {
        Some(intent) => Ok(Json(intent)),
        None => {
            let intent = services.get_intent(auth.scope(), &id).await?;
            Err(ServiceError::InvalidState { action: "scan", current: intent.status }.into())
        }
    }
}
