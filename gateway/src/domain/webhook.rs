//! Webhook endpoints as merchants register them: a validated URL, the event types they want,
//! `whsec_` signing secrets, and Standard Webhooks signatures.

use super::event::{is_event_type_pattern, EVENT_TYPES};
use super::{Scope, ValidationError};
use crate::clock::{rfc3339, Millis};
use crate::ids::random_bytes;
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

const MAX_URL_LEN: usize = 2048;
const MAX_EVENT_PATTERNS: usize = 32;
const SECRET_PREFIX: &str = "whsec_";
const SECRET_BYTES: usize = 32;

/// Where an endpoint's deliveries go: an absolute `http(s)` URL without credentials or fragment.
/// Live-mode endpoints must use HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(text: &str, livemode: bool) -> Result<Self, ValidationError> {
        let invalid = |why: &str| ValidationError::new("url_invalid", "url", format!("url {why}"));
        let text = text.trim();
        if text.is_empty() {
            return Err(ValidationError::new("parameter_missing", "url", "url must not be empty"));
        }
        if text.len() > MAX_URL_LEN {
            return Err(ValidationError::new("parameter_too_long", "url", format!("url must be at most {MAX_URL_LEN} characters")));
        }
        let url = reqwest::Url::parse(text).map_err(|_| invalid("must be an absolute http:// or https:// URL"))?;
        match url.scheme() {
            "https" => {}
            "http" if !livemode => {}
            "http" => return Err(invalid("must use https:// for live-mode endpoints")),
            _ => return Err(invalid("must be an absolute http:// or https:// URL")),
        }
        if url.host().is_none() {
            return Err(invalid("must name a host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid("must not contain a user name or password"));
        }
        if url.fragment().is_some() {
            return Err(invalid("must not contain a fragment (#...)"));
        }
        Ok(Self(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A URL read back from the store, validated when it was registered.
    pub fn from_stored(text: String) -> Self {
        Self(text)
    }
}

/// The event types an endpoint receives: everything (`*`), or a list of types and families.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnabledEvents {
    All,
    Only(Vec<String>),
}

impl EnabledEvents {
    pub fn parse(patterns: &[String]) -> Result<Self, ValidationError> {
        if patterns.is_empty() {
            return Err(ValidationError::new("parameter_missing", "enabled_events", "enabled_events must list at least one event type (or `*`)"));
        }
        if patterns.len() > MAX_EVENT_PATTERNS {
            return Err(ValidationError::new("parameter_invalid", "enabled_events", format!("enabled_events may list at most {MAX_EVENT_PATTERNS} entries")));
        }
        let mut out: Vec<String> = Vec::new();
        for p in patterns {
            let p = p.trim();
            if !is_event_type_pattern(p) {
                let shown: String = p.chars().take(64).collect();
                return Err(ValidationError::new(
                    "event_type_invalid",
                    "enabled_events",
                    format!("`{shown}` is not an event type; use one of {}, a family such as `payment_intent.*`, or `*`", EVENT_TYPES.join(", ")),
                ));
            }
            if p == "*" {
                return Ok(EnabledEvents::All);
            }
            if !out.iter().any(|o| o == p) {
                out.push(p.to_owned());
            }
        }
        Ok(EnabledEvents::Only(out))
    }

    /// `*`, or `,a,b,`: a type matches with one LIKE on both engines.
    pub fn to_stored(&self) -> String {
        match self {
            EnabledEvents::All => "*".into(),
            EnabledEvents::Only(list) => format!(",{},", list.join(",")),
        }
    }

    pub fn from_stored(text: &str) -> Option<Self> {
        if text == "*" {
            return Some(EnabledEvents::All);
        }
        let inner = text.strip_prefix(',')?.strip_suffix(',')?;
        Some(EnabledEvents::Only(inner.split(',').map(str::to_owned).collect()))
    }

    pub fn to_list(&self) -> Vec<String> {
        match self {
            EnabledEvents::All => vec!["*".into()],
            EnabledEvents::Only(list) => list.clone(),
        }
    }

    pub fn matches(&self, kind: &str) -> bool {
        match self {
            EnabledEvents::All => true,
            EnabledEvents::Only(list) => list.iter().any(|p| p == kind || p.strip_suffix(".*").is_some_and(|f| kind.split('.').next() == Some(f))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointStatus {
    Enabled,
    Disabled,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Enabled => "enabled",
            EndpointStatus::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "enabled" => Some(EndpointStatus::Enabled),
            "disabled" => Some(EndpointStatus::Disabled),
            _ => None,
        }
    }
}

/// Why an endpoint was disabled.
pub mod disabled_reason {
    /// The endpoint answered `410 Gone`.
    pub const GONE: &str = "endpoint_gone";
    /// One delivery failed every attempt of the retry schedule.
    pub const RETRIES_EXHAUSTED: &str = "retries_exhausted";
    /// The merchant disabled it.
    pub const BY_MERCHANT: &str = "disabled_by_merchant";
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> Secret {
    Secret::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(random_bytes::<SECRET_BYTES>())))
}

/// The HMAC key inside a `whsec_` secret.
pub fn secret_key_bytes(secret: &Secret) -> Option<Vec<u8>> {
    let text = secret.expose();
    STANDARD.decode(text.strip_prefix(SECRET_PREFIX).unwrap_or(text)).ok()
}

/// One Standard Webhooks signature: base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn sign(key: &[u8], msg_id: &str, timestamp_secs: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(format!("{msg_id}.{timestamp_secs}.").as_bytes());
    mac.update(body.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The `webhook-signature` header: `v1,<sig>` per key, space-separated.
pub fn signature_header(keys: &[Vec<u8>], msg_id: &str, timestamp_secs: i64, body: &str) -> String {
    keys.iter().map(|k| format!("v1,{}", sign(k, msg_id, timestamp_secs, body))).collect::<Vec<_>>().join(" ")
}

/// An endpoint as stored. The secrets are ciphertext; the service opens them.
#[derive(Debug, Clone)]
pub struct WebhookEndpointRecord {
    pub id: String,
    pub scope: Scope,
    pub url: WebhookUrl,
    pub enabled_events: EnabledEvents,
    pub secret: Secret,
    pub previous_secret: Option<Secret>,
    pub previous_secret_expires_at: Option<Millis>,
    pub status: EndpointStatus,
    pub disabled_reason: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl WebhookEndpoint {
    /// The endpoint as the API shows it; `secret` (plaintext or sealed) only where the reply shows one.
    pub fn of(r: &WebhookEndpointRecord, secret: Option<&Secret>) -> Self {
        WebhookEndpoint {
            id: r.id.clone(),
            object: "webhook_endpoint".into(),
            livemode: r.scope.livemode,
            url: r.url.as_str().to_owned(),
            enabled_events: r.enabled_events.to_list(),
            status: r.status,
            disabled_reason: r.disabled_reason.clone(),
            previous_secret_expires_at: r.previous_secret.as_ref().and(r.previous_secret_expires_at),
            secret: secret.cloned(),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// An endpoint as the API shows it. The secret appears only in the replies that create or
/// rotate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookEndpoint {
    pub id: String,
    /// Always `webhook_endpoint`.
    pub object: String,
    pub livemode: bool,
    pub url: String,
    /// Event types, families (`payment_intent.*`) or `*`.
    pub enabled_events: Vec<String>,
    pub status: EndpointStatus,
    /// `endpoint_gone`, `retries_exhausted` or `disabled_by_merchant` while disabled.
    pub disabled_reason: Option<String>,
    /// While a rotation's overlap lasts, deliveries are also signed with the previous secret
    /// until this time.
    #[serde(with = "rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub previous_secret_expires_at: Option<Millis>,
    /// `whsec_...`: only in the reply that creates the endpoint or rotates its secret.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "expose_secret", default)]
    #[schema(value_type = Option<String>)]
    pub secret: Option<Secret>,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

/// The one place a webhook secret is written out: the reply that made it.
fn expose_secret<S: serde::Serializer>(secret: &Option<Secret>, s: S) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => s.serialize_str(secret.expose()),
        None => s.serialize_none(),
    }
}

impl WebhookEndpoint {
    pub fn status_text(&self) -> &'static str {
        self.status.as_str()
    }
}

/// One delivery attempt, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookAttempt {
    pub id: String,
    /// Always `webhook_attempt`.
    pub object: String,
    pub livemode: bool,
    pub endpoint: String,
    pub event: String,
    pub event_type: String,
    /// 1 for the first attempt of this delivery (a resend starts again at 1).
    pub attempt: i64,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub attempted_at: Millis,
    /// The HTTP status the endpoint answered, if it answered.
    pub response_status: Option<i64>,
    pub latency_ms: i64,
    /// Null on success; otherwise `timeout`, `connection_failed`, `destination_not_allowed`,
    /// `redirect_not_followed`, `unexpected_status`, `invalid_url` or `request_failed`.
    pub error: Option<String>,
    pub succeeded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "succeeded" => Some(DeliveryStatus::Succeeded),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One event on its way to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookDelivery {
    /// Always `webhook_delivery`.
    pub object: String,
    pub endpoint: String,
    pub event: String,
    pub status: DeliveryStatus,
    /// Attempts made since the delivery was (re)queued.
    pub attempts: i64,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_for_scheme_host_credentials_and_live_mode_https() {
        assert!(WebhookUrl::parse("https://shop.example.com/hooks", true).is_ok());
        assert!(WebhookUrl::parse("http://127.0.0.1:3000/hooks", false).is_ok());
        for (bad, live) in [("ftp://x.example", false), ("/relative", false), ("http://shop.example.com/", true), ("https://u:p@x.example/", false), ("https://x.example/#f", false)] {
            assert_eq!(WebhookUrl::parse(bad, live).unwrap_err().code, "url_invalid", "{bad}");
        }
        assert_eq!(WebhookUrl::parse(" ", false).unwrap_err().code, "parameter_missing");
    }

    #[test]
    fn enabled_events_take_types_families_and_star_and_round_trip_through_storage() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = EnabledEvents::parse(&list(&["refund.*", "payment_intent.succeeded", "refund.*"])).unwrap();
        assert_eq!(e.to_stored(), ",refund.*,payment_intent.succeeded,");
        assert_eq!(EnabledEvents::from_stored(&e.to_stored()), Some(e.clone()));
        assert!(e.matches("refund.failed") && e.matches("payment_intent.succeeded") && !e.matches("payment_intent.failed"));
        assert_eq!(EnabledEvents::parse(&list(&["refund.created", "*"])).unwrap(), EnabledEvents::All);
        assert_eq!(EnabledEvents::parse(&list(&["charge.*"])).unwrap_err().code, "event_type_invalid");
        assert_eq!(EnabledEvents::parse(&list(&["refund.created,refund.failed"])).unwrap_err().code, "event_type_invalid");
        assert_eq!(EnabledEvents::parse(&[]).unwrap_err().code, "parameter_missing");
    }

    #[test]
    fn signatures_follow_the_standard_webhooks_test_vector() {
        // The example from the Standard Webhooks specification.
        let key = secret_key_bytes(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")).unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body), "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let secret = generate_secret();
        assert!(secret.expose().starts_with("whsec_"));
        assert_eq!(secret_key_bytes(&secret).unwrap().len(), 32);
        let header = signature_header(&[key.clone(), vec![1, 2, 3]], "m", 1, "b");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.starts_with("v1,"));
    }
}
