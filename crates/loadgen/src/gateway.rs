//! The gateway under test: `paygate serve` processes (one on SQLite, or two replicas on one
//! PostgreSQL database and one Redis), their keys, and the REST calls that cause events.

use crate::bench::random_tag;
use crate::client::Target;
use crate::http::HttpClient;
use crate::server::ServerProcess;
use anyhow::Context;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use sqlx::{Connection, Executor, PgConnection};
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

/// The event a per-intent subscriber waits for after its intent is approved.
pub const APPROVED_EVENT: &str = "payment_intent.succeeded";

pub struct Gateway {
    /// Where state changes are made (process A).
    writer: ServerProcess,
    /// Where subscribers connect (process B), when it is another process.
    reader: Option<ServerProcess>,
    pub secret_key: String,
    pub publishable_key: String,
    /// What `paygate` commands need to reach the same database (`DATABASE_URL`, the key hash
    /// secret).
    cli_env: Vec<(String, String)>,
}

pub struct CreatedIntent {
    pub id: String,
    pub client_secret: String,
}

impl Gateway {
    /// One process on a fresh SQLite database; its first run prints the demo merchant's keys.
    pub async fn start_sqlite(paygate: &Path, dir: &Path) -> anyhow::Result<Self> {
        let database_url = format!("sqlite://{}", dir.join("bench.db").display());
        let mut command = Command::new(paygate);
        command.arg("serve").env("DATABASE_URL", &database_url).env_remove("REDIS_URL");
        let mut server = ServerProcess::start("paygate (SQLite)", base_env(command), &dir.join("paygate.log")).await?;
        let lines = server
            .wait_for_output(Duration::from_secs(10), |lines| key_in(lines, "sk_test_").is_some() && key_in(lines, "pk_test_").is_some())
            .await?;
        let secret_key = key_in(&lines, "sk_test_").context("no secret key printed")?;
        let publishable_key = key_in(&lines, "pk_test_").context("no publishable key printed")?;
        Ok(Gateway { writer: server, reader: None, secret_key, publishable_key, cli_env: vec![("DATABASE_URL".into(), database_url)] })
    }

    /// Two replicas on the run's PostgreSQL database, sharing Redis.
    pub async fn start_replicas(paygate: &Path, redis_url: &str, database: &PgDatabase, dir: &Path) -> anyhow::Result<Self> {
        let replica = |name: &str| {
            let mut command = Command::new(paygate);
            command
                .arg("serve")
                .env("DATABASE_URL", &database.url)
                .env("PAYGATE_KEY_HASH_SECRET", &database.key_hash_secret)
                .env("REDIS_URL", redis_url);
            (name.to_owned(), base_env(command))
        };
        let (name_a, command_a) = replica("paygate A");
        let writer = ServerProcess::start(&name_a, command_a, &dir.join("paygate-a.log")).await?;
        let (name_b, command_b) = replica("paygate B");
        let reader = ServerProcess::start(&name_b, command_b, &dir.join("paygate-b.log")).await?;
        Ok(Gateway {
            writer,
            reader: Some(reader),
            secret_key: database.secret_key.clone(),
            publishable_key: database.publishable_key.clone(),
            cli_env: database.cli_env(),
        })
    }

    /// One process on the database, without Redis (the lifecycle benchmark's PostgreSQL setup).
    pub async fn start_postgres(paygate: &Path, database: &PgDatabase, dir: &Path) -> anyhow::Result<Self> {
        let mut command = Command::new(paygate);
        command
            .arg("serve")
            .env("DATABASE_URL", &database.url)
            .env("PAYGATE_KEY_HASH_SECRET", &database.key_hash_secret)
            .env_remove("REDIS_URL");
        let writer = ServerProcess::start("paygate (PostgreSQL)", base_env(command), &dir.join("paygate.log")).await?;
        Ok(Gateway {
            writer,
            reader: None,
            secret_key: database.secret_key.clone(),
            publishable_key: database.publishable_key.clone(),
            cli_env: database.cli_env(),
        })
    }

    /// `n` more merchants on the gateway's database (`paygate merchant create`); their secret
    /// test keys.
    pub async fn add_merchants(&self, paygate: &Path, n: usize) -> anyhow::Result<Vec<String>> {
        let mut keys = Vec::with_capacity(n);
        for i in 0..n {
            let mut command = tokio::process::Command::new(paygate);
            command.args(["merchant", "create", "--name", &format!("Bench Shop {}", i + 2)]).env("RUST_LOG", "warn");
            for (name, value) in &self.cli_env {
                command.env(name, value);
            }
            let output = command.output().await?;
            let lines: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect();
            match key_in(&lines, "sk_test_") {
                Some(key) if output.status.success() => keys.push(key),
                _ => anyhow::bail!("`paygate merchant create` failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr)),
            }
        }
        Ok(keys)
    }

    pub fn writer(&self) -> &ServerProcess {
        &self.writer
    }

    pub fn reader(&self) -> &ServerProcess {
        self.reader.as_ref().unwrap_or(&self.writer)
    }

    /// Every process of this gateway.
    pub fn processes(&self) -> Vec<&ServerProcess> {
        std::iter::once(&self.writer).chain(self.reader.as_ref()).collect()
    }

    /// The merchant-wide stream, on the reader.
    pub fn merchant_stream(&self) -> Target {
        Target {
            addr: self.reader().addr,
            path_and_query: "/v1/events/stream".into(),
            headers: vec![("authorization".into(), format!("Bearer {}", self.secret_key))],
        }
    }

    /// One intent's stream as a checkout page opens it: client secret and publishable key.
    pub fn intent_stream(&self, intent: &CreatedIntent) -> Target {
        Target {
            addr: self.reader().addr,
            path_and_query: format!(
                "/v1/payment_intents/{}/events?client_secret={}&key={}",
                intent.id,
                query_escape(&intent.client_secret),
                query_escape(&self.publishable_key)
            ),
            headers: Vec::new(),
        }
    }

    /// Stops every process; returns what the writer printed on stdout, to its end.
    pub async fn stop(self) -> Vec<String> {
        if let Some(reader) = self.reader {
            reader.stop().await;
        }
        self.writer.stop().await
    }
}

/// Environment shared by every gateway process: a free port, quiet logs, and no per-client
/// connection limit to speak of (every benchmark connection comes from one address).
fn base_env(mut command: Command) -> Command {
    command.env("PAYGATE_BIND", "127.0.0.1:0").env("PAYGATE_MAX_CONNECTIONS_PER_CLIENT", "1000000").env("PAYGATE_DEMO_SHOP", "off").env_remove("PAYGATE_PUBLIC_URL").env_remove("PAYGATE_CONFIG").env("RUST_LOG", "warn");
    command
}

/// A payment intent creation body; the merchant order id carries the message's marker.
pub fn intent_body(merchant_order_id: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "amount": 12000,
            "currency": "KRW",
            "merchant_order_id": merchant_order_id,
            "order_name": "Load test",
            "customer_name": "Bench Customer",
        })
        .to_string(),
    )
}

/// Creates `n` intents through the REST API, four requests at a time, in order.
pub async fn create_intents(gateway: &Gateway, marker: &str, n: usize) -> anyhow::Result<Vec<CreatedIntent>> {
    const WORKERS: usize = 4;
    let mut tasks = Vec::new();
    for worker in 0..WORKERS {
        let addr = gateway.writer.addr;
        let auth = format!("Bearer {}", gateway.secret_key);
        let marker = format!("{marker}intent-");
        tasks.push(tokio::spawn(async move {
            let mut http = HttpClient::new(addr);
            let mut created = Vec::new();
            for i in (worker..n).step_by(WORKERS) {
                let (status, body) =
                    http.send(Method::POST, "/v1/payment_intents", &[("authorization", &auth)], Some(intent_body(&format!("{marker}{i}")))).await?;
                anyhow::ensure!(status == StatusCode::CREATED, "creating an intent: {status} {}", String::from_utf8_lossy(&body));
                let json: serde_json::Value = serde_json::from_slice(&body)?;
                let field = |name: &str| json[name].as_str().map(str::to_owned).with_context(|| format!("no {name} in {json}"));
                created.push((i, CreatedIntent { id: field("id")?, client_secret: field("client_secret")? }));
            }
            Ok(created)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, intent)| intent).collect())
}

/// A fresh database for the two-process scenarios, with one merchant and its test keys.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
    pub key_hash_secret: String,
    pub secret_key: String,
    pub publishable_key: String,
}

impl PgDatabase {
    pub async fn create(paygate: &Path, admin_url: &str) -> anyhow::Result<Self> {
        let admin_url = admin_url.to_owned();
        let name = format!("bench_{}", hex::encode(random_tag()));
        let mut admin = PgConnection::connect(&admin_url).await.context("connecting to PostgreSQL")?;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
        admin.close().await?;
        let base = admin_url.rsplit_once('/').map(|(base, _)| base).context("the admin URL has no database")?;
        let url = format!("{base}/{name}");
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("random: {e}"))?;
        let mut db = PgDatabase {
            admin_url,
            name,
            url,
            key_hash_secret: hex::encode(secret),
            secret_key: String::new(),
            publishable_key: String::new(),
        };
        let output = tokio::process::Command::new(paygate)
            .args(["merchant", "create", "--name", "Bench Shop"])
            .env("DATABASE_URL", &db.url)
            .env("PAYGATE_KEY_HASH_SECRET", &db.key_hash_secret)
            .env("RUST_LOG", "warn")
            .output()
            .await?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
        match (key_in(&lines, "sk_test_"), key_in(&lines, "pk_test_")) {
            (Some(secret_key), Some(publishable_key)) if output.status.success() => {
                db.secret_key = secret_key;
                db.publishable_key = publishable_key;
                Ok(db)
            }
            _ => {
                let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                db.drop_database().await;
                anyhow::bail!("`paygate merchant create` failed ({}): {stderr}", output.status)
            }
        }
    }

    fn cli_env(&self) -> Vec<(String, String)> {
        vec![("DATABASE_URL".into(), self.url.clone()), ("PAYGATE_KEY_HASH_SECRET".into(), self.key_hash_secret.clone())]
    }

    pub async fn drop_database(&self) {
        let result = async {
            let mut admin = PgConnection::connect(&self.admin_url).await?;
            admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))).await?;
            admin.close().await
        }
        .await;
        if let Err(e) = result {
            eprintln!("[loadgen] could not drop database {}: {e}", self.name);
        }
    }
}

/// The first whitespace-separated word starting with `prefix`.
fn key_in(lines: &[String], prefix: &str) -> Option<String> {
    lines.iter().flat_map(|l| l.split_whitespace()).find(|w| w.starts_with(prefix)).map(str::to_owned)
}

fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
