//! The SSE benchmark driver: for each connection count, the broadcast baseline and then the
//! gateway scenarios, each against fresh server processes; one report at the end.

use crate::client::{self, Anomalies, Delivery, Matcher, Sink, Target};
use crate::gateway::{self, Gateway, PgDatabase};
use crate::http::HttpClient;
use crate::report;
use crate::server::ServerProcess;
use crate::stats::{summarize, Summary};
use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

#[derive(clap::Args)]
pub struct Options {
    /// Open connections per scenario, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    pub connections: Vec<usize>,
    /// Measured messages (state changes) per scenario, published one at a time.
    #[arg(long, default_value_t = 100)]
    pub messages: u32,
    /// Messages published and delivered before measuring (not in the figures).
    #[arg(long, default_value_t = 5)]
    pub warmup: u32,
    /// Connections opened concurrently while building up to N. Keep it under the servers' listen
    /// backlog (tokio's default is 128 here): past it, refused SYNs wait a second to be retried.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Gateway scenarios to run after the baseline, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "one-process,two-processes,intent-streams,intent-streams-two-processes")]
    pub gateway: Vec<GatewayScenario>,
    /// The `paygate` binary (default: beside this one).
    #[arg(long)]
    pub paygate_bin: Option<PathBuf>,
    /// PostgreSQL server for the two-process scenarios; a fresh `bench_<random>` database is
    /// created there and dropped at the end.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// Size of the baseline's message data, close to a gateway event's.
    #[arg(long, default_value_t = 900)]
    pub payload_bytes: usize,
    /// How long to wait for one message to reach every subscriber.
    #[arg(long, default_value_t = 10)]
    pub delivery_timeout_secs: u64,
    #[arg(long, default_value = "docs/performance.md")]
    pub output: PathBuf,
    /// Scratch space for databases and server logs (default: a new directory under /tmp).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// The revision measured, for the report.
    #[arg(long, default_value = "")]
    pub revision: String,
}

#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
pub enum GatewayScenario {
    /// One `paygate serve` on SQLite; subscribers on the merchant-wide stream.
    OneProcess,
    /// Two `paygate serve` on one PostgreSQL and one Redis; subscribers on B, changes made on A.
    TwoProcesses,
    /// One process on SQLite; each subscriber on its own intent's stream.
    IntentStreams,
    /// Two processes; each subscriber on its own intent's stream on B, approvals on A.
    IntentStreamsTwoProcesses,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scenario {
    Baseline,
    Gateway(GatewayScenario),
}

impl Scenario {
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline: axum SSE on a tokio broadcast channel",
            Scenario::Gateway(GatewayScenario::OneProcess) => "gateway, one process (SQLite), merchant stream",
            Scenario::Gateway(GatewayScenario::TwoProcesses) => "gateway, two processes (PostgreSQL + Redis), merchant stream",
            Scenario::Gateway(GatewayScenario::IntentStreams) => "gateway, one process (SQLite), one intent stream each",
            Scenario::Gateway(GatewayScenario::IntentStreamsTwoProcesses) => {
                "gateway, two processes (PostgreSQL + Redis), one intent stream each"
            }
        }
    }

    fn two_processes(self) -> bool {
        matches!(
            self,
            Scenario::Gateway(GatewayScenario::TwoProcesses | GatewayScenario::IntentStreamsTwoProcesses)
        )
    }
}

pub struct Outcome {
    pub scenario: Scenario,
    pub connections: usize,
    pub result: Result<Figures, String>,
}

/// What one scenario measured.
pub struct Figures {
    pub opened: usize,
    pub open_failures: usize,
    pub first_open_failure: Option<String>,
    pub open_seconds: f64,
    /// Connection attempts the kernel dropped on a full listen queue while opening (retried
    /// by the client after a second or more).
    pub listen_overflows: u64,
    pub rss_before_kib: u64,
    pub rss_open_kib: u64,
    pub rss_end_kib: u64,
    /// CPU time of the server processes (both, with two) while publishing, per message.
    pub server_cpu_ms_per_message: f64,
    /// Publish-to-arrival, every (measured message, subscriber) pair.
    pub latency: Option<Summary>,
    /// Per measured message: publish to arrival at its last subscriber.
    pub completion: Option<Summary>,
    pub published: u32,
    pub expected_per_message: usize,
    pub missed: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub unmatched: u64,
    pub ended: u64,
    pub mean_data_bytes: f64,
}

impl Figures {
    /// Server memory the open connections added, per connection.
    pub fn kib_per_connection(&self) -> Option<f64> {
        (self.opened > 0).then(|| self.rss_open_kib.saturating_sub(self.rss_before_kib) as f64 / self.opened as f64)
    }
}

/// Shared by every scenario of one run.
pub struct Run {
    pub options: Options,
    pub paygate: PathBuf,
    pub loadgen: PathBuf,
    pub work_dir: PathBuf,
    /// Marks this run's messages: `<marker><index>` in each message's data.
    pub marker: Arc<str>,
}

pub async fn run(options: Options, nofile: u64) -> anyhow::Result<()> {
    let loadgen = std::env::current_exe()?;
    let paygate = paygate_binary(options.paygate_bin.as_deref())?;
    let tag = hex::encode(random_tag());
    let work_dir = options.work_dir.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("paygate-bench-{tag}")));
    std::fs::create_dir_all(&work_dir)?;
    eprintln!("[loadgen] work dir {} (server logs), descriptor limit {nofile}", work_dir.display());
    let run = Run { options, paygate, loadgen, work_dir, marker: format!("lg{tag}-").into() };

    let needs_postgres = run.options.gateway.iter().any(|g| Scenario::Gateway(*g).two_processes());
    let database = if needs_postgres {
        Some(PgDatabase::create(&run.paygate, &run.options.postgres_admin_url).await.map_err(|e| format!("{e:#}")))
    } else {
        None
    };

    let mut outcomes = Vec::new();
    let started = Instant::now();
    for &n in &run.options.connections {
        let mut scenarios = vec![Scenario::Baseline];
        scenarios.extend(run.options.gateway.iter().map(|g| Scenario::Gateway(*g)));
        for scenario in scenarios {
            eprintln!("[loadgen] {} with {n} connections", scenario.label());
            let result = if (n as u64) + 64 > nofile {
                Err(format!("the descriptor limit ({nofile}) is too low for {n} connections"))
            } else {
                run_scenario(&run, scenario, n, database.as_ref()).await.map_err(|e| format!("{e:#}"))
            };
            match &result {
                Ok(f) => eprintln!(
                    "[loadgen]   p50 {:?} p99 {:?} max {:?}, {:.1} KiB/connection, missed {}",
                    f.latency.map(|l| l.p50),
                    f.latency.map(|l| l.p99),
                    f.latency.map(|l| l.max),
                    f.kib_per_connection().unwrap_or(0.0),
                    f.missed
                ),
                Err(e) => eprintln!("[loadgen]   failed: {e}"),
            }
            outcomes.push(Outcome { scenario, connections: n, result });
        }
    }
    if let Some(Ok(db)) = &database {
        db.drop_database().await;
    }
    let database_note = match &database {
        Some(Err(e)) => Some(format!("PostgreSQL setup failed: {e}")),
        _ => None,
    };
    report::write(&run, &outcomes, started.elapsed(), database_note.as_deref())?;
    eprintln!("[loadgen] wrote {}", run.options.output.display());
    Ok(())
}

async fn run_scenario(run: &Run, scenario: Scenario, n: usize, database: Option<&Result<PgDatabase, String>>) -> anyhow::Result<Figures> {
    let log_dir = run.work_dir.join(format!("{}-{n}", slug(scenario)));
    std::fs::create_dir_all(&log_dir)?;
    match scenario {
        Scenario::Baseline => {
            let mut command = tokio::process::Command::new(&run.loadgen);
            command.arg("baseline-server");
            let server = ServerProcess::start("baseline", command, &log_dir.join("baseline.log")).await?;
            let target = Arc::new(Target { addr: server.addr, path_and_query: "/events".into(), headers: Vec::new() });
            let publisher = Publisher::Baseline { http: HttpClient::new(server.addr), payload_bytes: run.options.payload_bytes };
            let result = broadcast(run, &server, &[&server], target, publisher, n).await;
            server.stop().await;
            result
        }
        Scenario::Gateway(kind) => {
            let gateway = match kind {
                GatewayScenario::OneProcess | GatewayScenario::IntentStreams => Gateway::start_sqlite(&run.paygate, &log_dir).await?,
                GatewayScenario::TwoProcesses | GatewayScenario::IntentStreamsTwoProcesses => {
                    let database = match database {
                        Some(Ok(db)) => db,
                        Some(Err(e)) => anyhow::bail!("{e}"),
                        None => anyhow::bail!("no PostgreSQL database"),
                    };
                    Gateway::start_replicas(&run.paygate, &run.options.redis_url, database, &log_dir).await?
                }
            };
            let result = match kind {
                GatewayScenario::OneProcess | GatewayScenario::TwoProcesses => {
                    let target = Arc::new(gateway.merchant_stream());
                    let publisher = Publisher::CreateIntent { http: HttpClient::new(gateway.writer().addr), secret_key: gateway.secret_key.clone() };
                    broadcast(run, gateway.reader(), &gateway.processes(), target, publisher, n).await
                }
                GatewayScenario::IntentStreams | GatewayScenario::IntentStreamsTwoProcesses => intent_streams(run, &gateway, n).await,
            };
            gateway.stop().await;
            result
        }
    }
}

fn slug(scenario: Scenario) -> &'static str {
    match scenario {
        Scenario::Baseline => "baseline",
        Scenario::Gateway(GatewayScenario::OneProcess) => "one-process",
        Scenario::Gateway(GatewayScenario::TwoProcesses) => "two-processes",
        Scenario::Gateway(GatewayScenario::IntentStreams) => "intent-streams",
        Scenario::Gateway(GatewayScenario::IntentStreamsTwoProcesses) => "intent-streams-two-processes",
    }
}

/// What causes message `k`: a POST whose effect every (or one) subscriber should see.
pub enum Publisher {
    Baseline { http: HttpClient, payload_bytes: usize },
    CreateIntent { http: HttpClient, secret_key: String },
    Approve { http: HttpClient, secret_key: String, intent_ids: Vec<String> },
}

impl Publisher {
    async fn publish(&mut self, marker: &str, k: u32) -> anyhow::Result<()> {
        let (status, body) = match self {
            Publisher::Baseline { http, payload_bytes } => {
                let mut data = format!("{{\"merchant_order_id\":\"{marker}{k}\",\"pad\":\"");
                let pad = payload_bytes.saturating_sub(data.len() + 2);
                data.extend(std::iter::repeat_n('x', pad));
                data.push_str("\"}");
                http.send(Method::POST, "/publish", &[], Some(Bytes::from(data))).await?
            }
            Publisher::CreateIntent { http, secret_key } => {
                let body = gateway::intent_body(&format!("{marker}{k}"));
                let auth = format!("Bearer {secret_key}");
                http.send(Method::POST, "/v1/payment_intents", &[("authorization", &auth)], Some(body)).await?
            }
            Publisher::Approve { http, secret_key, intent_ids } => {
                let id = intent_ids.get(k as usize).context("no intent for this message")?;
                let auth = format!("Bearer {secret_key}");
                let path = format!("/v1/test_helpers/payment_intents/{id}/approve");
                http.send(Method::POST, &path, &[("authorization", &auth)], None).await?
            }
        };
        anyhow::ensure!(
            status.is_success(),
            "publishing message {k}: {status} {}",
            String::from_utf8_lossy(&body)
        );
        Ok(())
    }
}

/// N subscribers on one stream; each message goes to all of them. `server` holds the streams;
/// `processes` are all the scenario's servers, whose CPU time is counted.
async fn broadcast(
    run: &Run,
    server: &ServerProcess,
    processes: &[&ServerProcess],
    target: Arc<Target>,
    mut publisher: Publisher,
    n: usize,
) -> anyhow::Result<Figures> {
    let (sink, mut deliveries) = sink();
    let mut subscribers = JoinSet::new();
    let matcher = Matcher::Marker(run.marker.clone());
    // One subscriber before the baseline reading, so lazily built per-process state (a bus
    // subscription, pools) is not charged to the N connections.
    open(&mut subscribers, 1, 1, |_| (target.clone(), matcher.clone()), &sink).await?;
    let rss_before_kib = server.rss_kib()?;
    let opened = open(&mut subscribers, n, run.options.batch, |_| (target.clone(), matcher.clone()), &sink).await?;
    let rss_open_kib = server.rss_kib()?;
    let expected = opened.count + 1;
    let measured = publish_all(run, processes, &mut publisher, &mut deliveries, |_| expected).await?;
    let rss_end_kib = server.rss_kib()?;
    subscribers.shutdown().await;
    Ok(measured.into_figures(opened, [rss_before_kib, rss_open_kib, rss_end_kib], expected, &sink.anomalies))
}

/// N intents, each with one subscriber on its own stream; message k approves one of them.
async fn intent_streams(run: &Run, gateway: &Gateway, n: usize) -> anyhow::Result<Figures> {
    let total = (run.options.warmup + run.options.messages) as usize;
    anyhow::ensure!(n >= total, "{n} intents are fewer than the {total} messages");
    eprintln!("[loadgen]   creating {n} intents");
    let intents = gateway::create_intents(gateway, &run.marker, n).await?;
    // Message k approves intent k * n / total: spread over the connection order.
    let target_of = |k: usize| k * n / total;
    let mut message_of = vec![u32::MAX; n];
    for k in 0..total {
        message_of[target_of(k)] = k as u32;
    }
    let targets: Vec<Arc<Target>> = intents.iter().map(|i| Arc::new(gateway.intent_stream(i))).collect();
    let event_type: Arc<str> = gateway::APPROVED_EVENT.into();
    let matcher_for = |i: usize| Matcher::EventType { index: message_of[i], event_type: event_type.clone() };
    let (sink, mut deliveries) = sink();
    let mut subscribers = JoinSet::new();
    let reader = gateway.reader();
    let rss_before_kib = reader.rss_kib()?;
    let opened = open(&mut subscribers, n, run.options.batch, |i| (targets[i].clone(), matcher_for(i)), &sink).await?;
    let rss_open_kib = reader.rss_kib()?;
    let mut publisher = Publisher::Approve {
        http: HttpClient::new(gateway.writer().addr),
        secret_key: gateway.secret_key.clone(),
        intent_ids: (0..total).map(|k| intents[target_of(k)].id.clone()).collect(),
    };
    let measured = publish_all(run, &gateway.processes(), &mut publisher, &mut deliveries, |_| 1).await?;
    let rss_end_kib = reader.rss_kib()?;
    subscribers.shutdown().await;
    let mut figures = measured.into_figures(opened, [rss_before_kib, rss_open_kib, rss_end_kib], 1, &sink.anomalies);
    // Streams end after their intent's terminal state: those endings are expected.
    figures.ended = figures.ended.saturating_sub(u64::from(figures.published));
    Ok(figures)
}

fn sink() -> (Sink, mpsc::UnboundedReceiver<Delivery>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Sink { deliveries: tx, anomalies: Arc::new(Anomalies::default()) }, rx)
}

struct Opened {
    count: usize,
    failures: Vec<String>,
    seconds: f64,
    listen_overflows: u64,
}

/// Opens `n` subscribers, `batch` at a time.
async fn open(
    set: &mut JoinSet<()>,
    n: usize,
    batch: usize,
    make: impl Fn(usize) -> (Arc<Target>, Matcher),
    sink: &Sink,
) -> anyhow::Result<Opened> {
    let started = Instant::now();
    let overflows_before = crate::server::listen_overflows();
    let mut opened = 0;
    let mut failures = Vec::new();
    let mut next = 0;
    while next < n {
        let end = (next + batch.max(1)).min(n);
        let pending: Vec<_> = (next..end)
            .map(|i| {
                let (target, matcher) = make(i);
                client::spawn(set, target, matcher, sink.clone())
            })
            .collect();
        for result in futures::future::join_all(pending).await {
            match result {
                Ok(Ok(())) => opened += 1,
                Ok(Err(reason)) => failures.push(reason),
                Err(_) => failures.push("subscriber task ended before its headers".into()),
            }
        }
        next = end;
    }
    anyhow::ensure!(opened > 0, "no connection opened: {}", failures.first().map(String::as_str).unwrap_or("?"));
    Ok(Opened {
        count: opened,
        failures,
        seconds: started.elapsed().as_secs_f64(),
        listen_overflows: crate::server::listen_overflows().saturating_sub(overflows_before),
    })
}

struct Measured {
    /// Per message: when its POST started, and each arrival.
    started: Vec<Instant>,
    arrivals: Vec<Vec<Instant>>,
    data_bytes: u64,
    warmup: usize,
    expected_total: u64,
    server_cpu_seconds: f64,
}

/// Publishes warm-up and measured messages one at a time, each after the previous one reached
/// every subscriber (or timed out).
async fn publish_all(
    run: &Run,
    processes: &[&ServerProcess],
    publisher: &mut Publisher,
    deliveries: &mut mpsc::UnboundedReceiver<Delivery>,
    expected: impl Fn(usize) -> usize,
) -> anyhow::Result<Measured> {
    let total = (run.options.warmup + run.options.messages) as usize;
    let timeout = Duration::from_secs(run.options.delivery_timeout_secs);
    let mut m = Measured {
        started: Vec::with_capacity(total),
        arrivals: vec![Vec::new(); total],
        data_bytes: 0,
        warmup: run.options.warmup as usize,
        expected_total: 0,
        server_cpu_seconds: 0.0,
    };
    let cpu = || processes.iter().map(|p| p.cpu_seconds()).sum::<anyhow::Result<f64>>();
    let cpu_before = cpu()?;
    let mut silent_in_a_row = 0;
    for k in 0..total {
        m.started.push(Instant::now());
        publisher.publish(&run.marker, k as u32).await?;
        m.expected_total += expected(k) as u64;
        let deadline = tokio::time::Instant::now() + timeout;
        while m.arrivals[k].len() < expected(k) {
            tokio::select! {
                delivery = deliveries.recv() => match delivery {
                    Some(d) => m.record(d),
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        silent_in_a_row = if m.arrivals[k].is_empty() { silent_in_a_row + 1 } else { 0 };
        anyhow::ensure!(silent_in_a_row < 3, "three messages in a row reached no subscriber within {timeout:?}");
    }
    while let Ok(d) = deliveries.try_recv() {
        m.record(d);
    }
    m.server_cpu_seconds = cpu()? - cpu_before;
    Ok(m)
}

impl Measured {
    fn record(&mut self, d: Delivery) {
        if let Some(arrivals) = self.arrivals.get_mut(d.message as usize) {
            arrivals.push(d.at);
            self.data_bytes += u64::from(d.data_bytes);
        }
    }

    fn into_figures(self, open: Opened, rss: [u64; 3], expected_per_message: usize, anomalies: &Anomalies) -> Figures {
        let mut latencies = Vec::new();
        let mut completions = Vec::new();
        let mut delivered = 0u64;
        for (k, arrivals) in self.arrivals.iter().enumerate() {
            delivered += arrivals.len() as u64;
            if k < self.warmup {
                continue;
            }
            let started = self.started[k];
            latencies.extend(arrivals.iter().map(|at| at.saturating_duration_since(started)));
            if arrivals.len() >= expected_per_message {
                if let Some(last) = arrivals.iter().max() {
                    completions.push(last.saturating_duration_since(started));
                }
            }
        }
        Figures {
            opened: open.count,
            open_failures: open.failures.len(),
            first_open_failure: open.failures.into_iter().next(),
            open_seconds: open.seconds,
            listen_overflows: open.listen_overflows,
            rss_before_kib: rss[0],
            rss_open_kib: rss[1],
            rss_end_kib: rss[2],
            server_cpu_ms_per_message: self.server_cpu_seconds * 1000.0 / self.started.len().max(1) as f64,
            latency: summarize(latencies),
            completion: summarize(completions),
            published: self.started.len() as u32,
            expected_per_message,
            missed: self.expected_total.saturating_sub(delivered),
            duplicates: anomalies.duplicates.load(Ordering::Relaxed),
            out_of_order: anomalies.out_of_order.load(Ordering::Relaxed),
            unmatched: anomalies.unmatched.load(Ordering::Relaxed),
            ended: anomalies.ended.load(Ordering::Relaxed),
            mean_data_bytes: if delivered == 0 { 0.0 } else { self.data_bytes as f64 / delivered as f64 },
        }
    }
}

/// The `paygate` binary a run starts: `--paygate-bin`, else the one beside this load generator.
pub fn paygate_binary(given: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    let paygate = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name("paygate"),
    };
    anyhow::ensure!(paygate.exists(), "no paygate binary at {} (build it or pass --paygate-bin)", paygate.display());
    Ok(paygate)
}

pub fn random_tag() -> [u8; 3] {
    let mut tag = [0u8; 3];
    getrandom::fill(&mut tag).unwrap_or_default();
    tag
}
