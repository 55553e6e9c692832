//! The shop's rules between the pages and the database or the gateway: the catalogue and carts,
//! checkout (stock reserved atomically), payments (intents, the server-side confirm with the
//! order's own amount, cancel, refund), and webhooks. Handlers call these and nothing below.

mod checkout;
mod endpoint;
mod payments;
mod reconcile;
mod webhooks;

pub use webhooks::{WebhookError, WebhookOutcome};

use crate::config::Settings;
use crate::domain::{CartId, InputError, OrderId, ProductId, Quantity};
use crate::gateway::{GatewayClient, GatewayError};
use crate::secret::Secret;
use crate::store::carts::CartLine;
use crate::store::catalog::Product;
use crate::store::orders::{Order, OrderLine};
use crate::store::{self, Store};

/// Why a request of the shop could not be done. The pages show the first five to the customer;
/// the last three are logged and shown as a generic failure.
#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error("{0}")]
    Invalid(#[from] InputError),
    #[error("no such order or product")]
    NotFound,
    #[error("the cart is empty")]
    CartEmpty,
    #[error("sold out: {0}")]
    SoldOut(String),
    /// The order's state does not allow this (a paid order canceled, ...): the message says why.
    #[error("{0}")]
    NotAllowed(String),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<getrandom::Error> for ShopError {
    fn from(e: getrandom::Error) -> Self {
        ShopError::Internal(format!("random number generator: {e}"))
    }
}

/// The running shop's state: its settings, database, gateway client and webhook secret.
pub struct Shop {
    pub(crate) settings: Settings,
    pub(crate) store: Store,
    pub(crate) gateway: GatewayClient,
    pub(crate) webhook_secret: Secret,
}

impl std::fmt::Debug for Shop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shop")
            .field("public_url", &self.settings.public_url)
            .field("gateway_url", &self.settings.gateway_url)
            .finish_non_exhaustive()
    }
}

/// An order with its lines, as the pages show it.
#[derive(Debug, Clone)]
pub struct OrderDetails {
    pub order: Order,
    pub lines: Vec<OrderLine>,
}

impl Shop {
    /// Opens the database and makes sure the gateway has a webhook endpoint for this shop.
    pub async fn open(settings: Settings, database_url: &str) -> anyhow::Result<Shop> {
        let store = Store::open(database_url)
            .await
            .map_err(|e| anyhow::anyhow!("opening the shop's database {database_url}: {e}"))?;
        let gateway = GatewayClient::new(&settings.gateway_url, settings.secret_key.clone())?;
        let webhook_secret = endpoint::ensure(&store, &gateway, &settings).await?;
        Ok(Shop {
            settings,
            store,
            gateway,
            webhook_secret,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub async fn products(&self) -> Result<Vec<Product>, ShopError> {
        Ok(store::catalog::list(&mut *self.store.conn().await?).await?)
    }

    /// The product's stock now (`NotFound` for an unknown product).
    pub async fn stock(&self, product: ProductId) -> Result<i64, ShopError> {
        store::catalog::stock(&mut *self.store.conn().await?, product)
            .await?
            .ok_or(ShopError::NotFound)
    }

    pub async fn cart(&self, cart: &CartId) -> Result<Vec<CartLine>, ShopError> {
        Ok(store::carts::lines(&mut *self.store.conn().await?, cart).await?)
    }

    pub async fn add_to_cart(
        &self,
        cart: &CartId,
        product: ProductId,
        quantity: Quantity,
    ) -> Result<(), ShopError> {
        let mut conn = self.store.conn().await?;
        let found = store::catalog::get(&mut conn, product)
            .await?
            .ok_or(ShopError::NotFound)?;
        if found.stock == 0 {
            return Err(ShopError::SoldOut(found.name));
        }
        Ok(store::carts::add(&mut conn, cart, product, quantity).await?)
    }

    pub async fn remove_from_cart(
        &self,
        cart: &CartId,
        product: ProductId,
    ) -> Result<(), ShopError> {
        Ok(store::carts::remove(&mut *self.store.conn().await?, cart, product).await?)
    }

    pub async fn order(&self, id: &OrderId) -> Result<OrderDetails, ShopError> {
        let mut conn = self.store.conn().await?;
        let order = store::orders::get(&mut conn, id)
            .await?
            .ok_or(ShopError::NotFound)?;
        let lines = store::orders::lines(&mut conn, id).await?;
        Ok(OrderDetails { order, lines })
    }

    /// The orders placed from this cart cookie, newest first.
    pub async fn orders(&self, cart: &CartId) -> Result<Vec<Order>, ShopError> {
        Ok(store::orders::list_for_cart(&mut *self.store.conn().await?, cart).await?)
    }
}
