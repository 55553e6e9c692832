//! The test harness: a real shop on port 0 against a [`FakeGateway`], an HTTP client that
//! behaves like a browser on the shop's own pages (it sends the shop's `Origin`), and signed
//! webhooks made with an HMAC of our own (not the shop's verifier).

pub mod fake_gateway;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use demo_shop::domain::{OrderId, ProductId};
use demo_shop::{start, RunningShop, Shop, ShopConfig};
use fake_gateway::{FakeGateway, PUBLISHABLE_KEY, SECRET_KEY};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use std::time::{SystemTime, UNIX_EPOCH};

static EVENT_SEQ: AtomicU64 = AtomicU64::new(1);

/// Logs only with `TEST_LOG` set (`TEST_LOG=debug cargo test -p demo-shop`).
fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

pub struct TestShop {
    pub running: RunningShop,
    pub gateway: FakeGateway,
    pub http: reqwest::Client,
}

pub fn config(gateway: &FakeGateway, database_url: &str) -> ShopConfig {
    let mut config = ShopConfig::new(gateway.url.clone(), SECRET_KEY, PUBLISHABLE_KEY);
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.database_url = database_url.to_owned();
    config
}

impl TestShop {
    /// A shop over a fresh in-memory database.
    pub async fn start() -> TestShop {
        let gateway = FakeGateway::start().await;
        Self::start_on(gateway, "sqlite::memory:").await
    }

    pub async fn start_on(gateway: FakeGateway, database_url: &str) -> TestShop {
        init_logs();
        let running = start(config(&gateway, database_url))
            .await
            .expect("the shop starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestShop {
            running,
            gateway,
            http,
        }
    }

    pub fn shop(&self) -> &Arc<Shop> {
        self.running.shop()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.url())
    }

    pub async fn product(&self, name: &str) -> ProductId {
        self.shop()
            .products()
            .await
            .unwrap()
            .into_iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no product {name}"))
            .id
    }

    pub async fn get(&self, path: &str, cart: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(self.url(path));
        if let Some(cart) = cart {
            request = request.header("cookie", cart);
        }
        request.send().await.unwrap()
    }

    /// A form post as the shop's own page sends it.
    pub async fn post_form(&self, path: &str, form: &str, cart: Option<&str>) -> reqwest::Response {
        let origin = self.running.url().to_owned();
        self.post_form_with(
            path,
            form,
            cart,
            &[("origin", &origin), ("sec-fetch-site", "same-origin")],
        )
        .await
    }

    pub async fn post_form_with(
        &self,
        path: &str,
        form: &str,
        cart: Option<&str>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned());
        if let Some(cart) = cart {
            request = request.header("cookie", cart);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Adds to a new cart; returns the cart's `Cookie` header value.
    pub async fn add_to_new_cart(&self, product: ProductId, quantity: i64) -> String {
        let response = self
            .post_form(
                "/cart/items",
                &format!("product_id={}&quantity={quantity}", product.0),
                None,
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie = response.headers()["set-cookie"].to_str().unwrap();
        set_cookie.split(';').next().unwrap().to_owned()
    }

    /// Checks the cart out through the page; the order id from the redirect to its pay page.
    pub async fn checkout(&self, cart: &str) -> reqwest::Response {
        self.post_form("/checkout", "customer_name=Kim+Minji", Some(cart))
            .await
    }

    pub async fn place_order(&self, product: &str, quantity: i64) -> OrderId {
        let cart = self
            .add_to_new_cart(self.product(product).await, quantity)
            .await;
        let response = self.checkout(&cart).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "checkout failed");
        order_of_redirect(&response)
    }

    pub async fn intent_of(&self, order: &OrderId) -> String {
        self.shop()
            .order(order)
            .await
            .unwrap()
            .order
            .intent_id
            .expect("the order has an intent")
    }

    /// Sends `event_type` about `intent` (the object as `data`), signed with the gateway's
    /// current secret for the shop's endpoint, stamped now.
    pub async fn send_webhook(&self, event_type: &str, intent: &Value) -> (StatusCode, String) {
        let id = format!("evt_{:024}", EVENT_SEQ.fetch_add(1, Ordering::SeqCst));
        let body = event(&id, event_type, intent);
        self.send_signed(&id, now(), &body, &self.gateway.webhook_secret())
            .await
    }

    pub async fn send_signed(
        &self,
        id: &str,
        timestamp: i64,
        body: &str,
        secret: &str,
    ) -> (StatusCode, String) {
        let signature = sign(secret, id, timestamp, body.as_bytes());
        self.send_raw(id, &timestamp.to_string(), &signature, body)
            .await
    }

    pub async fn send_raw(
        &self,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &str,
    ) -> (StatusCode, String) {
        let response = self
            .http
            .post(self.url("/webhooks"))
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn event(id: &str, event_type: &str, data: &Value) -> String {
    json!({"id": id, "object": "event", "livemode": false, "sequence": 1, "type": event_type, "data": data, "created_at": "2026-11-21T10:00:00.000Z"}).to_string()
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the secret after `whsec_`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

pub fn order_of_redirect(response: &reqwest::Response) -> OrderId {
    let location = response.headers()["location"].to_str().unwrap();
    let id = location
        .strip_prefix("/orders/")
        .and_then(|rest| rest.strip_suffix("/pay"))
        .unwrap_or_else(|| panic!("unexpected redirect {location}"));
    OrderId::parse(id).unwrap()
}
