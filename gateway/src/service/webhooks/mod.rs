//! Webhook endpoints: registration, changes, secret rotation with an overlap, the delivery log and
//! resend. Secrets are sealed (ChaCha20-Poly1305 under a key derived from the key-hash secret)
//! before they reach the store. Delivery itself is in [`delivery`]; the SSRF guard in [`guard`].

pub mod delivery;
pub mod guard;

use super::{missing, paginate, List, ServiceError, Services};
use crate::clock::Millis;
use crate::domain::webhook::{
    disabled_reason, generate_secret, EnabledEvents, EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookUrl,
};
use crate::domain::{Scope, ValidationError};
use crate::ids::{random_bytes, IdKind};
use crate::secret::Secret;
use crate::domain::idempotency::{KeyStep, Keyed};
use crate::domain::query::{Cursor, Page};
use crate::store::{WebhookEndpointChange, WebhookEndpointRecord};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use std::sync::OnceLock;
use std::time::Duration;

pub use delivery::DeliveryReport;

/// How long the previous secret keeps signing after a rotation, unless the request says otherwise.
pub const DEFAULT_ROTATION_OVERLAP_MS: Millis = 24 * 60 * 60 * 1000;
pub const MAX_ROTATION_OVERLAP_MS: Millis = 7 * 24 * 60 * 60 * 1000;

/// How deliveries are made. Tests replace the schedule and allow loopback receivers.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The wait after each failed attempt. When the attempt after the last wait fails too, the
    /// delivery fails and its endpoint is disabled.
    pub retry_schedule: Vec<Duration>,
    /// Each wait is spread by up to this fraction either way (0.2: ±20%).
    pub jitter: f64,
    /// Per attempt, connection included.
    pub timeout: Duration,
    /// Development only: deliver to loopback, private and link-local addresses too.
    pub allow_private: bool,
    /// Development only: these exact addresses (IP literal and port in the URL) may receive
    /// webhooks though they are internal: the demo shop that `paygate serve` starts beside itself.
    pub trusted_local: Vec<std::net::SocketAddr>,
    /// How long a pass owns the deliveries it claimed; well above `timeout`.
    pub lease: Duration,
    /// Endpoints delivered to at once (each endpoint gets one delivery at a time).
    pub batch: u32,
    /// Endpoints per merchant and mode.
    pub max_endpoints: i64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            // About three days in all (71.6 hours without jitter), 11 attempts.
            retry_schedule: vec![
                Duration::from_secs(5),
                minutes(1),
                minutes(5),
                minutes(30),
                minutes(2 * 60),
                minutes(5 * 60),
                minutes(10 * 60),
                minutes(14 * 60),
                minutes(20 * 60),
                minutes(20 * 60),
            ],
            jitter: 0.2,
            timeout: Duration::from_secs(15),
            allow_private: false,
            trusted_local: Vec::new(),
            lease: Duration::from_secs(60),
            batch: 50,
            max_endpoints: 16,
        }
    }
}

/// The delivery settings and the HTTP client built from them (once, on first use).
pub struct Webhooks {
    pub settings: WebhookSettings,
    client: OnceLock<reqwest::Client>,
}

impl Webhooks {
    pub fn new(settings: WebhookSettings) -> Self {
        Self { settings, client: OnceLock::new() }
    }

    /// No redirects, no proxies (a proxy would resolve names past the guard), no pooled
    /// connections (each attempt resolves and is checked again), the guarded resolver.
    pub(crate) fn client(&self) -> Result<&reqwest::Client, ServiceError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        // reqwest is built without a crypto provider of its own: rustls on ring, once per process
        // (an error means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .timeout(self.settings.timeout)
            .connect_timeout(self.settings.timeout)
            .user_agent(concat!("Paygate-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(std::sync::Arc::new(guard::GuardedResolver { allow_private: self.settings.allow_private }))
            .build()
            .map_err(|e| ServiceError::Internal(format!("webhook HTTP client: {e}")))?;
        let _ = self.client.set(client);
        self.client.get().ok_or_else(|| ServiceError::Internal("webhook HTTP client".into()))
    }
}

impl Default for Webhooks {
    fn default() -> Self {
        Self::new(WebhookSettings::default())
    }
}

/// What a merchant asks for when registering an endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub url: String,
    /// Default: every event (`*`).
    pub enabled_events: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointUpdate {
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
    pub status: Option<EndpointStatus>,
}

/// Seals secrets for storage (webhook secrets, staff members' TOTP keys), each bound to its
/// owner's id.
struct SecretBox(ChaCha20Poly1305);

const SEALED_PREFIX: &str = "v1.";

impl SecretBox {
    fn seal(&self, endpoint_id: &str, plain: &Secret) -> Result<Secret, ServiceError> {
        let nonce = random_bytes::<12>();
        let sealed = self
            .0
            .encrypt(&Nonce::from(nonce), Payload { msg: plain.expose().as_bytes(), aad: endpoint_id.as_bytes() })
            .map_err(|_| ServiceError::Internal("sealing a secret failed".into()))?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(Secret::new(format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes))))
    }

    fn open(&self, endpoint_id: &str, sealed: &Secret) -> Result<Secret, ServiceError> {
        let fail = || ServiceError::Internal(format!("the secret of {endpoint_id} cannot be opened (was the key-hash secret changed?)"));
        let bytes = sealed.expose().strip_prefix(SEALED_PREFIX).and_then(|b| STANDARD.decode(b).ok()).ok_or_else(fail)?;
        if bytes.len() < 12 {
            return Err(fail());
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| fail())?;
        let plain = self.0.decrypt(&nonce, Payload { msg: ciphertext, aad: endpoint_id.as_bytes() }).map_err(|_| fail())?;
        String::from_utf8(plain).map(Secret::new).map_err(|_| fail())
    }
}

impl Services {
    fn secret_box(&self) -> SecretBox {
        self.secret_box_for("webhook-secret-sealing")
    }

    /// A key of its own per purpose, derived from the key-hash secret every replica shares.
    fn secret_box_for(&self, purpose: &str) -> SecretBox {
        let key = self.hasher.derive(&format!("paygate/{purpose}/v1"));
        SecretBox(ChaCha20Poly1305::new(&Key::from(key)))
    }

    /// Seals another surface's secret for storage (a staff member's TOTP key), under the key
    /// of `purpose` and bound to `owner_id`: it opens only for the same purpose and owner.
    pub fn seal_secret(&self, purpose: &str, owner_id: &str, secret: &Secret) -> Result<Secret, ServiceError> {
        self.secret_box_for(purpose).seal(owner_id, secret)
    }

    pub fn open_secret(&self, purpose: &str, owner_id: &str, sealed: &Secret) -> Result<Secret, ServiceError> {
        self.secret_box_for(purpose).open(owner_id, sealed)
    }

    /// Seals a webhook secret for storage (bound to its endpoint's id).
    pub fn seal_webhook_secret(&self, endpoint_id: &str, secret: &Secret) -> Result<Secret, ServiceError> {
        self.secret_box().seal(endpoint_id, secret)
    }

    pub fn open_webhook_secret(&self, endpoint_id: &str, sealed: &Secret) -> Result<Secret, ServiceError> {
        self.secret_box().open(endpoint_id, sealed)
    }

    /// The secrets a delivery made now is signed with: the current one, and the previous one
    /// while its overlap lasts.
    pub(crate) fn signing_secrets(&self, endpoint: &WebhookEndpointRecord, now: Millis) -> Result<Vec<Secret>, ServiceError> {
        let sealer = self.secret_box();
        let mut secrets = vec![sealer.open(&endpoint.id, &endpoint.secret)?];
        if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_expires_at) {
            if now < until {
                secrets.push(sealer.open(&endpoint.id, previous)?);
            }
        }
        Ok(secrets)
    }

    fn webhook_url(&self, text: &str, livemode: bool) -> Result<WebhookUrl, ServiceError> {
        let url = WebhookUrl::parse(text, livemode)?;
        // Refused at once when the host is an internal IP literal or localhost; names that
        // resolve to internal addresses are refused at delivery time.
        if let Ok(parsed) = reqwest::Url::parse(url.as_str()) {
            let trusted = guard::is_trusted(&parsed, &self.webhooks.settings.trusted_local);
            if let Err(refused) = guard::check_registration(&parsed, self.webhooks.settings.allow_private || trusted) {
                return Err(ValidationError::new(
                    "url_not_allowed",
                    "url",
                    format!("url points to a {} address; webhooks only go to public addresses", refused.reason),
                )
                .into());
            }
        }
        Ok(url)
    }

    /// Registers an endpoint; the reply carries its `whsec_` secret, shown this once.
    pub async fn create_webhook_endpoint(&self, scope: &Scope, new: NewWebhookEndpoint, key: Option<&Keyed>) -> Result<WebhookEndpoint, ServiceError> {
        let url = self.webhook_url(&new.url, scope.livemode)?;
        let enabled_events = EnabledEvents::parse(&new.enabled_events.unwrap_or_else(|| vec!["*".into()]))?;
        let max = self.webhooks.settings.max_endpoints;
        if self.store.webhooks.count_webhook_endpoints(scope).await? >= max {
            return Err(ServiceError::TooManyWebhookEndpoints(max));
        }
        let id = IdKind::WebhookEndpoint.generate();
        let secret = generate_secret();
        let now = self.clock.now();
        let record = WebhookEndpointRecord {
            secret: self.secret_box().seal(&id, &secret)?,
            id,
            scope: scope.clone(),
            url,
            enabled_events,
            previous_secret: None,
            previous_secret_expires_at: None,
            status: EndpointStatus::Enabled,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        self.store.webhooks.insert_webhook_endpoint(&record, key.map(KeyStep::Finish)).await?;
        Ok(WebhookEndpoint::of(&record, Some(&secret)))
    }

    pub async fn get_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<WebhookEndpoint, ServiceError> {
        let record = self.store.webhooks.get_webhook_endpoint(scope, id).await.map_err(missing("webhook_endpoint"))?;
        Ok(WebhookEndpoint::of(&record, None))
    }

    pub async fn list_webhook_endpoints(&self, scope: &Scope, page: Page) -> Result<List<WebhookEndpoint>, ServiceError> {
        let list = paginate(page, |r: &WebhookEndpointRecord| Cursor { created_at: r.created_at, id: r.id.clone() }, |p| async move {
            self.store.webhooks.list_webhook_endpoints(scope, &p).await
        })
        .await?;
        Ok(List { data: list.data.iter().map(|r| WebhookEndpoint::of(r, None)).collect(), next: list.next })
    }

    /// Changes the URL, the event types or the status. Enabling again clears the reason it was
    /// disabled for and resumes its pending deliveries at once.
    pub async fn update_webhook_endpoint(&self, scope: &Scope, id: &str, update: WebhookEndpointUpdate, key: Option<&Keyed>) -> Result<WebhookEndpoint, ServiceError> {
        let change = WebhookEndpointChange {
            url: update.url.as_deref().map(|u| self.webhook_url(u, scope.livemode)).transpose()?,
            enabled_events: update.enabled_events.as_deref().map(EnabledEvents::parse).transpose()?,
            status: update.status.map(|s| match s {
                EndpointStatus::Enabled => (s, None),
                EndpointStatus::Disabled => (s, Some(disabled_reason::BY_MERCHANT.to_owned())),
            }),
        };
        let record = self
            .store
            .webhooks
            .update_webhook_endpoint(scope, id, &change, self.clock.now(), key.map(KeyStep::Finish))
            .await
            .map_err(missing("webhook_endpoint"))?;
        Ok(WebhookEndpoint::of(&record, None))
    }

    pub async fn delete_webhook_endpoint(&self, scope: &Scope, id: &str) -> Result<(), ServiceError> {
        self.store.webhooks.delete_webhook_endpoint(scope, id).await.map_err(missing("webhook_endpoint"))
    }

    /// A new secret, returned this once; the previous one keeps signing for `overlap_ms`
    /// (0: it stops at once), so receivers can switch without missing a delivery.
    pub async fn rotate_webhook_secret(&self, scope: &Scope, id: &str, overlap_ms: Option<Millis>, key: Option<&Keyed>) -> Result<WebhookEndpoint, ServiceError> {
        let overlap = overlap_ms.unwrap_or(DEFAULT_ROTATION_OVERLAP_MS);
        if !(0..=MAX_ROTATION_OVERLAP_MS).contains(&overlap) {
            return Err(ValidationError::new(
                "parameter_invalid",
                "overlap_seconds",
                format!("overlap_seconds must be between 0 and {}", MAX_ROTATION_OVERLAP_MS / 1000),
            )
            .into());
        }
        self.store.webhooks.get_webhook_endpoint(scope, id).await.map_err(missing("webhook_endpoint"))?;
        let secret = generate_secret();
        let now = self.clock.now();
        let sealed = self.secret_box().seal(id, &secret)?;
        let until = (overlap > 0).then(|| now.saturating_add(overlap));
        let record = self
            .store
            .webhooks
            .rotate_webhook_secret(scope, id, &sealed, until, now, key.map(KeyStep::Finish))
            .await
            .map_err(missing("webhook_endpoint"))?;
        Ok(WebhookEndpoint::of(&record, Some(&secret)))
    }

    /// For the operator's CLI: rotates any endpoint by id, whoever owns it.
    pub async fn rotate_webhook_secret_by_id(&self, id: &str, overlap_ms: Option<Millis>) -> Result<WebhookEndpoint, ServiceError> {
        let record = self.store.webhooks.find_webhook_endpoint(id).await.map_err(missing("webhook_endpoint"))?;
        self.rotate_webhook_secret(&record.scope, id, overlap_ms, None).await
    }

    /// The delivery log of one endpoint, newest first.
    pub async fn list_webhook_attempts(&self, scope: &Scope, endpoint_id: &str, page: Page) -> Result<List<WebhookAttempt>, ServiceError> {
        self.store.webhooks.get_webhook_endpoint(scope, endpoint_id).await.map_err(missing("webhook_endpoint"))?;
        paginate(page, |a: &WebhookAttempt| Cursor { created_at: a.attempted_at, id: a.id.clone() }, |p| async move {
            self.store.webhooks.list_webhook_attempts(scope, endpoint_id, &p).await
        })
        .await
    }

    /// Sends one event to one endpoint again (due now, with a fresh retry schedule), whether or
    /// not the endpoint subscribed to it or existed when it happened.
    pub async fn resend_webhook(&self, scope: &Scope, endpoint_id: &str, event_id: &str, key: Option<&Keyed>) -> Result<WebhookDelivery, ServiceError> {
        let endpoint = self.store.webhooks.get_webhook_endpoint(scope, endpoint_id).await.map_err(missing("webhook_endpoint"))?;
        if endpoint.status == EndpointStatus::Disabled {
            return Err(ServiceError::WebhookEndpointDisabled);
        }
        self.store.webhooks.resend_webhook(scope, endpoint_id, event_id, self.clock.now(), key.map(KeyStep::Finish)).await.map_err(missing("event"))
    }

    /// Sends again everything that failed for good to one endpoint since `since` (by the time
    /// of its event): each due now, with a fresh retry schedule. Returns how many.
    pub async fn resend_failed_webhooks(&self, scope: &Scope, endpoint_id: &str, since: Millis) -> Result<u64, ServiceError> {
        let endpoint = self.store.webhooks.get_webhook_endpoint(scope, endpoint_id).await.map_err(missing("webhook_endpoint"))?;
        if endpoint.status == EndpointStatus::Disabled {
            return Err(ServiceError::WebhookEndpointDisabled);
        }
        Ok(self.store.webhooks.resend_failed_webhooks(scope, endpoint_id, since, self.clock.now()).await?)
    }

    pub async fn get_webhook_delivery(&self, scope: &Scope, endpoint_id: &str, event_id: &str) -> Result<WebhookDelivery, ServiceError> {
        self.store.webhooks.get_webhook_delivery(scope, endpoint_id, event_id).await.map_err(missing("webhook_delivery"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_endpoint_and_key() {
        let sealer = SecretBox(ChaCha20Poly1305::new(&Key::from([7u8; 32])));
        let other = SecretBox(ChaCha20Poly1305::new(&Key::from([8u8; 32])));
        let secret = generate_secret();
        let sealed = sealer.seal("we_a", &secret).unwrap();
        assert!(!sealed.expose().contains(&secret.expose()[6..]));
        assert_eq!(sealer.open("we_a", &sealed).unwrap(), secret);
        assert!(sealer.open("we_b", &sealed).is_err());
        assert!(other.open("we_a", &sealed).is_err());
    }

    #[test]
    fn the_default_schedule_retries_for_about_three_days() {
        let total: Duration = WebhookSettings::default().retry_schedule.iter().sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((66.0..=78.0).contains(&hours), "{hours} hours");
    }
}
