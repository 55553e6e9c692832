//! The crash harness: whole payments (create, approve, partial refund) from concurrent clients
//! that retry with the same Idempotency-Key, while the gateway is killed with SIGKILL at random
//! moments and restarted; then every object is counted. Nothing acknowledged may be lost,
//! nothing may happen twice, nothing may stay unfinished, every event must reach the webhook
//! receiver, and `paygate ledger check` must pass.

use crate::gateway::PgDatabase;
use crate::http::HttpClient;
use crate::lifecycle::Engine;
use crate::server::ServerProcess;
use anyhow::Context;
use axum::extract::State;
use axum::http::HeaderMap;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Command;

#[derive(clap::Args)]
pub struct Options {
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub engines: Vec<Engine>,
    /// Whole payments to make (create, approve, partial refund).
    #[arg(long, default_value_t = 1000)]
    pub payments: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// SIGKILLs per engine (on PostgreSQL, the two replicas in turn).
    #[arg(long, default_value_t = 50)]
    pub kills: usize,
    /// Up-time of a process before it is killed: uniform between this and `--max-uptime-ms`.
    #[arg(long, default_value_t = 100)]
    pub min_uptime_ms: u64,
    #[arg(long, default_value_t = 900)]
    pub max_uptime_ms: u64,
    /// The gateway's Idempotency-Key lease: after a crash, a retry waits this long for the dead
    /// request's key (60 s by default in production; shorter here so that 50 crashes fit in a run).
    #[arg(long, default_value_t = 2)]
    pub idempotency_lease_secs: u64,
    /// How long the last state may take to settle after the last kill (sweep, webhook retries).
    #[arg(long, default_value_t = 300)]
    pub settle_seconds: u64,
    #[arg(long)]
    pub paygate_bin: Option<PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,
    /// The report, updated in place (one section per engine).
    #[arg(long, default_value = "docs/reliability.md")]
    pub output: PathBuf,
    #[arg(long, default_value = "")]
    pub revision: String,
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let paygate = crate::bench::paygate_binary(options.paygate_bin.as_deref())?;
    let work = match &options.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("paygate-chaos-{}", hex::encode(crate::bench::random_tag()))),
    };
    std::fs::create_dir_all(&work)?;
    let mut all_passed = true;
    for engine in &options.engines {
        eprintln!("[chaos] {}: {} payments, {} clients, {} kills", engine.label(), options.payments, options.clients, options.kills);
        let dir = work.join(engine.label().to_ascii_lowercase());
        std::fs::create_dir_all(&dir)?;
        let report = run_engine(&options, *engine, &paygate, &dir).await?;
        eprintln!("{}", report.summary());
        all_passed &= report.passed();
        crate::chaos_report::write(&options, &report)?;
    }
    anyhow::ensure!(all_passed, "the crash harness found lost, duplicated or stuck objects (see {})", options.output.display());
    Ok(())
}

/// One `paygate serve` that the killer stops and starts again, always on the same port.
struct Replica {
    name: String,
    addr: SocketAddr,
    env: Vec<(String, String)>,
    paygate: PathBuf,
    dir: PathBuf,
    process: Option<ServerProcess>,
    starts: usize,
}

impl Replica {
    fn new(name: &str, paygate: &Path, dir: &Path, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        let addr = free_port()?;
        Ok(Replica { name: name.into(), addr, env, paygate: paygate.into(), dir: dir.into(), process: None, starts: 0 })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.paygate);
        command.args(args).env_remove("PAYGATE_CONFIG").env_remove("PAYGATE_PUBLIC_URL").env_remove("REDIS_URL").env("RUST_LOG", "warn");
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command.env("PAYGATE_BIND", self.addr.to_string()).env("PAYGATE_DEMO_SHOP", "off");
        command
    }

    /// Starts the process (retrying while the port is still being released); returns its stdout.
    async fn start(&mut self) -> anyhow::Result<Vec<String>> {
        let mut last = None;
        for _ in 0..50 {
            self.starts += 1;
            let log = self.dir.join(format!("{}-{}.log", self.name.replace(' ', "-"), self.starts));
            match ServerProcess::start(&self.name, self.command(&["serve"]), &log).await {
                Ok(mut process) => {
                    let lines = process.wait_for_output(Duration::from_secs(5), |_| true).await?;
                    self.process = Some(process);
                    return Ok(lines);
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("{} did not start", self.name)))
    }

    async fn kill(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill().await;
        }
    }

    async fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.stop().await;
        }
    }
}

fn free_port() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// What the clients were told, per payment.
#[derive(Default, Clone)]
struct Acknowledged {
    intent: Option<String>,
    approved: bool,
    refund: Option<String>,
    amount: i64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicUsize,
    transport_errors: AtomicUsize,
    server_errors: AtomicUsize,
    unavailable: AtomicUsize,
    key_in_use: AtomicUsize,
    /// Definitive answers other than the expected one (a retry told "unexpected state", say).
    unexpected: Mutex<Vec<String>>,
}

/// The clients' view of where the gateway is: every replica's address.
struct Targets {
    addrs: Vec<SocketAddr>,
    secret_key: String,
}

/// Sends one keyed request until it gets a definitive answer: transport errors, timeouts,
/// `5xx` and `409 idempotency_key_in_use` are retried with the same key and body, on the next
/// replica after a transport error.
async fn keyed_call(
    targets: &Targets,
    http: &mut [HttpClient],
    start_at: &mut usize,
    counters: &Counters,
    path: &str,
    key: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let auth = format!("Bearer {}", targets.secret_key);
    let body = Bytes::from(body.to_string());
    let mut backoff = Duration::from_millis(20);
    loop {
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let i = *start_at % http.len();
        let answer = tokio::time::timeout(
            Duration::from_secs(15),
            http[i].send(Method::POST, path, &[("authorization", &auth), ("idempotency-key", key)], Some(body.clone())),
        )
        .await;
        match answer {
            Ok(Ok((status, bytes))) => {
                let json: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                let code = json["error"]["code"].as_str().unwrap_or_default().to_owned();
                if status.is_server_error() {
                    if status == StatusCode::SERVICE_UNAVAILABLE {
                        counters.unavailable.fetch_add(1, Ordering::Relaxed);
                    } else {
                        counters.server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                } else if status == StatusCode::CONFLICT && code == "idempotency_key_in_use" {
                    counters.key_in_use.fetch_add(1, Ordering::Relaxed);
                } else if status == StatusCode::TOO_MANY_REQUESTS {
                } else {
                    return (status, json);
                }
            }
            Ok(Err(_)) | Err(_) => {
                counters.transport_errors.fetch_add(1, Ordering::Relaxed);
                http[i] = HttpClient::new(targets.addrs[i]);
                *start_at += 1;
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
}

async fn get_json(targets: &Targets, path: &str) -> anyhow::Result<Value> {
    let auth = format!("Bearer {}", targets.secret_key);
    let mut last = None;
    for attempt in 0..100 {
        let addr = targets.addrs[attempt % targets.addrs.len()];
        match tokio::time::timeout(Duration::from_secs(15), HttpClient::new(addr).send(Method::GET, path, &[("authorization", &auth)], None)).await {
            Ok(Ok((StatusCode::OK, body))) => return Ok(serde_json::from_slice(&body)?),
            Ok(Ok((status, body))) => last = Some(format!("{status} {}", String::from_utf8_lossy(&body))),
            Ok(Err(e)) => last = Some(format!("{e:#}")),
            Err(_) => last = Some("timed out".into()),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    anyhow::bail!("GET {path}: {}", last.unwrap_or_default())
}

/// Every object of a list endpoint, page by page.
async fn list_all(targets: &Targets, path: &str) -> anyhow::Result<Vec<Value>> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page_path = match &cursor {
            Some(c) => format!("{path}{separator}limit=100&cursor={c}"),
            None => format!("{path}{separator}limit=100"),
        };
        let page = get_json(targets, &page_path).await?;
        all.extend(page["data"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return Ok(all),
        }
    }
}

/// The webhook receiver: counts each delivery by its `webhook-id`.
#[derive(Default)]
struct Receiver {
    deliveries: Mutex<HashMap<String, u32>>,
}

async fn receive(State(receiver): State<Arc<Receiver>>, headers: HeaderMap) -> StatusCode {
    if let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) {
        if let Ok(mut d) = receiver.deliveries.lock() {
            *d.entry(id.to_owned()).or_default() += 1;
        }
    }
    StatusCode::OK
}

async fn start_receiver() -> anyhow::Result<(SocketAddr, Arc<Receiver>)> {
    let receiver = Arc::new(Receiver::default());
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, receiver))
}

/// What one engine's run found.
pub struct Report {
    pub engine: Engine,
    pub replicas: usize,
    pub payments: usize,
    pub clients: usize,
    pub kills: usize,
    pub kills_during_payments: usize,
    pub idempotency_lease_secs: u64,
    pub workload: Duration,
    pub settle: Duration,
    pub requests: usize,
    pub transport_errors: usize,
    pub server_errors: usize,
    pub unavailable: usize,
    pub key_in_use: usize,
    pub completed: usize,
    pub lost: Vec<String>,
    pub duplicated: Vec<String>,
    pub stuck: Vec<String>,
    pub unexpected: Vec<String>,
    pub events: usize,
    pub events_missing: Vec<String>,
    pub deliveries: usize,
    pub redelivered: usize,
    pub ledger_check: Result<String, String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.stuck.is_empty()
            && self.unexpected.is_empty()
            && self.events_missing.is_empty()
            && self.ledger_check.is_ok()
            && self.completed == self.payments
    }

    pub fn summary(&self) -> String {
        format!(
            "[chaos] {}: {} of {} payments completed; lost {}, duplicated {}, stuck {}, unexpected answers {}; {} events, {} missing at the receiver; ledger check {}",
            self.engine.label(),
            self.completed,
            self.payments,
            self.lost.len(),
            self.duplicated.len(),
            self.stuck.len(),
            self.unexpected.len(),
            self.events,
            self.events_missing.len(),
            if self.ledger_check.is_ok() { "passed" } else { "FAILED" }
        )
    }
}

async fn run_engine(options: &Options, engine: Engine, paygate: &Path, dir: &Path) -> anyhow::Result<Report> {
    let (receiver_addr, receiver) = start_receiver().await?;
    let mut common = vec![
        ("PAYGATE_WEBHOOK_ALLOW_PRIVATE".to_owned(), "true".to_owned()),
        ("PAYGATE_SWEEP_INTERVAL_SECS".to_owned(), "1".to_owned()),
        ("PAYGATE_IDEMPOTENCY_LEASE_SECS".to_owned(), options.idempotency_lease_secs.to_string()),
    ];
    let mut database = None;
    let mut replicas = Vec::new();
    let secret_key;
    match engine {
        Engine::Sqlite => {
            common.push(("DATABASE_URL".into(), format!("sqlite://{}", dir.join("chaos.db").display())));
            let mut replica = Replica::new("paygate", paygate, dir, common.clone())?;
            let lines = replica.start().await?;
            let lines = if lines.iter().any(|l| l.contains("sk_test_")) {
                lines
            } else {
                replica.process.as_mut().context("started")?.wait_for_output(Duration::from_secs(10), |l| l.iter().any(|l| l.contains("sk_test_"))).await?
            };
            secret_key = lines.iter().flat_map(|l| l.split_whitespace()).find(|w| w.starts_with("sk_test_")).context("no secret key printed")?.to_owned();
            replicas.push(replica);
        }
        Engine::Postgres => {
            let db = PgDatabase::create(paygate, &options.postgres_admin_url).await?;
            common.push(("DATABASE_URL".into(), db.url.clone()));
            common.push(("PAYGATE_KEY_HASH_SECRET".into(), db.key_hash_secret.clone()));
            common.push(("REDIS_URL".into(), options.redis_url.clone()));
            secret_key = db.secret_key.clone();
            for name in ["paygate A", "paygate B"] {
                let mut replica = Replica::new(name, paygate, dir, common.clone())?;
                replica.start().await?;
                replicas.push(replica);
            }
            database = Some(db);
        }
    }
    let result = drive(options, engine, &mut replicas, &secret_key, receiver_addr, &receiver).await;
    for replica in &mut replicas {
        replica.stop().await;
    }
    let result = match result {
        Ok(mut report) => {
            report.ledger_check = ledger_check(&replicas[0]).await;
            Ok(report)
        }
        Err(e) => Err(e),
    };
    if let Some(db) = database {
        db.drop_database().await;
    }
    result
}

async fn ledger_check(replica: &Replica) -> Result<String, String> {
    let output = replica.command(&["ledger", "check"]).output().await.map_err(|e| format!("running paygate ledger check: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)).trim().to_owned();
    if output.status.success() { Ok(text) } else { Err(text) }
}

async fn drive(
    options: &Options,
    engine: Engine,
    replicas: &mut [Replica],
    secret_key: &str,
    receiver_addr: SocketAddr,
    receiver: &Arc<Receiver>,
) -> anyhow::Result<Report> {
    let targets = Arc::new(Targets { addrs: replicas.iter().map(|r| r.addr).collect(), secret_key: secret_key.to_owned() });
    let counters = Arc::new(Counters::default());
    let run = hex::encode(crate::bench::random_tag());

    // The receiver gets every event (registered before the first payment).
    let mut http: Vec<HttpClient> = targets.addrs.iter().map(|a| HttpClient::new(*a)).collect();
    let (status, body) = keyed_call(
        &targets,
        &mut http,
        &mut 0,
        &counters,
        "/v1/webhook_endpoints",
        &format!("chaos-{run}-endpoint"),
        &json!({"url": format!("http://{receiver_addr}/hook")}),
    )
    .await;
    anyhow::ensure!(status == StatusCode::CREATED, "registering the webhook receiver: {status} {body}");

    let acknowledged = Arc::new(Mutex::new(vec![Acknowledged::default(); options.payments]));
    let next = Arc::new(AtomicUsize::new(0));
    let finished = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..options.clients {
        let (targets, counters, acknowledged, next, finished, run) =
            (targets.clone(), counters.clone(), acknowledged.clone(), next.clone(), finished.clone(), run.clone());
        let payments = options.payments;
        clients.spawn(async move {
            let mut http: Vec<HttpClient> = targets.addrs.iter().map(|a| HttpClient::new(*a)).collect();
            let mut start_at = client;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= payments {
                    break;
                }
                pay(i, &run, &targets, &mut http, &mut start_at, &counters, &acknowledged).await;
            }
            finished.fetch_add(1, Ordering::Relaxed);
        });
    }

    // The killer: a random up-time, SIGKILL, a restart on the same port; replicas in turn.
    let mut kills_during_payments = 0;
    for k in 0..options.kills {
        let spread = options.max_uptime_ms.saturating_sub(options.min_uptime_ms).max(1);
        tokio::time::sleep(Duration::from_millis(options.min_uptime_ms + random_below(spread))).await;
        let victim = k % replicas.len();
        if finished.load(Ordering::Relaxed) < options.clients {
            kills_during_payments += 1;
        }
        replicas[victim].kill().await;
        replicas[victim].start().await.with_context(|| format!("restarting {} after kill {}", replicas[victim].name, k + 1))?;
    }
    while clients.join_next().await.is_some() {}
    let workload = started.elapsed();

    // Let the sweep and the webhook retries finish, then count.
    let settle_started = Instant::now();
    let deadline = settle_started + Duration::from_secs(options.settle_seconds);
    let acknowledged: Vec<Acknowledged> = acknowledged.lock().map(|a| a.clone()).unwrap_or_default();
    let (mut intents, mut refunds, mut events);
    loop {
        intents = list_all(&targets, "/v1/payment_intents").await?;
        refunds = list_all(&targets, "/v1/refunds").await?;
        events = list_all(&targets, "/v1/events").await?;
        let delivered: HashSet<String> = receiver.deliveries.lock().map(|d| d.keys().cloned().collect()).unwrap_or_default();
        let settled = intents.iter().all(|i| is_final(i["status"].as_str().unwrap_or_default()))
            && refunds.iter().all(|r| r["status"] != "pending")
            && events.iter().all(|e| e["id"].as_str().is_some_and(|id| delivered.contains(id)));
        if settled || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let settle = settle_started.elapsed();

    let mut report = Report {
        engine,
        replicas: replicas.len(),
        payments: options.payments,
        clients: options.clients,
        kills: options.kills,
        kills_during_payments,
        idempotency_lease_secs: options.idempotency_lease_secs,
        workload,
        settle,
        requests: counters.requests.load(Ordering::Relaxed),
        transport_errors: counters.transport_errors.load(Ordering::Relaxed),
        server_errors: counters.server_errors.load(Ordering::Relaxed),
        unavailable: counters.unavailable.load(Ordering::Relaxed),
        key_in_use: counters.key_in_use.load(Ordering::Relaxed),
        completed: acknowledged.iter().filter(|a| a.intent.is_some() && a.approved && a.refund.is_some()).count(),
        lost: Vec::new(),
        duplicated: Vec::new(),
        stuck: Vec::new(),
        unexpected: counters.unexpected.lock().map(|u| u.clone()).unwrap_or_default(),
        events: events.len(),
        events_missing: Vec::new(),
        deliveries: 0,
        redelivered: 0,
        ledger_check: Ok(String::new()),
    };
    count(&mut report, &run, &acknowledged, &intents, &refunds);
    let deliveries = receiver.deliveries.lock().map(|d| d.clone()).unwrap_or_default();
    report.deliveries = deliveries.values().map(|n| *n as usize).sum();
    report.redelivered = deliveries.values().filter(|n| **n > 1).count();
    report.events_missing = events.iter().filter_map(|e| e["id"].as_str()).filter(|id| !deliveries.contains_key(*id)).map(str::to_owned).collect();
    Ok(report)
}

/// One whole payment, each step retried until it is acknowledged.
async fn pay(
    i: usize,
    run: &str,
    targets: &Targets,
    http: &mut [HttpClient],
    start_at: &mut usize,
    counters: &Counters,
    acknowledged: &Mutex<Vec<Acknowledged>>,
) {
    let amount = 10_000 + i as i64;
    let unexpected = |step: &str, status: StatusCode, body: &Value| {
        if let Ok(mut u) = counters.unexpected.lock() {
            u.push(format!("payment {i} {step}: {status} {body}"));
        }
    };
    let order = format!("chaos-{run}-{i}");
    let body = json!({"amount": amount, "currency": "KRW", "merchant_order_id": order, "order_name": "Crash harness", "customer_name": "Chaos Customer"});
    let (status, created) = keyed_call(targets, http, start_at, counters, "/v1/payment_intents", &format!("{order}-create"), &body).await;
    let Some(id) = created["id"].as_str().filter(|_| status == StatusCode::CREATED).map(str::to_owned) else {
        return unexpected("create", status, &created);
    };
    set(acknowledged, i, |a| {
        a.intent = Some(id.clone());
        a.amount = amount;
    });
    let path = format!("/v1/test_helpers/payment_intents/{id}/approve");
    let (status, approved) = keyed_call(targets, http, start_at, counters, &path, &format!("{order}-approve"), &json!({})).await;
    if status != StatusCode::OK || approved["status"] != "succeeded" {
        return unexpected("approve", status, &approved);
    }
    set(acknowledged, i, |a| a.approved = true);
    let body = json!({"payment_intent": id, "amount": amount / 2});
    let (status, refund) = keyed_call(targets, http, start_at, counters, "/v1/refunds", &format!("{order}-refund"), &body).await;
    match refund["id"].as_str() {
        Some(refund_id) if status == StatusCode::CREATED => set(acknowledged, i, |a| a.refund = Some(refund_id.to_owned())),
        _ => unexpected("refund", status, &refund),
    }
}

fn set(acknowledged: &Mutex<Vec<Acknowledged>>, i: usize, change: impl FnOnce(&mut Acknowledged)) {
    if let Ok(mut a) = acknowledged.lock() {
        change(&mut a[i]);
    }
}

fn is_final(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "canceled" | "expired" | "partially_refunded" | "refunded")
}

/// Compares what the clients were told with what the gateway holds.
fn count(report: &mut Report, run: &str, acknowledged: &[Acknowledged], intents: &[Value], refunds: &[Value]) {
    let prefix = format!("chaos-{run}-");
    let mut by_order: BTreeMap<usize, Vec<&Value>> = BTreeMap::new();
    for intent in intents {
        if let Some(i) = intent["merchant_order_id"].as_str().and_then(|o| o.strip_prefix(&prefix)).and_then(|n| n.parse().ok()) {
            by_order.entry(i).or_default().push(intent);
        }
    }
    let mut refunds_of: HashMap<&str, Vec<&Value>> = HashMap::new();
    for refund in refunds {
        if let Some(pi) = refund["payment_intent"].as_str() {
            refunds_of.entry(pi).or_default().push(refund);
        }
    }
    for (i, ack) in acknowledged.iter().enumerate() {
        let found = by_order.get(&i).map(Vec::as_slice).unwrap_or_default();
        if found.len() > 1 {
            report.duplicated.push(format!("payment {i}: {} intents for one order", found.len()));
        }
        let Some(intent_id) = &ack.intent else { continue };
        let Some(intent) = found.iter().find(|x| x["id"] == intent_id.as_str()) else {
            report.lost.push(format!("payment {i}: intent {intent_id} was acknowledged and is missing"));
            continue;
        };
        let status = intent["status"].as_str().unwrap_or_default();
        if !is_final(status) {
            report.stuck.push(format!("payment {i}: intent {intent_id} is still {status}"));
        }
        if ack.approved && !matches!(status, "succeeded" | "partially_refunded" | "refunded") {
            report.lost.push(format!("payment {i}: approval was acknowledged, the intent is {status}"));
        }
        let its_refunds = refunds_of.get(intent_id.as_str()).map(Vec::as_slice).unwrap_or_default();
        if its_refunds.len() > 1 {
            report.duplicated.push(format!("payment {i}: {} refunds of {intent_id}", its_refunds.len()));
        }
        if let Some(refund_id) = &ack.refund {
            match its_refunds.iter().find(|r| r["id"] == refund_id.as_str()) {
                None => report.lost.push(format!("payment {i}: refund {refund_id} was acknowledged and is missing")),
                Some(r) if r["status"] == "pending" => report.stuck.push(format!("payment {i}: refund {refund_id} is still pending")),
                Some(r) if r["status"] != "succeeded" => report.lost.push(format!("payment {i}: refund {refund_id} ended {}", r["status"])),
                Some(_) => {}
            }
            let refunded = intent["amount_refunded"].as_i64().unwrap_or(-1);
            if refunded != ack.amount / 2 {
                report.duplicated.push(format!("payment {i}: {refunded} refunded of {intent_id}, {} expected", ack.amount / 2));
            }
        }
    }
}

/// A uniform random number below `n` (`n` > 0).
fn random_below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap_or_default();
    u64::from_le_bytes(bytes) % n
}
