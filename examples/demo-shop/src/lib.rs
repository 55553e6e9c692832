//! A demo merchant shop that takes payments through Paygate's public HTTP API only, as any
//! merchant's server would: products with stock in its own SQLite database, a server-side
//! cart, checkout that reserves stock atomically, the gateway's web SDK on the pay page,
//! signed webhooks, and the server-side confirm with the order's own amount.
//!
//! [`start`] runs one in the background (port 0 allowed); [`router`] is the bare app for tests.

pub mod config;
pub mod domain;
pub mod gateway;
pub mod secret;
pub mod service;
pub mod signature;
pub mod store;
mod web;

pub use config::{Settings, ShopConfig};
pub use secret::Secret;
pub use service::{Shop, ShopError};
pub use web::{check_same_origin, router, CrossSite};

use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A shop serving in a background task. Keep it alive: dropping it stops the server too
/// (gracefully, like [`RunningShop::stop`] without waiting).
#[derive(Debug)]
pub struct RunningShop {
    addr: SocketAddr,
    url: String,
    shop: Arc<Shop>,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningShop {
    /// The address the listener got.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shop's public base URL, without a trailing slash (`http://127.0.0.1:8081`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The shop's service layer (for tests and embedding).
    pub fn shop(&self) -> &Arc<Shop> {
        &self.shop
    }

    /// Stops accepting connections, lets running requests finish, and waits for that.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.task
            .await
            .context("the shop's server task")?
            .context("the shop's server")
    }

    /// Waits until the server ends (it ends only on [`RunningShop::stop`] or an I/O error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let RunningShop { task, shutdown, .. } = self;
        let result = task.await;
        drop(shutdown);
        result
            .context("the shop's server task")?
            .context("the shop's server")
    }
}

/// Binds `config.bind` (port 0 allowed), opens the database (seeding it on the first start),
/// makes sure the gateway has a webhook endpoint for `{public_url}/webhooks`, and serves in a
/// background task. Fails if the gateway cannot be reached or refuses the endpoint.
pub async fn start(config: ShopConfig) -> anyhow::Result<RunningShop> {
    config::check_database_url(&config.database_url)?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr()?;
    let settings = Settings::resolve(&config, addr)?;
    let url = settings.public_url.clone();
    let shop = Arc::new(Shop::open(settings, &config.database_url).await?);
    let app = router(shop.clone());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%url, gateway = %shop.settings().gateway_url, "demo shop serving");
    Ok(RunningShop {
        addr,
        url,
        shop,
        shutdown,
        task,
    })
}
