//! The customer side of the gateway: the approval link (`/p/{code}`, its QR code and app links),
//! the mobile approval page, wallet accounts with short-lived JWTs and rotating refresh tokens,
//! and the one JSON API (`/wallet/v1`) that the page and native apps share.
//!
//! A library: the binary merges [`router`] with the gateway's own.

pub mod accounts;
pub mod api;
pub mod approvals;
pub mod auth;
mod i18n;
pub mod jwt;
/// Rate limits live in the core, shared with the back office.
pub use gateway::limits;
mod pages;
mod trace;

use accounts::Accounts;
use axum::Router;
use gateway::secret::Secret;
use limits::RateLimiter;
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
    /// The header, lower-case, in which the deployment's proxy passes the client's address
    /// (`x-real-ip`); `None` trusts only the socket's peer.
    pub client_ip_header: Option<String>,
}

/// Everything the customer-side handlers need.
pub struct Bridge {
    pub services: Arc<Services>,
    pub settings: BridgeSettings,
    /// Sign-up, sign-in and the tokens of wallet customers.
    pub accounts: Accounts,
    /// Rate limits (shared through Redis when `settings.redis_url` is set):
    /// `bridge.limits.check(Bucket::Approve, &customer_id).await?` before an approval.
    pub limits: Arc<RateLimiter>,
}

impl Bridge {
    pub fn new(services: Arc<Services>, settings: BridgeSettings) -> Arc<Self> {
        let limits = Arc::new(RateLimiter::new(services.clock.clone(), settings.redis_url.as_ref()));
        let accounts = Accounts::new(services.clone(), limits.clone());
        Arc::new(Self { services, settings, accounts, limits })
    }
}

/// The customer side's HTTP surface: approval pages, QR images, PWA files, app-link files and
/// the wallet JSON API.
pub fn router(bridge: Arc<Bridge>) -> Router {
    let routes = Router::new()
        .merge(api::router(bridge.clone()))
        .merge(pages::router())
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(trace::route_span));
    gateway::api::hardening::hardened(routes).with_state(bridge)
}
