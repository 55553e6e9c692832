//! The merchant REST API: thin handlers over the services, one route module per resource.

pub mod contract;
pub mod docs;
pub mod error;
pub mod events;
pub mod extract;
pub mod hardening;
pub mod health;
pub mod idempotency;
pub mod intents;
mod middleware;
pub mod pagination;
pub mod refunds;
pub mod sdk;
pub mod test_helpers;
pub mod transactions;
pub mod webhooks;

use crate::service::Services;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use error::ApiError;
use std::sync::Arc;
use axum::http::{header, HeaderName, Method};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::trace::TraceLayer;

/// The whole HTTP surface of the gateway.
pub fn router(services: Arc<Services>) -> Router {
    let v1 = Router::new()
        .route("/payment_intents", post(intents::create).get(intents::list))
        .route("/payment_intents/{id}/cancel", post(intents::cancel))
        .route("/payment_intents/{id}/confirm", post(intents::confirm))
        .route("/refunds", post(refunds::create).get(refunds::list))
        .route("/refunds/{id}", get(refunds::retrieve))
        .route("/transactions", get(transactions::list))
        .route("/events", get(events::list))
        .route("/events/stream", get(events::merchant_stream))
        .route("/events/{id}", get(events::retrieve))
        .route("/test_helpers/payment_intents/{id}/approve", post(test_helpers::approve))
        .route("/test_helpers/payment_intents/{id}/decline", post(test_helpers::decline))
        .route("/test_helpers/payment_intents/{id}/expire", post(test_helpers::expire))
        .route("/test_helpers/payment_intents/{id}/scan", post(test_helpers::scan))
        .route("/webhook_endpoints", post(webhooks::create).get(webhooks::list))
        .route("/webhook_endpoints/{id}", get(webhooks::retrieve).post(webhooks::update).delete(webhooks::delete))
        .route("/webhook_endpoints/{id}/rotate_secret", post(webhooks::rotate_secret))
        .route("/webhook_endpoints/{id}/attempts", get(webhooks::attempts))
        .route("/webhook_endpoints/{id}/resend", post(webhooks::resend))
        .method_not_allowed_fallback(method_not_allowed)
        // Layers run bottom-up: the database gate, then authenticate, then idempotency.
        .layer(axum::middleware::from_fn_with_state(services.clone(), middleware::idempotency))
        .layer(axum::middleware::from_fn_with_state(services.clone(), middleware::authenticate))
        .layer(axum::middleware::from_fn_with_state(services.clone(), health::database_gate));
    // The browser SDK's stream: its own credentials (publishable key, client secret), any origin.
    let browser = Router::new()
        // An explicit OPTIONS route: the CORS layer answers preflights there, and the router-wide
        // method-not-allowed fallback cannot shadow it.
        .route("/v1/payment_intents/{id}/events", get(events::intent_stream).options(|| async { StatusCode::NO_CONTENT }))
        .route_layer(axum::middleware::from_fn_with_state(services.clone(), health::database_gate))
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET])
                .allow_headers([HeaderName::from_static("last-event-id"), header::CACHE_CONTROL]),
        );
    // The intent read: secret keys, and the checkout's publishable key with the client secret
    // from any origin (its preflight answered before authentication).
    let intent_read = Router::new()
        .route("/v1/payment_intents/{id}", get(intents::retrieve).options(|| async { StatusCode::NO_CONTENT }))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(services.clone(), middleware::authenticate))
        .route_layer(axum::middleware::from_fn_with_state(services.clone(), health::database_gate))
        .layer(CorsLayer::new().allow_origin(Any).allow_methods([Method::GET]).allow_headers([header::AUTHORIZATION]));
    hardening::hardened(Router::new()
        .nest("/v1", v1)
        .merge(browser)
        .merge(intent_read)
        .route("/openapi.json", get(docs::spec))
        .route("/docs", get(docs::page))
        .route("/docs/assets/swagger-ui-bundle.js", get(docs::swagger_js))
        .route("/docs/assets/swagger-ui-standalone-preset.js", get(docs::swagger_preset_js))
        .route("/docs/assets/swagger-ui.css", get(docs::swagger_css))
        .route("/docs/assets/init.js", get(docs::init_js))
        .route("/sdk/v1/{file}", get(sdk::current))
        .route("/sdk/v1/{version}/{file}", get(sdk::versioned))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(health::readyz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        // The span names the path, never the query: the browser's stream carries its client
        // secret there.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .layer(CatchPanicLayer::custom(|_| ApiError::internal().into_response())))
        .with_state(services)
}

async fn not_found() -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "route_not_found", "No such endpoint. See /docs.").into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This endpoint does not accept that HTTP method.").into_response()
}
