//! Two-factor sign-in for staff (set-up, the second step of sign-in, turning it off) and the
//! owner's settings (time zone, two-factor required of everyone). The TOTP key is sealed under
//! a key of its own purpose and bound to the staff member; recovery codes are kept as keyed
//! hashes. See [`crate::two_factor`] for the codes themselves.

use crate::accounts::SignedIn;
use crate::audit::Audited;
use crate::domain::{Action, TimeZone};
use crate::error::BackofficeError;
use crate::store::Outcome;
use crate::two_factor::{new_recovery_codes, normalize_recovery_code, TotpKey, SEALING_PURPOSE};
use crate::Backoffice;
use gateway::limits::Bucket;
use gateway::secret::Secret;

/// What the set-up page shows once: the key as text, its `otpauth://` URI and that URI's QR code.
pub struct TwoFactorSetup {
    pub key: Secret,
    pub uri: Secret,
    pub qr_svg: String,
}

impl Backoffice {
    /// Starts two-factor set-up with a new key (replacing one that was never confirmed).
    pub async fn begin_two_factor(&self, who: &SignedIn) -> Result<TwoFactorSetup, BackofficeError> {
        let key = TotpKey::generate();
        let sealed = self.services.seal_secret(SEALING_PURPOSE, &who.staff.id, &key.base32())?;
        if !self.stores.staff.start_totp(&who.staff.id, &sealed).await? {
            return Err(BackofficeError::TwoFactorOn);
        }
        let uri = key.otpauth_uri("Paygate", &who.staff.email);
        let qr_svg = qrcode::QrCode::new(uri.expose().as_bytes())
            .map(|code| code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
            .map_err(BackofficeError::internal)?;
        Ok(TwoFactorSetup { key: key.base32(), uri, qr_svg })
    }

    /// Confirms set-up with a first code: two-factor sign-in is on, and the recovery codes
    /// (shown once) are returned.
    pub async fn enable_two_factor(&self, who: &SignedIn, code: &str) -> Result<Vec<Secret>, BackofficeError> {
        self.limits.attempt(Bucket::StaffSecondFactor, &who.staff.id).await.map_err(BackofficeError::RateLimited)?;
        let state = self.stores.staff.totp_state(&who.staff.id).await?.ok_or(BackofficeError::TwoFactorNotStarted)?;
        if state.enabled_at.is_some() {
            return Err(BackofficeError::TwoFactorOn);
        }
        let key = self.totp_key(&who.staff.id, &state.sealed_key)?;
        let Some(step) = key.matching_step(code, self.services.clock.now()) else {
            self.audit(Audited::of(who), "two_factor.enable", None, Outcome::Failure).await;
            return Err(BackofficeError::CodeWrong);
        };
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes.iter().map(|c| self.recovery_hash(&who.staff.id, c.expose())).collect();
        if !self.stores.staff.enable_totp(&who.staff.id, step, self.services.clock.now(), &hashes).await? {
            return Err(BackofficeError::TwoFactorOn);
        }
        self.audit(Audited::of(who), "two_factor.enable", None, Outcome::Success).await;
        Ok(codes)
    }

    /// Turns two-factor sign-in off, with a current code (or a recovery code); refused while
    /// the merchant requires it.
    pub async fn disable_two_factor(&self, who: &SignedIn, code: &str) -> Result<(), BackofficeError> {
        if self.stores.settings.requires_two_factor(&who.merchant_id).await? {
            return Err(BackofficeError::TwoFactorRequired);
        }
        self.limits.attempt(Bucket::StaffSecondFactor, &who.staff.id).await.map_err(BackofficeError::RateLimited)?;
        if !self.check_second_factor(&who.staff.id, code).await? {
            self.audit(Audited::of(who), "two_factor.disable", None, Outcome::Failure).await;
            return Err(BackofficeError::CodeWrong);
        }
        self.stores.staff.disable_totp(&who.staff.id).await?;
        self.audit(Audited::of(who), "two_factor.disable", None, Outcome::Success).await;
        Ok(())
    }

    /// The second step of sign-in: a session waiting for its second factor, and a TOTP code
    /// (each time step once) or an unused recovery code. The waiting session ends and a new
    /// one, with a new id, starts.
    pub async fn second_factor(&self, token: &str, code: &str, client: &str) -> Result<Secret, BackofficeError> {
        let (record, staff) = self.waiting_session(token).await?.ok_or(BackofficeError::SessionEnded)?;
        self.limits.attempt(Bucket::StaffSecondFactor, &staff.id).await.map_err(BackofficeError::RateLimited)?;
        let who = Audited::by(&staff, Some(&record.merchant_id), client);
        if !self.check_second_factor(&staff.id, code).await? {
            self.audit(who, "signin.second_factor", None, Outcome::Failure).await;
            return Err(BackofficeError::CodeWrong);
        }
        self.stores.sessions.end_session(&record.id_hash, self.services.clock.now()).await?;
        let session = self.start_session(&staff, &record.merchant_id, client, false).await?;
        self.audit(who, "signin.second_factor", None, Outcome::Success).await;
        Ok(session)
    }

    /// A TOTP code whose step is later than any used before, or an unused recovery code.
    async fn check_second_factor(&self, staff_id: &str, code: &str) -> Result<bool, BackofficeError> {
        let Some(state) = self.stores.staff.totp_state(staff_id).await?.filter(|s| s.enabled_at.is_some()) else {
            return Ok(false);
        };
        if let Some(recovery) = normalize_recovery_code(code) {
            let hash = self.recovery_hash(staff_id, &recovery);
            return Ok(self.stores.staff.use_recovery_code(staff_id, &hash, self.services.clock.now()).await?);
        }
        let key = self.totp_key(staff_id, &state.sealed_key)?;
        match key.matching_step(code, self.services.clock.now()) {
            // The compare-and-set on the last step refuses a replay, even a concurrent one.
            Some(step) => Ok(self.stores.staff.use_totp_step(staff_id, step).await?),
            None => Ok(false),
        }
    }

    fn totp_key(&self, staff_id: &str, sealed: &Secret) -> Result<TotpKey, BackofficeError> {
        let base32 = self.services.open_secret(SEALING_PURPOSE, staff_id, sealed)?;
        TotpKey::from_base32(base32.expose()).ok_or_else(|| BackofficeError::internal("a stored TOTP key is not base32"))
    }

    fn recovery_hash(&self, staff_id: &str, code: &str) -> String {
        self.services.hasher.hash(&format!("staff-recovery:{staff_id}:{code}")).0
    }

    /// How many recovery codes are left unused.
    pub async fn recovery_codes_left(&self, who: &SignedIn) -> Result<i64, BackofficeError> {
        Ok(self.stores.staff.recovery_codes_left(&who.staff.id).await?)
    }

    /// The owner's switch: everyone on the team must sign in with two factors.
    pub async fn set_two_factor_required(&self, who: &SignedIn, required: bool) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageSettings, "settings.two_factor", &who.merchant_id).await?;
        self.stores.settings.set_requires_two_factor(&who.merchant_id, required).await?;
        let action = if required { "settings.two_factor.required" } else { "settings.two_factor.optional" };
        self.audit(Audited::of(who), action, Some(&who.merchant_id), Outcome::Success).await;
        Ok(())
    }

    pub async fn set_time_zone(&self, who: &SignedIn, name: &str) -> Result<(), BackofficeError> {
        self.permitted(who, Action::ManageSettings, "settings.time_zone", &who.merchant_id).await?;
        let zone = TimeZone::parse(name.trim())?;
        self.stores.settings.set_time_zone(&who.merchant_id, zone.name()).await?;
        self.audit(Audited::of(who), "settings.time_zone", Some(zone.name()), Outcome::Success).await;
        Ok(())
    }
}
