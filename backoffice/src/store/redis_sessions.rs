//! Staff sessions in Redis, when `REDIS_URL` is set: every replica sees a sign-in, a sign-out
//! and "sign out everywhere" at once, and the database is not written on each request's touch.
//! The same contract as the table (the conformance suite runs on both): a hash per session
//! (`{prefix}:s:{id_hash}`), a set of each staff member's sessions, and a sorted set of all of
//! them for housekeeping. Redis forgets a session by itself 12 hours after it began; whether one
//! is still good is decided on the services clock, as with the table.

use super::{SessionRecord, SessionStore};
use crate::domain::SESSION_ABSOLUTE_MS;
use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::secret::Secret;
use gateway::store::StoreError;
use redis::aio::MultiplexedConnection;
use std::collections::HashMap;
use std::time::Duration;

pub struct RedisSessions {
    client: redis::Client,
    conn: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    prefix: String,
}

impl std::fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("RedisSessions").field("prefix", &self.prefix).finish_non_exhaustive()
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(format!("redis: {:?}", e.kind()))
}

const TOUCH: &str = "if redis.call('EXISTS', KEYS[1]) == 1 and tonumber(redis.call('HGET', KEYS[1], 'last_seen_at')) < tonumber(ARGV[1]) then \
    redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[1]) end return 0";
const SET_IF_PRESENT: &str = "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end return 0";
const END: &str = "if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('HEXISTS', KEYS[1], 'ended_at') == 0 then \
    redis.call('HSET', KEYS[1], 'ended_at', ARGV[1]) return 1 end return 0";

/// `EVAL script 1 key args...`: one key, so it is atomic on that session.
fn eval(script: &str, key: &str, args: &[String]) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(1).arg(key).arg(args);
    cmd
}

impl RedisSessions {
    /// Sessions under `prefix` (`paygate:bos` in production; tests use their own).
    pub fn open(url: &Secret, prefix: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url.expose()).map_err(|_| StoreError::Unavailable("REDIS_URL is not a Redis URL".into()))?;
        Ok(Self { client, conn: tokio::sync::Mutex::new(None), prefix: prefix.to_owned() })
    }

    async fn conn(&self) -> Result<MultiplexedConnection, StoreError> {
        let mut guard = self.conn.lock().await;
        if let Some(conn) = guard.as_ref() {
            return Ok(conn.clone());
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        let conn = self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| {
            tracing::warn!(error = %e, "Redis for sessions cannot be reached");
            unavailable(e)
        })?;
        Ok(guard.insert(conn).clone())
    }

    /// Runs `f` on the connection; a failed connection is dropped so the next call reconnects.
    async fn with<T>(&self, f: impl AsyncFnOnce(&mut MultiplexedConnection) -> redis::RedisResult<T>) -> Result<T, StoreError> {
        let mut conn = self.conn().await?;
        match f(&mut conn).await {
            Ok(value) => Ok(value),
            Err(e) => {
                tracing::warn!(error = %e, "a Redis session command failed");
                if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() {
                    *self.conn.lock().await = None;
                }
                Err(unavailable(e))
            }
        }
    }

    fn key(&self, id_hash: &str) -> String {
        format!("{}:s:{id_hash}", self.prefix)
    }

    fn staff_key(&self, staff_id: &str) -> String {
        format!("{}:staff:{staff_id}", self.prefix)
    }

    fn all_key(&self) -> String {
        format!("{}:all", self.prefix)
    }

    /// Deletes everything under this store's prefix (tests).
    pub async fn clear(&self) -> Result<(), StoreError> {
        let pattern = format!("{}:*", self.prefix);
        self.with(async |c| {
            let keys: Vec<String> = redis::cmd("KEYS").arg(&pattern).query_async(c).await?;
            if !keys.is_empty() {
                redis::cmd("DEL").arg(keys).query_async::<()>(c).await?;
            }
            Ok(())
        })
        .await
    }
}

fn record(id_hash: &str, fields: HashMap<String, String>) -> Result<Option<SessionRecord>, StoreError> {
    if fields.is_empty() {
        return Ok(None);
    }
    let text = |name: &str| fields.get(name).cloned().ok_or_else(|| StoreError::Corrupt(format!("session without {name}")));
    let int = |name: &str| text(name)?.parse::<Millis>().map_err(|_| StoreError::Corrupt(format!("session {name}")));
    Ok(Some(SessionRecord {
        id_hash: id_hash.to_owned(),
        staff_id: text("staff_id")?,
        merchant_id: text("merchant_id")?,
        client_ip: text("client_ip")?,
        created_at: int("created_at")?,
        last_seen_at: int("last_seen_at")?,
        ended_at: fields.get("ended_at").map(|v| v.parse::<Millis>()).transpose().map_err(|_| StoreError::Corrupt("session ended_at".into()))?,
        second_factor_pending: text("second_factor_pending")? == "1",
    }))
}

#[async_trait]
impl SessionStore for RedisSessions {
    async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let (key, staff_key, all_key) = (self.key(&s.id_hash), self.staff_key(&s.staff_id), self.all_key());
        let mut fields = vec![
            ("staff_id", s.staff_id.clone()),
            ("merchant_id", s.merchant_id.clone()),
            ("client_ip", s.client_ip.clone()),
            ("created_at", s.created_at.to_string()),
            ("last_seen_at", s.last_seen_at.to_string()),
            ("second_factor_pending", if s.second_factor_pending { "1" } else { "0" }.to_owned()),
        ];
        if let Some(at) = s.ended_at {
            fields.push(("ended_at", at.to_string()));
        }
        self.with(async |c| {
            redis::pipe()
                .atomic()
                .hset_multiple(&key, &fields)
                .ignore()
                .pexpire(&key, SESSION_ABSOLUTE_MS)
                .ignore()
                .sadd(&staff_key, &s.id_hash)
                .ignore()
                .pexpire(&staff_key, SESSION_ABSOLUTE_MS)
                .ignore()
                .zadd(&all_key, &s.id_hash, s.created_at)
                .ignore()
                .query_async::<()>(c)
                .await
        })
        .await
    }

    async fn find_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let key = self.key(id_hash);
        let fields: HashMap<String, String> = self.with(async |c| redis::cmd("HGETALL").arg(&key).query_async(c).await).await?;
        record(id_hash, fields)
    }

    async fn touch_session(&self, id_hash: &str, now: Millis) -> Result<(), StoreError> {
        let key = self.key(id_hash);
        self.with(async |c| eval(TOUCH, &key, &[now.to_string()]).query_async::<i64>(c).await.map(|_| ())).await
    }

    async fn switch_session_merchant(&self, id_hash: &str, merchant_id: &str) -> Result<(), StoreError> {
        let key = self.key(id_hash);
        self.with(async |c| eval(SET_IF_PRESENT, &key, &["merchant_id".to_owned(), merchant_id.to_owned()]).query_async::<i64>(c).await.map(|_| ())).await
    }

    async fn end_session(&self, id_hash: &str, now: Millis) -> Result<(), StoreError> {
        let key = self.key(id_hash);
        self.with(async |c| eval(END, &key, &[now.to_string()]).query_async::<i64>(c).await.map(|_| ())).await
    }

    async fn end_sessions_of(&self, staff_id: &str, now: Millis) -> Result<u64, StoreError> {
        let staff_key = self.staff_key(staff_id);
        let hashes: Vec<String> = self.with(async |c| redis::cmd("SMEMBERS").arg(&staff_key).query_async(c).await).await?;
        let mut ended = 0;
        for hash in hashes {
            let key = self.key(&hash);
            ended += self.with(async |c| eval(END, &key, &[now.to_string()]).query_async::<u64>(c).await).await?;
        }
        Ok(ended)
    }

    async fn purge_sessions(&self, idle_before: Millis, started_before: Millis) -> Result<u64, StoreError> {
        let all_key = self.all_key();
        let hashes: Vec<String> = self.with(async |c| redis::cmd("ZRANGE").arg(&all_key).arg(0).arg(-1).query_async(c).await).await?;
        let mut purged = 0;
        for hash in hashes {
            let found = self.find_session(&hash).await?;
            let dead = found.as_ref().is_none_or(|s| s.ended_at.is_some() || s.last_seen_at < idle_before || s.created_at < started_before);
            if !dead {
                continue;
            }
            let (key, staff_key) = (self.key(&hash), found.as_ref().map(|s| self.staff_key(&s.staff_id)));
            self.with(async |c| {
                let mut pipe = redis::pipe();
                pipe.atomic().del(&key).ignore().zrem(&all_key, &hash).ignore();
                if let Some(staff_key) = &staff_key {
                    pipe.srem(staff_key, &hash).ignore();
                }
                pipe.query_async::<()>(c).await
            })
            .await?;
            // One Redis forgot on its own was not in use either, but was not deleted here.
            purged += u64::from(found.is_some());
        }
        Ok(purged)
    }
}
