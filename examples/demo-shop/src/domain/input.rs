//! What a customer types or picks in a form, checked once: a value of these types is valid.

use std::fmt;

/// Why a form value was refused, as the customer reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// A product's id, as posted by a form (`product_id=3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductId(pub i64);

impl ProductId {
    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value.trim().parse::<i64>() {
            Ok(id) if id > 0 => Ok(ProductId(id)),
            _ => Err(InputError("That product does not exist.".into())),
        }
    }
}

/// How many of one product a cart line holds: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(u8);

impl Quantity {
    pub const MAX: u8 = 99;

    pub fn parse(value: &str) -> Result<Self, InputError> {
        match value.trim().parse::<i64>() {
            Ok(n) if (1..=i64::from(Self::MAX)).contains(&n) => Ok(Quantity(n as u8)),
            _ => Err(InputError(format!(
                "The quantity must be a whole number from 1 to {}.",
                Self::MAX
            ))),
        }
    }

    /// A stored quantity (the table only holds valid ones).
    pub fn from_stored(n: i64) -> Option<Self> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=Self::MAX).contains(n))
            .map(Quantity)
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

/// The name the gateway shows and records: 1 to 100 characters once trimmed, no control
/// characters (the gateway refuses those too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerName(String);

impl CustomerName {
    pub fn parse(value: &str) -> Result<Self, InputError> {
        let name = value.trim();
        if name.is_empty() {
            return Err(InputError("Please enter your name.".into()));
        }
        if name.chars().count() > 100 {
            return Err(InputError(
                "Your name may be at most 100 characters long.".into(),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(InputError(
                "Your name may not contain control characters.".into(),
            ));
        }
        Ok(CustomerName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_outside_one_to_ninety_nine_are_refused() {
        assert_eq!(Quantity::parse(" 3 ").unwrap().get(), 3);
        for bad in ["0", "-1", "100", "1.5", "", "lots", "99999999999999999999"] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_must_be_printable() {
        assert_eq!(
            CustomerName::parse("  Kim Minji ").unwrap().as_str(),
            "Kim Minji"
        );
        assert!(CustomerName::parse("   ").is_err());
        assert!(CustomerName::parse("a\u{0}b").is_err());
        assert!(CustomerName::parse(&"가".repeat(101)).is_err());
        assert!(CustomerName::parse(&"가".repeat(100)).is_ok());
    }
}
