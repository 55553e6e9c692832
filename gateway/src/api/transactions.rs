//! `/v1/transactions`: one row per money movement (payment, cancel, refund).

use super::error::{ApiError, ErrorBody};
use super::extract::{object_id, search_text, MerchantAuth, QueryParams};
use super::pagination::{list_response, page, time_param};
use crate::domain::transaction::{Transaction, TransactionType};
use crate::ids::IdKind;
use crate::service::Services;
use crate::domain::query::TransactionFilter;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::IntoParams;

list_response!(TransactionList, Transaction);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListTransactionsQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `payment`, `cancel` or `refund`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Case-insensitive substring of the customer's name.
    pub customer_name: Option<String>,
    /// At or after (RFC 3339 or YYYY-MM-DD).
    pub created_gte: Option<String>,
    /// Before (RFC 3339 or YYYY-MM-DD).
    pub created_lt: Option<String>,
    pub payment_intent: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/transactions", tag = "Transactions",
    params(ListTransactionsQuery),
    responses((status = 200, body = TransactionList), (status = 400, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn list(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    QueryParams(q): QueryParams<ListTransactionsQuery>,
) -> Result<Json<TransactionList>, ApiError> {
    let kind = q
        .kind
        .as_deref()
        .map(|k| TransactionType::parse(k).ok_or_else(|| ApiError::bad_request("parameter_invalid", "type", "type must be payment, cancel or refund.")))
        .transpose()?;
    if let Some(pi) = &q.payment_intent {
        object_id(IdKind::PaymentIntent, pi, "payment_intent")?;
    }
    let filter = TransactionFilter {
        kind,
        customer_name: search_text("customer_name", q.customer_name)?,
        created_gte: time_param("created_gte", q.created_gte.as_deref())?,
        created_lt: time_param("created_lt", q.created_lt.as_deref())?,
        payment_intent: q.payment_intent,
    };
    let page = page(q.limit, q.cursor.as_deref())?;
    Ok(Json(services.list_transactions(auth.scope(), &filter, page).await?.into()))
}
