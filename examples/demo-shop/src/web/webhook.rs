//! `POST /webhooks`: the gateway's signed event deliveries. 2xx only once handled (or known),
//! 400 for anything unverified or unreadable, 500 when handling failed and a retry may help.

use crate::service::{Shop, WebhookError, WebhookOutcome};
use crate::signature::SignedHeaders;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub async fn receive(State(shop): State<Arc<Shop>>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(id), Some(timestamp), Some(signature)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "missing webhook-id, webhook-timestamp or webhook-signature",
        )
            .into_response();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    match shop
        .receive_webhook(
            SignedHeaders {
                id,
                timestamp,
                signature,
            },
            &body,
            now,
        )
        .await
    {
        Ok(WebhookOutcome::Applied) => (StatusCode::OK, "applied").into_response(),
        Ok(WebhookOutcome::Duplicate) => (StatusCode::OK, "duplicate").into_response(),
        Ok(WebhookOutcome::Ignored) => (StatusCode::OK, "ignored").into_response(),
        Err(WebhookError::Unverified(e)) => {
            tracing::warn!(webhook = %id, error = %e, "webhook refused");
            (StatusCode::BAD_REQUEST, "unverified").into_response()
        }
        Err(WebhookError::Malformed(e)) => {
            tracing::warn!(webhook = %id, error = %e, "webhook unreadable");
            (StatusCode::BAD_REQUEST, "malformed event").into_response()
        }
        Err(WebhookError::Failed(e)) => {
            tracing::error!(webhook = %id, error = %e, "webhook handling failed; the gateway will retry");
            (StatusCode::INTERNAL_SERVER_ERROR, "failed").into_response()
        }
    }
}
