//! The test card processor's book, kept in the database as a real processor keeps its own: its
//! decisions (one per reference) survive a restart, so crash recovery asks it and gets the answer
//! a real processor's status lookup would give. Each operation is one statement or one
//! transaction that locks the authorization row.

use super::db::{query, Row};
use super::{SqlStore, StoreError};
use crate::clock::Millis;
use async_trait::async_trait;

/// One authorization as the processor keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardAuthorization {
    pub id: String,
    pub reference: String,
    /// The processor's response code (`00` approved; see the connector's transformers).
    pub response_code: String,
    pub amount: i64,
    pub captured: bool,
    pub voided: bool,
    /// Authorization requests received for the reference, answered or not.
    pub requests: i64,
    /// Refunded so far.
    pub refunded: i64,
}

#[async_trait]
pub trait TestCardBook: Send + Sync {
    /// Records the decision on a request for `reference`, unless one was made before: the first
    /// decision stands and is returned, and the request is counted either way.
    async fn card_decide(&self, decision: &CardAuthorization, now: Millis) -> Result<CardAuthorization, StoreError>;
    async fn card_authorization(&self, reference: &str) -> Result<Option<CardAuthorization>, StoreError>;
    /// Captures an approved, unvoided authorization of exactly `amount`; `true` also when it was
    /// captured before (captures are idempotent).
    async fn card_capture(&self, authorization_id: &str, amount: i64) -> Result<bool, StoreError>;
    /// Voids an authorization not captured; anything else is left as it is.
    async fn card_void(&self, authorization_id: &str) -> Result<(), StoreError>;
    /// Refunds `amount` of a captured authorization under `reference`, once; `false` when that
    /// would pass what was captured.
    async fn card_refund(&self, authorization_id: &str, reference: &str, amount: i64) -> Result<bool, StoreError>;
    /// Forgets authorizations decided before `before` that can no longer move money (declined,
    /// voided, or held and never captured: lapsed); how many went.
    async fn card_prune(&self, before: Millis) -> Result<u64, StoreError>;
}

const COLUMNS: &str = "a.id, a.reference, a.response_code, a.amount, a.captured, a.voided, a.requests, \
    CAST(COALESCE((SELECT SUM(r.amount) FROM test_card_refunds r WHERE r.authorization_id = a.id), 0) AS BIGINT) AS refunded";

fn authorization(r: &Row) -> Result<CardAuthorization, StoreError> {
    Ok(CardAuthorization {
        id: r.text("id")?,
        reference: r.text("reference")?,
        response_code: r.text("response_code")?,
        amount: r.int("amount")?,
        captured: r.bool("captured")?,
        voided: r.bool("voided")?,
        requests: r.int("requests")?,
        refunded: r.int("refunded")?,
    })
}

#[async_trait]
impl TestCardBook for SqlStore {
    async fn card_decide(&self, d: &CardAuthorization, now: Millis) -> Result<CardAuthorization, StoreError> {
        // One statement: the upsert locks the reference's row and answers the decision that stands.
        let decide = query(
            "INSERT INTO test_card_authorizations (id, reference, response_code, amount, requests, created_at) \
             VALUES ($1, $2, $3, $4, 1, $5) \
             ON CONFLICT (reference) DO UPDATE SET requests = test_card_authorizations.requests + 1 \
             RETURNING id, reference, response_code, amount, captured, voided, requests, \
             CAST(COALESCE((SELECT SUM(r.amount) FROM test_card_refunds r \
             WHERE r.authorization_id = test_card_authorizations.id), 0) AS BIGINT) AS refunded",
        )
        .bind(&d.id)
        .bind(&d.reference)
        .bind(&d.response_code)
        .bind(d.amount)
        .bind(now);
        authorization(&self.db.write_fetch_optional(decide).await?.ok_or(StoreError::NotFound)?)
    }

    async fn card_authorization(&self, reference: &str) -> Result<Option<CardAuthorization>, StoreError> {
        let find = query(format!("SELECT {COLUMNS} FROM test_card_authorizations a WHERE a.reference = $1")).bind(reference);
        self.db.fetch_optional(find).await?.as_ref().map(authorization).transpose()
    }

    async fn card_capture(&self, authorization_id: &str, amount: i64) -> Result<bool, StoreError> {
        let capture = query(
            "UPDATE test_card_authorizations SET captured = TRUE \
             WHERE id = $1 AND response_code = '00' AND NOT voided AND amount = $2",
        )
        .bind(authorization_id)
        .bind(amount);
        Ok(self.db.execute(capture).await? == 1)
    }

    async fn card_void(&self, authorization_id: &str) -> Result<(), StoreError> {
        self.db.execute(query("UPDATE test_card_authorizations SET voided = TRUE WHERE id = $1 AND NOT captured").bind(authorization_id)).await?;
        Ok(())
    }

    async fn card_refund(&self, authorization_id: &str, reference: &str, amount: i64) -> Result<bool, StoreError> {
        let mut tx = self.db.begin().await?;
        // Locks the authorization: concurrent refunds of it are counted one after the other.
        let lock = query("UPDATE test_card_authorizations SET requests = requests WHERE id = $1 AND captured RETURNING amount").bind(authorization_id);
        let Some(captured) = tx.fetch_optional(lock).await? else { return Ok(false) };
        let others = query(
            "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS others FROM test_card_refunds WHERE authorization_id = $1 AND reference <> $2",
        )
        .bind(authorization_id)
        .bind(reference);
        if tx.fetch_one(others).await?.int("others")? + amount > captured.int("amount")? {
            return Ok(false);
        }
        let insert = query(
            "INSERT INTO test_card_refunds (authorization_id, reference, amount) VALUES ($1, $2, $3) \
             ON CONFLICT (authorization_id, reference) DO NOTHING",
        )
        .bind(authorization_id)
        .bind(reference)
        .bind(amount);
        tx.execute(insert).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn card_prune(&self, before: Millis) -> Result<u64, StoreError> {
        self.db.execute(query("DELETE FROM test_card_authorizations WHERE created_at < $1 AND NOT captured").bind(before)).await
    }
}
