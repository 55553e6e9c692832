//! The lifecycle benchmark: payments per second through the whole money path (create, approve,
//! and for manual confirmation confirm), at several concurrencies, on SQLite and on PostgreSQL.
//! Each figure is a ratio to a baseline measured in the same run on the same engine: one-row
//! insert transactions per second at the same concurrency, the least a payment can cost there.

use crate::gateway::{Gateway, PgDatabase};
use crate::http::HttpClient;
use crate::stats::{summarize, Summary};
use anyhow::Context;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Options {
    /// Concurrent clients, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32,64")]
    pub concurrency: Vec<usize>,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub engines: Vec<Engine>,
    #[arg(long, value_enum, value_delimiter = ',', default_value = "automatic,manual")]
    pub flows: Vec<Flow>,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,
    /// Seconds of load before measuring (not in the figures).
    #[arg(long, default_value_t = 2)]
    pub warmup_seconds: u64,
    /// The `paygate` binary (default: beside this one).
    #[arg(long)]
    pub paygate_bin: Option<PathBuf>,
    /// A fresh `bench_<random>` database is made there per PostgreSQL scenario, and dropped.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// The report, updated in place: this run replaces the section named by `--section`.
    #[arg(long, default_value = "docs/performance.md")]
    pub output: PathBuf,
    /// Which section of the report this run is (`before`, `after`, ...).
    #[arg(long, default_value = "latest")]
    pub section: String,
    /// The section's heading.
    #[arg(long, default_value = "Latest run")]
    pub title: String,
    #[arg(long, default_value = "")]
    pub revision: String,
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    /// create → approve (captured on approval)
    Automatic,
    /// create → approve → confirm
    Manual,
    /// create only: the store's part of a payment without the processor (for comparing stores)
    Create,
}

impl Engine {
    pub fn label(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        }
    }
}

impl Flow {
    pub fn label(self) -> &'static str {
        match self {
            Flow::Automatic => "create → approve",
            Flow::Manual => "create → approve → confirm",
            Flow::Create => "create",
        }
    }
}

/// What one engine and concurrency measured.
pub struct Row {
    pub engine: Engine,
    pub concurrency: usize,
    /// One-row insert transactions per second.
    pub baseline: Result<f64, String>,
    pub flows: Vec<(Flow, Result<FlowFigures, String>)>,
}

pub struct FlowFigures {
    pub payments_per_second: f64,
    pub measured_payments: usize,
    /// Payments that did not end as expected (an error status or another final state).
    pub errors: usize,
    pub first_error: Option<String>,
    /// Write transactions the database committed, per payment (warm-up included).
    pub commits_per_payment: Option<f64>,
    pub create: Option<Summary>,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let paygate = crate::bench::paygate_binary(options.paygate_bin.as_deref())?;
    let tag = hex::encode(crate::bench::random_tag());
    let work_dir = options.work_dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("paygate-lifecycle-{tag}")));
    std::fs::create_dir_all(&work_dir)?;
    eprintln!("[loadgen] work dir {} (server logs)", work_dir.display());
    let started = Instant::now();
    let mut rows = Vec::new();
    for &engine in &options.engines {
        for &c in &options.concurrency {
            let dir = work_dir.join(format!("{engine:?}-{c}").to_lowercase());
            std::fs::create_dir_all(&dir)?;
            eprintln!("[loadgen] {} baseline, concurrency {c}", engine.label());
            let baseline = baseline(&options, engine, c, &dir).await.map_err(|e| format!("{e:#}"));
            if let Ok(rate) = &baseline {
                eprintln!("[loadgen]   {rate:.0} transactions/s");
            }
            let mut flows = Vec::new();
            for &flow in &options.flows {
                eprintln!("[loadgen] {} {}, concurrency {c}", engine.label(), flow.label());
                let flow_dir = dir.join(format!("{flow:?}").to_lowercase());
                std::fs::create_dir_all(&flow_dir)?;
                let figures = payments(&options, &paygate, engine, flow, c, &flow_dir).await.map_err(|e| format!("{e:#}"));
                match &figures {
                    Ok(f) => eprintln!(
                        "[loadgen]   {:.0} payments/s, {} errors, {:?} commits/payment, create p50 {:?}",
                        f.payments_per_second,
                        f.errors,
                        f.commits_per_payment,
                        f.create.map(|s| s.p50)
                    ),
                    Err(e) => eprintln!("[loadgen]   failed: {e}"),
                }
                flows.push((flow, figures));
            }
            rows.push(Row { engine, concurrency: c, baseline, flows });
        }
    }
    crate::lifecycle_report::write(&options, &rows, started.elapsed())?;
    eprintln!("[loadgen] wrote section `{}` of {}", options.section, options.output.display());
    Ok(())
}

/// The measured window: a warm-up, then `seconds` of load; what ended inside it counts.
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn new(options: &Options) -> Self {
        let start = Instant::now() + Duration::from_secs(options.warmup_seconds);
        Window { start, end: start + Duration::from_secs(options.seconds) }
    }

    fn measures(&self, at: Instant) -> bool {
        at >= self.start && at < self.end
    }

    fn seconds(&self) -> f64 {
        (self.end - self.start).as_secs_f64()
    }
}

/// One-row insert transactions per second at `c` concurrent clients, on the engine's settings.
async fn baseline(options: &Options, engine: Engine, c: usize, dir: &Path) -> anyhow::Result<f64> {
    match engine {
        Engine::Sqlite => {
            // The gateway's own settings: WAL, synchronous NORMAL, one writer connection.
            let url = format!("sqlite://{}", dir.join("baseline.db").display());
            let connect = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(connect).await?;
            pool.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, worker INTEGER NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL)")
                .await?;
            let window = Window::new(options);
            let mut tasks = tokio::task::JoinSet::new();
            for worker in 0..c {
                let pool = pool.clone();
                let end = window.end;
                tasks.spawn(async move {
                    let mut ends = Vec::new();
                    let mut n = 0u64;
                    while Instant::now() < end {
                        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                        insert_sqlite(&mut tx, worker, n).await?;
                        tx.commit().await?;
                        ends.push(Instant::now());
                        n += 1;
                    }
                    anyhow::Ok(ends)
                });
            }
            let rate = rate_of(tasks, &window).await?;
            pool.close().await;
            Ok(rate)
        }
        Engine::Postgres => {
            let database = BaselineDatabase::create(&options.postgres_admin_url).await?;
            let result = async {
                let pool = sqlx::postgres::PgPoolOptions::new().max_connections(c as u32).connect(&database.url).await?;
                pool.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, worker BIGINT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)")
                    .await?;
                let window = Window::new(options);
                let mut tasks = tokio::task::JoinSet::new();
                for worker in 0..c {
                    let pool = pool.clone();
                    let end = window.end;
                    tasks.spawn(async move {
                        let mut ends = Vec::new();
                        let mut n = 0u64;
                        while Instant::now() < end {
                            let mut tx = pool.begin().await?;
                            insert_postgres(&mut tx, worker, n).await?;
                            tx.commit().await?;
                            ends.push(Instant::now());
                            n += 1;
                        }
                        anyhow::Ok(ends)
                    });
                }
                let rate = rate_of(tasks, &window).await?;
                pool.close().await;
                anyhow::Ok(rate)
            }
            .await;
            database.drop().await;
            result
        }
    }
}

/// About the size of a payment intent row's text.
fn row(worker: usize, n: u64) -> (String, i64, String, i64) {
    (format!("row_{worker}_{n}"), worker as i64, format!("{n:0>600}"), n as i64)
}

const INSERT_ROW: &str = "INSERT INTO rows (id, worker, payload, created_at) VALUES ($1, $2, $3, $4)";

async fn insert_sqlite(conn: &mut sqlx::SqliteConnection, worker: usize, n: u64) -> anyhow::Result<()> {
    let (id, worker, payload, at) = row(worker, n);
    sqlx::query(INSERT_ROW).bind(id).bind(worker).bind(payload).bind(at).execute(conn).await?;
    Ok(())
}

async fn insert_postgres(conn: &mut sqlx::PgConnection, worker: usize, n: u64) -> anyhow::Result<()> {
    let (id, worker, payload, at) = row(worker, n);
    sqlx::query(INSERT_ROW).bind(id).bind(worker).bind(payload).bind(at).execute(conn).await?;
    Ok(())
}

async fn rate_of(mut tasks: tokio::task::JoinSet<anyhow::Result<Vec<Instant>>>, window: &Window) -> anyhow::Result<f64> {
    let mut measured = 0usize;
    while let Some(joined) = tasks.join_next().await {
        measured += joined??.into_iter().filter(|at| window.measures(*at)).count();
    }
    Ok(measured as f64 / window.seconds())
}

/// A fresh database for one PostgreSQL baseline.
struct BaselineDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl BaselineDatabase {
    async fn create(admin_url: &str) -> anyhow::Result<Self> {
        let name = format!("bench_{}", hex::encode(crate::bench::random_tag()));
        let mut admin = sqlx::PgConnection::connect(admin_url).await.context("connecting to PostgreSQL")?;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
        admin.close().await?;
        let base = admin_url.rsplit_once('/').map(|(base, _)| base).context("the admin URL has no database")?;
        Ok(BaselineDatabase { admin_url: admin_url.to_owned(), url: format!("{base}/{name}"), name })
    }

    async fn drop(&self) {
        let result = async {
            let mut admin = sqlx::PgConnection::connect(&self.admin_url).await?;
            admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))).await?;
            admin.close().await
        }
        .await;
        if let Err(e) = result {
            eprintln!("[loadgen] could not drop database {}: {e}", self.name);
        }
    }
}

/// The transaction id PostgreSQL assigns next: the count of write transactions between two
/// readings (on a quiet server; read-only transactions get none).
async fn next_xid(admin_url: &str) -> anyhow::Result<i64> {
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    let xid: i64 = sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetch_one(&mut admin).await?;
    admin.close().await?;
    Ok(xid)
}

/// `c` merchants' servers' worth of payments through one gateway process on a fresh database.
async fn payments(options: &Options, paygate: &Path, engine: Engine, flow: Flow, c: usize, dir: &Path) -> anyhow::Result<FlowFigures> {
    let (gateway, database) = match engine {
        Engine::Sqlite => (Gateway::start_sqlite(paygate, dir).await?, None),
        Engine::Postgres => {
            let database = PgDatabase::create(paygate, &options.postgres_admin_url).await?;
            match Gateway::start_postgres(paygate, &database, dir).await {
                Ok(gateway) => (gateway, Some(database)),
                Err(e) => {
                    database.drop_database().await;
                    return Err(e);
                }
            }
        }
    };
    let xid_before = match engine {
        Engine::Postgres => Some(next_xid(&options.postgres_admin_url).await?),
        Engine::Sqlite => None,
    };
    let result = drive(options, &gateway, flow, c).await;
    let xid_after = match engine {
        Engine::Postgres => next_xid(&options.postgres_admin_url).await.ok(),
        Engine::Sqlite => None,
    };
    let printed = gateway.stop().await;
    if let Some(database) = database {
        database.drop_database().await;
    }
    let (mut figures, total_payments) = result?;
    let commits = match engine {
        Engine::Sqlite => printed.iter().find_map(|line| stopped_commits(line)),
        Engine::Postgres => xid_before.zip(xid_after).map(|(before, after)| (after - before).max(0) as u64),
    };
    figures.commits_per_payment = commits.filter(|_| total_payments > 0).map(|n| n as f64 / total_payments as f64);
    Ok(figures)
}

/// `Paygate stopped: 1234 write transactions committed`
fn stopped_commits(line: &str) -> Option<u64> {
    line.strip_prefix("Paygate stopped: ")?.split_whitespace().next()?.parse().ok()
}

/// One payment's timings: when it ended, and how long its create took.
struct Done {
    ended: Instant,
    create: Duration,
}

/// Runs `c` clients until the window ends; returns the figures and every payment completed
/// (warm-up included, for the commit count).
async fn drive(options: &Options, gateway: &Gateway, flow: Flow, c: usize) -> anyhow::Result<(FlowFigures, usize)> {
    let window = Window::new(options);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..c {
        let addr = gateway.writer().addr;
        let auth = format!("Bearer {}", gateway.secret_key);
        let end = window.end;
        tasks.spawn(async move {
            let mut http = HttpClient::new(addr);
            let mut done = Vec::new();
            let mut errors = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                match one_payment(&mut http, &auth, flow, &format!("w{worker}-{n}")).await {
                    Ok(d) => done.push(d),
                    Err(e) => errors.push(format!("{e:#}")),
                }
                n += 1;
            }
            (done, errors)
        });
    }
    let mut measured = Vec::new();
    let mut total = 0;
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (done, failed) = joined?;
        total += done.len();
        errors.extend(failed);
        measured.extend(done.into_iter().filter(|d| window.measures(d.ended)));
    }
    let figures = FlowFigures {
        payments_per_second: measured.len() as f64 / window.seconds(),
        measured_payments: measured.len(),
        errors: errors.len(),
        first_error: errors.into_iter().next(),
        commits_per_payment: None,
        create: summarize(measured.iter().map(|d| d.create).collect()),
    };
    Ok((figures, total))
}

async fn one_payment(http: &mut HttpClient, auth: &str, flow: Flow, order: &str) -> anyhow::Result<Done> {
    let headers = [("authorization", auth)];
    let mut body = serde_json::json!({
        "amount": 12000, "currency": "KRW", "merchant_order_id": order,
        "order_name": "Lifecycle benchmark", "customer_name": "Bench Customer",
    });
    if flow == Flow::Manual {
        body["confirm_mode"] = "manual".into();
    }
    let started = Instant::now();
    let (status, reply) = http.send(Method::POST, "/v1/payment_intents", &headers, Some(Bytes::from(body.to_string()))).await?;
    let create = started.elapsed();
    let intent = expect(status, StatusCode::CREATED, &reply, "create")?;
    let id = intent["id"].as_str().context("no id")?.to_owned();
    let approve = format!("/v1/test_helpers/payment_intents/{id}/approve");
    let last = match flow {
        Flow::Create => {
            anyhow::ensure!(intent["status"] == "requires_action", "create left {}", intent["status"]);
            return Ok(Done { ended: Instant::now(), create });
        }
        Flow::Automatic => {
            let (status, reply) = http.send(Method::POST, &approve, &headers, None).await?;
            expect(status, StatusCode::OK, &reply, "approve")?
        }
        Flow::Manual => {
            let (status, reply) = http.send(Method::POST, &approve, &headers, None).await?;
            let approved = expect(status, StatusCode::OK, &reply, "approve")?;
            anyhow::ensure!(approved["status"] == "requires_confirmation", "approve left {}", approved["status"]);
            let confirm = Bytes::from(serde_json::json!({ "amount": 12000 }).to_string());
            let (status, reply) = http.send(Method::POST, &format!("/v1/payment_intents/{id}/confirm"), &headers, Some(confirm)).await?;
            expect(status, StatusCode::OK, &reply, "confirm")?
        }
    };
    anyhow::ensure!(last["status"] == "succeeded", "the payment ended {}", last["status"]);
    Ok(Done { ended: Instant::now(), create })
}

fn expect(status: StatusCode, wanted: StatusCode, body: &[u8], what: &str) -> anyhow::Result<serde_json::Value> {
    anyhow::ensure!(status == wanted, "{what}: {status} {}", String::from_utf8_lossy(body));
    Ok(serde_json::from_slice(body)?)
}

#[cfg(test)]
mod tests {
    use super::stopped_commits;

    #[test]
    fn the_commit_count_comes_from_the_stop_line() {
        assert_eq!(stopped_commits("Paygate stopped: 1234 write transactions committed"), Some(1234));
        assert_eq!(stopped_commits("Paygate is running"), None);
    }
}
