//! `BridgeApp`: the gateway's `TestApp` (fresh store, hand-moved clock, inspectable test card
//! processor) with the customer side merged into its router, and the calls a phone makes.

#![allow(dead_code, unused_imports)]

pub use crate::core_helpers::{Engine, Reply, TestApp, TestMerchant, START};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use mobile_bridge::{Bridge, BridgeSettings};
use serde_json::{json, Value};
use std::sync::Arc;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

/// `core.router` is the gateway's router with the bridge's merged in, so the core's own
/// helpers (`core.get`, `core.post`) reach both.
pub struct BridgeApp {
    pub core: TestApp,
    pub bridge: Arc<Bridge>,
}

/// A signed-in wallet customer: the tokens the sign-up or sign-in answered with.
#[derive(Debug, Clone)]
pub struct Phone {
    pub customer_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// An HTML page as a phone browser gets it.
pub struct Page {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub html: String,
}

impl BridgeApp {
    pub async fn on(engine: Engine) -> Self {
        Self::over(TestApp::on(engine).await, BridgeSettings::default())
    }

    pub fn over(mut core: TestApp, settings: BridgeSettings) -> Self {
        let bridge = Bridge::new(core.services.clone(), settings);
        core.router = core.router.clone().merge(mobile_bridge::router(bridge.clone()));
        Self { core, bridge }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        self.core.send(req).await
    }

    /// A request as it arrives, with its headers (for Retry-After and the like).
    pub async fn send_raw(&self, req: Request<Body>) -> axum::response::Response {
        self.core.router.clone().oneshot(req).await.expect("router answers")
    }

    /// GET with a bearer token (`""` sends none).
    pub async fn get(&self, token: &str, path: &str) -> Reply {
        let mut req = Request::get(path);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// POST JSON with a bearer token (`""` sends none).
    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        let mut req = Request::post(path).header("content-type", "application/json");
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        self.send(req.body(Body::from(body.to_string())).unwrap()).await
    }

    /// POST JSON with a bearer token and an Idempotency-Key.
    pub async fn post_idem(&self, token: &str, path: &str, body: Value, key: &str) -> Reply {
        let req = Request::post(path)
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("idempotency-key", key);
        self.send(req.body(Body::from(body.to_string())).unwrap()).await
    }

    /// A page, with the request headers given (`accept-language`, `cookie`).
    pub async fn page(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut req = Request::get(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = self.send_raw(req.body(Body::empty()).unwrap()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Page { status, headers, html: String::from_utf8_lossy(&bytes).into_owned() }
    }

    pub async fn merchant(&self) -> TestMerchant {
        self.core.merchant().await
    }

    /// Creates an intent (KRW 10,000 unless `overrides` say otherwise); returns its id and
    /// approval code.
    pub async fn intent(&self, m: &TestMerchant, overrides: Value) -> (String, String) {
        let id = self.core.create_intent(&m.sk, overrides).await;
        let reply = self.core.get(&m.sk, &format!("/v1/payment_intents/{id}")).await;
        let url = reply.body["next_action"]["url"].as_str().expect("next_action.url").to_owned();
        let code = url.rsplit('/').next().unwrap_or_default().to_owned();
        (id, code)
    }

    /// The merchant's view of an intent.
    pub async fn intent_status(&self, m: &TestMerchant, id: &str) -> Value {
        self.core.get(&m.sk, &format!("/v1/payment_intents/{id}")).await.body
    }

    /// Signs up a wallet account with an email (or phone) and `PASSWORD`.
    pub async fn sign_up(&self, identifier: &str) -> Phone {
        let field = if identifier.contains('@') { "email" } else { "phone" };
        let reply = self.post("", "/wallet/v1/customers", json!({ field: identifier, "password": PASSWORD })).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
        phone_from(&reply)
    }

    /// Signs in; the reply as it came.
    pub async fn sign_in(&self, identifier: &str, password: &str) -> Reply {
        self.post("", "/wallet/v1/sessions", json!({ "identifier": identifier, "password": password })).await
    }
}

pub fn phone_from(reply: &Reply) -> Phone {
    Phone {
        customer_id: reply.body["customer"]["id"].as_str().unwrap_or_default().to_owned(),
        access_token: reply.body["access_token"].as_str().unwrap_or_default().to_owned(),
        refresh_token: reply.body["refresh_token"].as_str().unwrap_or_default().to_owned(),
    }
}

/// Declares each named `async fn(BridgeApp)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! bridge_on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::BridgeApp::on($crate::helpers::Engine::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::helpers::BridgeApp::on($crate::helpers::Engine::Postgres).await).await
                }
            )*
        }
    };
}
