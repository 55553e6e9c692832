//! The wallet JSON API (`/wallet/v1`): one API for the approval page and native apps.

pub mod accounts;
pub mod docs;
pub mod wallet;

use crate::Bridge;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<Bridge>> {
    Router::new()
        .route("/wallet/v1/approvals/{code}", get(wallet::approval))
        .route("/wallet/v1/approvals/{code}/approve", post(wallet::approve))
        .route("/wallet/v1/approvals/{code}/decline", post(wallet::decline))
        .route("/wallet/v1/funding_sources", get(wallet::funding_sources))
        .route("/wallet/v1/wallets/{id}/top_ups", post(wallet::top_up))
        .route("/wallet/v1/payments", get(wallet::payments))
        .route("/wallet/v1/openapi.json", get(docs::spec))
        .merge(accounts::router())
}
