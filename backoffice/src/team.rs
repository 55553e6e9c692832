//! The team: owners and admins invite people by email (a link with a one-time token that lapses
//! after seven days), change roles and remove members; only an owner grants or takes away the
//! owner role, and a merchant always keeps one owner. An invitation is accepted by creating an
//! account, or by the invited account already signed in.

use crate::accounts::SignedIn;
use crate::audit::Audited;
use crate::domain::{Action, Role, StaffEmail, StaffPassword};
use crate::error::BackofficeError;
use crate::mail::Mail;
use crate::store::{Invitation, Member, Outcome, Staff, StaffCreated, TeamChange};
use crate::Backoffice;
use gateway::clock::Millis;
use gateway::ids::random_base62;
use gateway::passwords;
use gateway::secret::Secret;

/// An invitation's link is good for this long.
pub const INVITATION_TTL_MS: Millis = 7 * 24 * 3_600_000;

/// An open invitation as its page shows it.
#[derive(Debug, Clone)]
pub struct OpenInvitation {
    pub invitation: Invitation,
    pub merchant_name: String,
    /// The invited email has an account already (it accepts by signing in).
    pub has_account: bool,
}

impl Backoffice {
    pub async fn team(&self, who: &SignedIn) -> Result<(Vec<Member>, Vec<Invitation>), BackofficeError> {
        self.permitted(who, Action::ManageTeam, "team.read", &who.merchant_id).await?;
        let members = self.stores.team.list_members(&who.merchant_id).await?;
        let invitations = self.stores.team.open_invitations(&who.merchant_id, self.services.clock.now()).await?;
        Ok((members, invitations))
    }

    /// Invites `email` as `role` and mails the link.
    pub async fn invite(&self, who: &SignedIn, email: &str, role: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageTeam, "invitation.create", email).await?;
        let email = StaffEmail::parse(email)?;
        let role = parse_role(role)?;
        self.grantable(who, role, "invitation.create", email.as_str()).await?;
        let token = random_base62(32);
        let now = self.services.clock.now();
        let invitation = Invitation {
            id: format!("inv_{}", random_base62(24)),
            merchant_id: who.merchant_id.clone(),
            email: email.as_str().to_owned(),
            role,
            token_hash: self.invitation_hash(&token),
            invited_by: who.staff.id.clone(),
            created_at: now,
            expires_at: now + INVITATION_TTL_MS,
            accepted_at: None,
            revoked_at: None,
        };
        self.stores.team.insert_invitation(&invitation).await?;
        let link = format!("{}/dashboard/invitations/{token}", self.services.public_url.trim_end_matches('/'));
        let mail = Mail {
            to: invitation.email.clone(),
            subject: format!("{} invites you to {} on Paygate", who.staff.email, who.merchant_name),
            body: format!("You are invited as {} of {}.\nAccept within 7 days: {link}\n", role.as_str(), who.merchant_name),
        };
        self.mailer.send(mail, now).await.map_err(|e| BackofficeError::MailUnavailable(e.to_string()))?;
        self.audit(Audited::of(who), "invitation.create", Some(&format!("{} as {}", invitation.email, role.as_str())), Outcome::Success).await;
        Ok(())
    }

    /// The open invitation a link names; `InvitationClosed` for one accepted, revoked, lapsed
    /// or unknown.
    pub async fn open_invitation(&self, token: &str) -> Result<OpenInvitation, BackofficeError> {
        if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(BackofficeError::InvitationClosed);
        }
        let invitation = self.stores.team.find_invitation(&self.invitation_hash(token)).await?.ok_or(BackofficeError::InvitationClosed)?;
        if invitation.accepted_at.is_some() || invitation.revoked_at.is_some() || self.services.clock.now() >= invitation.expires_at {
            return Err(BackofficeError::InvitationClosed);
        }
        let merchant_name = self.services.get_merchant(&invitation.merchant_id).await?.name;
        let has_account = self.stores.staff.find_staff_by_email(&invitation.email).await?.is_some();
        Ok(OpenInvitation { invitation, merchant_name, has_account })
    }

    /// Accepts by creating the invited email's account; signs it in on the merchant.
    pub async fn accept_with_new_account(&self, token: &str, password: &Secret, client: &str) -> Result<Secret, BackofficeError> {
        let open = self.open_invitation(token).await?;
        if open.has_account {
            return Err(BackofficeError::EmailTaken);
        }
        let password = StaffPassword::parse(password)?;
        let hash = passwords::hash(password.secret()).await.map_err(BackofficeError::internal)?;
        let now = self.services.clock.now();
        let staff = Staff { id: format!("staff_{}", random_base62(24)), email: open.invitation.email.clone(), created_at: now, two_factor: false };
        if self.stores.staff.create_staff(&staff, &hash).await? == StaffCreated::EmailTaken {
            return Err(BackofficeError::EmailTaken);
        }
        if !self.stores.team.accept_invitation(&open.invitation, &staff.id, now).await? {
            return Err(BackofficeError::InvitationClosed);
        }
        let session = self.start_session(&staff, &open.invitation.merchant_id, client, false).await?;
        self.audit(Audited::by(&staff, Some(&open.invitation.merchant_id), client), "invitation.accept", Some(&open.invitation.id), Outcome::Success).await;
        Ok(session)
    }

    /// Accepts as the invited account, signed in; the session moves to the merchant.
    pub async fn accept_as_signed_in(&self, who: &SignedIn, token: &str) -> Result<(), BackofficeError> {
        let open = self.open_invitation(token).await?;
        if open.invitation.email != who.staff.email {
            return Err(BackofficeError::InvitationForAnother);
        }
        if !self.stores.team.accept_invitation(&open.invitation, &who.staff.id, self.services.clock.now()).await? {
            return Err(BackofficeError::InvitationClosed);
        }
        self.stores.sessions.switch_session_merchant(&who.session_hash, &open.invitation.merchant_id).await?;
        let audited = Audited::by(&who.staff, Some(&open.invitation.merchant_id), &who.client_ip);
        self.audit(audited, "invitation.accept", Some(&open.invitation.id), Outcome::Success).await;
        Ok(())
    }

    pub async fn revoke_invitation(&self, who: &SignedIn, id: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageTeam, "invitation.revoke", id).await?;
        if !self.stores.team.revoke_invitation(&who.merchant_id, id, self.services.clock.now()).await? {
            return Err(BackofficeError::NotFound);
        }
        self.audit(Audited::of(who), "invitation.revoke", Some(id), Outcome::Success).await;
        Ok(())
    }

    pub async fn change_role(&self, who: &SignedIn, staff_id: &str, role: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageTeam, "member.role", staff_id).await?;
        let role = parse_role(role)?;
        let member = self.member(who, staff_id).await?;
        // Only an owner makes an owner, or makes an owner something else.
        self.grantable(who, role, "member.role", staff_id).await?;
        self.grantable(who, member.role, "member.role", staff_id).await?;
        self.team_change(self.stores.team.change_role(&who.merchant_id, staff_id, role).await?)?;
        self.audit(Audited::of(who), "member.role", Some(&format!("{} as {}", member.email, role.as_str())), Outcome::Success).await;
        Ok(())
    }

    pub async fn remove_member(&self, who: &SignedIn, staff_id: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageTeam, "member.remove", staff_id).await?;
        let member = self.member(who, staff_id).await?;
        self.grantable(who, member.role, "member.remove", staff_id).await?;
        self.team_change(self.stores.team.remove_member(&who.merchant_id, staff_id, self.services.clock.now()).await?)?;
        self.audit(Audited::of(who), "member.remove", Some(&member.email), Outcome::Success).await;
        Ok(())
    }

    async fn member(&self, who: &SignedIn, staff_id: &str) -> Result<Member, BackofficeError> {
        let members = self.stores.team.list_members(&who.merchant_id).await?;
        members.into_iter().find(|m| m.staff_id == staff_id).ok_or(BackofficeError::NotFound)
    }

    /// Only owners hand out (or take away) the owner role.
    async fn grantable(&self, who: &SignedIn, role: Role, audited_as: &str, target: &str) -> Result<(), BackofficeError> {
        if role == Role::Owner && who.role != Role::Owner {
            self.audit(Audited::of(who), audited_as, Some(target), Outcome::Refused).await;
            return Err(BackofficeError::Forbidden);
        }
        Ok(())
    }

    fn team_change(&self, change: TeamChange) -> Result<(), BackofficeError> {
        match change {
            TeamChange::Done => Ok(()),
            TeamChange::NotMember => Err(BackofficeError::NotFound),
            TeamChange::LastOwner => Err(BackofficeError::LastOwner),
        }
    }

    fn invitation_hash(&self, token: &str) -> String {
        self.services.hasher.hash(&format!("staff-invitation:{token}")).0
    }
}

fn parse_role(text: &str) -> Result<Role, gateway::domain::ValidationError> {
    Role::parse(text).ok_or_else(|| gateway::domain::ValidationError::new("role_invalid", "role", "Choose owner, admin, developer, analyst or support."))
}
