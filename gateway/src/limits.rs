//! Rate limits: fixed windows of the services' clock, counted per (bucket, key, window). Counts
//! live in Redis when one is configured, so every replica shares them; in this process
//! otherwise, and also whenever Redis fails (it is never required for payments).

use crate::api::error::ApiError;
use crate::clock::{Clock, Millis};
use crate::secret::Secret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What is being limited; each has its own allowance per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Sign-in attempts from one client address.
    SignInClient,
    /// Sign-in attempts at one account identifier.
    SignInIdentifier,
    /// Approve attempts by one customer.
    Approve,
    /// Back-office sign-ins from one client address.
    StaffSignInClient,
    /// Back-office sign-ins at one email address (a keyed hash of it).
    StaffSignInEmail,
    /// Merchant sign-ups and confirmation codes from one client address.
    MerchantSignUpClient,
    /// Two-factor codes tried by one staff member.
    StaffSecondFactor,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::SignInClient => "signin_client",
            Bucket::SignInIdentifier => "signin_identifier",
            Bucket::Approve => "approve",
            Bucket::StaffSignInClient => "staff_signin_client",
            Bucket::StaffSignInEmail => "staff_signin_email",
            Bucket::MerchantSignUpClient => "merchant_signup_client",
            Bucket::StaffSecondFactor => "staff_second_factor",
        }
    }

    /// Attempts allowed per window.
    pub fn limit(self) -> u64 {
        match self {
            Bucket::SignInClient => 20,
            Bucket::SignInIdentifier => 10,
            Bucket::Approve => 10,
            Bucket::StaffSignInClient => 20,
            Bucket::StaffSignInEmail => 10,
            Bucket::MerchantSignUpClient => 10,
            Bucket::StaffSecondFactor => 5,
        }
    }
}

/// Every bucket counts per minute of the services' clock.
const WINDOW_MS: Millis = 60_000;

/// After Redis fails, how long (services clock) to count in process before trying it again.
const REDIS_RETRY_MS: Millis = 5_000;

/// Counts attempts and refuses those over a bucket's limit.
pub struct RateLimiter {
    clock: Arc<dyn Clock>,
    local: LocalCounts,
    redis: Option<RedisCounts>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("redis", &self.redis.is_some()).finish()
    }
}

impl RateLimiter {
    /// Counts in Redis at `redis_url` when given (falling back to this process when it fails),
    /// in this process otherwise.
    pub fn new(clock: Arc<dyn Clock>, redis_url: Option<&Secret>) -> Self {
        let redis = redis_url.and_then(|url| match redis::Client::open(url.expose()) {
            Ok(client) => Some(RedisCounts { client, conn: tokio::sync::Mutex::new(None), retry_at: Mutex::new(Millis::MIN) }),
            Err(e) => {
                tracing::warn!(error = %e, "the Redis URL for rate limits is not valid; counting in this process");
                None
            }
        });
        Self { clock, local: LocalCounts::default(), redis }
    }

    /// Counts one attempt; a 429 `rate_limited` with its `Retry-After` when over the limit.
    pub async fn check(&self, bucket: Bucket, key: &str) -> Result<(), ApiError> {
        self.attempt(bucket, key).await.map_err(ApiError::rate_limited)
    }

    /// Counts one attempt; `Err(seconds until the window ends)` when over the limit.
    pub async fn attempt(&self, bucket: Bucket, key: &str) -> Result<(), u64> {
        let now = self.clock.now();
        let window = now.div_euclid(WINDOW_MS);
        let window_end = (window + 1) * WINDOW_MS;
        let shared = match &self.redis {
            Some(redis) => redis.incr(bucket, key, window, now).await,
            None => None,
        };
        let count = match shared {
            Some(count) => count,
            None => self.local.incr(bucket, key, window, now, window_end),
        };
        if count > bucket.limit() {
            let secs = (window_end - now + 999) / 1000;
            Err(u64::try_from(secs).unwrap_or(1).max(1))
        } else {
            Ok(())
        }
    }
}

/// Counts in this process; windows that have ended are pruned once per minute of clock.
#[derive(Default)]
struct LocalCounts {
    inner: Mutex<LocalState>,
}

#[derive(Default)]
struct LocalState {
    /// (bucket, key, window) -> (count, window end)
    counts: HashMap<(Bucket, String, i64), (u64, Millis)>,
    next_prune: Millis,
}

impl LocalCounts {
    fn incr(&self, bucket: Bucket, key: &str, window: i64, now: Millis, window_end: Millis) -> u64 {
        // A poisoned lock only means another thread panicked mid-count; the map is still usable.
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if now >= state.next_prune {
            state.counts.retain(|_, (_, end)| *end > now);
            state.next_prune = now + 60_000;
        }
        let entry = state.counts.entry((bucket, key.to_owned(), window)).or_insert((0, window_end));
        entry.0 += 1;
        entry.0
    }
}

struct RedisCounts {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    /// While Redis is failing: when to try it again.
    retry_at: Mutex<Millis>,
}

impl RedisCounts {
    /// The count after this attempt, or `None` when Redis cannot say (logged).
    async fn incr(&self, bucket: Bucket, key: &str, window: i64, now: Millis) -> Option<u64> {
        if now < *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) {
            return None;
        }
        let redis_key = format!("paygate:rl:{}:{key}:{window}", bucket.name());
        match self.try_incr(&redis_key, WINDOW_MS).await {
            Ok(count) => Some(count),
            Err(e) => {
                tracing::warn!(error = %e, bucket = bucket.name(), "Redis rate-limit count failed; counting in this process");
                *self.conn.lock().await = None;
                *self.retry_at.lock().unwrap_or_else(|p| p.into_inner()) = now + REDIS_RETRY_MS;
                None
            }
        }
    }

    async fn try_incr(&self, redis_key: &str, window_ms: Millis) -> redis::RedisResult<u64> {
        // The multiplexed connection is shared by clones; the lock only guards (re)connecting.
        let mut conn = {
            let mut guard = self.conn.lock().await;
            match guard.as_ref() {
                Some(conn) => conn.clone(),
                None => {
                    let config = redis::AsyncConnectionConfig::new()
                        .set_connection_timeout(Some(Duration::from_millis(500)))
                        .set_response_timeout(Some(Duration::from_millis(500)));
                    guard.insert(self.client.get_multiplexed_async_connection_with_config(&config).await?).clone()
                }
            }
        };
        // The key outlives its window a little, whatever the skew between replicas' clocks.
        let (count, _): (u64, i64) =
            redis::pipe().atomic().incr(redis_key, 1).pexpire(redis_key, window_ms * 2).query_async(&mut conn).await?;
        Ok(count)
    }
}
