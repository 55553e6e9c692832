//! The API's one error type: a stable code, an HTTP status, a message for a person and the
//! offending parameter. Internal causes are logged here and never sent.

use crate::domain::ValidationError;
use crate::service::ServiceError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
    /// Sent as `Retry-After` (seconds), for 429 and 503 answers.
    pub retry_after_secs: Option<u64>,
}

pub use paygate_wire::error::{ErrorBody, ErrorDetail};

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), param: None, retry_after_secs: None }
    }

    /// 429 `rate_limited`, with a `Retry-After` of `retry_after_secs` (at least 1).
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let secs = retry_after_secs.max(1);
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", format!("Too many attempts; retry in {secs} seconds."));
        e.retry_after_secs = Some(secs);
        e
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    pub fn bad_request(code: &'static str, param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message).with_param(param)
    }

    pub fn not_found(resource: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "resource_missing", format!("No such {resource}."))
    }

    /// 503: the database cannot be reached right now; retry in a second.
    pub fn database_unavailable() -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "The database cannot be reached right now; retry in a moment with the same Idempotency-Key.");
        e.retry_after_secs = Some(1);
        e
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "An internal error occurred. Retry later with the same Idempotency-Key.")
    }
}

impl IntoResponse for ApiError {
    /// The error body; the error itself rides along in the response's extensions, for the
    /// layers above (the idempotency layer saves a refusal as the request's answer).
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message.clone(), param: self.param.clone() } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response.extensions_mut().insert(self);
        response
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        ApiError::bad_request(e.code, e.param, e.message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use ServiceError::*;
        match e {
            Validation(v) => v.into(),
            NotFound(resource) => ApiError::not_found(resource),
            InvalidState { action, current } => ApiError::new(
                StatusCode::CONFLICT,
                "intent_unexpected_state",
                format!("This payment intent cannot be {} while its status is {}.", past_tense(action), current.as_str()),
            ),
            IntentExpired => ApiError::new(StatusCode::CONFLICT, "intent_expired", "This payment intent has expired."),
            AmountMismatch { expected, given } => ApiError::bad_request(
                "amount_mismatch",
                "amount",
                format!("The amount {given} does not match the payment intent's amount {expected}; nothing was captured."),
            ),
            RefundExceedsCaptured { requested, available } => ApiError::bad_request(
                "refund_exceeds_captured",
                "amount",
                if requested == 0 {
                    "Nothing is left to refund on this payment intent.".to_owned()
                } else {
                    format!("A refund of {requested} exceeds the {available} still refundable.")
                },
            ),
            IdempotencyKeyReused => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "This Idempotency-Key was already used for another refund.",
            )
            .with_param("Idempotency-Key"),
            TestModeOnly => ApiError::new(StatusCode::FORBIDDEN, "test_mode_only", "Test helpers need a test-mode secret key."),
            WebhookEndpointDisabled => ApiError::new(
                StatusCode::CONFLICT,
                "webhook_endpoint_disabled",
                "This webhook endpoint is disabled; enable it (POST /v1/webhook_endpoints/{id} with status `enabled`) first.",
            ),
            TooManyWebhookEndpoints(max) => ApiError::new(
                StatusCode::CONFLICT,
                "webhook_endpoint_limit",
                format!("A merchant may have at most {max} webhook endpoints per mode; delete one first."),
            ),
            UnknownLastEventId => ApiError::bad_request(
                "invalid_last_event_id",
                "Last-Event-ID",
                "Last-Event-ID does not name an event of this stream. Reconnect without it to start afresh.",
            ),
            StreamNotAuthorized => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "stream_not_authorized",
                "Send the payment intent's client_secret and your publishable key (pk_...) as query parameters.",
            ),
            ClientSecretInvalid => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "client_secret_invalid",
                "The client_secret does not belong to this payment intent: send the one its creation returned.",
            ),
            ConnectorMissing(name) => {
                tracing::error!(connector = %name, "connector not configured");
                ApiError::internal()
            }
            Store(crate::store::StoreError::LeaseLost) => super::idempotency::in_use(),
            Store(crate::store::StoreError::Unavailable(reason)) => {
                tracing::error!(%reason, "database unavailable");
                ApiError::database_unavailable()
            }
            Store(err) => {
                tracing::error!(error = %err, "store error");
                ApiError::internal()
            }
            Internal(err) => {
                tracing::error!(error = %err, "internal error");
                ApiError::internal()
            }
        }
    }
}

fn past_tense(action: &str) -> &str {
    match action {
        "cancel" => "canceled",
        "confirm" => "confirmed",
        "approve" => "approved",
        "decline" => "declined",
        "expire" => "expired",
        "scan" => "scanned",
        "refund" => "refunded",
        other => other,
    }
}
