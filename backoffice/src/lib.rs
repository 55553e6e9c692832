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
    /// Redis for rate limits and sessions shared by every replica; `None` keeps rate limits in
    /// this process and sessions in the database.
    pub redis_url: Option<Secret>,
    /// Where in Redis the sessions live; `None`: [`SESSION_PREFIX`]. (Tests side by side on one
    /// Redis each take their own.)
    pub redis_prefix: Option<String>,
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
        let mut stores = store::Stores::new(store);
        // With Redis, sessions live there (every replica sees a sign-out at once); a URL Redis
        // cannot read keeps them in the database, loudly.
        if let Some(url) = &settings.redis_url {
            match store::RedisSessions::open(url, settings.redis_prefix.as_deref().unwrap_or(SESSION_PREFIX)) {
                Ok(sessions) => stores.sessions = Arc::new(sessions),
                Err(e) => tracing::error!(error = %e, "sessions stay in the database"),
            }
        }
        Arc::new(Self { stores, services, settings, mailer, mailbox, limits, origin, secure_cookies })
    }
}

/// Where sessions live in Redis.
pub const SESSION_PREFIX: &str = "paygate:bos";

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
