//! Payment intent lifecycle: create, read, cancel, confirm, and the customer's approval through a
//! connector (called outside any database transaction).

use super::{missing, paginate, List, ServiceError, Services};
use crate::connector::{Authorization, AuthorizeRequest, PaymentMethod};
use crate::domain::intent::{
    ConfirmMode, IntentStatus, IntentTransition, NewIntent, PaymentIntent, CONFIRM_WINDOW_MINUTES,
};
use crate::domain::Scope;
use crate::ids::{random_base62, IdKind};
use crate::secret::Secret;
use crate::store::{Cursor, IntentFilter, NewIntentRecord, Page, TransitionOutcome};

/// A new intent and its client secret, which is shown in this response only.
#[derive(Debug)]
pub struct CreatedIntent {
    pub intent: PaymentIntent,
    pub client_secret: Secret,
}

fn intent_cursor(i: &PaymentIntent) -> Cursor {
    Cursor { created_at: i.created_at, id: i.id.clone() }
}

impl Services {
    pub async fn create_intent(&self, scope: &Scope, new: NewIntent) -> Result<CreatedIntent, ServiceError> {
        let now = self.clock.now();
        let id = IdKind::PaymentIntent.generate();
        let client_secret = Secret::new(format!("{id}_secret_{}", random_base62(32)));
        let approval_code = random_base62(32);
        let record = NewIntentRecord {
            scope: scope.clone(),
            client_secret_hash: self.hasher.hash(client_secret.expose()).0,
            approval_url: format!("{}/p/{approval_code}", self.public_url.trim_end_matches('/')),
            approval_code,
            created_at: now,
            expires_at: now + new.expires_in_minutes * 60_000,
            intent: new,
            id,
        };
        let intent = self.store.create_intent(&record).await?;
        Ok(CreatedIntent { intent, client_secret })
    }

    pub async fn get_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, ServiceError> {
        self.store.get_intent(scope, id).await.map_err(missing("payment_intent"))
    }

    pub async fn list_intents(&self, scope: &Scope, filter: &IntentFilter, page: Page) -> Result<List<PaymentIntent>, ServiceError> {
        paginate(page, intent_cursor, |p| async move { self.store.list_intents(scope, filter, &p).await }).await
    }

    /// Applies a transition; a refusal becomes `InvalidState` for `action`.
    async fn transition(
        &self,
        scope: &Scope,
        id: &str,
        t: IntentTransition,
        action: &'static str,
        deadline_check: bool,
    ) -> Result<PaymentIntent, ServiceError> {
        let now = self.clock.now();
        let outcome = self
            .store
            .transition_intent(scope, id, &t, now, deadline_check.then_some(now))
            .await
            .map_err(missing("payment_intent"))?;
        match outcome {
            TransitionOutcome::Applied(intent) => Ok(intent),
            TransitionOutcome::Refused(current) if deadline_check && t.allowed_from().contains(&current.status) => {
                // Right state, but its window has closed: void it now rather than wait for the sweep.
                self.expire(scope, id).await?;
                Err(ServiceError::IntentExpired)
            }
            TransitionOutcome::Refused(current) => Err(ServiceError::InvalidState { action, current: current.status }),
        }
    }

    /// Moves an intent to `expired`, releasing any authorization. Refused silently if it already left.
    pub(crate) async fn expire(&self, scope: &Scope, id: &str) -> Result<Option<PaymentIntent>, ServiceError> {
        let now = self.clock.now();
        match self.store.transition_intent(scope, id, &IntentTransition::Expire, now, None).await.map_err(missing("payment_intent"))? {
            TransitionOutcome::Applied(intent) => {
                self.release_authorization(scope, &intent).await;
                Ok(Some(intent))
            }
            TransitionOutcome::Refused(_) => Ok(None),
        }
    }

    /// Voids a held authorization at the connector after the intent left for good. Best effort: the
    /// authorization lapses at the processor anyway, and nothing was captured.
    async fn release_authorization(&self, scope: &Scope, intent: &PaymentIntent) {
        let (Some(name), Ok(Some(connector_ref))) =
            (intent.connector.as_deref(), self.store.intent_connector_ref(scope, &intent.id).await)
        else {
            return;
        };
        if let Some(connector) = self.connectors.get(name) {
            if let Err(e) = connector.void(&connector_ref).await {
                tracing::warn!(intent = %intent.id, error = %e, "void of authorization failed");
            }
        }
    }

    pub async fn cancel_intent(&self, scope: &Scope, id: &str, reason: Option<String>) -> Result<PaymentIntent, ServiceError> {
        let intent = self.transition(scope, id, IntentTransition::Cancel { reason }, "cancel", false).await?;
        self.release_authorization(scope, &intent).await;
        Ok(intent)
    }

    /// Manual confirmation: the merchant server re-sends the amount (the anti-tamper check).
    pub async fn confirm_intent(&self, scope: &Scope, id: &str, amount: i64) -> Result<PaymentIntent, ServiceError> {
        let intent = self.get_intent(scope, id).await?;
        if intent.status != IntentStatus::RequiresConfirmation {
            return Err(ServiceError::InvalidState { action: "confirm", current: intent.status });
        }
        if amount != intent.amount {
            return Err(ServiceError::AmountMismatch { expected: intent.amount, given: amount });
        }
        let intent = self.transition(scope, id, IntentTransition::StartCapture, "confirm", true).await?;
        let connector_ref = self.store.intent_connector_ref(scope, id).await?.unwrap_or_default();
        self.capture(scope, intent, connector_ref).await
    }

    /// Captures an intent that is `processing` with an approved authorization. A refused capture
    /// fails the intent (nothing was captured) and returns it.
    async fn capture(&self, scope: &Scope, intent: PaymentIntent, connector_ref: String) -> Result<PaymentIntent, ServiceError> {
        let name = intent.connector.clone().unwrap_or_default();
        let connector = self.connectors.get(&name).ok_or_else(|| ServiceError::ConnectorMissing(name.clone()))?;
        if let Err(e) = connector.capture(&connector_ref, intent.amount).await {
            tracing::warn!(intent = %intent.id, error = %e, "capture failed");
            let fail = IntentTransition::Fail { code: "capture_failed".into(), message: "The processor refused the capture.".into() };
            return self.transition(scope, &intent.id, fail, "fail", false).await;
        }
        self.transition(scope, &intent.id, IntentTransition::Capture { connector_ref }, "capture", false).await
    }

    /// The customer approved with `method`: authorize, then capture (automatic) or wait for the
    /// merchant's confirm (manual). Exactly one concurrent approval gets past the first step.
    pub async fn approve_intent(&self, scope: &Scope, id: &str, method: PaymentMethod) -> Result<PaymentIntent, ServiceError> {
        let name = method.connector();
        let connector = self.connectors.get(name).ok_or_else(|| ServiceError::ConnectorMissing(name.into()))?.clone();
        let start = IntentTransition::StartProcessing { connector: name.into() };
        let intent = self.transition(scope, id, start, "approve", true).await?;
        let request = AuthorizeRequest {
            reference: intent.id.clone(),
            amount: intent.amount,
            currency: intent.currency,
            payment_method: method,
        };
        let authorization = match connector.authorize(&request).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(intent = %intent.id, error = %e, "authorization failed");
                let fail = IntentTransition::Fail { code: "processor_unavailable".into(), message: "The processor could not be reached.".into() };
                return self.transition(scope, id, fail, "fail", false).await;
            }
        };
        match authorization {
            Authorization::Declined(reason) => {
                let fail = IntentTransition::Fail { code: reason.code().into(), message: reason.message().into() };
                self.transition(scope, id, fail, "fail", false).await
            }
            Authorization::Approved { connector_ref } => match intent.confirm_mode {
                ConfirmMode::Manual => {
                    let confirm_deadline = self.clock.now() + CONFIRM_WINDOW_MINUTES * 60_000;
                    let t = IntentTransition::RequireConfirmation { connector_ref, confirm_deadline };
                    self.transition(scope, id, t, "authorize", false).await
                }
                ConfirmMode::Automatic => self.capture(scope, intent, connector_ref).await,
            },
        }
    }

    /// The customer declined on the approval page (test helper for now).
    pub async fn decline_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, ServiceError> {
        self.transition(scope, id, IntentTransition::Decline, "decline", false).await
    }

    /// Ends the payment window now (test helper).
    pub async fn expire_intent_now(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, ServiceError> {
        match self.expire(scope, id).await? {
            Some(intent) => Ok(intent),
            None => {
                let current = self.get_intent(scope, id).await?;
                Err(ServiceError::InvalidState { action: "expire", current: current.status })
            }
        }
    }
}
