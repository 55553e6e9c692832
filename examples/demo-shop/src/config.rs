//! The shop's configuration: what a caller fills in ([`ShopConfig`]), and what it becomes once
//! checked at start ([`Settings`]): normalized URLs, their origins, the page security policy.
//! Nothing else reads raw configuration.

use crate::secret::Secret;
use paygate_wire::money::Locale;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use url::Url;

pub const DEFAULT_BIND: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8081);
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/demo-shop.db";

/// How to start a shop. `public_url: None` means `http://<bound address>` (so `bind` may use
/// port 0); `0.0.0.0` and `::` are then written as the loopback address.
#[derive(Debug, Clone)]
pub struct ShopConfig {
    pub bind: SocketAddr,
    /// The shop's own base URL, as browsers and the gateway's webhooks reach it.
    pub public_url: Option<String>,
    /// The gateway's public base URL (`http://127.0.0.1:8080`): API calls and the SDK's script.
    pub gateway_url: String,
    /// `sk_...`: server-side calls only; never sent to a browser, never logged.
    pub secret_key: Secret,
    /// `pk_...`: handed to the checkout page.
    pub publishable_key: String,
    /// `sqlite://path/to/file.db` (created when missing) or `sqlite::memory:`.
    pub database_url: String,
    /// The checkout's language for the SDK and amounts: `ko` or `en`.
    pub locale: String,
}

impl ShopConfig {
    /// The defaults: `127.0.0.1:8081`, `sqlite://data/demo-shop.db`, English.
    pub fn new(
        gateway_url: impl Into<String>,
        secret_key: impl Into<Secret>,
        publishable_key: impl Into<String>,
    ) -> Self {
        ShopConfig {
            bind: DEFAULT_BIND,
            public_url: None,
            gateway_url: gateway_url.into(),
            secret_key: secret_key.into(),
            publishable_key: publishable_key.into(),
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            locale: "en".to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name} must be an absolute http:// or https:// URL without query or fragment (got {value:?})")]
    BadUrl { name: &'static str, value: String },
    #[error("the secret key must be a Paygate secret key (sk_test_... or sk_live_...)")]
    BadSecretKey,
    #[error("the publishable key must be a Paygate publishable key (pk_test_... or pk_live_...)")]
    BadPublishableKey,
    #[error("the locale must be `ko` or `en` (got {0:?})")]
    BadLocale(String),
    #[error("the database URL must start with `sqlite:` (got {0:?})")]
    BadDatabaseUrl(String),
}

/// The configuration once checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Without a trailing slash.
    pub public_url: String,
    /// `scheme://host:port` of `public_url`: what a same-origin form post carries in `Origin`.
    pub public_origin: String,
    /// Without a trailing slash.
    pub gateway_url: String,
    pub gateway_origin: String,
    pub secret_key: Secret,
    pub publishable_key: String,
    pub locale: Locale,
    /// The `Content-Security-Policy` of every page.
    pub content_security_policy: String,
}

impl Settings {
    /// Checks `config`; `bound` is the address the listener got (for a `public_url` of `None`).
    pub fn resolve(config: &ShopConfig, bound: SocketAddr) -> Result<Settings, ConfigError> {
        let public = match &config.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}", browsable(bound)),
        };
        let (public_url, public_origin) = base_url("the shop's public URL", &public)?;
        let (gateway_url, gateway_origin) = base_url("the gateway URL", &config.gateway_url)?;
        let secret_key = &config.secret_key;
        if !(secret_key.expose().starts_with("sk_test_")
            || secret_key.expose().starts_with("sk_live_"))
            || !header_safe(secret_key.expose())
        {
            return Err(ConfigError::BadSecretKey);
        }
        let pk = &config.publishable_key;
        if !(pk.starts_with("pk_test_") || pk.starts_with("pk_live_")) || !header_safe(pk) {
            return Err(ConfigError::BadPublishableKey);
        }
        let locale = match config.locale.to_ascii_lowercase().as_str() {
            "ko" | "ko-kr" => Locale::Ko,
            "en" | "en-us" | "en-gb" => Locale::En,
            _ => return Err(ConfigError::BadLocale(config.locale.clone())),
        };
        let content_security_policy = format!(
            "default-src 'self'; script-src 'self' {gateway_origin} 'wasm-unsafe-eval'; style-src 'self' {gateway_origin}; \
             connect-src {gateway_origin}; img-src 'self' data:; frame-ancestors 'none'"
        );
        Ok(Settings {
            public_url,
            public_origin,
            gateway_url,
            gateway_origin,
            secret_key: secret_key.clone(),
            publishable_key: pk.clone(),
            locale,
            content_security_policy,
        })
    }

    /// `ko` or `en`, as the SDK takes it.
    pub fn locale_tag(&self) -> &'static str {
        match self.locale {
            Locale::Ko => "ko",
            Locale::En => "en",
        }
    }
}

pub fn check_database_url(url: &str) -> Result<(), ConfigError> {
    if url.starts_with("sqlite:") {
        Ok(())
    } else {
        Err(ConfigError::BadDatabaseUrl(url.to_owned()))
    }
}

/// A wildcard listening address is reached through the loopback one.
fn browsable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    }
}

/// The URL without its trailing slash, and its origin.
fn base_url(name: &'static str, value: &str) -> Result<(String, String), ConfigError> {
    let bad = || ConfigError::BadUrl {
        name,
        value: value.to_owned(),
    };
    let url = Url::parse(value).map_err(|_| bad())?;
    let usable = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if !usable {
        return Err(bad());
    }
    let origin = url.origin().ascii_serialization();
    Ok((url.as_str().trim_end_matches('/').to_owned(), origin))
}

/// Visible ASCII only: it goes into a header or an HTML attribute as it is.
fn header_safe(value: &str) -> bool {
    value.len() > 8 && value.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ShopConfig {
        ShopConfig::new(
            "http://127.0.0.1:8080/",
            "sk_test_abc123abc123",
            "pk_test_abc123abc123",
        )
    }

    #[test]
    fn a_port_zero_shop_gets_its_url_from_the_bound_address() {
        let bound: SocketAddr = "0.0.0.0:4321".parse().unwrap();
        let settings = Settings::resolve(&config(), bound).unwrap();
        assert_eq!(settings.public_url, "http://127.0.0.1:4321");
        assert_eq!(settings.public_origin, "http://127.0.0.1:4321");
        assert_eq!(settings.gateway_url, "http://127.0.0.1:8080");
        assert!(settings
            .content_security_policy
            .contains("connect-src http://127.0.0.1:8080;"));
    }

    #[test]
    fn keys_of_the_wrong_kind_are_refused() {
        let bound: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let mut swapped = config();
        swapped.secret_key = Secret::new("pk_test_abc123abc123");
        assert_eq!(
            Settings::resolve(&swapped, bound).unwrap_err(),
            ConfigError::BadSecretKey
        );
        let mut bad_url = config();
        bad_url.gateway_url = "ftp://example.com".into();
        assert!(matches!(
            Settings::resolve(&bad_url, bound),
            Err(ConfigError::BadUrl { .. })
        ));
    }
}
