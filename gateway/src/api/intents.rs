//! `/v1/payment_intents`: create, retrieve, list, cancel, confirm.

use super::error::{ApiError, ErrorBody};
use super::extract::{object_id, search_text, Caller, IdParam, JsonBody, MerchantAuth, QueryParams};
use super::idempotency::RequestKey;
use crate::domain::idempotency::View;
use super::pagination::{list_response, page, time_param};
use crate::domain::intent::{ConfirmMode, IntentStatus, NewIntent, NewIntentInput, PaymentIntent, PublicPaymentIntent};
use crate::ids::IdKind;
use crate::service::Services;
use crate::domain::query::IntentFilter;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

list_response!(PaymentIntentList, PaymentIntent);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePaymentIntentRequest {
    /// Positive integer in the currency's minor unit (KRW 12000 = ₩12,000; USD 1200 = $12.00).
    #[schema(example = 12000)]
    #[schema(format = "contract:amount")]
    #[serde(deserialize_with = "crate::api::extract::whole::number")]
    pub amount: i64,
    /// ISO 4217 code: KRW, USD, EUR, JPY, GBP, CNY or SGD.
    #[schema(example = "KRW")]
    #[schema(format = "contract:currency")]
    pub currency: String,
    /// Your order id (1-64 characters).
    #[schema(format = "contract:text:64")]
    pub merchant_order_id: String,
    /// Shown to the customer (1-200 characters).
    #[schema(format = "contract:text:200")]
    pub order_name: String,
    #[schema(format = "contract:text:100")]
    pub customer_name: String,
    #[schema(format = "contract:customer_email")]
    pub customer_email: Option<String>,
    /// `automatic` (default) captures on approval; `manual` waits for your confirm.
    pub confirm_mode: Option<ConfirmMode>,
    /// 1 to 60, default 15.
    #[schema(format = "contract:expiry")]
    #[serde(default, deserialize_with = "crate::api::extract::whole::optional")]
    pub expires_in_minutes: Option<i64>,
    /// Up to 50 string pairs (keys up to 40 characters, values up to 500).
    #[schema(format = "contract:metadata")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// Where the approval page sends the customer's phone after the outcome, with
    /// `payment_intent` and `payment_intent_client_secret` added to its query (for the SDK's
    /// `resume()`): `https`, or `http` on `localhost`, `127.0.0.1` or `[::1]`; no user name or
    /// password; at most 2048 characters.
    #[schema(format = "contract:return_url")]
    pub return_url: Option<String>,
}

/// The created intent and its client secret (shown in this response only: hand it to your
/// checkout page, never log it).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedPaymentIntent {
    #[serde(flatten)]
    pub intent: PaymentIntent,
    pub client_secret: String,
}

#[utoipa::path(
    post, path = "/v1/payment_intents", tag = "Payment intents",
    request_body = CreatePaymentIntentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: same key and body replay the first response.")),
    responses(
        (status = 201, description = "Created", body = CreatedPaymentIntent),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
        (status = 401, description = "Missing or invalid key", body = ErrorBody),
        (status = 409, description = "Same Idempotency-Key still in flight", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused with another body", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn create(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    JsonBody(req): JsonBody<CreatePaymentIntentRequest>,
) -> Result<(StatusCode, Json<CreatedPaymentIntent>), ApiError> {
    let new = NewIntent::parse(NewIntentInput {
        amount: req.amount,
        currency: &req.currency,
        merchant_order_id: &req.merchant_order_id,
        order_name: &req.order_name,
        customer_name: &req.customer_name,
        customer_email: req.customer_email.as_deref(),
        confirm_mode: req.confirm_mode,
        expires_in_minutes: req.expires_in_minutes,
        metadata: req.metadata,
        return_url: req.return_url.as_deref(),
    })?;
    let created = services.create_intent(auth.scope(), new, key.answering(201, View::CreatedIntent).as_ref()).await?;
    let body = CreatedPaymentIntent { intent: created.intent, client_secret: created.client_secret.expose().to_owned() };
    Ok((StatusCode::CREATED, Json(body)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RetrievePaymentIntentQuery {
    /// With a publishable key: the intent's client secret, from its creation. Ignored with a
    /// secret key.
    pub client_secret: Option<String>,
}

/// The longest `client_secret` the status read takes (ours are 75 characters).
pub const MAX_CLIENT_SECRET_CHARS: usize = 200;

/// The intent as the key may see it: all of it with a secret key, the checkout's part with a
/// publishable key and the client secret.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum RetrievedPaymentIntent {
    Full(PaymentIntent),
    Public(PublicPaymentIntent),
}

// `anyOf`, not the `oneOf` a derive would write: the whole intent is a superset of the public one,
// so it matches both.
impl utoipa::PartialSchema for RetrievedPaymentIntent {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, Ref};
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(<PaymentIntent as ToSchema>::name()))
            .item(Ref::from_schema_name(<PublicPaymentIntent as ToSchema>::name()))
            .description(Some("`PaymentIntent` with a secret key, `PublicPaymentIntent` with a publishable key and the client secret."))
            .into()
    }
}

impl ToSchema for RetrievedPaymentIntent {
    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push((<PaymentIntent as ToSchema>::name().into_owned(), PaymentIntent::schema()));
        <PaymentIntent as ToSchema>::schemas(schemas);
        schemas.push((<PublicPaymentIntent as ToSchema>::name().into_owned(), PublicPaymentIntent::schema()));
        <PublicPaymentIntent as ToSchema>::schemas(schemas);
    }
}

#[utoipa::path(
    get, path = "/v1/payment_intents/{id}", tag = "Payment intents",
    description = "With a secret key, the whole intent. With a publishable key (`Authorization: Bearer pk_...`) and \
                   the intent's `client_secret`, what a checkout page may see of it (`PublicPaymentIntent`: no \
                   customer details, order id, metadata or return URL): the web SDK's status read. Any origin may \
                   call it (CORS).",
    params(("id" = String, Path, description = "pi_..."), RetrievePaymentIntentQuery),
    responses(
        (status = 200, body = RetrievedPaymentIntent),
        (status = 400, description = "invalid_id, parameter_invalid (client_secret); with a publishable key, parameter_missing (client_secret)", body = ErrorBody),
        (status = 401, description = "authentication_required, invalid_api_key, api_key_expired; with a publishable key, client_secret_invalid", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("secret_key" = []), ("publishable_key" = []))
)]
pub async fn retrieve(
    State(services): State<Arc<Services>>,
    caller: Caller,
    IdParam(id): IdParam,
    QueryParams(q): QueryParams<RetrievePaymentIntentQuery>,
) -> Result<Json<RetrievedPaymentIntent>, ApiError> {
    object_id(IdKind::PaymentIntent, &id, "id")?;
    if q.client_secret.as_ref().is_some_and(|s| s.is_empty() || s.chars().count() > MAX_CLIENT_SECRET_CHARS) {
        return Err(ApiError::bad_request("parameter_invalid", "client_secret", "client_secret must be 1 to 200 characters."));
    }
    match caller {
        Caller::Secret(auth) => Ok(Json(RetrievedPaymentIntent::Full(services.get_intent(auth.scope(), &id).await?))),
        Caller::Publishable(auth) => {
            let secret = q.client_secret.ok_or_else(|| {
                ApiError::bad_request("parameter_missing", "client_secret", "With a publishable key, send the intent's client_secret.")
            })?;
            Ok(Json(RetrievedPaymentIntent::Public(services.get_public_intent(auth.scope(), &secret, &id).await?)))
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListPaymentIntentsQuery {
    /// 1-100, default 20.
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub status: Option<String>,
    /// Case-insensitive substring of the customer's name.
    pub customer_name: Option<String>,
    /// Created at or after (RFC 3339 or YYYY-MM-DD).
    pub created_gte: Option<String>,
    /// Created before (RFC 3339 or YYYY-MM-DD).
    pub created_lt: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/payment_intents", tag = "Payment intents",
    params(ListPaymentIntentsQuery),
    responses((status = 200, body = PaymentIntentList), (status = 400, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn list(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    QueryParams(q): QueryParams<ListPaymentIntentsQuery>,
) -> Result<Json<PaymentIntentList>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| IntentStatus::parse(s).ok_or_else(|| ApiError::bad_request("parameter_invalid", "status", format!("`{s}` is not a payment intent status."))))
        .transpose()?;
    let filter = IntentFilter {
        status,
        customer_name: search_text("customer_name", q.customer_name)?,
        created_gte: time_param("created_gte", q.created_gte.as_deref())?,
        created_lt: time_param("created_lt", q.created_lt.as_deref())?,
    };
    let page = page(q.limit, q.cursor.as_deref())?;
    Ok(Json(services.list_intents(auth.scope(), &filter, page).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelPaymentIntentRequest {
    #[schema(format = "contract:text:200")]
    pub cancellation_reason: Option<String>,
}

#[utoipa::path(
    post, path = "/v1/payment_intents/{id}/cancel", tag = "Payment intents",
    description = "Cancels an intent before payment (awaiting the customer, or approved but not yet confirmed).",
    params(("id" = String, Path, description = "pi_..."), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe.")),
    request_body(content = Option<CancelPaymentIntentRequest>),
    responses((status = 200, body = PaymentIntent), (status = 404, body = ErrorBody), (status = 409, description = "Already paid or ended", body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn cancel(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    IdParam(id): IdParam,
    JsonBody(req): JsonBody<CancelPaymentIntentRequest>,
) -> Result<Json<PaymentIntent>, ApiError> {
    object_id(IdKind::PaymentIntent, &id, "id")?;
    let reason = req
        .cancellation_reason
        .as_deref()
        .map(|r| crate::domain::text_field(r, "cancellation_reason", 200))
        .transpose()?;
    Ok(Json(services.cancel_intent(auth.scope(), &id, reason, key.ok().as_ref()).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmPaymentIntentRequest {
    /// Must equal the intent's amount: the anti-tamper check.
    #[schema(format = "contract:any_amount")]
    #[serde(deserialize_with = "crate::api::extract::whole::number")]
    pub amount: i64,
}

#[utoipa::path(
    post, path = "/v1/payment_intents/{id}/confirm", tag = "Payment intents",
    description = "Manual confirmation: within 10 minutes of the customer's approval, re-send the amount to capture.",
    params(("id" = String, Path, description = "pi_..."), ("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe.")),
    request_body = ConfirmPaymentIntentRequest,
    responses(
        (status = 200, body = PaymentIntent),
        (status = 400, description = "amount_mismatch: nothing captured", body = ErrorBody),
        (status = 409, description = "intent_unexpected_state or intent_expired", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn confirm(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    IdParam(id): IdParam,
    JsonBody(req): JsonBody<ConfirmPaymentIntentRequest>,
) -> Result<Json<PaymentIntent>, ApiError> {
    object_id(IdKind::PaymentIntent, &id, "id")?;
    Ok(Json(services.confirm_intent(auth.scope(), &id, req.amount, key.ok().as_ref()).await?))
}
