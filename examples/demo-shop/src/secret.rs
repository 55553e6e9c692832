//! Secrets the shop holds (the gateway secret key, the webhook signing secret): a wrapper whose
//! `Debug` and `Display` print a mask, so a log line or a panic message never carries one.
//! The plaintext is reached only through [`Secret::expose`], at the one place that sends it.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The plaintext, for the `Authorization` header or the HMAC key, nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"[redacted]\")")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let secret = Secret::new("sk_test_0123456789abcdef");
        assert!(!format!("{secret:?}").contains("0123456789"));
        assert!(!format!("{secret}").contains("0123456789"));
        assert_eq!(secret.expose(), "sk_test_0123456789abcdef");
    }
}
