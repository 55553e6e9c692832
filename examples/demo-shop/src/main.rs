//! `demo-shop`: runs the demo shop alone against a running gateway.

use anyhow::Context;
use clap::Parser;
use demo_shop::config::{DEFAULT_BIND, DEFAULT_DATABASE_URL};
use demo_shop::{start, Secret, ShopConfig};
use std::net::SocketAddr;

/// A demo merchant shop that takes payments through a Paygate gateway's public API.
#[derive(Debug, Parser)]
#[command(name = "demo-shop", version)]
struct Args {
    /// The gateway's public base URL, e.g. http://127.0.0.1:8080.
    #[arg(long, env = "PAYGATE_GATEWAY_URL")]
    gateway: String,
    /// Where the shop listens (port 0: any free port).
    #[arg(long, env = "DEMO_SHOP_BIND", default_value_t = DEFAULT_BIND)]
    bind: SocketAddr,
    /// The shop's URL as browsers and the gateway's webhooks reach it (default: http://<bind>).
    #[arg(long, env = "DEMO_SHOP_PUBLIC_URL")]
    public_url: Option<String>,
    /// sqlite://path.db (created when missing) or sqlite::memory:.
    #[arg(long, env = "DEMO_SHOP_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// The checkout's language: ko or en.
    #[arg(long, env = "DEMO_SHOP_LOCALE", default_value = "en")]
    locale: String,
    /// The merchant's secret key (sk_test_...). Prefer the environment variable.
    #[arg(
        long = "secret-key",
        env = "PAYGATE_SECRET_KEY",
        hide_env_values = true
    )]
    secret_key: String,
    /// The merchant's publishable key (pk_test_...).
    #[arg(long = "publishable-key", env = "PAYGATE_PUBLISHABLE_KEY")]
    publishable_key: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-shop: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let config = ShopConfig {
        bind: args.bind,
        public_url: args.public_url,
        gateway_url: args.gateway,
        secret_key: Secret::new(args.secret_key),
        publishable_key: args.publishable_key,
        database_url: args.database_url,
        locale: args.locale,
    };
    let gateway = config.gateway_url.clone();
    let shop = start(config)
        .await
        .with_context(|| format!("starting the shop against the gateway at {gateway}"))?;
    println!("Demo shop: {}", shop.url());
    tokio::signal::ctrl_c().await?;
    shop.stop().await
}
