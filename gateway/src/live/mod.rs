//! Live status: carries committed events from where they happen to the open event streams.
//!
//! The database is the source of truth; the bus only says "this just committed". Each stream
//! delivers a notice at once when it is the next one in line for it, and reads the database
//! otherwise (a gap, a lagging subscriber, a carrier that reconnected), so a lost notice delays
//! an event but never loses it. Within one process notices go straight to the subscribers; with
//! `REDIS_URL` they also travel through Redis pub/sub to the other replicas.

mod follow;
mod relay;

pub use follow::{Follow, StreamItem};

use crate::domain::event::EventNotice;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};

/// Notices a subscriber may fall behind by before it re-reads the database instead: a whole
/// merchant's events come faster than one intent's, and there are far more intent streams.
const MERCHANT_BUFFER: usize = 256;
const OBJECT_BUFFER: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Topic {
    /// Every event of one merchant, both modes.
    Merchant(String),
    /// The events of one object (an intent) of one merchant.
    Object(String, String),
}

/// How live streams behave; tests shorten the keep-alive.
#[derive(Debug, Clone)]
pub struct LiveSettings {
    /// A comment line is sent this often on an idle stream, so proxies keep it open.
    pub keep_alive: Duration,
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self { keep_alive: Duration::from_secs(15) }
    }
}

pub struct EventBus {
    topics: Mutex<HashMap<Topic, broadcast::Sender<Arc<EventNotice>>>>,
    /// Bumped when notices may have been lost (a carrier reconnected): every stream re-reads.
    resync: watch::Sender<u64>,
    /// Set once the process is shutting down: every stream ends.
    shutdown: watch::Sender<bool>,
    /// Where notices go to reach other replicas, when a carrier is attached.
    outbound: Mutex<Option<mpsc::Sender<Arc<EventNotice>>>>,
    /// The carrier's Redis, for readiness checks.
    redis: Mutex<Option<::redis::Client>>,
    pub settings: LiveSettings,
}

impl EventBus {
    pub fn new(settings: LiveSettings) -> Arc<Self> {
        Arc::new(Self {
            topics: Mutex::new(HashMap::new()),
            resync: watch::Sender::new(0),
            shutdown: watch::Sender::new(false),
            outbound: Mutex::new(None),
            redis: Mutex::new(None),
            settings,
        })
    }

    /// Called after each commit with the events it appended.
    pub fn publish(&self, notices: Vec<EventNotice>) {
        let outbound = self.outbound.lock().ok().and_then(|o| o.clone());
        for notice in notices {
            let notice = Arc::new(notice);
            self.deliver_local(&notice);
            if let Some(out) = &outbound {
                if out.try_send(notice).is_err() {
                    // The carrier is far behind or gone; replicas catch up on its next resync.
                    tracing::warn!("live event carrier queue full; other replicas will resync");
                }
            }
        }
    }

    /// Hands a notice to this process's subscribers.
    pub(crate) fn deliver_local(&self, notice: &Arc<EventNotice>) {
        let Ok(topics) = self.topics.lock() else { return };
        for topic in [Topic::Merchant(notice.merchant_id.clone()), Topic::Object(notice.merchant_id.clone(), notice.object_id.clone())] {
            if let Some(sender) = topics.get(&topic) {
                let _ = sender.send(notice.clone());
            }
        }
    }

    /// Tells every stream to re-read the database.
    pub fn resync_all(&self) {
        self.resync.send_modify(|n| *n += 1);
    }

    /// Ends every open stream (SIGTERM): clients reconnect elsewhere with `Last-Event-ID`.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    pub(crate) fn subscribe(self: &Arc<Self>, topic: Topic) -> Subscription {
        let receiver = match self.topics.lock() {
            Ok(mut topics) => {
                let buffer = if matches!(topic, Topic::Merchant(_)) { MERCHANT_BUFFER } else { OBJECT_BUFFER };
                topics.entry(topic.clone()).or_insert_with(|| broadcast::channel(buffer).0).subscribe()
            }
            // A poisoned map cannot route notices; the stream still works by resyncs.
            Err(_) => broadcast::channel(1).1,
        };
        Subscription {
            receiver,
            resync: self.resync.subscribe(),
            shutdown: self.shutdown.subscribe(),
            topic,
            bus: self.clone(),
        }
    }

    /// Carries notices between replicas through Redis pub/sub, reconnecting until the process ends.
    pub fn attach_redis(self: &Arc<Self>, url: &str) -> Result<(), String> {
        let client = ::redis::Client::open(url).map_err(|e| format!("REDIS_URL is not valid: {e}"))?;
        let (tx, rx) = mpsc::channel(10_000);
        if let Ok(mut outbound) = self.outbound.lock() {
            *outbound = Some(tx);
        }
        if let Ok(mut redis) = self.redis.lock() {
            *redis = Some(client.clone());
        }
        relay::spawn(self.clone(), client, rx);
        Ok(())
    }

    /// Whether the carrier's Redis answers a `PING` within half a second; `None` without one.
    pub async fn redis_reachable(&self) -> Option<bool> {
        let client = self.redis.lock().ok()?.clone()?;
        let ping = async {
            let config = ::redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500)))
                .set_response_timeout(Some(Duration::from_millis(500)));
            let mut conn = client.get_multiplexed_async_connection_with_config(&config).await.ok()?;
            ::redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
        };
        Some(tokio::time::timeout(Duration::from_millis(600), ping).await.ok().flatten().is_some())
    }
}

/// One stream's view of the bus; leaving drops the topic when nobody else listens.
pub(crate) struct Subscription {
    pub(crate) receiver: broadcast::Receiver<Arc<EventNotice>>,
    pub(crate) resync: watch::Receiver<u64>,
    pub(crate) shutdown: watch::Receiver<bool>,
    topic: Topic,
    bus: Arc<EventBus>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Ok(mut topics) = self.bus.topics.lock() {
            // Our own receiver is still alive here, hence `<= 1`.
            if topics.get(&self.topic).is_some_and(|s| s.receiver_count() <= 1) {
                topics.remove(&self.topic);
            }
        }
    }
}
