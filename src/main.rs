//! `paygate`: the single binary. `serve` (the default) runs the whole platform on one port.

mod demo;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use gateway::clock::{to_rfc3339, SystemClock};
use gateway::config::{Config, LogFormat};
use gateway::domain::keys::{ApiKeyRecord, KeyHasher, KeyKind};
use gateway::domain::Scope;
use gateway::domain::webhook::WebhookEndpoint;
use gateway::service::webhooks::NewWebhookEndpoint;
use gateway::service::{IssuedKey, Services, WebhookSettings};
use gateway::domain::query::Page;
use gateway::server::ServeSettings;
use gateway::service::workers;
use gateway::store::{Engine, SqlStore};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "paygate", version, about = "Self-hostable payment gateway")]
struct Cli {
    /// TOML configuration file (default: ./paygate.toml when present). Environment variables win.
    #[arg(long, global = true, env = "PAYGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the platform (the default). Creates a test merchant on first run and prints its keys.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    #[command(subcommand)]
    Merchant(MerchantCommand),
    #[command(subcommand)]
    Key(KeyCommand),
    #[command(subcommand)]
    Webhook(WebhookCommand),
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Print the OpenAPI document the code generates: the merchant API's, or with `--wallet` the
    /// wallet API's (`openapi/openapi.json`, `openapi/wallet.json`).
    Openapi {
        /// The customer-side wallet API (`/wallet/v1`) instead of the merchant API.
        #[arg(long)]
        wallet: bool,
    },
}

#[derive(Subcommand)]
enum MerchantCommand {
    /// Create a merchant with test-mode keys (printed once).
    Create {
        #[arg(long)]
        name: String,
    },
    List,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Publishable,
    Secret,
}

#[derive(Clone, Copy, ValueEnum)]
enum Mode {
    Test,
    Live,
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create a key (printed once).
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long, value_enum, default_value = "secret")]
        kind: Kind,
        #[arg(long, value_enum, default_value = "test")]
        mode: Mode,
    },
    /// List a merchant's keys (display prefixes only).
    List {
        #[arg(long)]
        merchant: String,
    },
    /// Issue a replacement; the old key keeps working for `--expires-in` (e.g. 0, 30m, 24h, 7d).
    Roll {
        #[arg(long)]
        key: String,
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        expires_in: Duration,
    },
    /// Stop a key at once.
    Revoke {
        #[arg(long)]
        key: String,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Register a webhook endpoint; its signing secret is printed once.
    Create {
        #[arg(long)]
        merchant: String,
        #[arg(long)]
        url: String,
        /// Comma-separated event types or families (payment_intent.*); default: every event.
        #[arg(long)]
        events: Option<String>,
        #[arg(long, value_enum, default_value = "test")]
        mode: Mode,
    },
    /// List a merchant's webhook endpoints (both modes).
    List {
        #[arg(long)]
        merchant: String,
    },
    /// Issue a new signing secret (printed once); the old one keeps signing for `--overlap`.
    Rotate {
        /// The endpoint's id (we_...).
        endpoint: String,
        #[arg(long, default_value = "24h", value_parser = parse_duration)]
        overlap: Duration,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Check every ledger invariant; exits non-zero when one is broken.
    Check,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let refuse = || format!("`{text}` is not a duration like 30m, 24h or 7d (at most 3650d)");
    let n: u64 = number.parse().map_err(|_| refuse())?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(refuse()),
    };
    match n.checked_mul(unit_secs) {
        Some(secs) if secs <= 3650 * 86_400 => Ok(Duration::from_secs(secs)),
        _ => Err(refuse()),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Openapi { wallet }) = cli.command {
        if wallet {
            print!("{}", mobile_bridge::api::docs::wallet_openapi_json());
        } else {
            print!("{}", gateway::api::docs::openapi_json());
        }
        return Ok(());
    }
    let config = Config::load(cli.config.as_deref())?;
    init_logs(config.log_format);
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Serve = command {
        return serve(config).await;
    }
    let services = open(&config).await?;
    match command {
        Command::Serve | Command::Openapi { .. } => Ok(()),
        Command::Migrate => {
            println!("migrations applied ({})", services.engine().name());
            Ok(())
        }
        Command::Merchant(MerchantCommand::Create { name }) => {
            let (merchant, keys) = services.create_merchant(&name).await?;
            println!("merchant {} ({})", merchant.id, merchant.name);
            print_keys(&keys);
            Ok(())
        }
        Command::Merchant(MerchantCommand::List) => {
            for m in services.list_merchants().await? {
                println!("{}\t{}\t{}", m.id, to_rfc3339(m.created_at), m.name);
            }
            Ok(())
        }
        Command::Key(cmd) => key_command(&services, cmd).await,
        Command::Webhook(cmd) => webhook_command(&services, cmd).await,
        Command::Ledger(LedgerCommand::Check) => {
            let violations = services.ledger_check().await?;
            if violations.is_empty() {
                println!("ledger ok: every invariant holds");
                return Ok(());
            }
            for v in &violations {
                println!("VIOLATION {}: {}", v.invariant, v.detail);
            }
            anyhow::bail!("{} ledger invariant violation(s)", violations.len())
        }
    }
}

/// Logs go to stderr: text for a person (coloured only when stderr is a terminal), or one JSON
/// object per line for a collector. `RUST_LOG` filters them.
fn init_logs(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}

async fn key_command(services: &Services, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Create { merchant, kind, mode } => {
            let kind = match kind {
                Kind::Publishable => KeyKind::Publishable,
                Kind::Secret => KeyKind::Secret,
            };
            let key = services.create_key(&merchant, kind, matches!(mode, Mode::Live)).await?;
            print_keys(&[key]);
        }
        KeyCommand::List { merchant } => {
            for k in services.list_keys(&merchant).await? {
                print_record(&k);
            }
        }
        KeyCommand::Roll { key, expires_in } => {
            let ms = i64::try_from(expires_in.as_millis()).unwrap_or(i64::MAX);
            let (new, old) = services.roll_key(&key, ms).await?;
            print_keys(&[new]);
            print!("old key: ");
            print_record(&old);
        }
        KeyCommand::Revoke { key } => print_record(&services.revoke_key(&key).await?),
    }
    Ok(())
}

async fn webhook_command(services: &Services, cmd: WebhookCommand) -> anyhow::Result<()> {
    match cmd {
        WebhookCommand::Create { merchant, url, events, mode } => {
            services.get_merchant(&merchant).await.with_context(|| format!("no such merchant {merchant}"))?;
            let scope = Scope { merchant_id: merchant, livemode: matches!(mode, Mode::Live) };
            let enabled_events = events.map(|e| e.split(',').map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect());
            let endpoint = services.create_webhook_endpoint(&scope, NewWebhookEndpoint { url, enabled_events }, None).await?;
            print_endpoint(&endpoint);
        }
        WebhookCommand::List { merchant } => {
            services.get_merchant(&merchant).await.with_context(|| format!("no such merchant {merchant}"))?;
            for livemode in [false, true] {
                let scope = Scope { merchant_id: merchant.clone(), livemode };
                let mut page = Page { limit: 100, after: None };
                loop {
                    let list = services.list_webhook_endpoints(&scope, page.clone()).await?;
                    for e in &list.data {
                        print_endpoint(e);
                    }
                    match list.next {
                        Some(next) => page.after = Some(next),
                        None => break,
                    }
                }
            }
        }
        WebhookCommand::Rotate { endpoint, overlap } => {
            let ms = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
            let rotated = services.rotate_webhook_secret_by_id(&endpoint, Some(ms)).await?;
            print_endpoint(&rotated);
            match rotated.previous_secret_expires_at {
                Some(at) => println!("  the previous secret also signs deliveries until {}", to_rfc3339(at)),
                None => println!("  the previous secret no longer signs deliveries"),
            }
        }
    }
    Ok(())
}

/// An endpoint on one line; its secret, when it has just been made, on the next (shown once).
fn print_endpoint(e: &WebhookEndpoint) {
    let mode = if e.livemode { "live" } else { "test" };
    let status = match &e.disabled_reason {
        Some(reason) => format!("disabled ({reason})"),
        None => e.status_text().to_owned(),
    };
    println!("{}\t{}\t{}\t{}\t{}", e.id, mode, status, e.url, e.enabled_events.join(","));
    if let Some(secret) = &e.secret {
        println!("  secret      {}  (shown once)", secret.expose());
    }
}

/// The one place a key's plaintext is shown: right after it was made.
fn print_keys(keys: &[IssuedKey]) {
    for k in keys {
        println!("  {:<11} {}  ({}, shown once)", k.record.kind.as_str(), k.plain.value.expose(), k.record.id);
    }
}

fn print_record(k: &ApiKeyRecord) {
    let state = match (k.revoked_at, k.expires_at) {
        (Some(at), _) => format!("revoked {}", to_rfc3339(at)),
        (None, Some(at)) => format!("expires {}", to_rfc3339(at)),
        (None, None) => "active".into(),
    };
    let mode = if k.livemode { "live" } else { "test" };
    let used = k.last_used_at.map_or_else(|| "never used".to_owned(), |at| format!("last used {}", to_rfc3339(at)));
    println!("{}\t{}\t{}\t{}\t{}\t{}", k.id, k.kind.as_str(), mode, k.display_prefix, state, used);
}

async fn open(config: &Config) -> anyhow::Result<Arc<Services>> {
    Ok(open_trusting(config, Vec::new()).await?.0)
}

/// The services, with webhooks allowed to reach `trusted` (the demo shop beside this process).
/// The services, and their store for the back office's own tables.
async fn open_trusting(config: &Config, trusted: Vec<std::net::SocketAddr>) -> anyhow::Result<(Arc<Services>, Arc<SqlStore>)> {
    let store = Arc::new(SqlStore::connect(&config.database_url).await.context("opening the database")?);
    let webhooks = WebhookSettings { allow_private: config.webhook_allow_private, trusted_local: trusted, ..WebhookSettings::default() };
    let services = Arc::new(
        Services::new(store.clone(), Arc::new(SystemClock), KeyHasher::new(config.key_hash_secret.clone()), config.public_url.clone())
            .with_webhook_settings(webhooks)
            .with_app_links(config.app_links.clone())
            .with_idempotency_lease(Duration::from_secs(config.idempotency_lease_secs)),
    );
    Ok((services, store))
}

/// The first run's Demo Shop owner signs in to the dashboard with this email.
const DEMO_OWNER_EMAIL: &str = "owner@demo-shop.example";

async fn serve(mut config: Config) -> anyhow::Result<()> {
    let listener = listen(config.bind).with_context(|| format!("binding {}", config.bind))?;
    let bound = listener.local_addr()?;
    if config.public_url == format!("http://{}", config.bind) {
        // The default public URL follows the address actually bound (port 0 picks a free one).
        config.public_url = format!("http://{bound}");
    }
    // The demo shop runs beside the embedded default only, never with PostgreSQL.
    let embedded = config.database_url.starts_with("sqlite:");
    let shop_addr = match config.demo_shop.filter(|_| embedded) {
        Some(addr) => Some(demo::address(addr)?),
        None => None,
    };
    let trusted = shop_addr.map(|a| if a.ip().is_unspecified() { std::net::SocketAddr::new([127, 0, 0, 1].into(), a.port()) } else { a });
    let (services, store) = open_trusting(&config, trusted.into_iter().collect()).await?;
    // Mail goes over SMTP when it is configured; otherwise the embedded default keeps it in the
    // development mailbox, and production cannot send any (sign-up says so).
    let mailer = match &config.smtp_url {
        Some(url) => Some(Arc::new(backoffice::mail::SmtpMailer::new(url, &config.mail_from).map_err(|e| anyhow::anyhow!("{e}"))?) as Arc<dyn backoffice::mail::Mailer>),
        None => None,
    };
    let office = backoffice::Backoffice::new(
        services.clone(),
        store,
        backoffice::BackofficeSettings {
            dev_mailbox: embedded && mailer.is_none(),
            redis_url: config.redis_url.clone(),
            redis_prefix: None,
            client_ip_header: config.client_ip_header.clone(),
        },
        mailer.clone(),
    );
    // Only the embedded default (one process) bootstraps a demo merchant: replicas on a shared
    // PostgreSQL would race to create one each. There, use `paygate merchant create`.
    let first_run = services.engine() == Engine::Sqlite && services.list_merchants().await?.is_empty();
    let mut first_keys = None;
    println!("Paygate is running ({} store)", services.engine().name());
    println!("  API base URL  {}/v1", config.public_url);
    println!("  API docs      {}/docs", config.public_url);
    println!("  OpenAPI       {}/openapi.json and {}/wallet/v1/openapi.json", config.public_url, config.public_url);
    println!("  Wallet API    {}/wallet/v1 (customer phones and apps; approval links are {}/p/<code>)", config.public_url, config.public_url);
    println!("  Dashboard     {}/dashboard (merchants sign up there; staff sign in)", config.public_url);
    if mailer.is_some() {
        println!("  Mail          over SMTP, from {}", config.mail_from);
    } else if office.mailbox.is_some() {
        println!("  Dev mailbox   {}/dashboard/dev/mail (sign-up codes land here: no mail server needed)", config.public_url);
    }
    if first_run {
        let (merchant, keys) = services.create_merchant("Demo Shop").await?;
        println!("First run: created test-mode merchant {} ({})", merchant.id, merchant.name);
        print_keys(&keys);
        println!("  Keep the secret key now: only its hash is stored. More keys: `paygate key create --merchant {}`", merchant.id);
        first_keys = Some(keys);
        let password = office.create_owner(&merchant.id, DEMO_OWNER_EMAIL).await.map_err(|e| anyhow::anyhow!("creating the Demo Shop's owner: {e}"))?;
        println!("  Dashboard sign-in: {DEMO_OWNER_EMAIL} / {} (shown once; only its hash is stored)", password.expose());
    } else if services.engine() == Engine::Sqlite {
        println!("  Test keys were printed on first run; make new ones with `paygate key create --merchant <id>` (see `paygate merchant list`).");
    } else {
        println!("  Create merchants and keys with `paygate merchant create --name <name>` and `paygate key create`.");
    }
    if config.webhook_allow_private {
        println!("  Webhooks may reach private and loopback addresses (PAYGATE_WEBHOOK_ALLOW_PRIVATE): for development only.");
    }
    if let Some(url) = &config.redis_url {
        services.bus.attach_redis(url.expose()).map_err(anyhow::Error::msg)?;
        println!("  Live events   shared with other replicas through Redis");
    }
    let shop_keys = match shop_addr {
        Some(_) => demo::keys(&services, &config, first_keys.as_deref()).await?,
        None => None,
    };
    let (signalled_tx, mut signalled) = tokio::sync::watch::channel(false);
    // The demo shop starts once this process serves (it registers its webhook endpoint over
    // HTTP), prints its URL, and stops with the gateway.
    let shop = match (shop_addr, shop_keys) {
        (Some(addr), Some(keys)) => {
            let config = config.clone();
            let mut stopping = signalled_tx.subscribe();
            Some(tokio::spawn(async move {
                match demo::start(&config, addr, keys).await {
                    Ok(shop) => {
                        println!("  Demo shop     {} (a merchant's shop on this gateway; open a payment link in a second tab: that tab is the phone)", shop.url());
                        let _ = stopping.wait_for(|s| *s).await;
                        let _ = shop.stop().await;
                    }
                    Err(e) => eprintln!("The demo shop did not start: {e:#}"),
                }
            }))
        }
        (Some(_), None) => {
            println!("  Demo shop     not started: no merchant is named Demo Shop");
            None
        }
        _ => None,
    };
    let sweeper = tokio::spawn(workers::sweep_loop(services.clone(), Duration::from_secs(config.sweep_interval_secs), signalled_tx.subscribe()));
    // Webhook passes stop starting at the signal; one in flight finishes and records its attempts.
    let deliverer = tokio::spawn(workers::delivery_loop(services.clone(), signalled_tx.subscribe()));
    let housekeeper = tokio::spawn(backoffice::housekeeping::housekeeping_loop(office.clone(), Duration::from_secs(600), signalled_tx.subscribe()));
    let bus = services.bus.clone();
    let stop = async move {
        shutdown_signal().await;
        tracing::info!("shutting down: closing event streams");
        // Open streams end now; their clients reconnect (to another replica) with Last-Event-ID.
        bus.shut_down();
        let _ = signalled_tx.send(true);
    };
    // One Router for every connection (cloned per request, which shares its route table): a table
    // built per connection cost about 18 KiB per open stream (found by profiling 1,000 streams).
    let bridge = mobile_bridge::Bridge::new(
        services.clone(),
        mobile_bridge::BridgeSettings {
            apple_app_ids: config.apple_app_ids.clone(),
            android_cert_fingerprints: config.android_cert_fingerprints.clone(),
            redis_url: config.redis_url.clone(),
            client_ip_header: config.client_ip_header.clone(),
        },
    );
    let commits = services.clone();
    let app = gateway::api::router(services).merge(mobile_bridge::router(bridge)).merge(backoffice::router(office));
    let limits = ServeSettings { max_connections_per_client: config.max_connections_per_client, ..ServeSettings::default() };
    let server = gateway::server::serve(listener, app, limits, stop);
    let deadline = async move {
        let _ = signalled.wait_for(|s| *s).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        served = server => served?,
        _ = deadline => tracing::warn!("requests still running after {SHUTDOWN_GRACE:?}; exiting anyway"),
    }
    sweeper.abort();
    housekeeper.abort();
    if let Some(shop) = shop {
        let _ = tokio::time::timeout(Duration::from_secs(2), shop).await;
    }
    // A pass still in flight after the grace period is cut off: its leases run out within a
    // minute and another replica makes those attempts again (receivers de-duplicate on webhook-id).
    if tokio::time::timeout(Duration::from_secs(2), deliverer).await.is_err() {
        tracing::warn!("webhook delivery pass cut off by the shutdown; its deliveries are retried when their leases end");
    }
    if let Some(commits) = commits.write_commits() {
        println!("Paygate stopped: {commits} write transactions committed");
    }
    Ok(())
}

/// Binds with a deep accept queue: when a replica goes away, its clients' event streams all
/// reconnect to the others at once (the default queue of 128 drops most of them for a second).
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// How long in-flight requests get to finish after SIGTERM.
/// With the 2 s left to a webhook pass, the process is gone within 9 s of the signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(7);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
