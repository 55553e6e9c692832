//! Request middleware for `/v1`: secret-key authentication, then Idempotency-Key handling.

use super::error::ApiError;
use super::extract::{body_too_large, IdempotencyKey, MerchantAuth, MAX_BODY_BYTES};
use crate::domain::keys::KeyKind;
use crate::service::{AuthError, Services};
use crate::store::{IdempotencyBegin, IdempotencyScope};
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a request owns its Idempotency-Key before a retry may take it over (the first
/// request's process is then presumed dead).
const IDEMPOTENCY_LEASE_MS: i64 = 60_000;
const MAX_KEY_LEN: usize = 255;

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
    if key.kind != KeyKind::Secret {
        return ApiError::new(StatusCode::FORBIDDEN, "secret_key_required", "This endpoint needs a secret key (sk_...), not a publishable key.")
            .into_response();
    }
    req.extensions_mut().insert(MerchantAuth(key));
    next.run(req).await
}

/// Same key and body: the saved response is replayed. Different body: 422. Still running: 409.
/// Keys are scoped to (merchant, mode, method, path) and kept at least 24 hours.
pub async fn idempotency(State(services): State<Arc<Services>>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw_key) = req.headers().get("idempotency-key").cloned() else {
        return next.run(req).await;
    };
    let key = match raw_key.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= MAX_KEY_LEN => k.trim().to_owned(),
        _ => {
            return ApiError::bad_request("idempotency_key_invalid", "Idempotency-Key", format!("The Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters."))
                .into_response()
        }
    };
    let Some(auth) = req.extensions().get::<MerchantAuth>().cloned() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return body_too_large().into_response();
    };
    let scope = IdempotencyScope {
        merchant_id: auth.scope().merchant_id.clone(),
        livemode: auth.scope().livemode,
        method: parts.method.to_string(),
        // Inside `/v1` the router sees the path without its prefix; scope by the full one.
        path: parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path(), |u| u.0.path()).to_owned(),
        key: key.clone(),
    };
    let fingerprint = hex::encode(Sha256::digest(&bytes));
    let now = services.clock.now();
    let begun = services.idempotency_begin(&scope, &fingerprint, now, now + IDEMPOTENCY_LEASE_MS).await;
    let lease = match begun {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(IdempotencyBegin::Mismatch) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was already used with a different request body.",
            )
            .with_param("Idempotency-Key")
            .into_response()
        }
        Ok(IdempotencyBegin::InFlight) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_use",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
            .with_param("Idempotency-Key")
            .into_response()
        }
        Ok(IdempotencyBegin::Completed { status, body }) => return replay(&services, status, body),
        Ok(IdempotencyBegin::Started { lease }) => lease,
    };
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(IdempotencyKey(key));
    let response = next.run(req).await;
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "could not buffer response for idempotency");
            let _ = services.idempotency_release(&scope, &lease).await;
            return ApiError::internal().into_response();
        }
    };
    let saved = if parts.status.is_server_error() {
        // Nothing is promised for a failed attempt: let a retry run again.
        services.idempotency_release(&scope, &lease).await
    } else {
        let text = String::from_utf8_lossy(&bytes);
        let saved = super::webhooks::seal_secret_in_response(&services, without_client_secret(&text));
        services.idempotency_complete(&scope, &lease, parts.status.as_u16(), &saved).await
    };
    if let Err(e) = saved {
        tracing::error!(error = %e, "could not save idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// Stands in a saved response for the client secret, which is never stored; a replay derives it
/// again from the intent id.
const CLIENT_SECRET_MARK: &str = "\"client_secret\":\"(derived on replay)\"";

fn without_client_secret(body: &str) -> String {
    let value: Option<serde_json::Value> = serde_json::from_str(body).ok();
    match value.as_ref().and_then(|v| v["client_secret"].as_str()) {
        Some(secret) => body.replace(&format!("\"client_secret\":\"{secret}\""), CLIENT_SECRET_MARK),
        None => body.to_owned(),
    }
}

fn with_client_secret(services: &Services, body: String) -> String {
    if !body.contains(CLIENT_SECRET_MARK) {
        return body;
    }
    let value: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    match value.as_ref().and_then(|v| v["id"].as_str()) {
        Some(id) => {
            let secret = services.client_secret_for(id);
            body.replace(CLIENT_SECRET_MARK, &format!("\"client_secret\":\"{}\"", secret.expose()))
        }
        None => body,
    }
}

fn replay(services: &Services, status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = super::webhooks::open_secret_in_response(services, with_client_secret(services, body));
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
