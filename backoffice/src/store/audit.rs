//! The audit log: append-only (no update, no delete but the retention purge), newest first.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::domain::query::{Cursor, Page};
use gateway::store::sql::{query, Row};
use gateway::store::{SqlStore, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
    /// Refused before it was tried: a role without the permission, a lock, a rate limit.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "refused" => Some(Outcome::Refused),
            _ => None,
        }
    }
}

/// Who did what, when, from where, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    /// `None` for what happened before any merchant was known (a failed sign-in).
    pub merchant_id: Option<String>,
    pub staff_id: Option<String>,
    /// The staff member's email, or the email a failed sign-in typed.
    pub actor: String,
    /// `signin`, `signup`, `export`, `refund`, `key.create`, ...
    pub action: String,
    /// The object acted on, if any (`pi_...`, `key_...`).
    pub target: Option<String>,
    pub client_ip: String,
    pub outcome: Outcome,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    pub created_gte: Option<Millis>,
    pub created_lt: Option<Millis>,
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The merchant's entries, newest first.
    async fn list_audit(&self, merchant_id: &str, filter: &AuditFilter, page: &Page) -> Result<Vec<AuditEntry>, StoreError>;
    /// Entries of `staff_id` with no merchant (failed sign-ins), newest first.
    async fn list_audit_of_staff(&self, staff_id: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError>;
    /// Forgets entries older than `before` (the retention period); how many went.
    async fn purge_audit(&self, before: Millis) -> Result<u64, StoreError>;
}

const AUDIT_COLUMNS: &str = "id, merchant_id, staff_id, actor, action, target, client_ip, outcome, created_at";

fn entry(r: &Row) -> Result<AuditEntry, StoreError> {
    let outcome = r.text("outcome")?;
    Ok(AuditEntry {
        id: r.text("id")?,
        merchant_id: r.opt_text("merchant_id")?,
        staff_id: r.opt_text("staff_id")?,
        actor: r.text("actor")?,
        action: r.text("action")?,
        target: r.opt_text("target")?,
        client_ip: r.text("client_ip")?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| StoreError::Corrupt(format!("audit outcome: {outcome}")))?,
        created_at: r.int("created_at")?,
    })
}

/// The keyset position of an entry in the log.
pub fn audit_cursor(e: &AuditEntry) -> Cursor {
    Cursor { created_at: e.created_at, id: e.id.clone() }
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let insert = query(format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(&e.id)
            .bind(&e.merchant_id)
            .bind(&e.staff_id)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.client_ip)
            .bind(e.outcome.as_str())
            .bind(e.created_at);
        self.sql().execute(insert).await?;
        Ok(())
    }

    async fn list_audit(&self, merchant_id: &str, f: &AuditFilter, page: &Page) -> Result<Vec<AuditEntry>, StoreError> {
        let list = query(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE merchant_id = $1 \
               AND ($2 IS NULL OR action = $2) \
               AND ($3 IS NULL OR actor = $3) \
               AND ($4 IS NULL OR created_at >= $4) \
               AND ($5 IS NULL OR created_at < $5) \
               AND ($6 IS NULL OR created_at < $6 OR (created_at = $6 AND id < $7)) \
             ORDER BY created_at DESC, id DESC LIMIT $8"
        ))
        .bind(merchant_id)
        .bind(&f.action)
        .bind(&f.actor)
        .bind(f.created_gte)
        .bind(f.created_lt)
        .bind(page.after.as_ref().map(|c| c.created_at))
        .bind(page.after.as_ref().map(|c| c.id.clone()))
        .bind(i64::from(page.limit));
        self.sql().fetch_all(list).await?.iter().map(entry).collect()
    }

    async fn list_audit_of_staff(&self, staff_id: &str, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let list = query(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE staff_id = $1 AND merchant_id IS NULL ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(staff_id)
        .bind(i64::from(limit));
        self.sql().fetch_all(list).await?.iter().map(entry).collect()
    }

    async fn purge_audit(&self, before: Millis) -> Result<u64, StoreError> {
        self.sql().execute(query("DELETE FROM audit_log WHERE created_at < $1").bind(before)).await
    }
}
