//! `/v1/refunds`: create (full or partial), retrieve, list.

use super::error::{ApiError, ErrorBody};
use super::extract::{object_id, IdParam, JsonBody, MerchantAuth, QueryParams};
use super::idempotency::RequestKey;
use crate::domain::idempotency::View;
use super::pagination::{list_response, page};
use crate::domain::refund::Refund;
use crate::ids::IdKind;
use crate::service::refunds::RefundRequest;
use crate::service::Services;
use crate::domain::query::RefundFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

list_response!(RefundList, Refund);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRefundRequest {
    /// The succeeded payment intent to refund.
    #[schema(format = "contract:payment_intent_id")]
    pub payment_intent: String,
    /// Minor units; omit to refund everything still refundable.
    #[schema(format = "contract:amount")]
    #[serde(default, deserialize_with = "crate::api::extract::whole::optional")]
    pub amount: Option<i64>,
    #[schema(format = "contract:text:200")]
    pub reason: Option<String>,
}

#[utoipa::path(
    post, path = "/v1/refunds", tag = "Refunds",
    description = "Refunds all or part of a captured payment. Several partial refunds are allowed; their sum never exceeds the captured amount.",
    request_body = CreateRefundRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Strongly recommended: a retried refund with the same key is never refunded twice.")),
    responses(
        (status = 201, body = Refund),
        (status = 400, description = "refund_exceeds_captured, amount_invalid, ...", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The intent has not succeeded", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn create(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    JsonBody(req): JsonBody<CreateRefundRequest>,
) -> Result<(StatusCode, Json<Refund>), ApiError> {
    object_id(IdKind::PaymentIntent, &req.payment_intent, "payment_intent")?;
    let request = RefundRequest { payment_intent: req.payment_intent, amount: req.amount, reason: req.reason, idempotency_key: key.header() };
    Ok((StatusCode::CREATED, Json(services.create_refund(auth.scope(), request, key.answering(201, View::Object).as_ref()).await?)))
}

#[utoipa::path(
    get, path = "/v1/refunds/{id}", tag = "Refunds",
    params(("id" = String, Path, description = "re_...")),
    responses((status = 200, body = Refund), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn retrieve(State(services): State<Arc<Services>>, auth: MerchantAuth, IdParam(id): IdParam) -> Result<Json<Refund>, ApiError> {
    object_id(IdKind::Refund, &id, "id")?;
    Ok(Json(services.get_refund(auth.scope(), &id).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListRefundsQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// Only refunds of this intent.
    pub payment_intent: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/refunds", tag = "Refunds",
    params(ListRefundsQuery),
    responses((status = 200, body = RefundList), (status = 400, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn list(State(services): State<Arc<Services>>, auth: MerchantAuth, QueryParams(q): QueryParams<ListRefundsQuery>) -> Result<Json<RefundList>, ApiError> {
    if let Some(pi) = &q.payment_intent {
        object_id(IdKind::PaymentIntent, pi, "payment_intent")?;
    }
    let page = page(q.limit, q.cursor.as_deref())?;
    let filter = RefundFilter { payment_intent: q.payment_intent };
    Ok(Json(services.list_refunds(auth.scope(), &filter, page).await?.into()))
}
