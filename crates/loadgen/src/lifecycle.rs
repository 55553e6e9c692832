//! The lifecycle benchmark: payments per second through the whole money path (create, approve,
//! and for manual confirmation confirm), at several concurrencies, on SQLite and on PostgreSQL.
//! Each figure is a ratio to a baseline measured in the same run on the same engine: one-row
//! insert transactions per second at the same concurrency, the least a payment can cost there.
//! The clients pay for one merchant or spread over several (`--merchants`). After the highest
//! concurrency, payments arrive at half its rate on a fixed schedule, to measure create latency
//! at that load beside the same schedule's one-row inserts and `GET /healthz`.

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
    /// Merchants the clients' payments are spread over (client `i` pays for merchant `i mod m`),
    /// comma-separated: each count is a run of its own.
    #[arg(long, value_delimiter = ',', default_value = "1,16")]
    pub merchants: Vec<usize>,
    /// After the highest concurrency, measure create latency at half its payment rate (on a fixed
    /// schedule), beside one-row inserts and `GET /healthz` on the same schedule.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub half_load: bool,
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

/// What one engine, merchant count and concurrency measured.
pub struct Row {
    pub engine: Engine,
    pub merchants: usize,
    pub concurrency: usize,
    /// One-row insert transactions per second.
    pub baseline: Result<f64, String>,
    pub flows: Vec<(Flow, Result<FlowFigures, String>)>,
}

/// Latency at half the highest concurrency's payment rate, every request on a fixed schedule
/// (each latency counts from its scheduled start, so a stall is not hidden by fewer requests).
pub struct HalfLoad {
    pub engine: Engine,
    pub merchants: usize,
    pub concurrency: usize,
    /// Payments (and inserts, and health checks) started per second.
    pub rate: f64,
    pub create: Result<Summary, String>,
    /// Payments that did not end as expected.
    pub errors: usize,
    pub insert: Result<Summary, String>,
    pub healthz: Result<Summary, String>,
}

impl HalfLoad {
    /// The goal: create p99 at most 2 × (one-row insert p99 + `GET /healthz` p99).
    pub fn bound(&self) -> Option<Duration> {
        Some(2 * (self.insert.as_ref().ok()?.p99 + self.healthz.as_ref().ok()?.p99))
    }
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
    let mut half_loads = Vec::new();
    for &engine in &options.engines {
        for &merchants in &options.merchants {
            let merchants = merchants.max(1);
            for &c in &options.concurrency {
                let dir = work_dir.join(format!("{engine:?}-m{merchants}-{c}").to_lowercase());
                std::fs::create_dir_all(&dir)?;
                eprintln!("[loadgen] {} baseline, concurrency {c}", engine.label());
                let baseline = baseline(&options, engine, c, None, &dir).await.map(|(rate, _)| rate).map_err(|e| format!("{e:#}"));
                if let Ok(rate) = &baseline {
                    eprintln!("[loadgen]   {rate:.0} transactions/s");
                }
                let mut flows = Vec::new();
                for &flow in &options.flows {
                    eprintln!("[loadgen] {} {}, {merchants} merchant(s), concurrency {c}", engine.label(), flow.label());
                    let flow_dir = dir.join(format!("{flow:?}").to_lowercase());
                    std::fs::create_dir_all(&flow_dir)?;
                    let figures = payments(&options, &paygate, engine, flow, merchants, c, None, &flow_dir).await.map_err(|e| format!("{e:#}"));
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
                rows.push(Row { engine, merchants, concurrency: c, baseline, flows });
            }
            if options.half_load {
                if let Some(half) = half_load(&options, &paygate, engine, merchants, &rows, &work_dir).await? {
                    half_loads.push(half);
                }
            }
        }
    }
    crate::lifecycle_report::write(&options, &rows, &half_loads, started.elapsed())?;
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

/// When worker `worker` of `c` starts its `n`th request: as fast as it can (`None`), or on the
/// schedule of `rate` requests per second spread evenly over the workers.
#[derive(Clone, Copy)]
struct Schedule {
    start: Instant,
    rate: Option<f64>,
    workers: usize,
}

impl Schedule {
    /// Made right after the window, so the schedule runs through the warm-up into the measured part.
    fn new(rate: Option<f64>, workers: usize) -> Self {
        Schedule { start: Instant::now(), rate, workers }
    }

    /// Waits for the request's turn; returns when it was due (now, unpaced).
    async fn turn(&self, worker: usize, n: u64) -> Instant {
        match self.rate {
            None => Instant::now(),
            Some(rate) => {
                let slot = n as f64 * self.workers as f64 + worker as f64;
                let due = self.start + Duration::from_secs_f64(slot / rate);
                tokio::time::sleep_until(due.into()).await;
                due
            }
        }
    }
}

/// One-row insert transactions per second at `c` concurrent clients, on the engine's settings,
/// and their latency; `pace` spaces them at that many per second in all.
async fn baseline(options: &Options, engine: Engine, c: usize, pace: Option<f64>, dir: &Path) -> anyhow::Result<(f64, Option<Summary>)> {
    match engine {
        Engine::Sqlite => {
            // The gateway's durability: WAL, synchronous FULL (each commit waits for the disk),
            // one writer connection.
            let url = format!("sqlite://{}", dir.join(format!("baseline-{}.db", hex::encode(crate::bench::random_tag()))).display());
            let connect = sqlx::sqlite::SqliteConnectOptions::from_str(&url)?
                .create_if_missing(true)
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10));
            let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(connect).await?;
            pool.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, worker INTEGER NOT NULL, payload TEXT NOT NULL, created_at INTEGER NOT NULL)")
                .await?;
            let window = Window::new(options);
            let schedule = Schedule::new(pace, c);
            let mut tasks = tokio::task::JoinSet::new();
            for worker in 0..c {
                let pool = pool.clone();
                let end = window.end;
                tasks.spawn(async move {
                    let mut done = Vec::new();
                    let mut n = 0u64;
                    while Instant::now() < end {
                        let due = schedule.turn(worker, n).await;
                        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                        insert_sqlite(&mut tx, worker, n).await?;
                        tx.commit().await?;
                        done.push((Instant::now(), due));
                        n += 1;
                    }
                    anyhow::Ok(done)
                });
            }
            let measured = rate_of(tasks, &window).await?;
            pool.close().await;
            Ok(measured)
        }
        Engine::Postgres => {
            let database = BaselineDatabase::create(&options.postgres_admin_url).await?;
            let result = async {
                let pool = sqlx::postgres::PgPoolOptions::new().max_connections(c as u32).connect(&database.url).await?;
                pool.execute("CREATE TABLE rows (id TEXT PRIMARY KEY, worker BIGINT NOT NULL, payload TEXT NOT NULL, created_at BIGINT NOT NULL)")
                    .await?;
                let window = Window::new(options);
                let schedule = Schedule::new(pace, c);
                let mut tasks = tokio::task::JoinSet::new();
                for worker in 0..c {
                    let pool = pool.clone();
                    let end = window.end;
                    tasks.spawn(async move {
                        let mut done = Vec::new();
                        let mut n = 0u64;
                        while Instant::now() < end {
                            let due = schedule.turn(worker, n).await;
                            let mut tx = pool.begin().await?;
                            insert_postgres(&mut tx, worker, n).await?;
                            tx.commit().await?;
                            done.push((Instant::now(), due));
                            n += 1;
                        }
                        anyhow::Ok(done)
                    });
                }
                let measured = rate_of(tasks, &window).await?;
                pool.close().await;
                anyhow::Ok(measured)
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

/// Transactions per second that ended inside the window, and their latencies (from when each
/// was due).
async fn rate_of(mut tasks: tokio::task::JoinSet<anyhow::Result<Vec<(Instant, Instant)>>>, window: &Window) -> anyhow::Result<(f64, Option<Summary>)> {
    let mut latencies = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        latencies.extend(joined??.into_iter().filter(|(ended, _)| window.measures(*ended)).map(|(ended, due)| ended - due));
    }
    Ok((latencies.len() as f64 / window.seconds(), summarize(latencies)))
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

/// One gateway process on a fresh database (a new SQLite file in `dir`, or a new PostgreSQL
/// database, returned so the caller drops it after stopping the gateway).
async fn start_gateway(options: &Options, paygate: &Path, engine: Engine, dir: &Path) -> anyhow::Result<(Gateway, Option<PgDatabase>)> {
    Ok(match engine {
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
    })
}

/// `c` merchants' servers' worth of payments (for `merchants` merchants) through one gateway
/// process on a fresh database; `pace` spaces the payments at that many per second in all.
#[allow(clippy::too_many_arguments)]
async fn payments(
    options: &Options,
    paygate: &Path,
    engine: Engine,
    flow: Flow,
    merchants: usize,
    c: usize,
    pace: Option<f64>,
    dir: &Path,
) -> anyhow::Result<FlowFigures> {
    let (gateway, database) = start_gateway(options, paygate, engine, dir).await?;
    let keys = match gateway.add_merchants(paygate, merchants - 1).await {
        Ok(more) => std::iter::once(gateway.secret_key.clone()).chain(more).collect::<Vec<_>>(),
        Err(e) => {
            gateway.stop().await;
            if let Some(database) = database {
                database.drop_database().await;
            }
            return Err(e);
        }
    };
    let xid_before = match engine {
        Engine::Postgres => Some(next_xid(&options.postgres_admin_url).await?),
        Engine::Sqlite => None,
    };
    let result = drive(options, &gateway, &keys, flow, c, pace).await;
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

/// Runs `c` clients until the window ends, client `i` paying for merchant `keys[i mod len]`;
/// returns the figures and every payment completed (warm-up included, for the commit count).
async fn drive(options: &Options, gateway: &Gateway, keys: &[String], flow: Flow, c: usize, pace: Option<f64>) -> anyhow::Result<(FlowFigures, usize)> {
    let window = Window::new(options);
    let schedule = Schedule::new(pace, c);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..c {
        let addr = gateway.writer().addr;
        let auth = format!("Bearer {}", keys[worker % keys.len()]);
        let end = window.end;
        tasks.spawn(async move {
            let mut http = HttpClient::new(addr);
            let mut done = Vec::new();
            let mut errors = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                let due = schedule.turn(worker, n).await;
                match one_payment(&mut http, &auth, flow, &format!("w{worker}-{n}"), due).await {
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

/// One payment; its create latency counts from `due` (when it was meant to start).
async fn one_payment(http: &mut HttpClient, auth: &str, flow: Flow, order: &str, due: Instant) -> anyhow::Result<Done> {
    let headers = [("authorization", auth)];
    let mut body = serde_json::json!({
        "amount": 12000, "currency": "KRW", "merchant_order_id": order,
        "order_name": "Lifecycle benchmark", "customer_name": "Bench Customer",
    });
    if flow == Flow::Manual {
        body["confirm_mode"] = "manual".into();
    }
    let (status, reply) = http.send(Method::POST, "/v1/payment_intents", &headers, Some(Bytes::from(body.to_string()))).await?;
    let create = due.elapsed();
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

/// Create latency at half the payment rate the highest concurrency reached (automatic flow),
/// with the same schedule's one-row inserts and `GET /healthz` beside it.
async fn half_load(options: &Options, paygate: &Path, engine: Engine, merchants: usize, rows: &[Row], work_dir: &Path) -> anyhow::Result<Option<HalfLoad>> {
    let Some((c, full)) = rows
        .iter()
        .filter(|r| r.engine == engine && r.merchants == merchants)
        .max_by_key(|r| r.concurrency)
        .and_then(|r| r.flows.iter().find(|(f, _)| *f == Flow::Automatic).and_then(|(_, f)| f.as_ref().ok()).map(|f| (r.concurrency, f.payments_per_second)))
    else {
        return Ok(None);
    };
    let rate = full / 2.0;
    if rate <= 0.0 {
        return Ok(None);
    }
    let dir = work_dir.join(format!("{engine:?}-m{merchants}-half").to_lowercase());
    std::fs::create_dir_all(&dir)?;
    eprintln!("[loadgen] {} half load: {rate:.0} payments/s from {c} clients, {merchants} merchant(s)", engine.label());
    let insert = baseline(options, engine, c, Some(rate), &dir).await.map_err(|e| format!("{e:#}")).and_then(|(_, s)| s.ok_or_else(|| "no inserts measured".into()));
    // Each gateway on a database of its own (a SQLite gateway prints its keys on a new file only).
    let (health_dir, pay_dir) = (dir.join("healthz"), dir.join("payments"));
    std::fs::create_dir_all(&health_dir)?;
    std::fs::create_dir_all(&pay_dir)?;
    let healthz = healthz(options, paygate, engine, c, rate, &health_dir).await.map_err(|e| format!("{e:#}"));
    let paid = payments(options, paygate, engine, Flow::Automatic, merchants, c, Some(rate), &pay_dir).await.map_err(|e| format!("{e:#}"));
    let errors = paid.as_ref().map_or(0, |f| f.errors);
    let create = paid.and_then(|f| f.create.ok_or_else(|| "no payments measured".into()));
    let half = HalfLoad { engine, merchants, concurrency: c, rate, create, errors, insert, healthz };
    eprintln!(
        "[loadgen]   create {:?}, insert {:?}, /healthz {:?}, bound {:?}",
        half.create.as_ref().map(|s| s.p99),
        half.insert.as_ref().map(|s| s.p99),
        half.healthz.as_ref().map(|s| s.p99),
        half.bound()
    );
    Ok(Some(half))
}

/// `GET /healthz` (the cheapest endpoint: no database) on a fresh gateway, `rate` per second
/// from `c` clients.
async fn healthz(options: &Options, paygate: &Path, engine: Engine, c: usize, rate: f64, dir: &Path) -> anyhow::Result<Summary> {
    let (gateway, database) = start_gateway(options, paygate, engine, dir).await?;
    let window = Window::new(options);
    let schedule = Schedule::new(Some(rate), c);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..c {
        let addr = gateway.writer().addr;
        let end = window.end;
        tasks.spawn(async move {
            let mut http = HttpClient::new(addr);
            let mut done = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                let due = schedule.turn(worker, n).await;
                let (status, body) = http.send(Method::GET, "/healthz", &[], None).await?;
                anyhow::ensure!(status == StatusCode::OK, "/healthz: {status} {}", String::from_utf8_lossy(&body));
                done.push((Instant::now(), due));
                n += 1;
            }
            anyhow::Ok(done)
        });
    }
    let measured = rate_of(tasks, &window).await;
    gateway.stop().await;
    if let Some(database) = database {
        database.drop_database().await;
    }
    measured?.1.context("no /healthz request measured")
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
