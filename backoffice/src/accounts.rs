//! Merchant sign-up (confirmed by a mailed code), staff sign-in with lockout and rate limits,
//! and server-side sessions with idle and absolute limits on the services' clock. A session id
//! is `bos_` + 43 base62 characters (about 256 bits), new at every sign-in, stored only as a
//! keyed hash; the page's CSRF token is derived from it, so it needs no storage of its own.

use crate::audit::Audited;
use crate::domain::{
    new_code, parse_code, Role, StaffEmail, StaffPassword, TimeZone, SESSION_ABSOLUTE_MS, SESSION_IDLE_MS, SIGNUP_CODE_ATTEMPTS,
    SIGNUP_CODE_TTL_MS,
};
use crate::error::BackofficeError;
use crate::mail::Mail;
use crate::store::{Membership, Outcome, SessionRecord, SignupRecord, Staff, StaffCreated};
use crate::Backoffice;
use gateway::clock::Millis;
use gateway::domain::text_field;
use gateway::ids::random_base62;
use gateway::limits::Bucket;
use gateway::passwords;
use gateway::secret::Secret;
use gateway::service::IssuedKey;

pub const SESSION_PREFIX: &str = "bos_";
const SESSION_RANDOM_CHARS: usize = 43;
/// A session's last-seen time is written at most this often (idle expiry is 15 minutes).
const TOUCH_EVERY_MS: Millis = 30_000;
/// A session waiting for its second factor is good for this long.
const SECOND_FACTOR_WAIT_MS: Millis = 5 * 60_000;

/// Where a correct password leads.
#[derive(Debug)]
pub enum SignInStep {
    /// Signed in: the session's id.
    SignedIn(Secret),
    /// The account signs in with two factors: a session that waits for the code.
    SecondFactor(Secret),
}

/// Who is signed in, on which merchant, as what. `Debug` leaves out the session's hash and its
/// form token.
#[derive(Clone)]
pub struct SignedIn {
    pub staff: Staff,
    pub merchant_id: String,
    pub merchant_name: String,
    pub role: Role,
    pub memberships: Vec<Membership>,
    pub session_hash: String,
    /// The token every form of this session carries.
    pub csrf_token: String,
    pub time_zone: TimeZone,
    pub client_ip: String,
    /// The merchant requires two-factor sign-in and this staff member has not set it up: only
    /// the set-up pages (and signing out) are open.
    pub must_set_up_two_factor: bool,
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("staff", &self.staff)
            .field("merchant_id", &self.merchant_id)
            .field("role", &self.role)
            .field("session_hash", &"[REDACTED]")
            .field("csrf_token", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// A completed sign-up: the new merchant's test keys (shown once) and a signed-in session.
#[derive(Debug)]
pub struct Welcome {
    pub session: Secret,
    pub merchant_id: String,
    pub merchant_name: String,
    pub keys: Vec<IssuedKey>,
}

impl Backoffice {
    fn now(&self) -> Millis {
        self.services.clock.now()
    }

    /// Starts a merchant sign-up and mails its code; returns the sign-up's id (the confirm
    /// page's address). Whatever the email, the answer is the same: whether it already has an
    /// account shows only to whoever reads its mail.
    pub async fn sign_up(&self, email: &str, password: &Secret, merchant_name: &str, client: &str) -> Result<String, BackofficeError> {
        self.limits.attempt(Bucket::MerchantSignUpClient, client).await.map_err(BackofficeError::RateLimited)?;
        let email = StaffEmail::parse(email)?;
        let password = StaffPassword::parse(password)?;
        let merchant_name = text_field(merchant_name, "merchant_name", 100)?;
        let password_hash = passwords::hash(password.secret()).await.map_err(BackofficeError::internal)?;
        let code = new_code();
        let now = self.now();
        let signup = SignupRecord {
            id: format!("signup_{}", random_base62(24)),
            email: email.as_str().to_owned(),
            merchant_name,
            password_hash,
            code_hash: self.code_hash(&code),
            attempts: 0,
            expires_at: now + SIGNUP_CODE_TTL_MS,
            completed_at: None,
            created_at: now,
        };
        self.stores.staff.insert_signup(&signup).await?;
        let mail = Mail {
            to: signup.email.clone(),
            subject: format!("{code} is your Paygate confirmation code"),
            body: format!(
                "Your confirmation code for {} is {code}.\nIt expires in 10 minutes. If you did not sign up, ignore this mail.",
                signup.merchant_name
            ),
        };
        self.mailer.send(mail, now).await.map_err(|e| BackofficeError::MailUnavailable(e.to_string()))?;
        Ok(signup.id)
    }

    /// Confirms a sign-up with its code: creates the merchant (with test keys), its owner and a
    /// session. A wrong code counts; the fifth spends the sign-up.
    pub async fn confirm_sign_up(&self, signup_id: &str, code: &str, client: &str) -> Result<Welcome, BackofficeError> {
        self.limits.attempt(Bucket::MerchantSignUpClient, client).await.map_err(BackofficeError::RateLimited)?;
        let code = parse_code(code)?;
        let now = self.now();
        let signup = self.stores.staff.find_signup(signup_id).await?.ok_or(BackofficeError::SignupExpired)?;
        if signup.completed_at.is_some() {
            return Err(BackofficeError::SignupCompleted);
        }
        if now >= signup.expires_at || signup.attempts >= SIGNUP_CODE_ATTEMPTS {
            return Err(BackofficeError::SignupExpired);
        }
        if self.code_hash(&code) != signup.code_hash {
            let attempts = self.stores.staff.count_signup_attempt(signup_id).await?;
            return Err(if attempts >= SIGNUP_CODE_ATTEMPTS { BackofficeError::SignupExpired } else { BackofficeError::CodeWrong });
        }
        // The compare-and-set first: of two submits of the right code, one creates the merchant.
        if !self.stores.staff.complete_signup(signup_id, now).await? {
            return Err(BackofficeError::SignupCompleted);
        }
        if self.stores.staff.find_staff_by_email(&signup.email).await?.is_some() {
            return Err(BackofficeError::EmailTaken);
        }
        let (merchant, keys) = self.services.create_merchant(&signup.merchant_name).await?;
        let staff = Staff { id: format!("staff_{}", random_base62(24)), email: signup.email.clone(), created_at: now, two_factor: false };
        if self.stores.staff.create_staff(&staff, &signup.password_hash).await? == StaffCreated::EmailTaken {
            return Err(BackofficeError::EmailTaken);
        }
        self.stores.staff.add_membership(&merchant.id, &staff.id, Role::Owner, now).await?;
        let session = self.start_session(&staff, &merchant.id, client, false).await?;
        self.audit(Audited::by(&staff, Some(&merchant.id), client), "signup", Some(&merchant.id), Outcome::Success).await;
        Ok(Welcome { session, merchant_id: merchant.id, merchant_name: merchant.name, keys })
    }

    /// An owner for a merchant created outside the back office (the first run's Demo Shop):
    /// returns the generated password, which is shown once.
    pub async fn create_owner(&self, merchant_id: &str, email: &str) -> Result<Secret, BackofficeError> {
        let email = StaffEmail::parse(email)?;
        let password = Secret::new(random_base62(20));
        let hash = passwords::hash(password.clone()).await.map_err(BackofficeError::internal)?;
        let now = self.now();
        let staff = Staff { id: format!("staff_{}", random_base62(24)), email: email.as_str().to_owned(), created_at: now, two_factor: false };
        if self.stores.staff.create_staff(&staff, &hash).await? == StaffCreated::EmailTaken {
            return Err(BackofficeError::EmailTaken);
        }
        self.stores.staff.add_membership(merchant_id, &staff.id, Role::Owner, now).await?;
        Ok(password)
    }

    /// Signs in: a new session on the staff member's first merchant, or for an account with
    /// two-factor sign-in a session that waits for its code. An unknown email and a wrong
    /// password answer alike, after the same hashing work.
    pub async fn sign_in(&self, email: &str, password: &Secret, client: &str) -> Result<SignInStep, BackofficeError> {
        self.limits.attempt(Bucket::StaffSignInClient, client).await.map_err(BackofficeError::RateLimited)?;
        let email = StaffEmail::parse(email)?;
        let now = self.now();
        let found = self.stores.staff.find_staff_by_email(email.as_str()).await?;
        let anonymous = Audited { merchant_id: None, staff_id: found.as_ref().map(|f| f.staff.id.clone()), actor: email.as_str().to_owned(), client: client.to_owned() };
        if let Some(until) = found.as_ref().and_then(|c| c.locked_until).filter(|&until| now < until) {
            self.audit(anonymous, "signin", None, Outcome::Refused).await;
            return Err(BackofficeError::Locked { until });
        }
        // Counted under a keyed hash: the email never reaches Redis.
        let counted_as = self.services.hasher.hash(&format!("staff-sign-in:{}", email.as_str())).0;
        self.limits.attempt(Bucket::StaffSignInEmail, &counted_as).await.map_err(BackofficeError::RateLimited)?;
        let matched = passwords::verify(found.as_ref().map(|f| f.password_hash.clone()), password.clone()).await.map_err(BackofficeError::internal)?;
        let Some(account) = found.filter(|_| matched) else {
            if let Some(staff_id) = &anonymous.staff_id {
                if let Some(until) = self.stores.staff.record_failed_sign_in(staff_id, now).await? {
                    tracing::warn!(staff = %staff_id, until, "back-office account locked after repeated failed sign-ins");
                }
            }
            self.audit(anonymous, "signin", None, Outcome::Failure).await;
            return Err(BackofficeError::InvalidCredentials);
        };
        if account.failed_signins > 0 {
            self.stores.staff.reset_failed_sign_ins(&account.staff.id).await?;
        }
        let memberships = self.stores.staff.memberships_of(&account.staff.id).await?;
        let Some(first) = memberships.first() else {
            return Err(BackofficeError::NoMembership);
        };
        let waits = account.staff.two_factor;
        let session = self.start_session(&account.staff, &first.merchant_id, client, waits).await?;
        if waits {
            return Ok(SignInStep::SecondFactor(session));
        }
        self.audit(Audited::by(&account.staff, Some(&first.merchant_id), client), "signin", None, Outcome::Success).await;
        Ok(SignInStep::SignedIn(session))
    }

    pub(crate) async fn start_session(&self, staff: &Staff, merchant_id: &str, client: &str, second_factor_pending: bool) -> Result<Secret, BackofficeError> {
        let token = Secret::new(format!("{SESSION_PREFIX}{}", random_base62(SESSION_RANDOM_CHARS)));
        let now = self.now();
        let record = SessionRecord {
            id_hash: self.session_hash(&token),
            staff_id: staff.id.clone(),
            merchant_id: merchant_id.to_owned(),
            client_ip: client.to_owned(),
            created_at: now,
            last_seen_at: now,
            ended_at: None,
            second_factor_pending,
        };
        self.stores.sessions.insert_session(&record).await?;
        Ok(token)
    }

    /// The session a cookie names, if it is still good: not ended, used within the idle limit,
    /// younger than the absolute limit, and its staff member still on its merchant's team.
    pub async fn session(&self, token: &str, client: &str) -> Result<Option<SignedIn>, BackofficeError> {
        if !is_session_shaped(token) {
            return Ok(None);
        }
        let hash = self.session_hash(&Secret::new(token));
        let Some(record) = self.stores.sessions.find_session(&hash).await? else {
            return Ok(None);
        };
        let now = self.now();
        if record.second_factor_pending
            || record.ended_at.is_some()
            || now - record.last_seen_at >= SESSION_IDLE_MS
            || now - record.created_at >= SESSION_ABSOLUTE_MS
        {
            return Ok(None);
        }
        let memberships = self.stores.staff.memberships_of(&record.staff_id).await?;
        let Some(current) = memberships.iter().find(|m| m.merchant_id == record.merchant_id).cloned() else {
            return Ok(None);
        };
        if now - record.last_seen_at >= TOUCH_EVERY_MS {
            self.stores.sessions.touch_session(&hash, now).await?;
        }
        let staff = self.stores.staff.get_staff(&record.staff_id).await?;
        let time_zone = self.time_zone(&record.merchant_id).await?;
        let must_set_up_two_factor = !staff.two_factor && self.stores.settings.requires_two_factor(&record.merchant_id).await?;
        Ok(Some(SignedIn {
            must_set_up_two_factor,
            csrf_token: self.services.hasher.hash(&format!("staff-csrf:{token}")).0,
            staff,
            merchant_id: current.merchant_id,
            merchant_name: current.merchant_name,
            role: current.role,
            memberships,
            session_hash: hash,
            time_zone,
            client_ip: client.to_owned(),
        }))
    }

    /// A session that waits for its second factor (at most 5 minutes after the password).
    pub async fn waiting_session(&self, token: &str) -> Result<Option<(SessionRecord, Staff)>, BackofficeError> {
        if !is_session_shaped(token) {
            return Ok(None);
        }
        let hash = self.session_hash(&Secret::new(token));
        let Some(record) = self.stores.sessions.find_session(&hash).await? else {
            return Ok(None);
        };
        if !record.second_factor_pending || record.ended_at.is_some() || self.now() - record.created_at >= SECOND_FACTOR_WAIT_MS {
            return Ok(None);
        }
        let staff = self.stores.staff.get_staff(&record.staff_id).await?;
        Ok(Some((record, staff)))
    }

    pub async fn time_zone(&self, merchant_id: &str) -> Result<TimeZone, BackofficeError> {
        Ok(match self.stores.settings.time_zone(merchant_id).await? {
            Some(name) => TimeZone::parse(&name).unwrap_or_else(|_| TimeZone::default_zone()),
            None => TimeZone::default_zone(),
        })
    }

    /// Moves the session to another merchant the staff member belongs to.
    pub async fn switch_merchant(&self, who: &SignedIn, merchant_id: &str) -> Result<(), BackofficeError> {
        if !who.memberships.iter().any(|m| m.merchant_id == merchant_id) {
            return Err(BackofficeError::NotFound);
        }
        self.stores.sessions.switch_session_merchant(&who.session_hash, merchant_id).await?;
        self.audit(Audited::of(who), "merchant.switch", Some(merchant_id), Outcome::Success).await;
        Ok(())
    }

    pub async fn sign_out(&self, who: &SignedIn) -> Result<(), BackofficeError> {
        self.stores.sessions.end_session(&who.session_hash, self.now()).await?;
        self.audit(Audited::of(who), "signout", None, Outcome::Success).await;
        Ok(())
    }

    /// Ends every session of the staff member, on every device, this one included.
    pub async fn sign_out_everywhere(&self, who: &SignedIn) -> Result<u64, BackofficeError> {
        let ended = self.stores.sessions.end_sessions_of(&who.staff.id, self.now()).await?;
        self.audit(Audited::of(who), "signout.everywhere", None, Outcome::Success).await;
        Ok(ended)
    }

    fn session_hash(&self, token: &Secret) -> String {
        self.services.hasher.hash(&format!("staff-session:{}", token.expose())).0
    }

    fn code_hash(&self, code: &str) -> String {
        self.services.hasher.hash(&format!("signup-code:{code}")).0
    }
}

pub fn is_session_shaped(token: &str) -> bool {
    token
        .strip_prefix(SESSION_PREFIX)
        .is_some_and(|rest| rest.len() == SESSION_RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}
