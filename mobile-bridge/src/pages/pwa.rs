//! The wallet as an installable web app: its manifest, a service worker that caches only the
//! static shell, the shell's files (embedded in the binary), the wallet home and an offline page.

use super::approval::wallet_config;
use super::{render, security_headers, Shell};
use crate::i18n::Lang;
use crate::Bridge;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::{Arc, LazyLock};

const APP_JS: &str = include_str!("../../assets/app.js");
const APP_CSS: &str = include_str!("../../assets/app.css");
const ICON_SVG: &str = include_str!("../../assets/icon.svg");
const SERVICE_WORKER: &str = include_str!("../../assets/sw.js");

/// The service worker with its cache named after the shell's contents: a new shell is a new
/// worker, which drops the old cache.
static SERVICE_WORKER_SOURCE: LazyLock<String> = LazyLock::new(|| {
    // FNV-1a over every precached file the binary embeds.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in [APP_JS, APP_CSS, ICON_SVG, include_str!("../../templates/offline.html")].iter().flat_map(|f| f.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    SERVICE_WORKER.replace("__SHELL_VERSION__", &format!("{hash:016x}"))
});

#[derive(Template)]
#[template(path = "wallet.html")]
struct WalletHome {
    shell: Shell,
    config: String,
}

#[derive(Template)]
#[template(path = "offline.html")]
struct OfflinePage {
    ko: Shell,
    en: Shell,
}

pub async fn wallet_home(State(bridge): State<Arc<Bridge>>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let choice = crate::i18n::choose(query.as_deref(), &headers);
    let page = WalletHome { shell: Shell::new(choice.lang), config: wallet_config(choice.lang) };
    render(&page, StatusCode::OK, choice, bridge.services.public_url.starts_with("https://"))
}

/// Precached by the service worker, so it shows in both languages at once.
pub async fn offline() -> Response {
    let choice = crate::i18n::LangChoice { lang: Lang::En, from_query: false };
    render(&OfflinePage { ko: Shell::new(Lang::Ko), en: Shell::new(Lang::En) }, StatusCode::OK, choice, false)
}

pub async fn manifest() -> Response {
    let body = json!({
        "name": "Paygate Wallet",
        "short_name": "Paygate",
        "description": "Approve payments from your phone.",
        "start_url": "/wallet",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f6f7fb",
        "theme_color": "#1d3fbb",
        "icons": [
            { "src": "/assets/bridge/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any" },
            { "src": "/assets/bridge/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "maskable" }
        ]
    });
    static_file("application/manifest+json", body.to_string(), "no-cache")
}

pub async fn service_worker() -> Response {
    let mut response = static_file("text/javascript; charset=utf-8", SERVICE_WORKER_SOURCE.clone(), "no-cache");
    response.headers_mut().insert(HeaderName::from_static("service-worker-allowed"), HeaderValue::from_static("/"));
    response
}

pub async fn app_js() -> Response {
    static_file("text/javascript; charset=utf-8", APP_JS, "no-cache")
}

pub async fn app_css() -> Response {
    static_file("text/css; charset=utf-8", APP_CSS, "no-cache")
}

pub async fn icon() -> Response {
    static_file("image/svg+xml", ICON_SVG, "public, max-age=86400")
}

/// `no-cache` revalidates every time: the shell files carry no version in their names.
fn static_file(content_type: &'static str, body: impl Into<String>, cache: &'static str) -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type)), (header::CACHE_CONTROL, HeaderValue::from_static(cache))],
        body.into(),
    )
        .into_response();
    security_headers(response.headers_mut());
    response
}
