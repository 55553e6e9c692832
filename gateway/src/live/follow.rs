//! One open event stream: a starting point, then every later event of its scope (one intent, or
//! a whole merchant mode) in sequence order, exactly once.

use super::{Subscription, Topic};
use crate::domain::event::{Event, EventNotice};
use crate::domain::Scope;
use crate::store::{EventStore, StoreError};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// Events read from the database per query when catching up.
const CATCH_UP_PAGE: u32 = 500;

/// The intent statuses after which an intent's stream ends.
const FINAL_INTENT_EVENTS: [&str; 4] =
    ["payment_intent.succeeded", "payment_intent.failed", "payment_intent.canceled", "payment_intent.expired"];

pub type StreamItem = Result<Event, StoreError>;

pub struct Follow {
    store: Arc<dyn EventStore>,
    scope: Scope,
    /// `Some` for one intent's stream, `None` for the merchant-wide one.
    object: Option<String>,
    subscription: Subscription,
    /// The last sequence number accounted for: delivered, or (merchant-wide) of the other mode.
    last_seq: i64,
    pending: VecDeque<Event>,
    finished: bool,
}

impl Follow {
    /// Subscribes first, then reads the starting point, so nothing committed in between is missed.
    pub(crate) async fn start(
        store: Arc<dyn EventStore>,
        bus: &Arc<super::EventBus>,
        scope: Scope,
        object: Option<String>,
        after_seq: Option<i64>,
    ) -> Result<Self, StoreError> {
        let topic = match &object {
            Some(id) => Topic::Object(scope.merchant_id.clone(), id.clone()),
            None => Topic::Merchant(scope.merchant_id.clone()),
        };
        let subscription = bus.subscribe(topic);
        let mut follow = Follow { store, scope, object, subscription, last_seq: 0, pending: VecDeque::new(), finished: false };
        let replay = match (after_seq, &follow.object) {
            (Some(seq), _) => {
                follow.last_seq = seq;
                true
            }
            // An intent's stream starts with its whole (short) history: the current state at once.
            (None, Some(_)) => true,
            // The merchant-wide stream starts now.
            (None, None) => {
                let page = crate::domain::query::Page::first(1);
                let latest = follow.store.list_events(&follow.scope, &Default::default(), &page).await?;
                follow.last_seq = latest.first().map_or(0, |e| e.sequence);
                false
            }
        };
        if replay {
            follow.catch_up().await?;
        }
        Ok(follow)
    }

    /// The next event, or `None` when the stream is over (final intent state, or shutdown).
    pub async fn next(&mut self) -> Option<StreamItem> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                if self.object.is_some() && FINAL_INTENT_EVENTS.contains(&event.kind.as_str()) {
                    self.finished = true;
                    self.pending.clear();
                }
                return Some(Ok(event));
            }
            if self.finished || *self.subscription.shutdown.borrow() {
                return None;
            }
            let step = tokio::select! {
                biased;
                _ = self.subscription.shutdown.changed() => return None,
                _ = self.subscription.resync.changed() => self.catch_up().await,
                received = self.subscription.receiver.recv() => match received {
                    Ok(notice) => self.take(&notice).await,
                    Err(RecvError::Lagged(_)) => self.catch_up().await,
                    Err(RecvError::Closed) => return None,
                },
            };
            if let Err(e) = step {
                self.finished = true;
                return Some(Err(e));
            }
        }
    }

    /// A notice that is next in line is delivered as is; anything else sends us to the database.
    async fn take(&mut self, notice: &EventNotice) -> Result<(), StoreError> {
        let seq = notice.event.sequence;
        if seq <= self.last_seq {
            return Ok(());
        }
        let in_line = match &self.object {
            Some(_) => notice.previous_object_seq.unwrap_or(0) == self.last_seq,
            None => seq == self.last_seq + 1,
        };
        if !in_line {
            self.catch_up().await?;
            // Everything up to this notice had committed before it was sent.
            self.last_seq = self.last_seq.max(seq);
            return Ok(());
        }
        self.last_seq = seq;
        if notice.event.livemode == self.scope.livemode {
            self.pending.push_back(notice.event.clone());
        }
        Ok(())
    }

    /// Reads every event after `last_seq` from the database.
    async fn catch_up(&mut self) -> Result<(), StoreError> {
        loop {
            let events = self.store.events_after(&self.scope, self.object.as_deref(), self.last_seq, CATCH_UP_PAGE).await?;
            let full = events.len() as u32 == CATCH_UP_PAGE;
            for event in events {
                self.last_seq = event.sequence;
                self.pending.push_back(event);
            }
            if !full {
                return Ok(());
            }
        }
    }
}
