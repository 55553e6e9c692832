//! The wallet JSON API (`/wallet/v1`): one API for the approval page and native apps.

pub mod accounts;
pub mod docs;
pub mod wallet;

use crate::approvals::{ApprovalView, FundingSource};
use crate::auth::SignedIn;
use crate::Bridge;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gateway::api::error::ApiError;
use gateway::api::idempotency::{self, key_header, render_error};
use gateway::domain::idempotency::{IdempotencyScope, Saved, SavedAnswer, View};
use gateway::service::Services;
use std::sync::Arc;

pub fn router(bridge: Arc<Bridge>) -> Router<Arc<Bridge>> {
    let gate = axum::middleware::from_fn_with_state(bridge.services.clone(), gateway::api::health::database_gate);
    // The POSTs that change something take an Idempotency-Key, scoped to the signed-in customer.
    let keyed = Router::new()
        .route("/wallet/v1/approvals/{code}/approve", post(wallet::approve))
        .route("/wallet/v1/approvals/{code}/decline", post(wallet::decline))
        .route("/wallet/v1/wallets/{id}/top_ups", post(wallet::top_up))
        .route_layer(axum::middleware::from_fn_with_state(bridge, idempotent));
    Router::new()
        .route("/wallet/v1/approvals/{code}", get(wallet::approval))
        .merge(keyed)
        .route("/wallet/v1/funding_sources", get(wallet::funding_sources))
        .route("/wallet/v1/payments", get(wallet::payments))
        .merge(accounts::router())
        // While the database is down, every wallet call is 503 at once (the spec still loads).
        .route_layer(gate)
        .route("/wallet/v1/openapi.json", get(docs::spec))
}

/// The wallet API's idempotency layer: the shared one, with keys owned by the signed-in customer.
/// A request without a valid access token goes on to be refused by its handler (`401` before
/// any word about its key), and another method than POST to the method's refusal (`405`).
async fn idempotent(State(bridge): State<Arc<Bridge>>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let who = SignedIn::from_request_parts(&mut parts, &bridge).await;
    let req = Request::from_parts(parts, body);
    let Ok(who) = who else { return next.run(req).await };
    let key = match key_header(req.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let scope = IdempotencyScope {
        owner: who.customer_id,
        livemode: false,
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        key,
    };
    idempotency::run(bridge.services.clone(), scope, req, next, render_wallet_answer).await
}

/// The wallet API's answers, rendered from what was saved.
fn render_wallet_answer(_: &Services, answer: &SavedAnswer, headers: &HeaderMap) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (&answer.object, &answer.view) {
        (Saved::PaymentIntent { intent }, View::Approval { code, merchant_name }) => {
            (status, Json(ApprovalView::new(code, merchant_name, intent))).into_response()
        }
        (Saved::Wallet { wallet }, _) => (status, Json(FundingSource::wallet(wallet, crate::i18n::choose(None, headers).lang))).into_response(),
        (Saved::Error { code, message, param }, _) => render_error(answer.status, code, message, param),
        (other, view) => {
            tracing::error!(?view, object = ?std::mem::discriminant(other), "a merchant API answer under a wallet API key");
            ApiError::internal().into_response()
        }
    }
}
