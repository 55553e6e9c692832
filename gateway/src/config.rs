//! Configuration: defaults, then an optional TOML file, then environment variables; validated once.

use crate::domain::approval::AppLinks;
use crate::ids::random_bytes;
use crate::secret::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/paygate.db";

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// Base of every URL we hand out (approval links, docs).
    pub public_url: String,
    pub database_url: String,
    /// Keys API keys and client secrets are hashed under. Replicas must share it.
    pub key_hash_secret: Secret,
    pub sweep_interval_secs: u64,
    /// Redis for live events across replicas; `None` keeps them in-process (one replica).
    pub redis_url: Option<Secret>,
    /// SMTP for the back office's mail (`smtps://user:password@host:465`, or `smtp://...` with
    /// `?tls=required` for STARTTLS); unset, the embedded default keeps mail in the development
    /// mailbox and production cannot sign merchants up.
    pub smtp_url: Option<Secret>,
    /// The `From` of that mail.
    pub mail_from: String,
    /// Development only: let webhooks reach loopback, private and link-local addresses.
    pub webhook_allow_private: bool,
    /// The wallet app's custom scheme and Android package, for the links in `next_action`.
    pub app_links: AppLinks,
    /// iOS apps (`TEAMID.bundle.id`) that may claim `/p/` links, served in
    /// `/.well-known/apple-app-site-association`.
    pub apple_app_ids: Vec<String>,
    /// SHA-256 fingerprints of the Android signing certificates, served in
    /// `/.well-known/assetlinks.json` for `app_links.android_package`.
    pub android_cert_fingerprints: Vec<String>,
    /// The header in which the load balancer passes the client's address (`x-real-ip`), for
    /// per-client rate limits; unset, only the socket's peer counts.
    pub client_ip_header: Option<String>,
    /// Connections one client address may hold at once (see [`crate::server::ServeSettings`]).
    pub max_connections_per_client: usize,
    /// How logs are written.
    pub log_format: LogFormat,
    /// How long a request holds its Idempotency-Key before a retry may take it over.
    pub idempotency_lease_secs: u64,
    /// Where `paygate serve` starts the demo shop beside itself (the embedded default only, never
    /// with PostgreSQL); `None` when turned off.
    pub demo_shop: Option<SocketAddr>,
}

/// Logs for a person (text, coloured only on a terminal) or for a collector (one JSON object per line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The TOML file's shape: every field optional. No `Debug`: it holds the hashing secret.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<String>,
    public_url: Option<String>,
    database_url: Option<String>,
    key_hash_secret: Option<Secret>,
    sweep_interval_secs: Option<u64>,
    redis_url: Option<Secret>,
    smtp_url: Option<Secret>,
    mail_from: Option<String>,
    webhook_allow_private: Option<bool>,
    app_scheme: Option<String>,
    android_package: Option<String>,
    apple_app_ids: Option<Vec<String>>,
    android_cert_fingerprints: Option<Vec<String>>,
    client_ip_header: Option<String>,
    max_connections_per_client: Option<usize>,
    log_format: Option<String>,
    idempotency_lease_secs: Option<u64>,
    demo_shop: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    /// Only the parser's message and position: its full text would quote the offending line,
    /// which may hold the hashing secret.
    #[error("config file {0} is not valid: {1}")]
    Parse(PathBuf, String),
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Loads from `file` (if given, it must exist; otherwise `paygate.toml` is read when present),
    /// then the environment: `PAYGATE_BIND`, `PAYGATE_PUBLIC_URL`, `DATABASE_URL`,
    /// `PAYGATE_KEY_HASH_SECRET`, `PAYGATE_SWEEP_INTERVAL_SECS`, `REDIS_URL`, `PAYGATE_WEBHOOK_ALLOW_PRIVATE`,
    /// `PAYGATE_APP_SCHEME`, `PAYGATE_ANDROID_PACKAGE`, `PAYGATE_APPLE_APP_IDS`, `PAYGATE_ANDROID_CERT_SHA256`,
    /// `PAYGATE_CLIENT_IP_HEADER`, `PAYGATE_MAX_CONNECTIONS_PER_CLIENT`, `PAYGATE_LOG_FORMAT`,
    /// `PAYGATE_IDEMPOTENCY_LEASE_SECS`.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self::from_sources(file, env)
    }

    pub fn from_sources(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let file_config = match file {
            Some(path) => read_file(path)?,
            None if Path::new("paygate.toml").exists() => read_file(Path::new("paygate.toml"))?,
            None => FileConfig::default(),
        };
        let bind_text = env("PAYGATE_BIND").or(file_config.bind).unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(bind_text.as_str())
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| ConfigError::Invalid(format!("bind address `{bind_text}` is not host:port")))?;
        let public_url = env("PAYGATE_PUBLIC_URL")
            .or(file_config.public_url)
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!("public_url `{public_url}` must start with http:// or https://")));
        }
        let database_url = env("DATABASE_URL").or(file_config.database_url).unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !["sqlite:", "postgres://", "postgresql://"].iter().any(|scheme| database_url.starts_with(scheme)) {
            let scheme = database_url.split(':').next().unwrap_or_default();
            return Err(ConfigError::Invalid(format!("DATABASE_URL scheme `{scheme}` is not supported: use sqlite: or postgres://")));
        }
        let key_hash_secret = match env("PAYGATE_KEY_HASH_SECRET").map(Secret::new).or(file_config.key_hash_secret) {
            Some(s) if s.expose().len() >= 32 => s,
            Some(_) => return Err(ConfigError::Invalid("key_hash_secret must be at least 32 characters".into())),
            None if database_url.starts_with("sqlite:") => embedded_secret(&database_url)?,
            None => {
                return Err(ConfigError::Invalid(
                    "PAYGATE_KEY_HASH_SECRET must be set when DATABASE_URL is not SQLite (every replica needs the same one)".into(),
                ))
            }
        };
        let sweep_interval_secs = env("PAYGATE_SWEEP_INTERVAL_SECS")
            .map(|v| v.parse().map_err(|_| ConfigError::Invalid("PAYGATE_SWEEP_INTERVAL_SECS must be a whole number".into())))
            .transpose()?
            .or(file_config.sweep_interval_secs)
            .unwrap_or(5)
            .max(1);
        let redis_url = env("REDIS_URL").map(Secret::new).or(file_config.redis_url);
        if let Some(url) = &redis_url {
            if !(url.expose().starts_with("redis://") || url.expose().starts_with("rediss://")) {
                return Err(ConfigError::Invalid("REDIS_URL must start with redis:// or rediss://".into()));
            }
        }
        let smtp_url = env("PAYGATE_SMTP_URL").map(Secret::new).or(file_config.smtp_url);
        if let Some(url) = &smtp_url {
            if !(url.expose().starts_with("smtp://") || url.expose().starts_with("smtps://")) {
                return Err(ConfigError::Invalid("PAYGATE_SMTP_URL must start with smtp:// or smtps://".into()));
            }
        }
        let mail_from = env("PAYGATE_MAIL_FROM").or(file_config.mail_from).unwrap_or_else(|| "Paygate <no-reply@localhost>".into());
        let webhook_allow_private = match env("PAYGATE_WEBHOOK_ALLOW_PRIVATE").map(|v| v.to_ascii_lowercase()) {
            Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => true,
            Some(v) if matches!(v.as_str(), "false" | "0" | "no") => false,
            Some(_) => return Err(ConfigError::Invalid("PAYGATE_WEBHOOK_ALLOW_PRIVATE must be true or false".into())),
            None => file_config.webhook_allow_private.unwrap_or(false),
        };
        let defaults = AppLinks::default();
        let scheme = env("PAYGATE_APP_SCHEME").or(file_config.app_scheme).unwrap_or(defaults.scheme);
        // RFC 3986 scheme: a letter, then letters, digits, `+`, `-`, `.`; http(s) would not be an app.
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_lowercase())
            && scheme.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
            && !matches!(scheme.as_str(), "http" | "https" | "intent" | "javascript" | "data");
        if !scheme_ok {
            return Err(ConfigError::Invalid(format!("app_scheme `{scheme}` must be a lower-case URL scheme of the app's own")));
        }
        let android_package = env("PAYGATE_ANDROID_PACKAGE").or(file_config.android_package).unwrap_or(defaults.android_package);
        let package_ok = android_package.split('.').count() >= 2
            && android_package.split('.').all(|p| p.starts_with(|c: char| c.is_ascii_alphabetic()) && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !package_ok {
            return Err(ConfigError::Invalid(format!("android_package `{android_package}` is not an Android application id")));
        }
        let list = |v: String| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>();
        let apple_app_ids = env("PAYGATE_APPLE_APP_IDS").map(list).or(file_config.apple_app_ids).unwrap_or_default();
        if let Some(bad) = apple_app_ids.iter().find(|id| !id.contains('.') || id.contains(char::is_whitespace)) {
            return Err(ConfigError::Invalid(format!("apple app id `{bad}` must look like TEAMID.bundle.id")));
        }
        let android_cert_fingerprints =
            env("PAYGATE_ANDROID_CERT_SHA256").map(list).or(file_config.android_cert_fingerprints).unwrap_or_default();
        let fingerprint_ok = |f: &String| f.len() == 95 && f.split(':').all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()));
        if let Some(bad) = android_cert_fingerprints.iter().find(|f| !fingerprint_ok(f)) {
            return Err(ConfigError::Invalid(format!("android certificate fingerprint `{bad}` must be 32 hex bytes separated by colons")));
        }
        let client_ip_header = env("PAYGATE_CLIENT_IP_HEADER").or(file_config.client_ip_header).map(|h| h.trim().to_ascii_lowercase());
        if let Some(h) = &client_ip_header {
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err(ConfigError::Invalid(format!("client_ip_header `{h}` is not an HTTP header name")));
            }
        }
        let max_connections_per_client = env("PAYGATE_MAX_CONNECTIONS_PER_CLIENT")
            .map(|v| v.parse().map_err(|_| ConfigError::Invalid("PAYGATE_MAX_CONNECTIONS_PER_CLIENT must be a whole number".into())))
            .transpose()?
            .or(file_config.max_connections_per_client)
            .unwrap_or(crate::server::ServeSettings::default().max_connections_per_client);
        if max_connections_per_client == 0 {
            return Err(ConfigError::Invalid("max_connections_per_client must be at least 1".into()));
        }
        let log_format = match env("PAYGATE_LOG_FORMAT").or(file_config.log_format).as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(ConfigError::Invalid(format!("log_format `{other}` must be text or json"))),
        };
        let idempotency_lease_secs = env("PAYGATE_IDEMPOTENCY_LEASE_SECS")
            .map(|v| v.parse().map_err(|_| ConfigError::Invalid("PAYGATE_IDEMPOTENCY_LEASE_SECS must be a whole number".into())))
            .transpose()?
            .or(file_config.idempotency_lease_secs)
            .unwrap_or(60);
        if idempotency_lease_secs == 0 {
            return Err(ConfigError::Invalid("idempotency_lease_secs must be at least 1".into()));
        }
        // The demo shop: the gateway's own address with the next port (any free one when the
        // gateway's port is 0), another address, or `off`.
        let demo_shop = match env("PAYGATE_DEMO_SHOP").or(file_config.demo_shop).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("off" | "false" | "0" | "no") => None,
            None | Some("on" | "true" | "1" | "yes") => Some(SocketAddr::new(bind.ip(), if bind.port() == 0 { 0 } else { bind.port().wrapping_add(1) })),
            Some(addr) => Some(addr.parse().map_err(|_| ConfigError::Invalid(format!("demo_shop `{addr}` must be an address such as 127.0.0.1:8081, or off")))?),
        };
        Ok(Config {
            demo_shop,
            idempotency_lease_secs,
            max_connections_per_client,
            log_format,
            client_ip_header,
            bind,
            public_url,
            database_url,
            key_hash_secret,
            sweep_interval_secs,
            redis_url,
            smtp_url,
            mail_from,
            webhook_allow_private,
            app_links: AppLinks { scheme, android_package },
            apple_app_ids,
            android_cert_fingerprints,
        })
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.into(), e))?;
    toml::from_str(&text).map_err(|e| {
        let at = e.span().map(|span| text[..span.start.min(text.len())].lines().count().max(1));
        let position = at.map(|line| format!(" (line {line})")).unwrap_or_default();
        ConfigError::Parse(path.into(), format!("{}{position}", e.message()))
    })
}

/// The embedded default keeps its hashing secret in a file beside the SQLite database, created
/// on first run with owner-only permissions.
fn embedded_secret(database_url: &str) -> Result<Secret, ConfigError> {
    let dir = embedded_dir(database_url);
    let dir = dir.as_path();
    let path = dir.join("key-hash-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(existing.trim()));
    }
    std::fs::create_dir_all(dir).map_err(|e| ConfigError::Read(dir.into(), e))?;
    let secret = hex::encode(random_bytes::<32>());
    write_private(&path, &secret).map_err(|e| ConfigError::Read(path.clone(), e))?;
    Ok(Secret::new(secret))
}

/// The folder of a SQLite database file, where the embedded default keeps its own files.
pub fn embedded_dir(database_url: &str) -> PathBuf {
    let db_path = database_url.trim_start_matches("sqlite:").trim_start_matches("//");
    let db_path = db_path.split('?').next().unwrap_or(db_path);
    Path::new(db_path).parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// Writes a new file readable by its owner only; fails when it exists.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paygate.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:9000\"\npublic_url = \"https://pay.example.com/\"\n").unwrap();
        let db = format!("sqlite://{}/x.db", dir.path().display());
        let env: HashMap<&str, String> = [("DATABASE_URL", db.clone()), ("PAYGATE_BIND", "127.0.0.1:9100".into())].into();
        let config = Config::from_sources(Some(&file), |k| env.get(k).cloned()).unwrap();
        assert_eq!(config.bind.port(), 9100);
        assert_eq!(config.public_url, "https://pay.example.com");
        assert_eq!(config.database_url, db);
        assert!(dir.path().join("key-hash-secret").exists());
    }

    /// The configuration from the environment alone: a SQLite file in `dir`, and `var` when given.
    fn from_env_with(dir: &tempfile::TempDir, var: &str, value: Option<&str>) -> Result<Config, ConfigError> {
        let mut env: HashMap<&str, String> = [("DATABASE_URL", format!("sqlite://{}/x.db", dir.path().display()))].into();
        if let Some(value) = value {
            env.insert(var, value.to_owned());
        }
        Config::from_sources(None, |k| env.get(k).cloned())
    }

    #[test]
    fn the_demo_shop_takes_the_next_port_unless_placed_elsewhere_or_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let with = |value: Option<&str>| from_env_with(&dir, "PAYGATE_DEMO_SHOP", value);
        assert_eq!(with(None).unwrap().demo_shop, Some("127.0.0.1:8081".parse().unwrap()));
        assert_eq!(with(Some("off")).unwrap().demo_shop, None);
        assert_eq!(with(Some("127.0.0.1:9000")).unwrap().demo_shop, Some("127.0.0.1:9000".parse().unwrap()));
        assert!(with(Some("somewhere")).is_err());
        let mut env: HashMap<&str, String> = [("DATABASE_URL", format!("sqlite://{}/x.db", dir.path().display()))].into();
        env.insert("PAYGATE_BIND", "127.0.0.1:0".into());
        assert_eq!(Config::from_sources(None, |k| env.get(k).cloned()).unwrap().demo_shop, Some("127.0.0.1:0".parse().unwrap()));
    }

    #[test]
    fn the_idempotency_lease_is_a_minute_unless_set_and_never_zero() {
        let dir = tempfile::tempdir().unwrap();
        let with = |lease: Option<&str>| from_env_with(&dir, "PAYGATE_IDEMPOTENCY_LEASE_SECS", lease);
        assert_eq!(with(None).unwrap().idempotency_lease_secs, 60);
        assert_eq!(with(Some("2")).unwrap().idempotency_lease_secs, 2);
        assert!(with(Some("0")).unwrap_err().to_string().contains("at least 1"));
        assert!(with(Some("soon")).unwrap_err().to_string().contains("whole number"));
    }

    #[test]
    fn an_unsupported_database_scheme_is_named() {
        let env: HashMap<&str, String> = [("DATABASE_URL", "mysql://x".to_string())].into();
        let err = Config::from_sources(None, |k| env.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("`mysql` is not supported"), "{err}");
    }

    #[test]
    fn a_host_name_is_accepted_as_bind_address() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/x.db", dir.path().display());
        let env: HashMap<&str, String> = [("DATABASE_URL", db), ("PAYGATE_BIND", "localhost:8080".to_string())].into();
        let config = Config::from_sources(None, |k| env.get(k).cloned()).unwrap();
        assert!(config.bind.ip().is_loopback());
    }

    #[test]
    fn a_bad_config_file_is_reported_without_quoting_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("paygate.toml");
        std::fs::write(&file, "key_hash_secret = \"do-not-print-me-do-not-print-me-1234\"\nbind = = 3\n").unwrap();
        let err = Config::from_sources(Some(&file), |_| None).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(!err.contains("do-not-print-me"), "{err}");
    }

    #[test]
    fn an_smtp_relay_is_an_smtp_url_and_mail_has_a_default_sender() {
        let dir = tempfile::tempdir().unwrap();
        let with = |value: Option<&str>| from_env_with(&dir, "PAYGATE_SMTP_URL", value);
        assert!(with(None).unwrap().smtp_url.is_none());
        assert_eq!(with(None).unwrap().mail_from, "Paygate <no-reply@localhost>");
        assert!(with(Some("smtps://u:p@relay.example:465")).unwrap().smtp_url.is_some());
        let err = with(Some("http://relay.example")).unwrap_err().to_string();
        assert!(err.contains("PAYGATE_SMTP_URL"), "{err}");
        let shown = format!("{:?}", with(Some("smtps://u:hunter2@relay.example:465")).unwrap());
        assert!(!shown.contains("hunter2"), "the relay's password never shows in Debug: {shown}");
    }

    #[test]
    fn private_webhook_destinations_are_refused_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let with = |value: Option<&str>| from_env_with(&dir, "PAYGATE_WEBHOOK_ALLOW_PRIVATE", value);
        assert!(!with(None).unwrap().webhook_allow_private, "refused by default, SQLite included");
        assert!(with(Some("true")).unwrap().webhook_allow_private);
        assert!(!with(Some("0")).unwrap().webhook_allow_private);
        assert!(with(Some("maybe")).is_err());
    }

    #[test]
    fn app_link_settings_are_validated_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}/x.db", dir.path().display());
        let with = |k: &'static str, v: &str| {
            let env: HashMap<&str, String> = [("DATABASE_URL", db.clone()), (k, v.to_owned())].into();
            Config::from_sources(None, |key| env.get(key).cloned())
        };
        let fp = ["AB"; 32].join(":");
        assert_eq!(with("PAYGATE_APP_SCHEME", "shopwallet").unwrap().app_links.scheme, "shopwallet");
        assert!(with("PAYGATE_APP_SCHEME", "https").is_err());
        assert!(with("PAYGATE_APP_SCHEME", "Bad Scheme").is_err());
        assert!(with("PAYGATE_ANDROID_PACKAGE", "nodots").is_err());
        assert_eq!(with("PAYGATE_APPLE_APP_IDS", "ABCDE12345.com.example.wallet, X1.y").unwrap().apple_app_ids.len(), 2);
        assert!(with("PAYGATE_APPLE_APP_IDS", "nodot").is_err());
        assert_eq!(with("PAYGATE_ANDROID_CERT_SHA256", &fp).unwrap().android_cert_fingerprints, vec![fp.clone()]);
        assert!(with("PAYGATE_ANDROID_CERT_SHA256", "AB:CD").is_err());
        assert_eq!(with("PAYGATE_CLIENT_IP_HEADER", "X-Real-IP").unwrap().client_ip_header.as_deref(), Some("x-real-ip"));
        assert!(with("PAYGATE_CLIENT_IP_HEADER", "x real ip").is_err());
    }

    #[test]
    fn postgres_without_a_shared_hash_secret_is_refused() {
        let env: HashMap<&str, String> = [("DATABASE_URL", "postgres://localhost/x".to_string())].into();
        let err = Config::from_sources(None, |k| env.get(k).cloned()).unwrap_err();
        assert!(err.to_string().contains("PAYGATE_KEY_HASH_SECRET"));
    }

    #[test]
    fn the_hash_secret_never_shows_in_debug_output() {
        let env: HashMap<&str, String> = [
            ("DATABASE_URL", "postgres://localhost/x".to_string()),
            ("PAYGATE_KEY_HASH_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".to_string()),
        ]
        .into();
        let config = Config::from_sources(None, |k| env.get(k).cloned()).unwrap();
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
