//! `GET /p/{code}/qr.svg`: the approval link as an SVG QR code, for checkouts without the SDK
//! (`next_action.qr_code_url`). Only while the intent awaits the customer.

use crate::approvals::{self, ApprovalError};
use crate::Bridge;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gateway::api::error::ApiError;
use gateway::domain::intent::IntentStatus;
use std::sync::Arc;

pub async fn svg(State(bridge): State<Arc<Bridge>>, Path(code): Path<String>) -> Result<Response, ApiError> {
    let intent = match approvals::find(&bridge.services, &code).await {
        Ok(coded) => coded.intent,
        Err(ApprovalError::LinkInvalid) => return Err(ApiError::not_found("approval link")),
        Err(e) => return Err(e.into()),
    };
    let now = bridge.services.clock.now();
    let url = match (&intent.status, &intent.next_action) {
        (IntentStatus::RequiresAction, Some(next)) if intent.expires_at > now => next.url.clone(),
        _ => return Err(link_ended()),
    };
    let image = paygate_wire::qr::svg(&url).ok_or_else(|| {
        tracing::error!("an approval link did not fit a QR code");
        ApiError::internal()
    })?;
    // Private: the image carries the code. Good for as long as the intent can be approved.
    let max_age = ((intent.expires_at - now) / 1000).max(0);
    let cache = HeaderValue::from_str(&format!("private, max-age={max_age}")).unwrap_or(HeaderValue::from_static("no-store"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, cache),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
        image,
    )
        .into_response())
}

fn link_ended() -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "approval_link_expired",
        "This approval link has ended: the payment intent no longer awaits the customer.",
    )
}
