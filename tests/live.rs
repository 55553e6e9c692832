//! Live events between real `paygate` processes: two replicas on one PostgreSQL database and one
//! Redis, and SIGTERM with open streams.

mod support;
#[allow(dead_code)]
#[path = "../gateway/tests/api/sse_client.rs"]
mod sse_client;

use sse_client::{merchant_stream, SseClient};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{field, http, paygate, Server};

const HASH_SECRET: &str = "live-test-hash-secret-live-test-hash-secret";

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A PostgreSQL database of the test's own, dropped at the end.
struct Database {
    name: String,
}

impl Database {
    async fn create() -> Self {
        let name = format!("t_live_{}", std::process::id()) + &format!("_{}", rand_suffix());
        let pool = sqlx::PgPool::connect(&admin_url()).await.expect("PostgreSQL is reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await.expect("create database");
        Database { name }
    }

    fn url(&self) -> String {
        let admin = admin_url();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
        format!("{base}/{}", self.name)
    }
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{nanos}")
}

impl Drop for Database {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let pool = sqlx::PgPool::connect(&admin_url()).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&pool).await.ok()
            })
        })
        .join();
    }
}

fn production_env(cmd: &mut Command, db: &Database) {
    cmd.env("DATABASE_URL", db.url()).env("REDIS_URL", redis_url()).env("PAYGATE_KEY_HASH_SECRET", HASH_SECRET);
}

/// Creates a merchant through the CLI; returns its secret and publishable test keys.
fn merchant(dir: &std::path::Path, db: &Database) -> (String, String) {
    let mut cmd = paygate(dir);
    production_env(&mut cmd, db);
    let out = cmd.args(["merchant", "create", "--name", "Replica Shop"]).output().expect("paygate runs");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{printed}{}", String::from_utf8_lossy(&out.stderr));
    (field(&printed, "sk_test_").to_owned(), field(&printed, "pk_test_").to_owned())
}

/// Starts one replica and returns it with its address, once it listens.
fn replica(dir: &std::path::Path, db: &Database) -> (Server, String) {
    let mut cmd = paygate(dir);
    production_env(&mut cmd, db);
    let mut server = Server(cmd.arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("serve starts"));
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("serve prints its URLs").unwrap();
        if line.contains("API base URL") {
            break field(&line, "http://").trim_end_matches("/v1").to_owned();
        }
    };
    // Keep draining stdout so the replica never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (server, base)
}

fn create_intent(addr: &str, sk: &str) -> serde_json::Value {
    let (status, body) = http(addr, "POST", "/v1/payment_intents", sk, r#"{"amount":12000,"currency":"KRW","merchant_order_id":"o-1","order_name":"Coffee","customer_name":"Kim"}"#);
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).unwrap()
}

fn approve(addr: &str, sk: &str, id: &str) {
    let (status, body) = http(addr, "POST", &format!("/v1/test_helpers/payment_intents/{id}/approve"), sk, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""status":"succeeded""#), "{body}");
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_through_one_process_reaches_streams_on_another_through_redis() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create().await;
    let (sk, pk) = merchant(dir.path(), &db);
    let (_a, base_a) = replica(dir.path(), &db);
    let (_b, base_b) = replica(dir.path(), &db);
    let addr_a = base_a.trim_start_matches("http://").to_owned();

    let mut merchant_on_b = merchant_stream(&base_b, &sk, None).await;
    let intent = create_intent(&addr_a, &sk);
    let id = intent["id"].as_str().unwrap();
    let secret = intent["client_secret"].as_str().unwrap();
    let mut browser_on_b = SseClient::open(&base_b, &format!("/v1/payment_intents/{id}/events?client_secret={secret}&key={pk}"), &[]).await;
    assert_eq!(browser_on_b.status, 200, "{}", browser_on_b.body);
    assert_eq!(browser_on_b.event_types(1).await, ["payment_intent.created"]);

    approve(&addr_a, &sk, id);
    assert_eq!(merchant_on_b.event_types(3).await, ["payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"]);
    assert_eq!(browser_on_b.event_types(2).await, ["payment_intent.processing", "payment_intent.succeeded"]);
    assert!(browser_on_b.next_event().await.is_none(), "the browser's stream ends after success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_open_streams_the_process_exits_within_ten_seconds_and_a_client_resuming_elsewhere_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create().await;
    let (sk, _) = merchant(dir.path(), &db);
    let (mut a, base_a) = replica(dir.path(), &db);
    let (_b, base_b) = replica(dir.path(), &db);
    let addr_a = base_a.trim_start_matches("http://").to_owned();
    let addr_b = base_b.trim_start_matches("http://").to_owned();

    let mut streams: Vec<SseClient> = Vec::new();
    for _ in 0..5 {
        streams.push(merchant_stream(&base_a, &sk, None).await);
    }
    let first = create_intent(&addr_a, &sk);
    let mut last_seen = String::new();
    for stream in &mut streams {
        let frame = stream.next_event().await.unwrap();
        assert_eq!(frame.json()["data"]["id"], first["id"]);
        last_seen = frame.id.unwrap();
    }

    let signalled = Instant::now();
    let pid = a.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    for stream in &mut streams {
        while let Some(frame) = stream.next_frame().await {
            assert!(frame.event.is_none(), "no event after SIGTERM: {frame:?}");
        }
    }
    let exit = loop {
        if let Some(status) = a.0.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(10), "the process must exit within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "graceful exit: {exit:?}");

    // Meanwhile the payment goes on through the other replica...
    approve(&addr_b, &sk, first["id"].as_str().unwrap());
    let second = create_intent(&addr_b, &sk);
    // ...and the client reconnecting there with Last-Event-ID gets everything it missed.
    let mut resumed = merchant_stream(&base_b, &sk, Some(&last_seen)).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let frame = resumed.next_event().await.unwrap();
        let object = frame.json()["data"]["id"].as_str().unwrap().to_owned();
        got.push((frame.event.unwrap(), object));
    }
    let first_id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(
        got,
        [
            ("payment_intent.processing".to_owned(), first_id.clone()),
            ("payment_intent.succeeded".to_owned(), first_id),
            ("payment_intent.created".to_owned(), second["id"].as_str().unwrap().to_owned()),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_shop_never_starts_with_postgresql() {
    let db = Database::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = paygate(dir.path());
    production_env(&mut cmd, &db);
    let mut server = Server(cmd.env("PAYGATE_DEMO_SHOP", "on").arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("serve starts"));
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while !printed.contains("Create merchants") {
        printed.push_str(&lines.next().expect("serve prints its URLs").unwrap());
        printed.push('\n');
    }
    assert!(!printed.contains("Demo shop"), "{printed}");
    // Serving (and so listening for SIGTERM) once it answers.
    let addr = field(&printed, "http://").trim_end_matches("/v1").trim_start_matches("http://").to_owned();
    assert_eq!(http(&addr, "GET", "/healthz", "", "").0, 200);
    assert!(Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success());
    assert!(server.0.wait().unwrap().success());
}
