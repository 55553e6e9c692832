//! The customer side of the gateway: the approval link (`/p/{code}`, its QR code and app links),
//! the mobile approval page, wallet accounts with short-lived JWTs and rotating refresh tokens,
//! and the one JSON API (`/wallet/v1`) that the page and native apps share.
//!
//! A library: the binary merges [`router`] with the gateway's own.

pub mod api;
pub mod approvals;
mod i18n;
mod pages;
mod trace;

use axum::Router;
use gateway::secret::Secret;
use gateway::service::Services;
use std::sync::Arc;

/// Deployment settings of the customer side.
#[derive(Debug, Clone, Default)]
pub struct BridgeSettings {
    /// iOS apps (`TEAMID.bundle.id`) allowed to claim `/p/` links.
    pub apple_app_ids: Vec<String>,
    /// SHA-256 fingerprints of the Android app's signing certificates.
    pub android_cert_fingerprints: Vec<String>,
    /// Redis for rate limits shared by every replica; `None` keeps them in this process.
    pub redis_url: Option<Secret>,
}

/// Everything the customer-side handlers need.
pub struct Bridge {
    pub services: Arc<Services>,
    pub settings: BridgeSettings,
}

impl Bridge {
    pub fn new(services: Arc<Services>, settings: BridgeSettings) -> Arc<Self> {
        Arc::new(Self { services, settings })
    }
}

/// The customer side's HTTP surface: approval pages, QR images, PWA files, app-link files and
/// the wallet JSON API.
pub fn router(bridge: Arc<Bridge>) -> Router {
    Router::new()
        .merge(api::router())
        .merge(pages::router())
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(trace::route_span))
        .with_state(bridge)
}
