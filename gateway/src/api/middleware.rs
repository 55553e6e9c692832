//! Request middleware for `/v1`: secret-key authentication, then Idempotency-Key handling.

use super::error::ApiError;
use super::extract::{MerchantAuth, PublishableAuth};
use super::idempotency::{self, key_header};
use crate::domain::idempotency::IdempotencyScope;
use crate::domain::keys::KeyKind;
use crate::service::{AuthError, Services};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn authenticate(State(services): State<Arc<Services>>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let Some(presented) = presented else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "authentication_required", "Send your secret key as `Authorization: Bearer sk_...`.")
            .into_response();
    };
    let key = match services.authenticate(&presented).await {
        Ok(Ok(key)) => key,
        Ok(Err(AuthError::Invalid)) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "The API key is not valid.").into_response()
        }
        Ok(Err(AuthError::NoLongerValid)) => {
            return ApiError::new(StatusCode::UNAUTHORIZED, "api_key_expired", "The API key has expired or was revoked.").into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    // A publishable key reaches only the handlers that take one (`Caller`); the others refuse it.
    match key.kind {
        KeyKind::Secret => {
            req.extensions_mut().insert(MerchantAuth(key));
        }
        KeyKind::Publishable => {
            req.extensions_mut().insert(PublishableAuth(key));
        }
    }
    next.run(req).await
}

/// `/v1` POSTs with an `Idempotency-Key`, scoped to (merchant, mode, method, path); see
/// [`super::idempotency`]. Keys are kept at least 24 hours.
pub async fn idempotency(State(services): State<Arc<Services>>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let key = match key_header(req.headers()) {
        Ok(Some(key)) => key,
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let Some(auth) = req.extensions().get::<MerchantAuth>().cloned() else {
        return next.run(req).await;
    };
    let scope = IdempotencyScope {
        owner: auth.scope().merchant_id.clone(),
        livemode: auth.scope().livemode,
        method: req.method().to_string(),
        // Inside `/v1` the router sees the path without its prefix; scope by the full one.
        path: req.extensions().get::<OriginalUri>().map_or_else(|| req.uri().path(), |u| u.0.path()).to_owned(),
        key,
    };
    idempotency::run(services, scope, req, next, idempotency::render_merchant_answer).await
}
