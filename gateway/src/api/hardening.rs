//! What every route of every API gets, whatever the route: ambiguous requests are refused, a
//! request body must arrive in good time, and a change runs to its end even if its client goes
//! away mid-request.

use super::error::ApiError;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::time::Duration;
use tracing::instrument::{Instrument, WithSubscriber};

/// A request body must keep arriving: at most this long between two of its frames.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The router with the layers every API route gets.
pub fn hardened<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    router
        .layer(axum::middleware::from_fn(run_to_completion))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
        .layer(axum::middleware::from_fn(refuse_ambiguous))
}

/// Put on a request whose head carried both `Content-Length` and `Transfer-Encoding` (the server
/// sees the raw head; the HTTP parser keeps only one of them).
#[derive(Debug, Clone, Copy)]
pub struct FramedTwice;

/// Refuses requests that two parsers could read two ways: a body framed both by
/// `Content-Length` and by `Transfer-Encoding` (request smuggling behind a proxy), and two
/// `Authorization` headers (which one speaks?). The connection is closed after the answer.
async fn refuse_ambiguous(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let framed_twice = req.extensions().get::<FramedTwice>().is_some()
        || (headers.contains_key(header::CONTENT_LENGTH) && headers.contains_key(header::TRANSFER_ENCODING));
    let refused = if framed_twice {
        Some(ApiError::new(
            StatusCode::BAD_REQUEST,
            "request_framing_invalid",
            "Send either Content-Length or Transfer-Encoding, not both.",
        ))
    } else if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        Some(ApiError::bad_request("authorization_repeated", "Authorization", "Send one Authorization header."))
    } else {
        None
    };
    match refused {
        Some(error) => {
            let mut response = error.into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
        None => next.run(req).await,
    }
}

/// Runs a request that may change something on a task of its own: when the client disconnects
/// mid-request, the server drops the request's future, and work cut off between its statements
/// could leave a connection inside a transaction. Reads need no such care.
async fn run_to_completion(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    // The task logs where its caller logs, inside the caller's span.
    let work = next.run(req).in_current_span().with_current_subscriber();
    match tokio::spawn(work).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "a request's task failed");
            ApiError::internal().into_response()
        }
    }
}

/// The policy of every HTML page (the approval page, the back office): no script or style but
/// our own files, no framing, nothing sent elsewhere.
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The headers every HTML page goes out with.
pub fn page_security_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CONTENT_SECURITY_POLICY));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
}
