//! Events: listing and retrieval for the REST API, and the starting points of live streams.

use super::{missing, paginate, List, ServiceError, Services};
use crate::domain::event::Event;
use crate::domain::idempotency::{KeyStep, Keyed};
use crate::domain::keys::KeyKind;
use crate::domain::intent::{PaymentIntent, PublicPaymentIntent};
use crate::domain::Scope;
use crate::live::Follow;
use crate::domain::query::{Cursor, EventFilter, Page};
use crate::store::StoreError;

impl Services {
    pub async fn list_events(&self, scope: &Scope, filter: &EventFilter, page: Page) -> Result<List<Event>, ServiceError> {
        // The cursor's position is the sequence number.
        paginate(page, |e: &Event| Cursor { created_at: e.sequence, id: e.id.clone() }, |p| async move {
            self.store.events.list_events(scope, filter, &p).await
        })
        .await
    }

    pub async fn get_event(&self, scope: &Scope, id: &str) -> Result<Event, ServiceError> {
        self.store.events.get_event(scope, id).await.map_err(missing("event"))
    }

    /// Every later event of the merchant's mode; after `last_event_id` when resuming.
    pub async fn follow_merchant(&self, scope: &Scope, last_event_id: Option<&str>) -> Result<Follow, ServiceError> {
        let after = self.resume_point(scope, None, last_event_id).await?;
        Ok(Follow::start(self.store.events.clone(), &self.bus, scope.clone(), None, after).await?)
    }

    /// The intent's events: its history (or what followed `last_event_id`), then each new one
    /// until it reaches a final state.
    pub async fn follow_intent(&self, scope: &Scope, intent_id: &str, last_event_id: Option<&str>) -> Result<Follow, ServiceError> {
        self.get_intent(scope, intent_id).await?;
        let after = self.resume_point(scope, Some(intent_id), last_event_id).await?;
        Ok(Follow::start(self.store.events.clone(), &self.bus, scope.clone(), Some(intent_id.to_owned()), after).await?)
    }

    async fn resume_point(&self, scope: &Scope, object: Option<&str>, last_event_id: Option<&str>) -> Result<Option<i64>, ServiceError> {
        let Some(id) = last_event_id else { return Ok(None) };
        let event = match self.store.events.get_event(scope, id).await {
            Ok(event) => event,
            Err(StoreError::NotFound) => return Err(ServiceError::UnknownLastEventId),
            Err(e) => return Err(e.into()),
        };
        if object.is_some_and(|object| event.data.get("id").and_then(|v| v.as_str()) != Some(object)) {
            return Err(ServiceError::UnknownLastEventId);
        }
        Ok(Some(event.sequence))
    }

    /// The browser's credentials for one intent's stream: the merchant's publishable key and the
    /// intent's client secret. Both must belong to the intent, or nothing is revealed.
    pub async fn authorize_intent_stream(&self, publishable_key: &str, client_secret: &str, intent_id: &str) -> Result<Scope, ServiceError> {
        let key = match self.authenticate(publishable_key).await? {
            Ok(key) if key.kind == KeyKind::Publishable => key,
            _ => return Err(ServiceError::StreamNotAuthorized),
        };
        if self.verify_client_secret(client_secret).as_deref() != Some(intent_id) {
            return Err(ServiceError::StreamNotAuthorized);
        }
        match self.store.intents.get_intent(&key.scope, intent_id).await {
            Ok(_) => Ok(key.scope),
            Err(StoreError::NotFound) => Err(ServiceError::StreamNotAuthorized),
            Err(e) => Err(e.into()),
        }
    }

    /// What the checkout page may read of an intent: with the merchant's publishable key (`scope`)
    /// and the intent's client secret.
    pub async fn get_public_intent(&self, scope: &Scope, client_secret: &str, intent_id: &str) -> Result<PublicPaymentIntent, ServiceError> {
        if self.verify_client_secret(client_secret).as_deref() != Some(intent_id) {
            return Err(ServiceError::ClientSecretInvalid);
        }
        Ok(PublicPaymentIntent::from(&self.get_intent(scope, intent_id).await?))
    }

    /// The customer opened the approval page: tells the checkout (`payment_intent.scanned`, once
    /// per intent however often the page is opened).
    /// Returns the intent, or `None` when it no longer awaits the customer.
    pub async fn record_scan(&self, scope: &Scope, intent_id: &str, key: Option<&Keyed>) -> Result<Option<PaymentIntent>, ServiceError> {
        self.get_intent(scope, intent_id).await?;
        Ok(self.store.intents.record_scan(scope, intent_id, self.clock.now(), key.map(KeyStep::Finish)).await?)
    }
}
