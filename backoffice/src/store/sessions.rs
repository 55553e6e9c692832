//! Staff sessions, server-side: the cookie carries a random id, the table a keyed hash of it.
//! Whether a session is still good (idle and absolute limits) is the services' decision.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::store::sql::{query, Row};
use gateway::store::{SqlStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub staff_id: String,
    /// The merchant this session works on (one of the staff member's memberships).
    pub merchant_id: String,
    pub client_ip: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub ended_at: Option<Millis>,
    /// Signed in with the password only: good for the second-factor page and nothing else.
    pub second_factor_pending: bool,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn find_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    async fn touch_session(&self, id_hash: &str, now: Millis) -> Result<(), StoreError>;
    async fn switch_session_merchant(&self, id_hash: &str, merchant_id: &str) -> Result<(), StoreError>;
    async fn end_session(&self, id_hash: &str, now: Millis) -> Result<(), StoreError>;
    /// Ends every open session of the staff member; how many there were.
    async fn end_sessions_of(&self, staff_id: &str, now: Millis) -> Result<u64, StoreError>;
    /// Forgets sessions that ended, were last seen before `idle_before` or began before
    /// `started_before`: none of them can be used again. How many went.
    async fn purge_sessions(&self, idle_before: Millis, started_before: Millis) -> Result<u64, StoreError>;
}

const SESSION_COLUMNS: &str = "id_hash, staff_id, merchant_id, client_ip, created_at, last_seen_at, ended_at, second_factor_pending";

fn session(r: &Row) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id_hash: r.text("id_hash")?,
        staff_id: r.text("staff_id")?,
        merchant_id: r.text("merchant_id")?,
        client_ip: r.text("client_ip")?,
        created_at: r.int("created_at")?,
        last_seen_at: r.int("last_seen_at")?,
        ended_at: r.opt_int("ended_at")?,
        second_factor_pending: r.bool("second_factor_pending")?,
    })
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let insert = query(format!("INSERT INTO staff_sessions ({SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(&s.id_hash)
            .bind(&s.staff_id)
            .bind(&s.merchant_id)
            .bind(&s.client_ip)
            .bind(s.created_at)
            .bind(s.last_seen_at)
            .bind(s.ended_at)
            .bind(s.second_factor_pending);
        self.sql().execute(insert).await?;
        Ok(())
    }

    async fn find_session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = self.sql().fetch_optional(query(format!("SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE id_hash = $1")).bind(id_hash)).await?;
        row.as_ref().map(session).transpose()
    }

    async fn touch_session(&self, id_hash: &str, now: Millis) -> Result<(), StoreError> {
        let touch = query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1").bind(now).bind(id_hash);
        self.sql().execute(touch).await?;
        Ok(())
    }

    async fn switch_session_merchant(&self, id_hash: &str, merchant_id: &str) -> Result<(), StoreError> {
        self.sql().execute(query("UPDATE staff_sessions SET merchant_id = $1 WHERE id_hash = $2").bind(merchant_id).bind(id_hash)).await?;
        Ok(())
    }

    async fn end_session(&self, id_hash: &str, now: Millis) -> Result<(), StoreError> {
        let end = query("UPDATE staff_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL").bind(now).bind(id_hash);
        self.sql().execute(end).await?;
        Ok(())
    }

    async fn end_sessions_of(&self, staff_id: &str, now: Millis) -> Result<u64, StoreError> {
        let end = query("UPDATE staff_sessions SET ended_at = $1 WHERE staff_id = $2 AND ended_at IS NULL").bind(now).bind(staff_id);
        self.sql().execute(end).await
    }

    async fn purge_sessions(&self, idle_before: Millis, started_before: Millis) -> Result<u64, StoreError> {
        let purge = query("DELETE FROM staff_sessions WHERE ended_at IS NOT NULL OR last_seen_at < $1 OR created_at < $2").bind(idle_before).bind(started_before);
        self.sql().execute(purge).await
    }
}
