//! Idempotency keys: one row per (owner, mode, method, path, key) with a fingerprint of the body.
//! A request owns its key under a lease; each phase of its work records the key's next state in
//! the phase's own transaction ([`record`]): where a retry resumes, or the answer. Only the
//! lease holder may record, so a request whose lease passed to a retry cannot commit its effect.

use super::db::{query, Query, Tx};
use super::{SqlStore, StoreError};
use crate::clock::Millis;
use crate::domain::idempotency::{Finish, IdempotencyScope, KeyLease, KeyStep, Resume, Saved, SavedAnswer};
use crate::ids::random_base62;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

// Short-lived, one per request: not worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum IdempotencyBegin {
    /// This request owns the key until its lease ends and runs the work.
    Started(KeyLease),
    /// The request that owned the key died after committing part of its work; this one now
    /// owns the key and finishes that work from where it stopped.
    Resume(KeyLease, Resume, Finish),
    InFlight,
    /// The key was used with a different body.
    Mismatch,
    Completed(SavedAnswer),
    /// Answered before answers were saved as data (migration 0005): it cannot be replayed.
    Unreplayable,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn idempotency_begin(&self, key: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, StoreError>;
    /// Saves an answer that came with no effect of its own (a refusal, or work that an earlier
    /// phase or another request already did), if `lease` still owns the key; `false` when it
    /// does not.
    async fn idempotency_answer(&self, lease: &KeyLease, answer: &SavedAnswer) -> Result<bool, StoreError>;
    /// After a server error: forgets the key when no phase committed under it, so a retry runs
    /// afresh; otherwise ends the lease now, so a retry resumes at once.
    async fn idempotency_release(&self, lease: &KeyLease) -> Result<(), StoreError>;
    /// Forgets keys made before `created_before`; how many went.
    async fn idempotency_purge(&self, created_before: Millis) -> Result<u64, StoreError>;
}

/// What `resume` holds: where to pick up, and how the answer is then shown.
#[derive(Serialize, Deserialize)]
struct Checkpoint {
    resume: Resume,
    finish: Finish,
}

/// Matches one idempotency key: its five scope columns are always `$1`..`$5` (`merchant_id`
/// holds the owner: a merchant, or a wallet customer).
const KEY_MATCH: &str = "merchant_id = $1 AND livemode = $2 AND method = $3 AND path = $4 AND key = $5";

fn keyed(sql: impl Into<std::borrow::Cow<'static, str>>, k: &IdempotencyScope) -> Query {
    query(sql).bind(&k.owner).bind(k.livemode).bind(&k.method).bind(&k.path).bind(&k.key)
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("idempotency record: {e}")))
}

/// Records `step` under its key inside `tx`, the phase's own transaction; `object` is the
/// phase's result, the answer when the step finishes the work. Fails with
/// [`StoreError::LeaseLost`] (and the caller's transaction rolls back) when the lease passed on.
pub(super) async fn record(tx: &mut Tx, step: KeyStep<'_>, object: impl FnOnce() -> Saved) -> Result<(), StoreError> {
    let owned = match step {
        KeyStep::Checkpoint(keyed_request, resume) => {
            let checkpoint = json(&Checkpoint { resume: resume.clone(), finish: keyed_request.finish.clone() })?;
            let save = format!("UPDATE idempotency_keys SET resume = $6 WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $7");
            let lease = &keyed_request.lease;
            tx.execute(keyed(save, &lease.scope).bind(checkpoint).bind(&lease.token)).await?
        }
        KeyStep::Finish(keyed_request) => {
            let answer = keyed_request.finish.answer(object());
            let save = format!(
                "UPDATE idempotency_keys SET state = 'done', response_status = $6, answer = $7, resume = NULL \
                 WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $8"
            );
            let lease = &keyed_request.lease;
            tx.execute(keyed(save, &lease.scope).bind(i64::from(answer.status)).bind(json(&answer)?).bind(&lease.token)).await?
        }
    };
    if owned == 0 {
        return Err(StoreError::LeaseLost);
    }
    Ok(())
}

/// After the commit of a step: a finishing step's request has its answer saved.
pub(super) fn committed(step: Option<KeyStep<'_>>) {
    if let Some(KeyStep::Finish(keyed_request)) = step {
        keyed_request.lease.mark_answered();
    }
}

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn idempotency_begin(&self, k: &IdempotencyScope, fingerprint: &str, now: Millis, lease_until: Millis) -> Result<IdempotencyBegin, StoreError> {
        let token = random_base62(24);
        let insert = "INSERT INTO idempotency_keys (merchant_id, livemode, method, path, key, fingerprint, state, lease_token, locked_until, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, 'in_flight', $7, $8, $9) ON CONFLICT DO NOTHING";
        let select = format!("SELECT fingerprint, state, answer, resume, locked_until FROM idempotency_keys WHERE {KEY_MATCH}");
        let mut tx = self.db.begin().await?;
        // The row may vanish between a refused insert and the read (a release): try again.
        let mut attempts = 0;
        let row = loop {
            attempts += 1;
            let inserted = tx.execute(keyed(insert, k).bind(fingerprint).bind(&token).bind(lease_until).bind(now)).await?;
            if inserted == 1 {
                tx.commit().await?;
                return Ok(IdempotencyBegin::Started(KeyLease::new(k.clone(), token)));
            }
            match tx.fetch_optional(keyed(select.clone(), k)).await? {
                Some(row) => break row,
                None if attempts < 3 => continue,
                None => return Ok(IdempotencyBegin::InFlight),
            }
        };
        if row.text("fingerprint")? != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        if row.text("state")? == "done" {
            return Ok(match row.opt_text("answer")? {
                Some(text) => IdempotencyBegin::Completed(
                    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("saved answer: {e}")))?,
                ),
                None => IdempotencyBegin::Unreplayable,
            });
        }
        let locked_until = row.int("locked_until")?;
        if locked_until > now {
            return Ok(IdempotencyBegin::InFlight);
        }
        // The owner's lease ran out (its process died, or it gave the key up): take it over, once.
        let take = format!("UPDATE idempotency_keys SET locked_until = $6, lease_token = $7 WHERE {KEY_MATCH} AND state = 'in_flight' AND locked_until = $8");
        let taken = tx.execute(keyed(take, k).bind(lease_until).bind(&token).bind(locked_until)).await?;
        tx.commit().await?;
        if taken == 0 {
            return Ok(IdempotencyBegin::InFlight);
        }
        let lease = KeyLease::new(k.clone(), token);
        Ok(match row.opt_text("resume")? {
            None => IdempotencyBegin::Started(lease),
            Some(text) => {
                let checkpoint: Checkpoint = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("resume point: {e}")))?;
                IdempotencyBegin::Resume(lease, checkpoint.resume, checkpoint.finish)
            }
        })
    }

    async fn idempotency_answer(&self, lease: &KeyLease, answer: &SavedAnswer) -> Result<bool, StoreError> {
        let save = format!(
            "UPDATE idempotency_keys SET state = 'done', response_status = $6, answer = $7, resume = NULL \
             WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $8"
        );
        let saved = self.db.execute(keyed(save, &lease.scope).bind(i64::from(answer.status)).bind(json(answer)?).bind(&lease.token)).await? == 1;
        if saved {
            lease.mark_answered();
        }
        Ok(saved)
    }

    async fn idempotency_release(&self, lease: &KeyLease) -> Result<(), StoreError> {
        let forget = format!("DELETE FROM idempotency_keys WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $6 AND resume IS NULL");
        if self.db.execute(keyed(forget, &lease.scope).bind(&lease.token)).await? == 0 {
            let resumable = format!("UPDATE idempotency_keys SET locked_until = 0 WHERE {KEY_MATCH} AND state = 'in_flight' AND lease_token = $6");
            self.db.execute(keyed(resumable, &lease.scope).bind(&lease.token)).await?;
        }
        Ok(())
    }

    async fn idempotency_purge(&self, created_before: Millis) -> Result<u64, StoreError> {
        self.db.execute(query("DELETE FROM idempotency_keys WHERE created_at < $1").bind(created_before)).await
    }
}
