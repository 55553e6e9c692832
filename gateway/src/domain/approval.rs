//! The customer's way in: one approval code per intent, and the links built from it. The HTTPS
//! link is the QR payload and the mobile link; apps get a custom-scheme link and an Android
//! `intent://` link that falls back to the HTTPS page when no app claims it.

use super::intent::PaymentIntent;
use super::Scope;

/// An intent found by its approval code, with what the approval page shows of its merchant.
#[derive(Debug, Clone)]
pub struct CodedIntent {
    pub scope: Scope,
    pub intent: PaymentIntent,
    pub merchant_name: String,
    /// The wallet customer who approved or declined it, once one has.
    pub customer_id: Option<String>,
}

/// A payment as the wallet customer who approved or declined it sees it.
#[derive(Debug, Clone)]
pub struct CustomerPayment {
    pub merchant_name: String,
    pub intent: PaymentIntent,
}

/// How apps claim approval links. Configured once per deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLinks {
    /// Custom URL scheme of the wallet app (`paygate` gives `paygate://p/{code}`).
    pub scheme: String,
    /// Android application id that the `intent://` link names.
    pub android_package: String,
}

impl Default for AppLinks {
    fn default() -> Self {
        Self { scheme: "paygate".into(), android_package: "dev.paygate.wallet".into() }
    }
}

/// The links of one approval code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalLinks {
    pub code: String,
    pub url: String,
    pub app_url: String,
    pub android_intent_url: String,
}

/// Characters in an approval code: 32 base62 characters, about 190 bits.
pub const CODE_LEN: usize = 32;

/// Whether `code` has the shape of an approval code (checked before any lookup).
pub fn is_code(code: &str) -> bool {
    code.len() == CODE_LEN && code.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl AppLinks {
    pub fn links(&self, public_url: &str, code: &str) -> ApprovalLinks {
        let url = format!("{}/p/{code}", public_url.trim_end_matches('/'));
        let fallback: String = form_urlencoded::byte_serialize(url.as_bytes()).collect();
        ApprovalLinks {
            app_url: format!("{}://p/{code}", self.scheme),
            android_intent_url: format!(
                "intent://p/{code}#Intent;scheme={};package={};S.browser_fallback_url={fallback};end",
                self.scheme, self.android_package
            ),
            url,
            code: code.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_android_link_falls_back_to_the_https_page() {
        let links = AppLinks::default().links("https://pay.example.com/", "abc");
        assert_eq!(links.url, "https://pay.example.com/p/abc");
        assert_eq!(links.app_url, "paygate://p/abc");
        assert_eq!(
            links.android_intent_url,
            "intent://p/abc#Intent;scheme=paygate;package=dev.paygate.wallet;\
             S.browser_fallback_url=https%3A%2F%2Fpay.example.com%2Fp%2Fabc;end"
        );
    }

    #[test]
    fn only_32_base62_characters_are_a_code() {
        assert!(is_code(&"a".repeat(32)));
        assert!(!is_code(&"a".repeat(31)));
        assert!(!is_code(&format!("{}-", "a".repeat(31))));
    }
}
