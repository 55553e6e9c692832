//! The idempotency layer, shared by the merchant API and the wallet API: same key and body
//! replay the saved answer; another body is `422`; a request still running is `409`.
//!
//! The answer is never saved here after the fact: the services save it in the transaction of
//! the work's last effect (see `domain::idempotency`), so a crash or a lost connection after that
//! commit loses nothing. What is left for this layer: answers that came with no effect (refusals,
//! saved as their error), giving the key up after a server error, and a retry that finds its
//! key's owner dead after a checkpoint, which resumes the work instead of running it again.

use super::error::{ApiError, ErrorBody, ErrorDetail};
use super::extract::{body_too_large, MAX_BODY_BYTES};
use crate::domain::idempotency::{Finish, IdempotencyScope, KeyLease, Keyed, Saved, SavedAnswer, View};
use crate::service::Services;
use crate::store::IdempotencyBegin;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// How long a request owns its Idempotency-Key before a retry may take it over (the first
/// request's process is then presumed dead).
pub const LEASE_MS: i64 = 60_000;
pub const MAX_KEY_LEN: usize = 255;

/// Renders a saved answer as the API that took the request shows it.
pub type Render = fn(&Services, &SavedAnswer, &HeaderMap) -> Response;

/// The request's Idempotency-Key, when it has one: handlers hand it to the services with how
/// their answer is shown.
#[derive(Debug, Clone, Default)]
pub struct RequestKey(Option<KeyLease>);

impl RequestKey {
    /// The key with the answer's status and view, for the services' phases to save.
    pub fn answering(&self, status: u16, view: View) -> Option<Keyed> {
        self.0.clone().map(|lease| Keyed { lease, finish: Finish::new(status, view) })
    }

    /// `200` with the object.
    pub fn ok(&self) -> Option<Keyed> {
        self.answering(200, View::Object)
    }

    /// The key itself, as the client sent it.
    pub fn header(&self) -> Option<String> {
        self.0.as_ref().map(|lease| lease.scope.key.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<RequestKey>().cloned().unwrap_or_default())
    }
}

/// The request's `Idempotency-Key` header: `None` without one, an error when it is malformed
/// (1 to 255 visible ASCII characters, no spaces).
pub fn key_header(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all("idempotency-key").iter();
    let Some(value) = values.next() else { return Ok(None) };
    let visible = value.as_bytes().iter().all(|b| (0x21..=0x7e).contains(b));
    if values.next().is_some() || !visible || value.is_empty() || value.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request(
            "idempotency_key_invalid",
            "Idempotency-Key",
            format!("The Idempotency-Key header must be one value of 1 to {MAX_KEY_LEN} visible ASCII characters, without spaces."),
        ));
    }
    Ok(Some(String::from_utf8_lossy(value.as_bytes()).into_owned()))
}

/// Runs `req` under `scope` (its key already read from the header).
pub async fn run(services: Arc<Services>, scope: IdempotencyScope, req: Request, next: Next, render: Render) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return body_too_large().into_response();
    };
    let fingerprint = hex::encode(Sha256::digest(&bytes));
    let now = services.clock.now();
    let lease = match services.idempotency_begin(&scope, &fingerprint, now, now + services.idempotency_lease).await {
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
        Ok(IdempotencyBegin::InFlight) => return in_use().into_response(),
        Ok(IdempotencyBegin::Unreplayable) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_unreplayable",
                "This Idempotency-Key was answered before an upgrade and its answer cannot be replayed; the request took effect. Look the object up instead.",
            )
            .with_param("Idempotency-Key")
            .into_response()
        }
        Ok(IdempotencyBegin::Completed(answer)) => return replayed(render(&services, &answer, &parts.headers)),
        Ok(IdempotencyBegin::Resume(lease, resume, finish)) => {
            let keyed = Keyed { lease, finish };
            return match services.resume_request(&keyed, &resume).await {
                Ok(answer) => replayed(render(&services, &answer, &parts.headers)),
                Err(e) => {
                    let _ = services.idempotency_release(&keyed.lease).await;
                    ApiError::from(e).into_response()
                }
            };
        }
        Ok(IdempotencyBegin::Started(lease)) => lease,
    };
    let path = parts.uri.path().to_owned();
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(RequestKey(Some(lease.clone())));
    let response = next.run(req).await;
    if services.faults.answer_lost(&scope.path) || services.faults.answer_lost(&path) {
        // On purpose (tests): the work committed, the answer never reaches the client.
        return ApiError::internal().into_response();
    }
    if lease.is_answered() {
        return response;
    }
    let status = response.status();
    let saved = match response.extensions().get::<ApiError>() {
        // A refusal is the request's answer too (a retry gets it again), unless it only says
        // "not now".
        Some(e) if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS && e.code != "idempotency_key_in_use" => {
            let answer = Finish::new(status.as_u16(), View::Object).answer(Saved::Error {
                code: e.code.to_owned(),
                message: e.message.clone(),
                param: e.param.clone(),
            });
            services.idempotency_answer(&lease, &answer).await.map(|_| ())
        }
        _ => {
            if status.is_success() {
                tracing::error!(%path, %status, "answered without saving the answer under its Idempotency-Key; the key is given up");
            }
            services.idempotency_release(&lease).await
        }
    };
    if let Err(e) = saved {
        tracing::error!(error = %e, "could not settle an Idempotency-Key after its request");
    }
    response
}

/// `409`: another request holds the key (also the answer of one whose lease passed on).
pub fn in_use() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry shortly.")
        .with_param("Idempotency-Key")
}

fn replayed(mut response: Response) -> Response {
    response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}

/// A saved refusal, as its error answered the first time.
pub fn render_error(status: u16, code: &str, message: &str, param: &Option<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), param: param.clone() } };
    (status, Json(body)).into_response()
}

/// The merchant API's answers, rendered from what was saved.
pub fn render_merchant_answer(services: &Services, answer: &SavedAnswer, _: &HeaderMap) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (&answer.object, &answer.view) {
        (Saved::PaymentIntent { intent }, View::CreatedIntent) => {
            let secret = services.client_secret_for(&intent.id);
            let body = super::intents::CreatedPaymentIntent { intent: intent.clone(), client_secret: secret.expose().to_owned() };
            (status, Json(body)).into_response()
        }
        (Saved::PaymentIntent { intent }, _) => (status, Json(intent)).into_response(),
        (Saved::Refund { refund }, _) => (status, Json(refund)).into_response(),
        (Saved::WebhookEndpoint { endpoint, sealed_secret }, view) => {
            let mut shown = endpoint.clone();
            if let (View::EndpointWithSecret, Some(sealed)) = (view, sealed_secret) {
                match services.open_webhook_secret(&endpoint.id, &crate::secret::Secret::new(sealed.clone())) {
                    Ok(secret) => shown.secret = Some(secret),
                    Err(e) => tracing::error!(error = %e, "a saved webhook secret cannot be opened; replayed without it"),
                }
            }
            (status, Json(shown)).into_response()
        }
        (Saved::WebhookDelivery { delivery }, _) => (status, Json(delivery)).into_response(),
        (Saved::Error { code, message, param }, _) => render_error(answer.status, code, message, param),
        (Saved::Wallet { .. }, _) => {
            tracing::error!("a wallet answer under a merchant API key");
            ApiError::internal().into_response()
        }
    }
}
