//! Domain types: they validate on construction, so an invalid value cannot exist past the edge.

pub mod approval;
pub mod customer;
pub mod event;
pub mod idempotency;
pub mod intent;
pub mod keys;
pub mod ledger;
pub mod merchant;
pub mod money;
pub mod query;
pub mod refund;
pub mod transaction;
pub mod wallet;
pub mod webhook;

/// A refused input: a stable code, the offending parameter and a message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub code: &'static str,
    pub param: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(code: &'static str, param: &'static str, message: impl Into<String>) -> Self {
        Self { code, param, message: message.into() }
    }
}

/// Which side of a merchant's account: test and live objects never mix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    pub merchant_id: String,
    pub livemode: bool,
}

/// Checks a required free-text field: trimmed, non-empty, at most `max` characters, no control characters.
pub fn text_field(
    value: &str,
    param: &'static str,
    max: usize,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ValidationError::new("parameter_missing", param, format!("{param} must not be empty")));
    }
    // Counted as sent, white space around it included: the documented `maxLength`.
    if value.chars().count() > max {
        return Err(ValidationError::new(
            "parameter_too_long",
            param,
            format!("{param} must be at most {max} characters"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "parameter_invalid",
            param,
            format!("{param} must not contain control characters"),
        ));
    }
    Ok(trimmed.to_owned())
}
