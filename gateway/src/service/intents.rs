//! Payment intent lifecycle: create, read, cancel, confirm, and the customer's approval through a
//! connector (called outside any database transaction).

use super::{detached, missing, paginate, List, ServiceError, Services};
use std::sync::Arc;
use crate::connector::{Authorization, AuthorizeRequest, ConnectorError, PaymentMethod};
use crate::domain::intent::{
    ConfirmMode, FailureReason, IntentStatus, IntentTransition, NewIntent, PaymentIntent, CONFIRM_WINDOW_MINUTES,
};
use crate::domain::approval;
use crate::domain::idempotency::{KeyStep, Keyed, Resume, Saved};
use crate::domain::Scope;
use crate::ids::{random_base62, IdKind};
use crate::secret::Secret;
use crate::domain::query::{Cursor, IntentFilter, Page};
use crate::store::{NewIntentRecord, TransitionOutcome};

/// A new intent and its client secret, which is shown in this response only.
#[derive(Debug)]
pub struct CreatedIntent {
    pub intent: PaymentIntent,
    pub client_secret: Secret,
}

pub fn intent_cursor(i: &PaymentIntent) -> Cursor {
    Cursor { created_at: i.created_at, id: i.id.clone() }
}

impl Services {
    /// Creates an intent; with a key, the request's answer is saved with the intent itself.
    pub async fn create_intent(&self, scope: &Scope, new: NewIntent, key: Option<&Keyed>) -> Result<CreatedIntent, ServiceError> {
        let now = self.clock.now();
        let id = IdKind::PaymentIntent.generate();
        let client_secret = self.client_secret_for(&id);
        let record = NewIntentRecord {
            scope: scope.clone(),
            links: self.app_links.links(&self.public_url, &random_base62(approval::CODE_LEN)),
            created_at: now,
            expires_at: now + new.expires_in_minutes * 60_000,
            intent: new,
            id,
        };
        let intent = self.store.intents.create_intent(&record, key.map(KeyStep::Finish)).await?;
        Ok(CreatedIntent { intent, client_secret })
    }

    /// The intent's client secret, derived from its id under the server's hashing secret: nothing
    /// to store, unguessable without that secret, and the same on every replica.
    pub fn client_secret_for(&self, intent_id: &str) -> Secret {
        let mac = self.hasher.hash(&format!("client_secret:{intent_id}")).0;
        Secret::new(format!("{intent_id}_secret_{}", &mac[..40]))
    }

    /// Checks a client secret presented by a browser against the intent it names.
    pub fn verify_client_secret(&self, presented: &str) -> Option<String> {
        let (intent_id, _) = presented.split_once("_secret_")?;
        let expected = self.client_secret_for(intent_id);
        let same = expected.expose().len() == presented.len()
            && expected.expose().bytes().zip(presented.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        same.then(|| intent_id.to_owned())
    }

    pub async fn get_intent(&self, scope: &Scope, id: &str) -> Result<PaymentIntent, ServiceError> {
        self.store.intents.get_intent(scope, id).await.map_err(missing("payment_intent"))
    }

    pub async fn list_intents(&self, scope: &Scope, filter: &IntentFilter, page: Page) -> Result<List<PaymentIntent>, ServiceError> {
        paginate(page, intent_cursor, |p| async move { self.store.intents.list_intents(scope, filter, &p).await }).await
    }

    /// Applies a transition, recording `step` with it; a refusal becomes `InvalidState` for `action`.
    async fn transition(
        &self,
        scope: &Scope,
        id: &str,
        t: IntentTransition,
        action: &'static str,
        deadline_check: bool,
        step: Option<KeyStep<'_>>,
    ) -> Result<PaymentIntent, ServiceError> {
        let now = self.clock.now();
        let outcome = self
            .store
            .intents
            .transition_intent(scope, id, &t, now, deadline_check.then_some(now), step)
            .await
            .map_err(missing("payment_intent"))?;
        match outcome {
            TransitionOutcome::Applied(intent) => Ok(intent),
            TransitionOutcome::Refused(current) if deadline_check && t.allowed_from().contains(&current.status) => {
                // Right state, but its window has closed: void it now rather than wait for the sweep.
                self.expire(scope, id, None).await?;
                Err(ServiceError::IntentExpired)
            }
            TransitionOutcome::Refused(current) => Err(ServiceError::InvalidState { action, current: current.status }),
        }
    }

    /// Moves an intent to `expired`, releasing any authorization. Refused silently if it already left.
    pub(crate) async fn expire(&self, scope: &Scope, id: &str, key: Option<&Keyed>) -> Result<Option<PaymentIntent>, ServiceError> {
        let now = self.clock.now();
        let step = key.map(KeyStep::Finish);
        match self.store.intents.transition_intent(scope, id, &IntentTransition::Expire, now, None, step).await.map_err(missing("payment_intent"))? {
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
            (intent.connector.as_deref(), self.store.intents.intent_connector_ref(scope, &intent.id).await)
        else {
            return;
        };
        if let Some(connector) = self.connectors.get(name) {
            if let Err(e) = connector.void(&connector_ref).await {
                tracing::warn!(intent = %intent.id, error = %e, "void of authorization failed");
            }
        }
    }

    pub async fn cancel_intent(&self, scope: &Scope, id: &str, reason: Option<String>, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        let intent = self.transition(scope, id, IntentTransition::Cancel { reason }, "cancel", false, key.map(KeyStep::Finish)).await?;
        self.release_authorization(scope, &intent).await;
        Ok(intent)
    }

    /// Manual confirmation: the merchant server re-sends the amount (the anti-tamper check).
    pub async fn confirm_intent(self: &Arc<Self>, scope: &Scope, id: &str, amount: i64, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        let intent = self.get_intent(scope, id).await?;
        if intent.status != IntentStatus::RequiresConfirmation {
            return Err(ServiceError::InvalidState { action: "confirm", current: intent.status });
        }
        if amount != intent.amount.minor_units() {
            return Err(ServiceError::AmountMismatch { expected: intent.amount.minor_units(), given: amount });
        }
        // The capture is under way from here: a retry after a crash finishes it.
        let resume = Resume::intent(scope, id);
        let checkpoint = key.map(|k| KeyStep::Checkpoint(k, &resume));
        let intent = self.transition(scope, id, IntentTransition::StartCapture, "confirm", true, checkpoint).await?;
        let connector_ref = self.store.intents.intent_connector_ref(scope, id).await?.unwrap_or_default();
        let (this, scope, key) = (self.clone(), scope.clone(), key.cloned());
        detached(async move {
            let captured = this.capture(&scope, intent, connector_ref, key.as_ref()).await?;
            this.answer_unless_saved(key.as_ref(), &captured).await?;
            Ok(captured)
        })
        .await
    }

    /// Captures an intent that is `processing` with a recorded authorization. A refused capture
    /// fails the intent (nothing was captured) and releases the authorization; an unreachable
    /// connector leaves it `processing` for the recovery sweep, which captures again (captures are
    /// idempotent per authorization).
    async fn capture(&self, scope: &Scope, intent: PaymentIntent, connector_ref: String, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        let name = intent.connector.clone().unwrap_or_default();
        let connector = self.connectors.get(&name).ok_or_else(|| ServiceError::ConnectorMissing(name.clone()))?;
        let step = key.map(KeyStep::Finish);
        match connector.capture(&connector_ref, intent.amount).await {
            Ok(()) => self.transition(scope, &intent.id, IntentTransition::Capture { connector_ref }, "capture", false, step).await,
            Err(ConnectorError::Refused(reason)) => {
                tracing::warn!(intent = %intent.id, %reason, "capture refused");
                let fail = IntentTransition::Fail { reason: FailureReason::CaptureFailed };
                let failed = self.transition(scope, &intent.id, fail, "fail", false, step).await?;
                self.release_authorization(scope, &failed).await;
                Ok(failed)
            }
            Err(ConnectorError::Unavailable(reason) | ConnectorError::Timeout(reason)) => {
                tracing::warn!(intent = %intent.id, %reason, "capture outcome unknown; left for recovery");
                Ok(intent)
            }
        }
    }

    /// The customer approved with `method`: authorize, then capture (automatic) or wait for the
    /// merchant's confirm (manual). Exactly one concurrent approval gets past the first step, and
    /// once the connector is involved the work finishes even if the caller goes away. With a key,
    /// the first step records where a retry resumes, and the last one the answer.
    pub async fn approve_intent(
        self: &Arc<Self>,
        scope: &Scope,
        id: &str,
        method: PaymentMethod,
        customer: Option<&str>,
        key: Option<&Keyed>,
    ) -> Result<PaymentIntent, ServiceError> {
        let name = method.connector();
        let connector = self.connectors.get(name).ok_or_else(|| ServiceError::ConnectorMissing(name.into()))?.clone();
        let start = IntentTransition::StartProcessing { connector: name.into(), customer: customer.map(str::to_owned) };
        let resume = Resume::approval(scope, id, &method);
        let intent = self.transition(scope, id, start, "approve", true, key.map(|k| KeyStep::Checkpoint(k, &resume))).await?;
        let (this, scope, key) = (self.clone(), scope.clone(), key.cloned());
        detached(async move {
            let decided = this.authorize_and_decide(&scope, intent, connector, method, key.as_ref()).await?;
            this.answer_unless_saved(key.as_ref(), &decided).await?;
            Ok(decided)
        })
        .await
    }

    async fn authorize_and_decide(
        &self,
        scope: &Scope,
        intent: PaymentIntent,
        connector: Arc<dyn crate::connector::Connector>,
        method: PaymentMethod,
        key: Option<&Keyed>,
    ) -> Result<PaymentIntent, ServiceError> {
        let request = AuthorizeRequest { reference: intent.id.clone(), amount: intent.amount, currency: intent.currency, payment_method: method };
        let authorization = match connector.authorize(&request).await {
            Ok(a) => a,
            Err(ConnectorError::Timeout(reason)) => {
                // The processor may have authorized: ask it, never authorize again.
                tracing::warn!(intent = %intent.id, %reason, "authorization outcome unknown; checking its status");
                match connector.authorization_status(&intent.id).await {
                    Ok(Some(decided)) => decided,
                    Ok(None) => return self.fail_unprocessed(scope, &intent.id, key).await,
                    Err(e) => {
                        // Still unknown: the sweep checks again, with backoff.
                        tracing::warn!(intent = %intent.id, error = %e, "status check failed; left for recovery");
                        return Ok(intent);
                    }
                }
            }
            Err(e) => {
                // Nothing can have been captured: any authorization the processor made lapses.
                tracing::warn!(intent = %intent.id, error = %e, "authorization failed");
                let fail = IntentTransition::Fail { reason: FailureReason::ProcessorUnavailable };
                return self.transition(scope, &intent.id, fail, "fail", false, key.map(KeyStep::Finish)).await;
            }
        };
        self.after_decision(scope, intent, authorization, key).await
    }

    /// Saves the answer under the key when no phase did (the work ended without a last state
    /// change of its own: an outcome still unknown, or work another request finished).
    pub(crate) async fn answer_unless_saved(&self, key: Option<&Keyed>, intent: &PaymentIntent) -> Result<(), ServiceError> {
        if let Some(k) = key.filter(|k| !k.lease.is_answered()) {
            self.store.idempotency.idempotency_answer(&k.lease, &k.finish.answer(Saved::PaymentIntent { intent: intent.clone() })).await?;
        }
        Ok(())
    }

    /// Acts on the processor's decision on an authorization.
    async fn after_decision(&self, scope: &Scope, intent: PaymentIntent, authorization: Authorization, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        match authorization {
            Authorization::Declined(reason) => {
                let fail = IntentTransition::Fail { reason: reason.into() };
                self.transition(scope, &intent.id, fail, "fail", false, key.map(KeyStep::Finish)).await
            }
            Authorization::Approved { connector_ref } => {
                self.store.intents.record_authorization(scope, &intent.id, &connector_ref, self.clock.now()).await?;
                self.after_authorization(scope, intent, connector_ref, key).await
            }
        }
    }

    /// The processor never received the authorization request: nothing can have moved.
    async fn fail_unprocessed(&self, scope: &Scope, id: &str, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        let fail = IntentTransition::Fail { reason: FailureReason::ProcessingInterrupted };
        self.transition(scope, id, fail, "fail", false, key.map(KeyStep::Finish)).await
    }

    /// Manual mode waits for the merchant's confirm; automatic mode captures now.
    async fn after_authorization(&self, scope: &Scope, intent: PaymentIntent, connector_ref: String, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        match intent.confirm_mode {
            ConfirmMode::Manual => {
                let confirm_deadline = self.clock.now() + CONFIRM_WINDOW_MINUTES * 60_000;
                let t = IntentTransition::RequireConfirmation { connector_ref, confirm_deadline };
                self.transition(scope, &intent.id, t, "authorize", false, key.map(KeyStep::Finish)).await
            }
            ConfirmMode::Automatic => self.capture(scope, intent, connector_ref, key).await,
        }
    }

    /// Finishes an intent left `processing` by a crash, a timeout or an unreachable connector.
    /// Without a recorded authorization, the processor's status check says what happened (it may
    /// have authorized before the answer was lost); with one, it goes on from where it stopped
    /// (captures are idempotent per authorization, so a capture already made is not repeated).
    /// With a key (a retry resuming the request that left it), the last phase saves its answer;
    /// when that request had not reached the processor yet, `authorize_with` (how the customer
    /// pays) lets the retry ask it now, under the same reference, so the approval goes through.
    pub(crate) async fn recover_processing(
        &self,
        scope: &Scope,
        id: &str,
        key: Option<&Keyed>,
        authorize_with: Option<&PaymentMethod>,
    ) -> Result<PaymentIntent, ServiceError> {
        let intent = self.get_intent(scope, id).await?;
        match self.store.intents.intent_connector_ref(scope, id).await? {
            None => {
                let name = intent.connector.clone().unwrap_or_default();
                let Some(connector) = self.connectors.get(&name) else {
                    return self.fail_unprocessed(scope, id, key).await;
                };
                match connector.authorization_status(id).await {
                    Ok(Some(decided)) => self.after_decision(scope, intent, decided, key).await,
                    // The processor is idempotent per reference: were the first request still
                    // asking, both get the one decision.
                    Ok(None) => match authorize_with {
                        Some(method) => self.authorize_and_decide(scope, intent, connector.clone(), method.clone(), key).await,
                        None => self.fail_unprocessed(scope, id, key).await,
                    },
                    // Still unknown: stays `processing`; the sweep asks again later.
                    Err(e) => {
                        tracing::warn!(intent = %id, error = %e, "status check failed");
                        Ok(intent)
                    }
                }
            }
            // Approved by the customer, never offered to the merchant for confirmation.
            Some(r) if intent.confirm_mode == ConfirmMode::Manual && intent.confirm_deadline.is_none() => {
                self.after_authorization(scope, intent, r, key).await
            }
            Some(r) => self.capture(scope, intent, r, key).await,
        }
    }

    /// The customer (`customer`, when signed in to a wallet account) declined on the approval page.
    pub async fn decline_intent(&self, scope: &Scope, id: &str, customer: Option<&str>, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        let decline = IntentTransition::Decline { customer: customer.map(str::to_owned) };
        self.transition(scope, id, decline, "decline", false, key.map(KeyStep::Finish)).await
    }

    /// Ends the payment window now (test helper).
    pub async fn expire_intent_now(&self, scope: &Scope, id: &str, key: Option<&Keyed>) -> Result<PaymentIntent, ServiceError> {
        match self.expire(scope, id, key).await? {
            Some(intent) => Ok(intent),
            None => {
                let current = self.get_intent(scope, id).await?;
                Err(ServiceError::InvalidState { action: "expire", current: current.status })
            }
        }
    }
}
