//! Test support for the gateway's and the customer side's tests. `TestApp`: the real router over a
//! fresh store (a SQLite file in a temp dir, or a PostgreSQL schema of its own), a hand-moved clock
//! and a test card processor the test can inspect; fake-data builders (`app.fake_intent(&sk)...`);
//! captured logs. Tests are silent unless `TEST_LOG` is set (`TEST_LOG=debug cargo test ...`).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use gateway::clock::{Clock, ManualClock};
use gateway::connector::test_card::TestCardProcessor;
use gateway::connector::Connectors;
use gateway::domain::keys::{KeyHasher, KeyKind};
use gateway::secret::Secret;
use gateway::live::LiveSettings;
use gateway::service::{Services, WebhookSettings};
pub use gateway::store::prelude::*;
use gateway::store::SqlStore;
use serde_json::{json, Value};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

pub const HASH_SECRET: &str = "test-hash-secret-test-hash-secret-0123";
/// 2026-01-01T00:00:00Z
pub const START: i64 = 1_767_225_600_000;

pub struct TestApp {
    pub router: Router,
    pub services: Arc<Services>,
    pub store: Arc<SqlStore>,
    pub clock: Arc<ManualClock>,
    pub test_card: Arc<TestCardProcessor>,
    _cleanup: Cleanup,
}

enum Cleanup {
    /// The temp dir and the SQLite URL inside it.
    Dir(#[allow(dead_code)] tempfile::TempDir, String),
    Schema(String),
    /// A second replica over another app's database, which that app cleans up.
    Sibling(String, Option<String>),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Schema(schema) = self {
            let schema = schema.clone();
            // Drop the schema on a thread of its own: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let pool = sqlx::PgPool::connect(&pg_url()).await.ok()?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).execute(&pool).await.ok()
                })
            })
            .join();
        }
    }
}

pub fn pg_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Webhook settings for tests: loopback receivers allowed, retries after one minute without
/// jitter (three of them), a short timeout.
pub fn webhook_test_settings() -> WebhookSettings {
    WebhookSettings {
        retry_schedule: vec![std::time::Duration::from_secs(60); 3],
        jitter: 0.0,
        timeout: std::time::Duration::from_secs(5),
        allow_private: true,
        ..WebhookSettings::default()
    }
}

/// A merchant with its keys in plaintext.
#[derive(Clone, Debug)]
pub struct TestMerchant {
    pub id: String,
    pub sk: String,
    pub pk: String,
    pub live_sk: String,
}

#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
    pub raw: String,
    /// The `Retry-After` header, when there is one.
    pub retry_after: Option<String>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_default().to_owned()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A multi-thread runtime and one app on it, for property tests that block on each case.
pub fn blocking_app(engine: Engine) -> (tokio::runtime::Runtime, TestApp) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let app = rt.block_on(TestApp::on(engine));
    (rt, app)
}

/// Logs to stdout at the level `TEST_LOG` names (`TEST_LOG=1` is `debug`), once per test binary;
/// without it, tests are silent.
pub fn init_test_log() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let Ok(level) = std::env::var("TEST_LOG") else { return };
        let filter = if level.is_empty() || level == "1" || level == "true" { "debug".to_owned() } else { level };
        let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::new(filter)).with_test_writer().try_init();
    });
}

impl TestApp {
    pub async fn on(engine: Engine) -> Self {
        init_test_log();
        match engine {
            Engine::Sqlite => Self::sqlite().await,
            Engine::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/paygate.db", dir.path().display());
        let store = SqlStore::sqlite(&url).await.expect("SQLite store opens");
        Self::with_store(Arc::new(store), Cleanup::Dir(dir, url))
    }

    pub async fn postgres() -> Self {
        Self::postgres_at(&pg_url()).await
    }

    /// On PostgreSQL reached at `url` (a [`DatabaseProxy`] in front of the test server, say).
    pub async fn postgres_at(url: &str) -> Self {
        init_test_log();
        let schema = format!("t_{}", gateway::ids::random_base62(16).to_lowercase());
        let store = SqlStore::postgres(url, Some(&schema))
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {} must be reachable for the tests: {e}", pg_url()));
        Self::with_store(Arc::new(store), Cleanup::Schema(schema))
    }

    fn with_store(store: Arc<SqlStore>, cleanup: Cleanup) -> Self {
        Self::assemble(store, Arc::new(ManualClock::new(START)), cleanup)
    }

    fn assemble(store: Arc<SqlStore>, clock: Arc<ManualClock>, cleanup: Cleanup) -> Self {
        let test_card = Arc::new(TestCardProcessor::new(store.clone(), clock.clone() as Arc<dyn Clock>));
        let services = Self::build_services(&store, &clock, &test_card, webhook_test_settings());
        Self { router: gateway::api::router(services.clone()), services, store, clock, test_card, _cleanup: cleanup }
    }

    fn build_services(store: &Arc<SqlStore>, clock: &Arc<ManualClock>, test_card: &Arc<TestCardProcessor>, webhooks: WebhookSettings) -> Arc<Services> {
        let services = Services::with_live(
            store.clone(),
            clock.clone() as Arc<dyn Clock>,
            KeyHasher::new(Secret::new(HASH_SECRET)),
            "https://pay.example.test".into(),
            LiveSettings { keep_alive: Duration::from_millis(200) },
        )
        .with_webhook_settings(webhooks);
        let connectors = Connectors::default().with(test_card.clone()).with(services.wallet_connector());
        Arc::new(services.with_connectors(connectors))
    }

    /// The same app (store, clock, processor) with other webhook delivery settings.
    pub fn with_webhook_settings(mut self, settings: WebhookSettings) -> Self {
        self.services = self.replica(settings);
        self.router = gateway::api::router(self.services.clone());
        self
    }

    /// Another replica's services over the same database and clock.
    pub fn replica(&self, settings: WebhookSettings) -> Arc<Services> {
        Self::build_services(&self.store, &self.clock, &self.test_card, settings)
    }

    /// Another replica over the same database (its own store connection, bus and processor), on
    /// the same clock.
    pub async fn sibling(&self) -> TestApp {
        let (store, cleanup): (Arc<SqlStore>, Cleanup) = match &self._cleanup {
            Cleanup::Dir(_, url) | Cleanup::Sibling(url, None) => {
                (Arc::new(SqlStore::sqlite(url).await.expect("SQLite store opens")), Cleanup::Sibling(url.clone(), None))
            }
            Cleanup::Schema(schema) | Cleanup::Sibling(_, Some(schema)) => (
                Arc::new(SqlStore::postgres(&pg_url(), Some(schema)).await.expect("PostgreSQL store opens")),
                Cleanup::Sibling(pg_url(), Some(schema.clone())),
            ),
        };
        Self::assemble(store, self.clock.clone(), cleanup)
    }

    /// Serves the router on a real socket; returns its base URL (`http://127.0.0.1:port`).
    pub async fn serve(&self) -> String {
        self.serve_with(gateway::server::ServeSettings::default()).await
    }

    /// Serves the router on a real socket with the production server and `settings`.
    pub async fn serve_with(&self, settings: gateway::server::ServeSettings) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let router = self.router.clone();
        tokio::spawn(gateway::server::serve(listener, router, settings, std::future::pending()));
        format!("http://{addr}")
    }

    pub async fn merchant(&self) -> TestMerchant {
        let (merchant, keys) = self.services.create_merchant("Test Shop").await.expect("merchant");
        let key = |kind| keys.iter().find(|k| k.record.kind == kind).unwrap().plain.value.expose().to_owned();
        let live = self.services.create_key(&merchant.id, KeyKind::Secret, true).await.expect("live key");
        TestMerchant {
            sk: key(KeyKind::Secret),
            pk: key(KeyKind::Publishable),
            live_sk: live.plain.value.expose().to_owned(),
            id: merchant.id,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(req).await.expect("router answers");
        let status = response.status();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, body, replayed, raw, retry_after }
    }

    pub async fn get(&self, key: &str, path: &str) -> Reply {
        let req = Request::get(path).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap();
        self.send(req).await
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> Reply {
        self.post_idem(key, path, body, None).await
    }

    pub async fn delete(&self, key: &str, path: &str) -> Reply {
        let req = Request::delete(path).header("authorization", format!("Bearer {key}")).body(Body::empty()).unwrap();
        self.send(req).await
    }

    pub async fn post_idem(&self, key: &str, path: &str, body: Value, idem: Option<&str>) -> Reply {
        let mut req = Request::post(path).header("authorization", format!("Bearer {key}")).header("content-type", "application/json");
        if let Some(k) = idem {
            req = req.header("idempotency-key", k);
        }
        self.send(req.body(Body::from(body.to_string())).unwrap()).await
    }

    /// Creates an intent (KRW 10,000 unless `overrides` say otherwise) and returns its id.
    pub async fn create_intent(&self, key: &str, overrides: Value) -> String {
        self.fake_intent(key).with(overrides).create().await
    }

    /// A fake payment intent to create through the API: ₩10,000 of coffee beans for Kim Minji
    /// unless told otherwise (`app.fake_intent(&m.sk).amount(2500).currency("USD").manual().create()`).
    pub fn fake_intent<'a>(&'a self, key: &'a str) -> FakeIntent<'a> {
        FakeIntent {
            app: self,
            key,
            body: json!({
                "amount": 10000, "currency": "KRW", "merchant_order_id": "order-1",
                "order_name": "Coffee beans", "customer_name": "Kim Minji",
            }),
        }
    }

    pub async fn approve(&self, key: &str, id: &str, card: &str) -> Reply {
        self.post(key, &format!("/v1/test_helpers/payment_intents/{id}/approve"), json!({ "card_number": card })).await
    }

    /// A succeeded intent of `amount` KRW.
    pub async fn paid_intent(&self, key: &str, amount: i64) -> String {
        self.fake_intent(key).amount(amount).paid().await
    }

    /// Runs one SQL statement on the test's database, behind the store's back (to break things on
    /// purpose). Returns the error text, if any.
    pub async fn exec_raw(&self, sql: &str) -> Result<(), String> {
        match &self._cleanup {
            Cleanup::Dir(_, url) | Cleanup::Sibling(url, None) => {
                let pool = sqlx::SqlitePool::connect(url).await.map_err(|e| e.to_string())?;
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(|_| ()).map_err(|e| e.to_string())
            }
            Cleanup::Schema(schema) | Cleanup::Sibling(_, Some(schema)) => {
                let options: sqlx::postgres::PgConnectOptions = pg_url().parse().map_err(|e: sqlx::Error| e.to_string())?;
                let pool = sqlx::PgPool::connect_with(options.options([("search_path", schema.as_str())])).await.map_err(|e| e.to_string())?;
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    }

    /// The first column of every row of `sql` as text, read behind the store's back.
    pub async fn raw_text(&self, sql: &str) -> Vec<String> {
        match &self._cleanup {
            Cleanup::Dir(_, url) | Cleanup::Sibling(url, None) => {
                let pool = sqlx::SqlitePool::connect(url).await.unwrap();
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&pool).await.unwrap()
            }
            Cleanup::Schema(schema) | Cleanup::Sibling(_, Some(schema)) => {
                let options: sqlx::postgres::PgConnectOptions = pg_url().parse().unwrap();
                let pool = sqlx::PgPool::connect_with(options.options([("search_path", schema.as_str())])).await.unwrap();
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&pool).await.unwrap()
            }
        }
    }

    pub async fn assert_ledger_balanced(&self) {
        let violations = self.store.ledger_check().await.expect("ledger check runs");
        assert!(violations.is_empty(), "ledger invariants broken: {violations:#?}");
    }
}

/// A payment intent about to be created; see [`TestApp::fake_intent`].
pub struct FakeIntent<'a> {
    app: &'a TestApp,
    key: &'a str,
    body: Value,
}

impl FakeIntent<'_> {
    pub fn amount(self, minor_units: i64) -> Self {
        self.with(json!({ "amount": minor_units }))
    }

    pub fn currency(self, code: &str) -> Self {
        self.with(json!({ "currency": code }))
    }

    pub fn customer(self, name: &str) -> Self {
        self.with(json!({ "customer_name": name }))
    }

    pub fn order(self, merchant_order_id: &str) -> Self {
        self.with(json!({ "merchant_order_id": merchant_order_id }))
    }

    /// The merchant confirms after the customer approves.
    pub fn manual(self) -> Self {
        self.with(json!({ "confirm_mode": "manual" }))
    }

    /// Any other fields of the create request.
    pub fn with(mut self, fields: Value) -> Self {
        if let (Some(b), Some(o)) = (self.body.as_object_mut(), fields.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        self
    }

    /// The request body as it will be sent.
    pub fn body(&self) -> Value {
        self.body.clone()
    }

    /// Creates it; returns its id.
    pub async fn create(self) -> String {
        let reply = self.app.post(self.key, "/v1/payment_intents", self.body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
        reply.id()
    }

    /// Creates it and pays it with the test card that succeeds; returns its id.
    pub async fn paid(self) -> String {
        let (app, key) = (self.app, self.key);
        let id = self.create().await;
        let reply = app.approve(key, &id, "4242424242424242").await;
        assert_eq!(reply.body["status"], "succeeded", "{}", reply.raw);
        id
    }
}

/// What this thread logs, at every level, while the guard from [`CapturedLogs::start`] lives.
/// A test reading it must run its requests on its own thread (the router's future does).
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    pub fn start() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(logs.clone()).with_ansi(false).finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;
    fn make_writer(&'a self) -> CapturedLogs {
        self.clone()
    }
}

/// Declares each named `async fn(TestApp)` as a test on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::TestApp::on($crate::Engine::Sqlite).await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::TestApp::on($crate::Engine::Postgres).await).await
                }
            )*
        }
    };
}

/// A TCP proxy in front of the test PostgreSQL server that a test can take down (every
/// connection through it is cut, new ones are closed at once) and bring back: a database outage
/// as the gateway sees it, without stopping the shared server.
pub struct DatabaseProxy {
    pub addr: std::net::SocketAddr,
    up: tokio::sync::watch::Sender<bool>,
}

impl DatabaseProxy {
    pub async fn start() -> Self {
        let upstream: String = pg_url().split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap_or("127.0.0.1:5432").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (up, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut watch = watch.clone();
                if !*watch.borrow() {
                    continue; // dropped: closed at once
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watch.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Self { addr, up }
    }

    /// The test database's URL, through the proxy.
    pub fn url(&self) -> String {
        let url = pg_url();
        match url.split_once('@') {
            Some((user, rest)) => format!("{user}@{}{}", self.addr, rest.find('/').map_or("", |i| &rest[i..])),
            None => url,
        }
    }

    pub fn down(&self) {
        self.up.send_replace(false);
    }

    pub fn up(&self) {
        self.up.send_replace(true);
    }
}
