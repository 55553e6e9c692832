//! The shop's client of the gateway's public REST API, as any merchant server would call it:
//! the secret key in `Authorization`, JSON bodies, an `Idempotency-Key` on every write that
//! moves money. The key is sent nowhere else and never logged.

pub mod types;

use crate::secret::Secret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;
pub use types::{CreatedIntent, Intent, Refund, WebhookEndpoint};

#[derive(Debug, Clone, thiserror::Error)]
pub enum GatewayError {
    /// The gateway answered with an error body: branch on `code`.
    #[error("the gateway answered {status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer (connection refused, timeout): the outcome of a write is unknown.
    #[error("the gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("unexpected answer from the gateway: {0}")]
    Unexpected(String),
}

impl GatewayError {
    pub fn code(&self) -> Option<&str> {
        match self {
            GatewayError::Api { code, .. } => Some(code),
            GatewayError::Unreachable(_) | GatewayError::Unexpected(_) => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base: String,
    secret_key: Secret,
}

impl GatewayClient {
    /// `base` without a trailing slash (`http://127.0.0.1:8080`).
    pub fn new(base: &str, secret_key: Secret) -> Result<Self, GatewayError> {
        // reqwest is built without a TLS crypto provider of its own: rustls on ring, once per
        // process (an error means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("paygate-demo-shop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GatewayError::Unexpected(format!("HTTP client: {e}")))?;
        Ok(GatewayClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            secret_key,
        })
    }

    pub async fn create_intent(
        &self,
        intent: &types::NewIntent<'_>,
        key: &str,
    ) -> Result<CreatedIntent, GatewayError> {
        self.send(
            reqwest::Method::POST,
            "/v1/payment_intents".into(),
            Some(json(intent)?),
            Some(key),
        )
        .await
    }

    pub async fn get_intent(&self, id: &str) -> Result<Intent, GatewayError> {
        self.send(
            reqwest::Method::GET,
            format!("/v1/payment_intents/{}", path_id(id)?),
            None,
            None,
        )
        .await
    }

    /// The anti-tamper step: `amount` is the shop's own figure for the order.
    pub async fn confirm_intent(
        &self,
        id: &str,
        amount: i64,
        key: &str,
    ) -> Result<Intent, GatewayError> {
        let body = json(&types::Confirm { amount })?;
        self.send(
            reqwest::Method::POST,
            format!("/v1/payment_intents/{}/confirm", path_id(id)?),
            Some(body),
            Some(key),
        )
        .await
    }

    pub async fn cancel_intent(
        &self,
        id: &str,
        reason: &str,
        key: &str,
    ) -> Result<Intent, GatewayError> {
        let body = json(&types::Cancel {
            cancellation_reason: reason,
        })?;
        self.send(
            reqwest::Method::POST,
            format!("/v1/payment_intents/{}/cancel", path_id(id)?),
            Some(body),
            Some(key),
        )
        .await
    }

    pub async fn create_refund(
        &self,
        refund: &types::NewRefund<'_>,
        key: &str,
    ) -> Result<Refund, GatewayError> {
        self.send(
            reqwest::Method::POST,
            "/v1/refunds".into(),
            Some(json(refund)?),
            Some(key),
        )
        .await
    }

    pub async fn create_webhook_endpoint(
        &self,
        url: &str,
        events: &[&str],
    ) -> Result<WebhookEndpoint, GatewayError> {
        let body = json(&types::NewWebhookEndpoint {
            url,
            enabled_events: events,
        })?;
        self.send(
            reqwest::Method::POST,
            "/v1/webhook_endpoints".into(),
            Some(body),
            None,
        )
        .await
    }

    pub async fn get_webhook_endpoint(&self, id: &str) -> Result<WebhookEndpoint, GatewayError> {
        self.send(
            reqwest::Method::GET,
            format!("/v1/webhook_endpoints/{}", path_id(id)?),
            None,
            None,
        )
        .await
    }

    pub async fn list_webhook_endpoints(&self) -> Result<Vec<WebhookEndpoint>, GatewayError> {
        let list: types::List<WebhookEndpoint> = self
            .send(
                reqwest::Method::GET,
                "/v1/webhook_endpoints?limit=100".into(),
                None,
                None,
            )
            .await?;
        Ok(list.data)
    }

    pub async fn update_webhook_endpoint(
        &self,
        id: &str,
        update: &types::WebhookEndpointUpdate<'_>,
    ) -> Result<WebhookEndpoint, GatewayError> {
        self.send(
            reqwest::Method::POST,
            format!("/v1/webhook_endpoints/{}", path_id(id)?),
            Some(json(update)?),
            None,
        )
        .await
    }

    /// A new secret at once (no overlap): the shop adopts an endpoint whose secret it lost.
    pub async fn rotate_webhook_secret(&self, id: &str) -> Result<WebhookEndpoint, GatewayError> {
        let body = json(&types::RotateSecret { overlap_seconds: 0 })?;
        self.send(
            reqwest::Method::POST,
            format!("/v1/webhook_endpoints/{}/rotate_secret", path_id(id)?),
            Some(body),
            None,
        )
        .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: String,
        body: Option<Vec<u8>>,
        key: Option<&str>,
    ) -> Result<T, GatewayError> {
        let what = format!("{method} {}", path.split('?').next().unwrap_or_default());
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(self.secret_key.expose());
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| GatewayError::Unreachable(format!("{what}: {}", without_url(&e))))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| GatewayError::Unreachable(format!("{what}: {}", without_url(&e))))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes)
                .map_err(|e| GatewayError::Unexpected(format!("{what}: {e}")));
        }
        match serde_json::from_slice::<types::ErrorBody>(&bytes) {
            Ok(body) => Err(GatewayError::Api {
                status: status.as_u16(),
                code: body.error.code,
                message: body.error.message,
            }),
            Err(_) => Err(GatewayError::Unexpected(format!(
                "{what}: HTTP {status} without an error body"
            ))),
        }
    }
}

fn json(value: &impl Serialize) -> Result<Vec<u8>, GatewayError> {
    serde_json::to_vec(value)
        .map_err(|e| GatewayError::Unexpected(format!("encoding a request: {e}")))
}

/// An id goes into a path only if it is an id (`pi_...`, `we_...`): letters, digits, `_`.
fn path_id(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(id)
    } else {
        Err(GatewayError::Unexpected(format!(
            "{id:?} is not a gateway id"
        )))
    }
}

/// reqwest's errors carry the URL; ours has no secret in it, but keep messages short.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    match std::error::Error::source(e) {
        Some(source) => format!("{kind} ({source})"),
        None => kind.to_owned(),
    }
}
