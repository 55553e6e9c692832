//! The back office: merchants sign up, staff sign in, and find, export and act on their
//! transactions. Server-rendered pages (askama) over the core's services; its own tables behind
//! its own narrow store traits ([`store`]). A library: the binary mounts [`router`] under
//! `/dashboard` on the gateway's port.

pub mod accounts;
pub mod audit;
pub mod developers;
pub mod domain;
pub mod error;
pub mod home;
pub mod housekeeping;
pub mod i18n;
pub mod mail;
mod pages;
pub mod payments;
pub mod security;
pub mod team;
pub mod store;
pub mod transactions;
pub mod two_factor;
pub mod views;

use gateway::limits::RateLimiter;
use gateway::secret::Secret;
use gateway::service::Services;
use gateway::store::SqlStore;
use mail::{DevMailbox, Mailer};
use std::sync::Arc;

/// Deployment settings of the back office.
#[derive(Debug, Clone, Default)]
pub struct BackofficeSettings {
    /// Show the development mailbox at `/dashboard/dev/mail` and send mail there (the embedded
    /// default); never in production.
    pub dev_mailbox: bool,
    /// Redis for rate limits shared by every replica; `None` keeps them in this process.
    pub redis_url: Option<Secret>,
    /// The header, lower-case, in which the deployment's proxy passes the client's address.
    pub client_ip_header: Option<String>,
}

/// Everything the back-office handlers need.
pub struct Backoffice {
    pub services: Arc<Services>,
    pub stores: store::Stores,
    pub settings: BackofficeSettings,
    pub mailer: Arc<dyn Mailer>,
    /// The development mailbox, when mail goes there.
    pub mailbox: Option<Arc<DevMailbox>>,
    pub limits: Arc<RateLimiter>,
    /// `scheme://host[:port]` of the public URL: the only origin state changes may come from.
    pub origin: String,
    /// Cookies are `Secure` and `__Host-` prefixed (the public URL is https).
    pub secure_cookies: bool,
}

impl Backoffice {
    /// The back office over `store` (the same store as `services`). Mail goes to the
    /// development mailbox when the settings ask for it, else to `mailer`; with neither, sign-up
    /// answers `mail_unavailable`.
    pub fn new(services: Arc<Services>, store: Arc<SqlStore>, settings: BackofficeSettings, mailer: Option<Arc<dyn Mailer>>) -> Arc<Self> {
        let limits = Arc::new(RateLimiter::new(services.clock.clone(), settings.redis_url.as_ref()));
        let (mailer, mailbox): (Arc<dyn Mailer>, _) = match (mailer, settings.dev_mailbox) {
            (_, true) => {
                let mailbox = Arc::new(DevMailbox::default());
                (mailbox.clone(), Some(mailbox))
            }
            (Some(mailer), false) => (mailer, None),
            // Never a mailbox anyone could read: sign-up says mail is not set up.
            (None, false) => (Arc::new(mail::NoMail) as Arc<dyn Mailer>, None),
        };
        let origin = origin_of(&services.public_url);
        let secure_cookies = services.public_url.starts_with("https://");
        Arc::new(Self { stores: store::Stores::new(store), services, settings, mailer, mailbox, limits, origin, secure_cookies })
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => u.origin().ascii_serialization(),
        Err(_) => url.trim_end_matches('/').to_owned(),
    }
}

/// The back office's pages, to be nested under `/dashboard`.
pub fn router(office: Arc<Backoffice>) -> axum::Router {
    let pages = axum::Router::new().nest("/dashboard", pages::router(office.clone()));
    gateway::api::hardening::hardened(pages).with_state(office)
}
