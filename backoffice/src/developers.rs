//! The developers' pages behind the core's services: API keys (created and shown once, rolled
//! with an expiry for the old key, revoked, with their last use), webhook endpoints (created
//! with the secret shown once, their events, secret rotation, disable and enable, the delivery
//! log, resending one event or everything that failed since a time) and the events browser.
//! Every object is looked up in the session's merchant only: another merchant's is not found.
//! Every change is audited, and so is every refusal.

use crate::accounts::SignedIn;
use crate::audit::Audited;
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::store::{DeliveryRow, Outcome};
use crate::Backoffice;
use gateway::clock::Millis;
use gateway::domain::event::Event;
use gateway::domain::keys::{ApiKeyRecord, KeyKind};
use gateway::domain::query::{Cursor, EventFilter, Page};
use gateway::domain::webhook::{EndpointStatus, WebhookAttempt, WebhookEndpoint};
use gateway::domain::{Scope, ValidationError};
use gateway::ids::IdKind;
use gateway::service::IssuedKey;
use gateway::service::webhooks::{NewWebhookEndpoint, WebhookEndpointUpdate};
use gateway::service::{List, ServiceError};

/// Rows of a developers' list page.
pub const PAGE_ROWS: u32 = 50;

/// How long an old key keeps working after a roll, as the form offers it.
pub const ROLL_EXPIRIES: [(&str, Millis); 4] = [("now", 0), ("1h", 3_600_000), ("24h", 86_400_000), ("7d", 7 * 86_400_000)];

/// Where a key stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Active,
    /// Rolled: works until its expiry.
    Expiring,
    Expired,
    Revoked,
}

impl KeyState {
    pub fn of(key: &ApiKeyRecord, now: Millis) -> Self {
        match (key.revoked_at, key.expires_at) {
            (Some(_), _) => KeyState::Revoked,
            (None, Some(at)) if at <= now => KeyState::Expired,
            (None, Some(_)) => KeyState::Expiring,
            (None, None) => KeyState::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Expiring => "expiring",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
        }
    }
}

fn mode_of(text: &str) -> Result<bool, ValidationError> {
    match text {
        "" | "test" => Ok(false),
        "live" => Ok(true),
        _ => Err(ValidationError::new("mode_invalid", "mode", "Choose test or live mode.")),
    }
}

/// The event types an endpoint may choose, as the form lists them.
pub fn event_choices() -> Vec<&'static str> {
    gateway::domain::event::EVENT_TYPES.to_vec()
}

impl Backoffice {
    /// Every key of the merchant, both modes, oldest first.
    pub async fn api_keys(&self, who: &SignedIn) -> Result<Vec<ApiKeyRecord>, BackofficeError> {
        self.permitted(who, Action::ManageKeys, "api_key.read", &who.merchant_id).await?;
        Ok(self.services.list_keys(&who.merchant_id).await?)
    }

    async fn own_key(&self, who: &SignedIn, key_id: &str) -> Result<ApiKeyRecord, BackofficeError> {
        if !IdKind::ApiKey.is_well_formed(key_id) {
            return Err(BackofficeError::NotFound);
        }
        let keys = self.services.list_keys(&who.merchant_id).await?;
        keys.into_iter().find(|k| k.id == key_id).ok_or(BackofficeError::NotFound)
    }

    /// A new key; its value is in the answer and nowhere else, ever.
    pub async fn create_api_key(&self, who: &SignedIn, kind: &str, mode: &str) -> Result<IssuedKey, BackofficeError> {
        self.permitted(who, Action::ManageKeys, "api_key.create", &who.merchant_id).await?;
        let kind = KeyKind::parse(kind).ok_or_else(|| ValidationError::new("key_kind_invalid", "kind", "Choose a publishable or a secret key."))?;
        let livemode = mode_of(mode)?;
        let issued = self.services.create_key(&who.merchant_id, kind, livemode).await?;
        self.audit(Audited::of(who), "api_key.create", Some(&issued.record.id), Outcome::Success).await;
        Ok(issued)
    }

    /// A replacement of the same kind and mode, shown once; the old key keeps working for the
    /// chosen time (`now`, `1h`, `24h`, `7d`).
    pub async fn roll_api_key(&self, who: &SignedIn, key_id: &str, old_expires_in: &str) -> Result<IssuedKey, BackofficeError> {
        self.permitted(who, Action::ManageKeys, "api_key.roll", key_id).await?;
        let old = self.own_key(who, key_id).await?;
        let Some(&(_, expires_in)) = ROLL_EXPIRIES.iter().find(|(name, _)| *name == old_expires_in) else {
            return Err(ValidationError::new("expiry_invalid", "expires_in", "Choose how long the old key keeps working.").into());
        };
        if !old.is_usable_at(self.services.clock.now()) {
            return Err(BackofficeError::KeyNotUsable);
        }
        let rolled = self.services.roll_key(&old.id, expires_in).await;
        let outcome = if rolled.is_ok() { Outcome::Success } else { Outcome::Failure };
        self.audit(Audited::of(who), "api_key.roll", Some(&old.id), outcome).await;
        Ok(rolled?.0)
    }

    /// Ends a key at once. Revoking one revoked already is done already.
    pub async fn revoke_api_key(&self, who: &SignedIn, key_id: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageKeys, "api_key.revoke", key_id).await?;
        let key = self.own_key(who, key_id).await?;
        if key.revoked_at.is_some() {
            return Ok(());
        }
        self.services.revoke_key(&key.id).await?;
        self.audit(Audited::of(who), "api_key.revoke", Some(&key.id), Outcome::Success).await;
        Ok(())
    }

    /// The merchant's endpoints in one mode, oldest first.
    pub async fn webhook_endpoints(&self, who: &SignedIn, live: bool) -> Result<Vec<WebhookEndpoint>, BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.read", &who.merchant_id).await?;
        let scope = Scope { merchant_id: who.merchant_id.clone(), livemode: live };
        let mut all = Vec::new();
        let mut page = Page::first(100);
        loop {
            let list = self.services.list_webhook_endpoints(&scope, page).await?;
            all.extend(list.data);
            match list.next {
                Some(after) => page = Page { limit: 100, after: Some(after) },
                None => break,
            }
        }
        all.reverse();
        Ok(all)
    }

    /// The endpoint in the session's merchant, in whichever mode it lives.
    pub async fn find_endpoint(&self, who: &SignedIn, id: &str) -> Result<(Scope, WebhookEndpoint), BackofficeError> {
        if !IdKind::WebhookEndpoint.is_well_formed(id) {
            return Err(BackofficeError::NotFound);
        }
        self.in_either_mode(who, |scope| async move { self.services.get_webhook_endpoint(&scope, id).await }).await
    }

    /// A new endpoint; the answer carries its `whsec_` secret, shown this once.
    pub async fn create_endpoint(&self, who: &SignedIn, mode: &str, url: &str, events: Vec<String>) -> Result<WebhookEndpoint, BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.create", &who.merchant_id).await?;
        let scope = Scope { merchant_id: who.merchant_id.clone(), livemode: mode_of(mode)? };
        let new = NewWebhookEndpoint { url: url.to_owned(), enabled_events: Some(events) };
        let created = self.services.create_webhook_endpoint(&scope, new, None).await?;
        self.audit(Audited::of(who), "webhook.create", Some(&created.id), Outcome::Success).await;
        Ok(created)
    }

    /// Changes the URL and the events the endpoint receives.
    pub async fn change_endpoint(&self, who: &SignedIn, id: &str, url: &str, events: Vec<String>) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.update", id).await?;
        let (scope, _) = self.find_endpoint(who, id).await?;
        let update = WebhookEndpointUpdate { url: Some(url.to_owned()), enabled_events: Some(events), status: None };
        self.services.update_webhook_endpoint(&scope, id, update, None).await?;
        self.audit(Audited::of(who), "webhook.update", Some(id), Outcome::Success).await;
        Ok(())
    }

    /// Disables or enables the endpoint (enabling resumes its waiting deliveries at once).
    pub async fn set_endpoint_enabled(&self, who: &SignedIn, id: &str, enabled: bool) -> Result<(), BackofficeError> {
        let action = if enabled { "webhook.enable" } else { "webhook.disable" };
        self.permitted(who, Action::ManageWebhooks, action, id).await?;
        let (scope, _) = self.find_endpoint(who, id).await?;
        let status = if enabled { EndpointStatus::Enabled } else { EndpointStatus::Disabled };
        let update = WebhookEndpointUpdate { url: None, enabled_events: None, status: Some(status) };
        self.services.update_webhook_endpoint(&scope, id, update, None).await?;
        self.audit(Audited::of(who), action, Some(id), Outcome::Success).await;
        Ok(())
    }

    /// A new secret, shown once; the old one keeps signing for `overlap_hours` (0 to 168).
    pub async fn rotate_endpoint_secret(&self, who: &SignedIn, id: &str, overlap_hours: &str) -> Result<WebhookEndpoint, BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.rotate", id).await?;
        let (scope, _) = self.find_endpoint(who, id).await?;
        let hours: i64 = overlap_hours
            .trim()
            .parse()
            .ok()
            .filter(|h| (0..=168).contains(h))
            .ok_or_else(|| ValidationError::new("overlap_invalid", "overlap_hours", "The overlap is 0 to 168 hours."))?;
        let rotated = self.services.rotate_webhook_secret(&scope, id, Some(hours * 3_600_000), None).await?;
        self.audit(Audited::of(who), "webhook.rotate", Some(id), Outcome::Success).await;
        Ok(rotated)
    }

    /// The endpoint's delivery log, newest first, a page at a time.
    pub async fn endpoint_attempts(&self, who: &SignedIn, id: &str, after: Option<Cursor>) -> Result<(Scope, WebhookEndpoint, List<WebhookAttempt>), BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.read", id).await?;
        let (scope, endpoint) = self.find_endpoint(who, id).await?;
        let attempts = self.services.list_webhook_attempts(&scope, id, Page { limit: PAGE_ROWS, after }).await?;
        Ok((scope, endpoint, attempts))
    }

    /// Sends one of the merchant's events to the endpoint again.
    pub async fn resend_event(&self, who: &SignedIn, id: &str, event_id: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.resend", id).await?;
        let (scope, _) = self.find_endpoint(who, id).await?;
        let event_id = event_id.trim();
        if !IdKind::Event.is_well_formed(event_id) {
            return Err(ValidationError::new("event_invalid", "event", "Give the id of one of your events (evt_...).").into());
        }
        let resent = self.services.resend_webhook(&scope, id, event_id, None).await;
        let outcome = if resent.is_ok() { Outcome::Success } else { Outcome::Failure };
        self.audit(Audited::of(who), "webhook.resend", Some(&format!("{id} {event_id}")), outcome).await;
        resent.map(|_| ()).map_err(|e| match e {
            ServiceError::NotFound(_) => ValidationError::new("event_unknown", "event", "No event of yours in this mode has that id.").into(),
            other => other.into(),
        })
    }

    /// Sends again every delivery to the endpoint that failed for good and whose event happened
    /// at or after `since` (a local time in the merchant's zone); how many.
    pub async fn resend_failed_since(&self, who: &SignedIn, id: &str, since: &str) -> Result<u64, BackofficeError> {
        self.permitted(who, Action::ManageWebhooks, "webhook.resend_failed", id).await?;
        let (scope, _) = self.find_endpoint(who, id).await?;
        let since = who.time_zone.parse_local(since, "since")?;
        let resent = self.services.resend_failed_webhooks(&scope, id, since).await;
        let outcome = if resent.is_ok() { Outcome::Success } else { Outcome::Failure };
        self.audit(Audited::of(who), "webhook.resend_failed", Some(id), outcome).await;
        Ok(resent?)
    }

    /// The merchant's events in one mode, newest first, of one type or family if asked.
    pub async fn events(&self, who: &SignedIn, live: bool, kind: Option<&str>, after: Option<Cursor>) -> Result<List<Event>, BackofficeError> {
        self.permitted(who, Action::ReadEvents, "event.read", &who.merchant_id).await?;
        let kind = kind.map(str::trim).filter(|k| !k.is_empty());
        if let Some(k) = kind {
            if !gateway::domain::event::is_event_type_pattern(k) || k == "*" {
                return Err(ValidationError::new("event_type_invalid", "type", "Choose an event type from the list.").into());
            }
        }
        let scope = Scope { merchant_id: who.merchant_id.clone(), livemode: live };
        let filter = EventFilter { kind: kind.map(str::to_owned), ..Default::default() };
        Ok(self.services.list_events(&scope, &filter, Page { limit: PAGE_ROWS, after }).await?)
    }

    /// One event with its webhook deliveries, in whichever mode it lives.
    pub async fn event(&self, who: &SignedIn, id: &str) -> Result<(Event, Vec<DeliveryRow>), BackofficeError> {
        self.permitted(who, Action::ReadEvents, "event.read", id).await?;
        if !IdKind::Event.is_well_formed(id) {
            return Err(BackofficeError::NotFound);
        }
        let (scope, event) = self.in_either_mode(who, |scope| async move { self.services.get_event(&scope, id).await }).await?;
        let deliveries = self.stores.deliveries.deliveries_of_events(&who.merchant_id, scope.livemode, std::slice::from_ref(&event.id)).await?;
        Ok((event, deliveries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(expires_at: Option<Millis>, revoked_at: Option<Millis>) -> ApiKeyRecord {
        ApiKeyRecord {
            id: "key_a".into(),
            merchant_id: "m".into(),
            kind: KeyKind::Secret,
            livemode: false,
            key_hash: gateway::domain::keys::KeyHash("h".into()),
            display_prefix: "sk_test_abcd…".into(),
            created_at: 0,
            expires_at,
            revoked_at,
            last_used_at: None,
        }
    }

    #[test]
    fn a_key_is_active_expiring_expired_or_revoked() {
        assert_eq!(KeyState::of(&key(None, None), 10), KeyState::Active);
        assert_eq!(KeyState::of(&key(Some(20), None), 10), KeyState::Expiring);
        assert_eq!(KeyState::of(&key(Some(10), None), 10), KeyState::Expired);
        assert_eq!(KeyState::of(&key(Some(20), Some(5)), 10), KeyState::Revoked);
    }

}
