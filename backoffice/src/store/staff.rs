//! Staff accounts, their memberships of merchants, and merchant sign-ups waiting for their code.
//! Email uniqueness is the database's (`ON CONFLICT DO NOTHING`, then rows affected); a sign-up
//! is completed by a compare-and-set on `completed_at`, so a double submit creates one merchant.

use crate::domain::{Role, LOCKOUT_MS, SIGN_IN_FAILURE_LIMIT};
use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::secret::Secret;
use gateway::store::sql::{query, Row};
use gateway::store::{SqlStore, StoreError};

/// A merchant sign-up, from the form to its confirmation code.
#[derive(Debug, Clone)]
pub struct SignupRecord {
    pub id: String,
    pub email: String,
    pub merchant_name: String,
    pub password_hash: Secret,
    /// A keyed hash of the code mailed out.
    pub code_hash: String,
    pub attempts: i64,
    pub expires_at: Millis,
    pub completed_at: Option<Millis>,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staff {
    pub id: String,
    pub email: String,
    pub created_at: Millis,
    /// Signs in with a second factor (TOTP).
    pub two_factor: bool,
}

/// A staff member's TOTP key (sealed) and how far it has been used.
#[derive(Debug, Clone)]
pub struct TotpState {
    pub sealed_key: Secret,
    /// `None` while the key waits for its first code (set-up).
    pub enabled_at: Option<Millis>,
    pub last_step: Option<i64>,
}

/// A staff account with what signing in needs.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    pub staff: Staff,
    pub password_hash: Secret,
    pub failed_signins: i64,
    pub locked_until: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffCreated {
    Created,
    EmailTaken,
}

/// One merchant a staff member belongs to, and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub merchant_id: String,
    pub merchant_name: String,
    pub role: Role,
}

#[async_trait]
pub trait StaffStore: Send + Sync {
    async fn insert_signup(&self, signup: &SignupRecord) -> Result<(), StoreError>;
    async fn find_signup(&self, id: &str) -> Result<Option<SignupRecord>, StoreError>;
    /// Counts one wrong code; the attempts made so far.
    async fn count_signup_attempt(&self, id: &str) -> Result<i64, StoreError>;
    /// Marks the sign-up completed; `false` when it already was (by this call's twin).
    async fn complete_signup(&self, id: &str, now: Millis) -> Result<bool, StoreError>;
    /// Forgets sign-ups (completed or not) whose code expired before `before`. How many went.
    async fn purge_signups(&self, before: Millis) -> Result<u64, StoreError>;
    /// Inserts the account; [`StaffCreated::EmailTaken`] when the email belongs to another.
    async fn create_staff(&self, staff: &Staff, password_hash: &Secret) -> Result<StaffCreated, StoreError>;
    async fn find_staff_by_email(&self, email: &str) -> Result<Option<StaffCredentials>, StoreError>;
    async fn get_staff(&self, id: &str) -> Result<Staff, StoreError>;
    /// Counts one failed sign-in; the [`SIGN_IN_FAILURE_LIMIT`]th in a row locks the account
    /// for [`LOCKOUT_MS`] and starts the count afresh. Returns the lock's end, if this locked it.
    async fn record_failed_sign_in(&self, staff_id: &str, now: Millis) -> Result<Option<Millis>, StoreError>;
    async fn reset_failed_sign_ins(&self, staff_id: &str) -> Result<(), StoreError>;
    async fn add_membership(&self, merchant_id: &str, staff_id: &str, role: Role, now: Millis) -> Result<(), StoreError>;
    /// Oldest first.
    async fn memberships_of(&self, staff_id: &str) -> Result<Vec<Membership>, StoreError>;
    /// Stores a new TOTP key waiting for its first code; refused (`false`) while one is on.
    async fn start_totp(&self, staff_id: &str, sealed_key: &Secret) -> Result<bool, StoreError>;
    async fn totp_state(&self, staff_id: &str) -> Result<Option<TotpState>, StoreError>;
    /// Turns the waiting key on at `step` with fresh recovery codes (keyed hashes), in one
    /// transaction; `false` when there was no waiting key or it is on already.
    async fn enable_totp(&self, staff_id: &str, step: i64, now: Millis, recovery_hashes: &[String]) -> Result<bool, StoreError>;
    /// Forgets the key and the recovery codes.
    async fn disable_totp(&self, staff_id: &str) -> Result<(), StoreError>;
    /// Spends time step `step`: `true` only if it is later than every step used before.
    async fn use_totp_step(&self, staff_id: &str, step: i64) -> Result<bool, StoreError>;
    /// Spends a recovery code: `true` once per code.
    async fn use_recovery_code(&self, staff_id: &str, code_hash: &str, now: Millis) -> Result<bool, StoreError>;
    async fn recovery_codes_left(&self, staff_id: &str) -> Result<i64, StoreError>;
}

const SIGNUP_COLUMNS: &str = "id, email, merchant_name, password_hash, code_hash, attempts, expires_at, completed_at, created_at";

fn signup(r: &Row) -> Result<SignupRecord, StoreError> {
    Ok(SignupRecord {
        id: r.text("id")?,
        email: r.text("email")?,
        merchant_name: r.text("merchant_name")?,
        password_hash: Secret::new(r.text("password_hash")?),
        code_hash: r.text("code_hash")?,
        attempts: r.int("attempts")?,
        expires_at: r.int("expires_at")?,
        completed_at: r.opt_int("completed_at")?,
        created_at: r.int("created_at")?,
    })
}

const STAFF_COLUMNS: &str = "id, email, created_at, totp_enabled_at";

fn staff(r: &Row) -> Result<Staff, StoreError> {
    Ok(Staff { id: r.text("id")?, email: r.text("email")?, created_at: r.int("created_at")?, two_factor: r.opt_int("totp_enabled_at")?.is_some() })
}

#[async_trait]
impl StaffStore for SqlStore {
    async fn insert_signup(&self, s: &SignupRecord) -> Result<(), StoreError> {
        let insert = query(format!("INSERT INTO merchant_signups ({SIGNUP_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(&s.id)
            .bind(&s.email)
            .bind(&s.merchant_name)
            .bind(s.password_hash.expose())
            .bind(&s.code_hash)
            .bind(s.attempts)
            .bind(s.expires_at)
            .bind(s.completed_at)
            .bind(s.created_at);
        self.sql().execute(insert).await?;
        Ok(())
    }

    async fn find_signup(&self, id: &str) -> Result<Option<SignupRecord>, StoreError> {
        let row = self.sql().fetch_optional(query(format!("SELECT {SIGNUP_COLUMNS} FROM merchant_signups WHERE id = $1")).bind(id)).await?;
        row.as_ref().map(signup).transpose()
    }

    async fn count_signup_attempt(&self, id: &str) -> Result<i64, StoreError> {
        let row = self
            .sql()
            .write_fetch_optional(query("UPDATE merchant_signups SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts").bind(id))
            .await?
            .ok_or(StoreError::NotFound)?;
        row.int("attempts")
    }

    async fn complete_signup(&self, id: &str, now: Millis) -> Result<bool, StoreError> {
        let done = query("UPDATE merchant_signups SET completed_at = $1 WHERE id = $2 AND completed_at IS NULL").bind(now).bind(id);
        Ok(self.sql().execute(done).await? == 1)
    }

    async fn purge_signups(&self, before: Millis) -> Result<u64, StoreError> {
        self.sql().execute(query("DELETE FROM merchant_signups WHERE expires_at < $1").bind(before)).await
    }

    async fn create_staff(&self, s: &Staff, password_hash: &Secret) -> Result<StaffCreated, StoreError> {
        let insert = query("INSERT INTO staff (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO NOTHING")
            .bind(&s.id)
            .bind(&s.email)
            .bind(password_hash.expose())
            .bind(s.created_at);
        Ok(if self.sql().execute(insert).await? == 1 { StaffCreated::Created } else { StaffCreated::EmailTaken })
    }

    async fn find_staff_by_email(&self, email: &str) -> Result<Option<StaffCredentials>, StoreError> {
        let find = query(format!("SELECT {STAFF_COLUMNS}, password_hash, failed_signins, locked_until FROM staff WHERE email = $1")).bind(email);
        let Some(r) = self.sql().fetch_optional(find).await? else {
            return Ok(None);
        };
        Ok(Some(StaffCredentials {
            staff: staff(&r)?,
            password_hash: Secret::new(r.text("password_hash")?),
            failed_signins: r.int("failed_signins")?,
            locked_until: r.opt_int("locked_until")?,
        }))
    }

    async fn get_staff(&self, id: &str) -> Result<Staff, StoreError> {
        staff(&self.sql().fetch_one(query(format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1")).bind(id)).await?)
    }

    async fn record_failed_sign_in(&self, staff_id: &str, now: Millis) -> Result<Option<Millis>, StoreError> {
        // One statement: concurrent failures each count, and exactly one of them locks.
        let count = query(
            "UPDATE staff SET \
               locked_until = CASE WHEN failed_signins + 1 >= $1 THEN $2 ELSE locked_until END, \
               failed_signins = CASE WHEN failed_signins + 1 >= $1 THEN 0 ELSE failed_signins + 1 END \
             WHERE id = $3 RETURNING failed_signins, locked_until",
        )
        .bind(SIGN_IN_FAILURE_LIMIT)
        .bind(now + LOCKOUT_MS)
        .bind(staff_id);
        let row = self.sql().write_fetch_optional(count).await?.ok_or(StoreError::NotFound)?;
        let locked_until = row.opt_int("locked_until")?;
        Ok(locked_until.filter(|&until| until == now + LOCKOUT_MS && row.int("failed_signins").ok() == Some(0)))
    }

    async fn reset_failed_sign_ins(&self, staff_id: &str) -> Result<(), StoreError> {
        self.sql().execute(query("UPDATE staff SET failed_signins = 0, locked_until = NULL WHERE id = $1").bind(staff_id)).await?;
        Ok(())
    }

    async fn add_membership(&self, merchant_id: &str, staff_id: &str, role: Role, now: Millis) -> Result<(), StoreError> {
        let insert = query(
            "INSERT INTO memberships (merchant_id, staff_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (merchant_id, staff_id) DO UPDATE SET role = excluded.role",
        )
        .bind(merchant_id)
        .bind(staff_id)
        .bind(role.as_str())
        .bind(now);
        self.sql().execute(insert).await?;
        Ok(())
    }

    async fn memberships_of(&self, staff_id: &str) -> Result<Vec<Membership>, StoreError> {
        let list = query(
            "SELECT m.merchant_id, m.role, merchants.name FROM memberships m JOIN merchants ON merchants.id = m.merchant_id \
             WHERE m.staff_id = $1 ORDER BY m.created_at, m.merchant_id",
        )
        .bind(staff_id);
        let rows = self.sql().fetch_all(list).await?;
        rows.iter()
            .map(|r| {
                let role = r.text("role")?;
                Ok(Membership {
                    merchant_id: r.text("merchant_id")?,
                    merchant_name: r.text("name")?,
                    role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role: {role}")))?,
                })
            })
            .collect()
    }

    async fn start_totp(&self, staff_id: &str, sealed_key: &Secret) -> Result<bool, StoreError> {
        let start = query("UPDATE staff SET totp_secret = $1, totp_last_step = NULL WHERE id = $2 AND totp_enabled_at IS NULL")
            .bind(sealed_key.expose())
            .bind(staff_id);
        Ok(self.sql().execute(start).await? == 1)
    }

    async fn totp_state(&self, staff_id: &str) -> Result<Option<TotpState>, StoreError> {
        let row = self
            .sql()
            .fetch_optional(query("SELECT totp_secret, totp_enabled_at, totp_last_step FROM staff WHERE id = $1 AND totp_secret IS NOT NULL").bind(staff_id))
            .await?;
        row.map(|r| {
            Ok(TotpState { sealed_key: Secret::new(r.text("totp_secret")?), enabled_at: r.opt_int("totp_enabled_at")?, last_step: r.opt_int("totp_last_step")? })
        })
        .transpose()
    }

    async fn enable_totp(&self, staff_id: &str, step: i64, now: Millis, recovery_hashes: &[String]) -> Result<bool, StoreError> {
        let mut tx = self.sql().begin().await?;
        let enable = query(
            "UPDATE staff SET totp_enabled_at = $1, totp_last_step = $2 WHERE id = $3 AND totp_secret IS NOT NULL AND totp_enabled_at IS NULL",
        )
        .bind(now)
        .bind(step)
        .bind(staff_id);
        if tx.execute(enable).await? != 1 {
            return Ok(false);
        }
        tx.execute(query("DELETE FROM staff_recovery_codes WHERE staff_id = $1").bind(staff_id)).await?;
        for hash in recovery_hashes {
            tx.execute(query("INSERT INTO staff_recovery_codes (staff_id, code_hash) VALUES ($1, $2)").bind(staff_id).bind(hash.as_str())).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn disable_totp(&self, staff_id: &str) -> Result<(), StoreError> {
        let mut tx = self.sql().begin().await?;
        tx.execute(query("UPDATE staff SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL WHERE id = $1").bind(staff_id)).await?;
        tx.execute(query("DELETE FROM staff_recovery_codes WHERE staff_id = $1").bind(staff_id)).await?;
        tx.commit().await
    }

    async fn use_totp_step(&self, staff_id: &str, step: i64) -> Result<bool, StoreError> {
        let spend = query(
            "UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND totp_enabled_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(staff_id);
        Ok(self.sql().execute(spend).await? == 1)
    }

    async fn use_recovery_code(&self, staff_id: &str, code_hash: &str, now: Millis) -> Result<bool, StoreError> {
        let spend = query("UPDATE staff_recovery_codes SET used_at = $1 WHERE staff_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(now)
            .bind(staff_id)
            .bind(code_hash);
        Ok(self.sql().execute(spend).await? == 1)
    }

    async fn recovery_codes_left(&self, staff_id: &str) -> Result<i64, StoreError> {
        let row = self.sql().fetch_one(query("SELECT COUNT(*) AS n FROM staff_recovery_codes WHERE staff_id = $1 AND used_at IS NULL").bind(staff_id)).await?;
        row.int("n")
    }
}
