//! The back office's rules: who may do what (roles), what a staff password and an email are,
//! how long codes and sessions live, and a merchant's time zone. Plain values, no I/O.

use gateway::clock::Millis;
use gateway::domain::ValidationError;
use gateway::secret::Secret;

/// A confirmation code is good for this long after it was sent.
pub const SIGNUP_CODE_TTL_MS: Millis = 10 * 60_000;
/// Wrong codes a sign-up may be tried with before it is spent.
pub const SIGNUP_CODE_ATTEMPTS: i64 = 5;
/// A session ends after this long without a request...
pub const SESSION_IDLE_MS: Millis = 15 * 60_000;
/// ...and this long after sign-in, whatever happens.
pub const SESSION_ABSOLUTE_MS: Millis = 12 * 3_600_000;
/// Failed sign-ins in a row that lock an account...
pub const SIGN_IN_FAILURE_LIMIT: i64 = 10;
/// ...for this long.
pub const LOCKOUT_MS: Millis = 30 * 60_000;
/// The time zone of a merchant that has not chosen one.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Seoul";

pub const STAFF_PASSWORD_MIN_CHARS: usize = 12;

/// What a member of a merchant's team is allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Owner,
    Admin,
    Developer,
    Analyst,
    Support,
}

/// Everything a role can be allowed or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadTransactions,
    ExportTransactions,
    Refund,
    Cancel,
    ManageKeys,
    ManageWebhooks,
    ReadEvents,
    ManageTeam,
    ReadAudit,
    ManageSettings,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Owner, Role::Admin, Role::Developer, Role::Analyst, Role::Support];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Analyst => "analyst",
            Role::Support => "support",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "developer" => Some(Role::Developer),
            "analyst" => Some(Role::Analyst),
            "support" => Some(Role::Support),
            _ => None,
        }
    }

    /// The one table of permissions: every page and action asks it.
    pub fn may(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(action, ManageSettings),
            Role::Developer => matches!(action, ReadTransactions | ManageKeys | ManageWebhooks | ReadEvents),
            Role::Analyst => matches!(action, ReadTransactions | ExportTransactions),
            Role::Support => matches!(action, ReadTransactions | Refund | Cancel),
        }
    }
}

/// A staff member's email: trimmed, lower-cased, one `@` with something on each side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffEmail(String);

impl StaffEmail {
    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        let email = gateway::domain::customer::Identifier::email(text, "email")?;
        Ok(StaffEmail(email.as_str().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff password of an acceptable length; `Debug` redacts it.
#[derive(Clone, Debug)]
pub struct StaffPassword(gateway::domain::customer::Password);

impl StaffPassword {
    pub fn parse(text: &Secret) -> Result<Self, ValidationError> {
        gateway::domain::customer::Password::parse_at_least(text, STAFF_PASSWORD_MIN_CHARS).map(StaffPassword)
    }

    pub fn secret(&self) -> Secret {
        Secret::new(self.0.expose())
    }
}

/// A six-digit confirmation code as typed: spaces and dashes ignored.
pub fn parse_code(text: &str) -> Result<String, ValidationError> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(ValidationError::new("code_invalid", "code", "Type the six digits of the code we sent."))
    }
}

/// A fresh six-digit code, uniform over 000000..=999999.
pub fn new_code() -> String {
    loop {
        let n = u32::from_le_bytes(gateway::ids::random_bytes::<4>());
        // 4_294_000_000 is the largest multiple of 1,000,000 below 2^32: no bias.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// A merchant's time zone (IANA name); dates in filters and exports are read in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, ValidationError> {
        name.parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| ValidationError::new("time_zone_invalid", "time_zone", "Choose a time zone by its IANA name, for example Asia/Seoul."))
    }

    pub fn default_zone() -> Self {
        TimeZone(chrono_tz::Asia::Seoul)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// `at` as local date and time with the offset: `2026-12-01 14:03:22 +09:00`.
    pub fn format(self, at: Millis) -> String {
        match chrono::DateTime::from_timestamp_millis(at) {
            Some(utc) => utc.with_timezone(&self.0).format("%Y-%m-%d %H:%M:%S %:z").to_string(),
            None => String::new(),
        }
    }

    /// The local calendar date of `at`.
    pub fn date_of(self, at: Millis) -> chrono::NaiveDate {
        chrono::DateTime::from_timestamp_millis(at).map(|utc| utc.with_timezone(&self.0).date_naive()).unwrap_or_default()
    }

    /// A local time as a `datetime-local` field sends it (`2026-12-01T14:03`, seconds optional)
    /// read in this zone; a time a DST change skips is refused, a repeated one is its earliest.
    pub fn parse_local(self, text: &str, field: &'static str) -> Result<Millis, ValidationError> {
        use chrono::TimeZone as _;
        let invalid = || ValidationError::new("time_invalid", field, "Give a date and time such as 2026-12-01T14:00.");
        let text = text.trim();
        let local = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| invalid())?;
        self.0.from_local_datetime(&local).earliest().map(|t| t.timestamp_millis()).ok_or_else(invalid)
    }

    /// `at` as a `datetime-local` field shows it in this zone.
    pub fn format_local_input(self, at: Millis) -> String {
        chrono::DateTime::from_timestamp_millis(at).map(|utc| utc.with_timezone(&self.0).format("%Y-%m-%dT%H:%M").to_string()).unwrap_or_default()
    }

    /// The instant the local day `date` starts (the earliest, if a DST change repeats it).
    pub fn start_of(self, date: chrono::NaiveDate) -> Millis {
        use chrono::TimeZone as _;
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        match self.0.from_local_datetime(&midnight) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.timestamp_millis(),
            // A day that starts in a DST gap: its first instant is an hour later.
            chrono::LocalResult::None => self
                .0
                .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
                .earliest()
                .map_or(midnight.and_utc().timestamp_millis(), |t| t.timestamp_millis()),
        }
    }
}

#[cfg(test)]
mod local_time_tests {
    use super::TimeZone;

    #[test]
    fn a_local_time_is_read_in_the_merchants_zone_and_nonsense_is_refused() {
        let seoul = TimeZone::default_zone();
        let at = seoul.parse_local("2026-12-01T09:00", "since").unwrap();
        assert_eq!(at, chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z").unwrap().timestamp_millis());
        assert_eq!(seoul.format_local_input(at), "2026-12-01T09:00");
        assert_eq!(seoul.parse_local("2026-12-01T09:00:30", "since").unwrap(), at + 30_000);
        for bad in ["", "yesterday", "2026-13-01T00:00", "2026-12-01"] {
            assert_eq!(seoul.parse_local(bad, "since").unwrap_err().code, "time_invalid", "{bad}");
        }
        let new_york = TimeZone::parse("America/New_York").unwrap();
        assert!(new_york.parse_local("2026-03-08T02:30", "since").is_err(), "skipped by the DST change");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_owners_change_settings_and_each_role_keeps_to_its_work() {
        assert!(Role::Owner.may(Action::ManageSettings));
        assert!(!Role::Admin.may(Action::ManageSettings));
        assert!(Role::Admin.may(Action::ManageTeam));
        assert!(!Role::Developer.may(Action::Refund));
        assert!(Role::Developer.may(Action::ManageKeys));
        assert!(!Role::Analyst.may(Action::Refund));
        assert!(Role::Analyst.may(Action::ExportTransactions));
        assert!(Role::Support.may(Action::Refund) && Role::Support.may(Action::Cancel));
        assert!(Role::Developer.may(Action::ManageWebhooks) && Role::Developer.may(Action::ReadEvents));
        assert!(!Role::Analyst.may(Action::ManageKeys) && !Role::Support.may(Action::ReadEvents));
        assert!(!Role::Support.may(Action::ExportTransactions));
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }

    #[test]
    fn passwords_shorter_than_twelve_characters_are_refused() {
        assert_eq!(StaffPassword::parse(&Secret::new("eleven-char")).unwrap_err().code, "password_too_short");
        assert!(StaffPassword::parse(&Secret::new("twelve-chars")).is_ok());
        assert!(!format!("{:?}", StaffPassword::parse(&Secret::new("twelve-chars")).unwrap()).contains("twelve"));
    }

    #[test]
    fn codes_are_six_digits_and_typing_spaces_is_forgiven() {
        for _ in 0..100 {
            let code = new_code();
            assert_eq!(parse_code(&code).unwrap(), code);
        }
        assert_eq!(parse_code("123 456").unwrap(), "123456");
        assert!(parse_code("12345").is_err());
        assert!(parse_code("12345a").is_err());
    }

    #[test]
    fn a_seoul_day_starts_at_fifteen_hundred_utc_the_day_before() {
        let seoul = TimeZone::parse("Asia/Seoul").unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        // 2026-11-30T15:00:00Z
        assert_eq!(seoul.start_of(date), 1_796_050_800_000);
        assert_eq!(seoul.format(1_796_050_800_000), "2026-12-01 00:00:00 +09:00");
        assert_eq!(seoul.date_of(1_796_050_800_000), date);
        assert!(TimeZone::parse("Mars/Olympus").is_err());
    }
}
