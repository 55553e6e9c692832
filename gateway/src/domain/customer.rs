//! Wallet customers: how they identify themselves (an email or a phone number, normalized on
//! construction), their password before hashing, and the account as the API shows it.

use super::ValidationError;
use crate::clock::{rfc3339, Millis};
use super::keys::KeyHash;
use crate::secret::Secret;
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

/// Failed sign-ins in a row that lock an account.
pub const SIGN_IN_FAILURE_LIMIT: i64 = 10;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: Millis = 30 * 60_000;

/// What a customer signs in with: a lower-cased email address, or a phone number in E.164.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Email(String),
    Phone(String),
}

impl Identifier {
    /// An email address, or a phone number when there is no `@`. `param` names the field in errors.
    pub fn parse(text: &str, param: &'static str) -> Result<Self, ValidationError> {
        if text.trim().is_empty() {
            return Err(ValidationError::new("identifier_required", param, "Give the email address or phone number of the account."));
        }
        if text.contains('@') {
            Self::email(text, param)
        } else {
            Self::phone(text, param)
        }
    }

    pub fn email(text: &str, param: &'static str) -> Result<Self, ValidationError> {
        let email = text.trim().to_lowercase();
        let invalid = || ValidationError::new("email_invalid", param, "This is not a valid email address.");
        if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain
                .split('.')
                .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-') && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
        if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") || !labels_ok {
            return Err(invalid());
        }
        let local_ok = local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        if !local_ok {
            return Err(invalid());
        }
        Ok(Identifier::Email(email))
    }

    /// A phone number in E.164 (`+821012345678`). Spaces, dashes, dots and parentheses are
    /// ignored; a national number starting with `0` is read as Korean (`010-1234-5678`).
    pub fn phone(text: &str, param: &'static str) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new("phone_invalid", param, "This is not a valid phone number: use the international form (+82 10 1234 5678) or a Korean number (010-1234-5678).")
        };
        let compact: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let (digits, national) = match compact.strip_prefix('+') {
            Some(rest) => (rest.to_owned(), false),
            None => (compact.clone(), true),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let e164 = if national {
            // Korean national form: a trunk 0, then 8 to 10 digits.
            let rest = digits.strip_prefix('0').ok_or_else(invalid)?;
            if !(8..=10).contains(&rest.len()) || rest.starts_with('0') {
                return Err(invalid());
            }
            format!("82{rest}")
        } else {
            digits
        };
        if !(8..=15).contains(&e164.len()) || e164.starts_with('0') {
            return Err(invalid());
        }
        Ok(Identifier::Phone(format!("+{e164}")))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Identifier::Email(s) | Identifier::Phone(s) => s,
        }
    }

    /// The `customers` column that holds this kind of identifier.
    pub fn column(&self) -> &'static str {
        match self {
            Identifier::Email(_) => "email",
            Identifier::Phone(_) => "phone",
        }
    }
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A password as the customer typed it, of an acceptable length; `Debug` redacts it.
#[derive(Clone)]
pub struct Password(Secret);

impl Password {
    pub fn parse(text: &Secret) -> Result<Self, ValidationError> {
        Self::parse_at_least(text, PASSWORD_MIN_CHARS)
    }

    /// A password of at least `min_chars` characters (back-office staff need 12).
    pub fn parse_at_least(text: &Secret, min_chars: usize) -> Result<Self, ValidationError> {
        let chars = text.expose().chars().count();
        if chars < min_chars {
            return Err(ValidationError::new(
                "password_too_short",
                "password",
                format!("The password must be at least {min_chars} characters long."),
            ));
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(ValidationError::new(
                "password_too_long",
                "password",
                format!("The password must be at most {PASSWORD_MAX_CHARS} characters long."),
            ));
        }
        Ok(Password(text.clone()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

/// A wallet account as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Customer {
    /// `cus_...`
    pub id: String,
    /// Lower-cased; `null` when the account was opened with a phone number only.
    pub email: Option<String>,
    /// E.164 (`+821012345678`); `null` when the account was opened with an email address only.
    pub phone: Option<String>,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Result<Identifier, &'static str> {
        Identifier::parse(text, "identifier").map_err(|e| e.code)
    }

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(id(" Alice@Example.COM "), Ok(Identifier::Email("alice@example.com".into())));
        for bad in ["a@b", "@example.com", "a@.com", "a b@example.com", "a@@example.com", "a@exa mple.com", "a..b@example.com"] {
            assert_eq!(id(bad), Err("email_invalid"), "{bad}");
        }
    }

    #[test]
    fn phones_are_normalized_to_e164_and_korean_numbers_are_read_as_plus_82() {
        assert_eq!(id("010-1234-5678"), Ok(Identifier::Phone("+821012345678".into())));
        assert_eq!(id("+82 10 1234 5678"), Ok(Identifier::Phone("+821012345678".into())));
        assert_eq!(id("+1 (415) 555-0100"), Ok(Identifier::Phone("+14155550100".into())));
        for bad in ["12345", "+0123456789", "010-12", "phone", "+82 10 1234 5678 9999 99", "1012345678"] {
            assert_eq!(id(bad), Err("phone_invalid"), "{bad}");
        }
        assert_eq!(id("  "), Err("identifier_required"));
    }

    #[test]
    fn passwords_have_a_length_range_and_never_print() {
        let short = Password::parse(&Secret::new("123456789")).map(|_| ()).map_err(|e| e.code);
        assert_eq!(short, Err("password_too_short"));
        let long = Password::parse(&Secret::new("x".repeat(129))).map(|_| ()).map_err(|e| e.code);
        assert_eq!(long, Err("password_too_long"));
        let ok = Password::parse(&Secret::new("correct horse")).expect("ten characters or more");
        assert!(!format!("{ok:?}").contains("horse"));
    }
}

// What the customer store takes and answers.

/// A new account: its identifiers (at least one) and its argon2id password hash (PHC string).
#[derive(Debug, Clone)]
pub struct NewCustomerRecord {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub password_hash: Secret,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomerCreated {
    Created(Customer),
    IdentifierTaken,
}

/// An account with its sign-in state.
#[derive(Debug, Clone)]
pub struct CustomerCredentials {
    pub customer: Customer,
    pub password_hash: Secret,
    pub failed_signins: i64,
    pub locked_until: Option<Millis>,
}

/// A stored refresh token: the keyed hash of its value, never the value.
#[derive(Debug, Clone)]
pub struct RefreshTokenRecord {
    pub id: String,
    pub family_id: String,
    pub customer_id: String,
    pub token_hash: KeyHash,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// The token a rotation issues; its family and customer are those of the token spent.
#[derive(Debug, Clone)]
pub struct NextRefreshToken {
    pub id: String,
    pub token_hash: KeyHash,
    pub expires_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was spent and `next` now stands in for it.
    Rotated { customer_id: String },
    /// The token had been spent before: its whole family is now revoked.
    Reused { customer_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}
