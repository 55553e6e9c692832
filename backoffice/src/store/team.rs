//! A merchant's team: its members and their roles, and the invitations that add to it. Role
//! changes and removals keep at least one owner: they first lock the owners' rows (on
//! PostgreSQL; SQLite has one writer), then count them, in one transaction.

use crate::domain::Role;
use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::store::sql::{query, Row, Tx};
use gateway::store::{SqlStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub staff_id: String,
    pub email: String,
    pub role: Role,
    pub two_factor: bool,
    pub since: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: String,
    pub merchant_id: String,
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: String,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub accepted_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

/// What a role change or a removal did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamChange {
    Done,
    /// The member is not on this merchant's team.
    NotMember,
    /// It would leave the merchant without an owner.
    LastOwner,
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    /// Oldest first.
    async fn list_members(&self, merchant_id: &str) -> Result<Vec<Member>, StoreError>;
    async fn insert_invitation(&self, invitation: &Invitation) -> Result<(), StoreError>;
    async fn find_invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError>;
    /// Open invitations (neither accepted nor revoked, not lapsed at `now`), newest first.
    async fn open_invitations(&self, merchant_id: &str, now: Millis) -> Result<Vec<Invitation>, StoreError>;
    /// Accepts it once: marks it accepted and adds `staff_id` with its role, in one
    /// transaction; `false` when it was accepted, revoked or lapsed already.
    async fn accept_invitation(&self, invitation: &Invitation, staff_id: &str, now: Millis) -> Result<bool, StoreError>;
    /// `false` when the merchant has no such open invitation.
    async fn revoke_invitation(&self, merchant_id: &str, id: &str, now: Millis) -> Result<bool, StoreError>;
    async fn change_role(&self, merchant_id: &str, staff_id: &str, role: Role) -> Result<TeamChange, StoreError>;
    /// Removes the member and ends their sessions on this merchant.
    async fn remove_member(&self, merchant_id: &str, staff_id: &str, now: Millis) -> Result<TeamChange, StoreError>;
}

const INVITATION_COLUMNS: &str = "id, merchant_id, email, role, token_hash, invited_by, created_at, expires_at, accepted_at, revoked_at";

fn role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Corrupt(format!("role: {text}")))
}

fn invitation(r: &Row) -> Result<Invitation, StoreError> {
    Ok(Invitation {
        id: r.text("id")?,
        merchant_id: r.text("merchant_id")?,
        email: r.text("email")?,
        role: role(&r.text("role")?)?,
        token_hash: r.text("token_hash")?,
        invited_by: r.text("invited_by")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        accepted_at: r.opt_int("accepted_at")?,
        revoked_at: r.opt_int("revoked_at")?,
    })
}

/// The member's current role, with the merchant's owners locked and counted.
async fn role_and_owners(tx: &mut Tx, merchant_id: &str, staff_id: &str) -> Result<Option<(Role, i64)>, StoreError> {
    // A no-op write takes the owners' row locks (PostgreSQL), so two concurrent demotions of
    // two owners cannot both see the other one still there.
    tx.execute(query("UPDATE memberships SET role = role WHERE merchant_id = $1 AND role = 'owner'").bind(merchant_id)).await?;
    let Some(current) = tx.fetch_optional(query("SELECT role FROM memberships WHERE merchant_id = $1 AND staff_id = $2").bind(merchant_id).bind(staff_id)).await? else {
        return Ok(None);
    };
    let owners = tx.fetch_one(query("SELECT COUNT(*) AS n FROM memberships WHERE merchant_id = $1 AND role = 'owner'").bind(merchant_id)).await?.int("n")?;
    Ok(Some((role(&current.text("role")?)?, owners)))
}

#[async_trait]
impl TeamStore for SqlStore {
    async fn list_members(&self, merchant_id: &str) -> Result<Vec<Member>, StoreError> {
        let list = query(
            "SELECT m.staff_id, s.email, m.role, s.totp_enabled_at, m.created_at FROM memberships m JOIN staff s ON s.id = m.staff_id \
             WHERE m.merchant_id = $1 ORDER BY m.created_at, s.email",
        )
        .bind(merchant_id);
        let rows = self.sql().fetch_all(list).await?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    staff_id: r.text("staff_id")?,
                    email: r.text("email")?,
                    role: role(&r.text("role")?)?,
                    two_factor: r.opt_int("totp_enabled_at")?.is_some(),
                    since: r.int("created_at")?,
                })
            })
            .collect()
    }

    async fn insert_invitation(&self, i: &Invitation) -> Result<(), StoreError> {
        let insert = query(format!("INSERT INTO invitations ({INVITATION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
            .bind(&i.id)
            .bind(&i.merchant_id)
            .bind(&i.email)
            .bind(i.role.as_str())
            .bind(&i.token_hash)
            .bind(&i.invited_by)
            .bind(i.created_at)
            .bind(i.expires_at)
            .bind(i.accepted_at)
            .bind(i.revoked_at);
        self.sql().execute(insert).await?;
        Ok(())
    }

    async fn find_invitation(&self, token_hash: &str) -> Result<Option<Invitation>, StoreError> {
        let row = self.sql().fetch_optional(query(format!("SELECT {INVITATION_COLUMNS} FROM invitations WHERE token_hash = $1")).bind(token_hash)).await?;
        row.as_ref().map(invitation).transpose()
    }

    async fn open_invitations(&self, merchant_id: &str, now: Millis) -> Result<Vec<Invitation>, StoreError> {
        let list = query(format!(
            "SELECT {INVITATION_COLUMNS} FROM invitations WHERE merchant_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL \
               AND expires_at > $2 ORDER BY created_at DESC, id DESC"
        ))
        .bind(merchant_id)
        .bind(now);
        self.sql().fetch_all(list).await?.iter().map(invitation).collect()
    }

    async fn accept_invitation(&self, i: &Invitation, staff_id: &str, now: Millis) -> Result<bool, StoreError> {
        let mut tx = self.sql().begin().await?;
        let accept = query("UPDATE invitations SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $1")
            .bind(now)
            .bind(&i.id);
        if tx.execute(accept).await? != 1 {
            return Ok(false);
        }
        // Already a member: the invitation's role replaces the old one.
        let join = query(
            "INSERT INTO memberships (merchant_id, staff_id, role, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (merchant_id, staff_id) DO UPDATE SET role = excluded.role",
        )
        .bind(&i.merchant_id)
        .bind(staff_id)
        .bind(i.role.as_str())
        .bind(now);
        tx.execute(join).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn revoke_invitation(&self, merchant_id: &str, id: &str, now: Millis) -> Result<bool, StoreError> {
        let revoke = query("UPDATE invitations SET revoked_at = $1 WHERE merchant_id = $2 AND id = $3 AND accepted_at IS NULL AND revoked_at IS NULL")
            .bind(now)
            .bind(merchant_id)
            .bind(id);
        Ok(self.sql().execute(revoke).await? == 1)
    }

    async fn change_role(&self, merchant_id: &str, staff_id: &str, new_role: Role) -> Result<TeamChange, StoreError> {
        let mut tx = self.sql().begin().await?;
        let Some((current, owners)) = role_and_owners(&mut tx, merchant_id, staff_id).await? else {
            return Ok(TeamChange::NotMember);
        };
        if current == Role::Owner && new_role != Role::Owner && owners <= 1 {
            return Ok(TeamChange::LastOwner);
        }
        tx.execute(query("UPDATE memberships SET role = $1 WHERE merchant_id = $2 AND staff_id = $3").bind(new_role.as_str()).bind(merchant_id).bind(staff_id))
            .await?;
        tx.commit().await?;
        Ok(TeamChange::Done)
    }

    async fn remove_member(&self, merchant_id: &str, staff_id: &str, now: Millis) -> Result<TeamChange, StoreError> {
        let mut tx = self.sql().begin().await?;
        let Some((current, owners)) = role_and_owners(&mut tx, merchant_id, staff_id).await? else {
            return Ok(TeamChange::NotMember);
        };
        if current == Role::Owner && owners <= 1 {
            return Ok(TeamChange::LastOwner);
        }
        tx.execute(query("DELETE FROM memberships WHERE merchant_id = $1 AND staff_id = $2").bind(merchant_id).bind(staff_id)).await?;
        let end = query("UPDATE staff_sessions SET ended_at = $1 WHERE staff_id = $2 AND merchant_id = $3 AND ended_at IS NULL")
            .bind(now)
            .bind(staff_id)
            .bind(merchant_id);
        tx.execute(end).await?;
        tx.commit().await?;
        Ok(TeamChange::Done)
    }
}
