//! The customer's HTML: the approval page (`/p/{code}`), its QR code, the PWA files and the
//! app-link files. Every page goes out through [`render`], with the same strict headers.

mod approval;
mod pwa;
mod qr;
mod well_known;

use crate::i18n::Localized as _;
use crate::i18n::{Lang, LangChoice, Texts};
use crate::Bridge;
use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<Bridge>> {
    Router::new()
        .route("/p/{code}", get(approval::page))
        .route("/p/{code}/qr.svg", get(qr::svg))
        .route("/wallet", get(pwa::wallet_home))
        .route("/offline", get(pwa::offline))
        .route("/manifest.webmanifest", get(pwa::manifest))
        .route("/sw.js", get(pwa::service_worker))
        .route("/assets/bridge/app.js", get(pwa::app_js))
        .route("/assets/bridge/app.css", get(pwa::app_css))
        .route("/assets/bridge/icon.svg", get(pwa::icon))
        .route("/.well-known/apple-app-site-association", get(well_known::apple_app_site_association))
        .route("/.well-known/assetlinks.json", get(well_known::assetlinks))
}

/// What every page shares: its language, the switch to the other one, and the strings.
pub struct Shell {
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub other_lang_name: &'static str,
    pub t: &'static Texts,
}

impl Shell {
    pub fn new(lang: Lang) -> Self {
        Self { lang: lang.code(), other_lang: lang.other().code(), other_lang_name: lang.other().own_name(), t: lang.texts() }
    }
}

/// The one way a page is sent: rendered, with the security headers, never cached (the URL of an
/// approval page carries its code). A `?lang=` choice is remembered in a cookie.
pub fn render(page: &impl Template, status: StatusCode, choice: LangChoice, secure_cookie: bool) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a customer page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    security_headers(headers);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if choice.from_query {
        let secure = if secure_cookie { "; Secure" } else { "" };
        let cookie = format!("lang={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}", choice.lang.code());
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

pub fn security_headers(headers: &mut HeaderMap) {
    gateway::api::hardening::page_security_headers(headers);
}
