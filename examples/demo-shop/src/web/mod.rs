//! The shop's HTTP side: routes, the headers every answer carries (the page security policy
//! that admits the gateway's SDK and nothing else foreign), and the one way a page is rendered.
//! Handlers are thin: they read the request, call the service, pick a page or a redirect.

mod assets;
mod cookie;
mod csrf;
mod error;
mod form;
mod orders;
mod shop;
mod views;
mod webhook;

pub use csrf::{check as check_same_origin, CrossSite};

use crate::service::Shop;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub fn router(shop: Arc<Shop>) -> Router {
    // Form posts (and the pages beside them) pass the cross-site check; webhooks come from
    // the gateway's server and prove themselves by signature instead.
    let pages = Router::new()
        .route("/", get(shop::index))
        .route("/cart", get(shop::cart))
        .route("/cart/items", post(shop::add_to_cart))
        .route("/cart/remove", post(shop::remove_from_cart))
        .route("/checkout", post(shop::checkout))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::detail))
        .route("/orders/{id}/return", get(orders::returned))
        .route("/orders/{id}/pay", get(orders::pay))
        .route("/orders/{id}/new-intent", post(orders::new_intent))
        .route("/orders/{id}/cancel", post(orders::cancel))
        .route("/orders/{id}/refund", post(orders::refund))
        .route_layer(middleware::from_fn_with_state(
            shop.clone(),
            csrf::refuse_cross_site,
        ));
    pages
        .route("/webhooks", post(webhook::receive))
        .route("/assets/checkout.js", get(assets::checkout_js))
        .route("/assets/return.js", get(assets::return_js))
        .route("/assets/shop.css", get(assets::shop_css))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(256 * 1024))
        .layer(middleware::from_fn_with_state(
            shop.clone(),
            security_headers,
        ))
        .with_state(shop)
}

/// Every answer: the page policy (scripts and styles from the shop and the gateway only, the
/// SDK's WebAssembly, connections to the gateway only, no framing), no sniffing, no referrer;
/// pages are never cached (the pay page carries the intent's client secret).
async fn security_headers(State(shop): State<Arc<Shop>>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    let policy = HeaderValue::from_str(&shop.settings.content_security_policy).unwrap_or(
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if is_page {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The one way a page is sent.
fn render(page: &impl Template, status: StatusCode) -> Response {
    match page.render() {
        Ok(html) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}
