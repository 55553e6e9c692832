//! The back office's transaction search at a million rows: one merchant seeded with
//! `--rows` transactions (two others beside it), then the list page's service call (the page
//! of rows and the capped totals, as `/dashboard/transactions` runs them) for each filter, each
//! beside the bare indexed SQL query of that filter measured in the same run; and the CSV export
//! of every row: rows per second beside a bare streaming read, and peak memory growth.
//!
//! It runs the back office in this process over the store (no HTTP, no templates), so latency
//! is the store and the service; the SQLite file and the PostgreSQL database are fresh and
//! dropped afterwards.

use crate::report::{format_duration as duration, machine, splice, utc_now};
use crate::stats::{summarize, Summary};
use anyhow::Context as _;
use backoffice::domain::TimeZone;
use backoffice::transactions::{TransactionQuery, TOTALS_CAP};
use backoffice::{Backoffice, BackofficeSettings};
use futures::{StreamExt as _, TryStreamExt as _};
use gateway::clock::{Clock as _, SystemClock};
use gateway::domain::keys::KeyHasher;
use gateway::secret::Secret;
use gateway::service::Services;
use gateway::store::SqlStore;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{Connection as _, Executor as _, Row as _};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// Transactions of the measured merchant.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Transactions of each of the two merchants beside it.
    #[arg(long, default_value_t = 100_000)]
    pub other_rows: u64,
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    pub engines: Vec<String>,
    /// Timed list calls per filter (after one warm-up pass over its queries).
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Timed calls of the query without the bigram index (it reads far more rows).
    #[arg(long, default_value_t = 20)]
    pub scan_samples: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pub postgres_admin_url: String,
    /// Where the SQLite file is made (removed afterwards).
    #[arg(long, default_value = "target/bench-search")]
    pub dir: PathBuf,
    #[arg(long, default_value = "docs/performance.md")]
    pub output: PathBuf,
    /// The revision measured, for the report.
    #[arg(long, default_value = "")]
    pub revision: String,
}

/// Korean family names, weighted roughly as they occur (김 one in five), and given names.
const SURNAMES: [(&str, &str, u32); 12] = [
    ("김", "Kim", 21), ("이", "Lee", 15), ("박", "Park", 8), ("최", "Choi", 5), ("정", "Jung", 5), ("강", "Kang", 4),
    ("조", "Cho", 4), ("윤", "Yoon", 4), ("장", "Jang", 4), ("임", "Lim", 3), ("한", "Han", 2), ("서", "Seo", 2),
];
const GIVEN: [(&str, &str); 24] = [
    ("민지", "Minji"), ("민수", "Minsu"), ("서연", "Seoyeon"), ("지훈", "Jihoon"), ("서준", "Seojun"), ("하은", "Haeun"),
    ("도윤", "Doyoon"), ("지우", "Jiwoo"), ("예준", "Yejun"), ("수아", "Sua"), ("현우", "Hyunwoo"), ("지민", "Jimin"),
    ("유진", "Yujin"), ("준서", "Junseo"), ("채원", "Chaewon"), ("은서", "Eunseo"), ("시우", "Siwoo"), ("다은", "Daeun"),
    ("건우", "Gunwoo"), ("소윤", "Soyoon"), ("우진", "Woojin"), ("하린", "Harin"), ("태민", "Taemin"), ("나연", "Nayeon"),
];
/// Names a few customers have: a needle that finds a handful of rows among a million.
const RARE: [(&str, &str); 4] = [("독고", "Dokgo"), ("남궁", "Namgung"), ("제갈", "Jegal"), ("선우", "Sunwoo")];
/// Distinct customer names in the seed.
const NAMES: u64 = 4_000;

/// The seed's name table: row `k` is the name of every transaction whose intent number maps to
/// `k`. 70 % Korean (`김민지`), 30 % romanized (`Minji Kim`); one in 1,000 has a rare family name.
fn names() -> Vec<(String, String)> {
    let weight: u32 = SURNAMES.iter().map(|s| s.2).sum();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..NAMES)
        .map(|k| {
            let (given, given_latin) = GIVEN[(next() % GIVEN.len() as u64) as usize];
            let (family, family_latin) = if k % 1_000 == 7 {
                RARE[((k / 1_000) % RARE.len() as u64) as usize]
            } else {
                let mut pick = (next() % u64::from(weight)) as u32;
                let mut chosen = SURNAMES[0];
                for s in SURNAMES {
                    if pick < s.2 {
                        chosen = s;
                        break;
                    }
                    pick -= s.2;
                }
                (chosen.0, chosen.1)
            };
            let name = if next() % 10 < 7 { format!("{family}{given}") } else { format!("{given_latin} {family_latin}") };
            let search = name.to_lowercase();
            (name, search)
        })
        .collect()
}

/// One filter as the list page gets it, and its bare SQL.
struct Scenario {
    label: &'static str,
    /// Query strings of `/dashboard/transactions`, used in turn.
    queries: Vec<String>,
    /// The bare indexed SQL for each query (same order): `$1` is the merchant.
    bare: Vec<(String, Vec<String>)>,
    /// The same filter without the bigram index (name filters only).
    scan: Vec<(String, Vec<String>)>,
}

fn url_escape(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

const COLUMNS: &str = "t.id, t.type, t.status, t.amount, t.currency, t.customer_name, t.created_at";

fn first_bigram(needle: &str) -> String {
    needle.to_lowercase().chars().take(2).collect()
}

fn like(needle: &str) -> String {
    format!("%{}%", needle.to_lowercase())
}

fn scenarios(now: i64) -> Vec<Scenario> {
    let day = 86_400_000i64;
    let name_bare = |needle: &str, extra: &str, args: Vec<String>| {
        let mut all = vec![first_bigram(needle), like(needle)];
        all.extend(args);
        (
            format!(
                "SELECT {COLUMNS} FROM transaction_name_grams g JOIN transactions t ON t.id = g.transaction_id \
                 WHERE g.merchant_id = $1 AND g.livemode = FALSE AND g.gram = $2 AND g.customer_name_search LIKE $3{extra} \
                 ORDER BY g.created_at DESC, g.transaction_id DESC LIMIT 51"
            ),
            all,
        )
    };
    let name_scan = |needle: &str| {
        (
            format!(
                "SELECT {COLUMNS} FROM transactions t WHERE t.merchant_id = $1 AND t.livemode = FALSE AND t.customer_name_search LIKE $2 \
                 ORDER BY t.created_at DESC, t.id DESC LIMIT 51"
            ),
            vec![like(needle)],
        )
    };
    // Common, less common, rare and absent needles, in turn.
    let two = ["민지", "김민", "서연", "하린", "제갈", "남궁", "궁민", "없음"];
    let five = ["minji", "seoye", "i par", "woo l", "n kim", "zzzzz"];
    let combined = ["민지", "서연", "제갈", "없음"];
    let list = |extra: &str| format!("SELECT {COLUMNS} FROM transactions t WHERE t.merchant_id = $1 AND t.livemode = FALSE{extra} ORDER BY t.created_at DESC, t.id DESC LIMIT 51");
    let week_ago = (now - 7 * day).to_string();
    let month_ago = (now - 30 * day).to_string();
    let later = (now + day).to_string();
    vec![
        Scenario {
            label: "none (the page's default, last 30 days)",
            queries: vec!["range=30d".into()],
            bare: vec![(list(" AND t.created_at >= CAST($2 AS BIGINT)"), vec![month_ago.clone()])],
            scan: Vec::new(),
        },
        Scenario {
            label: "name, 2 characters",
            queries: two.iter().map(|n| format!("range=all&q={}", url_escape(n))).collect(),
            bare: two.iter().map(|n| name_bare(n, "", Vec::new())).collect(),
            scan: two.iter().map(|n| name_scan(n)).collect(),
        },
        Scenario {
            label: "name, 5 characters",
            queries: five.iter().map(|n| format!("range=all&q={}", url_escape(n))).collect(),
            bare: five.iter().map(|n| name_bare(n, "", Vec::new())).collect(),
            scan: five.iter().map(|n| name_scan(n)).collect(),
        },
        Scenario {
            label: "date range (last 7 days)",
            queries: vec!["range=7d".into()],
            bare: vec![(list(" AND t.created_at >= CAST($2 AS BIGINT)"), vec![week_ago.clone()])],
            scan: Vec::new(),
        },
        Scenario {
            label: "type (refunds)",
            queries: vec!["range=all&type=refund".into()],
            bare: vec![(list(" AND t.type <> 'payment' AND t.type = 'refund'"), Vec::new())],
            scan: Vec::new(),
        },
        Scenario {
            label: "type (cancels, last 30 days)",
            queries: vec!["range=30d&type=cancel".into()],
            bare: vec![(list(" AND t.type <> 'payment' AND t.type = 'cancel' AND t.created_at >= CAST($2 AS BIGINT)"), vec![month_ago.clone()])],
            scan: Vec::new(),
        },
        Scenario {
            label: "type (payments, last 7 days)",
            queries: vec!["range=7d&type=payment".into()],
            bare: vec![(list(" AND t.type = 'payment' AND t.created_at >= CAST($2 AS BIGINT)"), vec![week_ago.clone()])],
            scan: Vec::new(),
        },
        Scenario {
            label: "all combined (name, 30 days, payments, succeeded, KRW 10,000 to 300,000)",
            queries: combined.iter().map(|n| format!("q={}&range=30d&type=payment&status=succeeded&currency=KRW&min=10000&max=300000", url_escape(n))).collect(),
            bare: combined
                .iter()
                .map(|n| {
                    name_bare(
                        n,
                        " AND g.created_at >= CAST($4 AS BIGINT) AND g.created_at < CAST($5 AS BIGINT) AND g.type = 'payment' AND t.status = 'succeeded' \
                         AND t.currency = 'KRW' AND t.amount >= 10000 AND t.amount <= 300000",
                        vec![month_ago.clone(), later.clone()],
                    )
                })
                .collect(),
            scan: Vec::new(),
        },
        Scenario {
            label: "exact order id",
            queries: (0..8).map(|k| format!("range=all&order=order-{}", k * 104_729 + 11)).collect(),
            bare: (0..8)
                .map(|k| {
                    (
                        format!(
                            "SELECT {COLUMNS} FROM payment_intents i JOIN transactions t ON t.payment_intent_id = i.id AND t.type = 'payment' \
                             WHERE i.merchant_id = $1 AND i.livemode = FALSE AND i.merchant_order_id = $2 ORDER BY t.created_at DESC, t.id DESC LIMIT 51"
                        ),
                        vec![format!("order-{}", k * 104_729 + 11)],
                    )
                })
                .collect(),
            scan: Vec::new(),
        },
    ]
}

/// A database to seed and measure: the store, and a bare pool beside it.
struct Bench {
    engine: &'static str,
    store: Arc<SqlStore>,
    bare: Bare,
    cleanup: Cleanup,
}

/// A pool of the bench's own beside the store's: the bare queries and the seeding.
enum Bare {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Binds text arguments in order (the SQL casts those that are numbers).
macro_rules! bound {
    ($sql:expr, $args:expr) => {{
        let mut q = sqlx::query(sqlx::AssertSqlSafe($sql.to_owned()));
        for a in $args {
            q = q.bind(a.clone());
        }
        q
    }};
}

impl Bare {
    async fn execute(&self, sql: &str) -> anyhow::Result<()> {
        match self {
            Bare::Sqlite(pool) => drop(pool.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?),
            Bare::Postgres(pool) => drop(pool.execute(sqlx::AssertSqlSafe(sql.to_owned())).await?),
        }
        Ok(())
    }

    /// The rows `sql` returns with `args` bound, read in full.
    async fn fetch_count(&self, sql: &str, args: &[String]) -> anyhow::Result<u64> {
        Ok(match self {
            Bare::Sqlite(pool) => bound!(sql, args).fetch_all(pool).await?.len() as u64,
            Bare::Postgres(pool) => bound!(sql, args).fetch_all(pool).await?.len() as u64,
        })
    }

    /// The rows `sql` returns, streamed and counted without being kept.
    async fn stream_count(&self, sql: &str, args: &[String]) -> anyhow::Result<u64> {
        Ok(match self {
            Bare::Sqlite(pool) => bound!(sql, args).fetch(pool).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?,
            Bare::Postgres(pool) => bound!(sql, args).fetch(pool).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?,
        })
    }

    async fn count(&self, sql: &str, args: &[String]) -> anyhow::Result<i64> {
        Ok(match self {
            Bare::Sqlite(pool) => bound!(sql, args).fetch_one(pool).await?.try_get(0)?,
            Bare::Postgres(pool) => bound!(sql, args).fetch_one(pool).await?.try_get(0)?,
        })
    }

    async fn close(&self) {
        match self {
            Bare::Sqlite(pool) => pool.close().await,
            Bare::Postgres(pool) => pool.close().await,
        }
    }
}

enum Cleanup {
    File(PathBuf),
    Database { admin_url: String, name: String },
}

impl Bench {
    async fn open(engine: &str, options: &Options) -> anyhow::Result<Self> {
        match engine {
            "sqlite" => {
                std::fs::create_dir_all(&options.dir)?;
                let path = options.dir.join(format!("search-{}.db", hex::encode(crate::bench::random_tag())));
                let url = format!("sqlite:{}", path.display());
                let store = Arc::new(SqlStore::connect(&url).await.context("opening the SQLite store")?);
                let bare = Bare::Sqlite(SqlitePoolOptions::new().max_connections(1).connect(&format!("sqlite://{}", path.display())).await?);
                Ok(Bench { engine: "SQLite", store, bare, cleanup: Cleanup::File(path) })
            }
            "postgres" => {
                let name = format!("bench_search_{}", hex::encode(crate::bench::random_tag()));
                let mut admin = sqlx::PgConnection::connect(&options.postgres_admin_url).await.context("connecting to PostgreSQL")?;
                admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await?;
                admin.close().await?;
                let base = options.postgres_admin_url.rsplit_once('/').map(|(b, _)| b).context("the admin URL names no database")?;
                let url = format!("{base}/{name}");
                let store = Arc::new(SqlStore::connect(&url).await.context("opening the PostgreSQL store")?);
                let bare = Bare::Postgres(PgPoolOptions::new().max_connections(2).connect(&url).await?);
                Ok(Bench { engine: "PostgreSQL", store, bare, cleanup: Cleanup::Database { admin_url: options.postgres_admin_url.clone(), name } })
            }
            other => anyhow::bail!("unknown engine {other} (sqlite or postgres)"),
        }
    }

    fn numbers(&self, from: u64, to: u64) -> String {
        if self.engine == "SQLite" {
            format!("WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n WHERE i < {}) ", to - 1)
        } else {
            format!("WITH n(i) AS (SELECT generate_series(CAST({from} AS BIGINT), CAST({} AS BIGINT))) ", to - 1)
        }
    }

    /// `rows` transactions of `merchant`'s, over the year before `now`: per intent a payment
    /// (one in twenty canceled instead), and for one in eight a partial refund.
    async fn seed(&self, merchant: &str, prefix: &str, rows: u64, now: i64) -> anyhow::Result<()> {
        let intents = rows * 8 / 9;
        let span: i64 = 365 * 86_400_000;
        let step = span / intents.max(1) as i64;
        let start = now - span;
        let batch = 100_000;
        let mut lo = 0;
        while lo < intents {
            let hi = (lo + batch).min(intents);
            let n = self.numbers(lo, hi);
            let at = format!("({start} + CAST(n.i AS BIGINT) * {step})");
            let canceled = "(n.i % 20 = 3)";
            let refunded = "(n.i % 8 = 1 AND n.i % 20 <> 3)";
            let amount = "(1000 + (CAST(n.i AS BIGINT) * 37 % 500) * 1000)";
            let currency = "(CASE WHEN n.i % 10 = 4 THEN 'USD' ELSE 'KRW' END)";
            let name_key = format!("(CAST(n.i AS BIGINT) * 7919 % {NAMES})");
            self.exec(&format!(
                "INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, amount_captured, amount_refunded, \
                   merchant_order_id, order_name, customer_name, customer_name_search, customer_email, confirm_mode, metadata, \
                   approval_code, approval_url, created_at, updated_at, expires_at) \
                 {n} SELECT '{prefix}pi_' || CAST(n.i AS TEXT), '{merchant}', FALSE, \
                   CASE WHEN {canceled} THEN 'canceled' ELSE 'succeeded' END, {amount}, {currency}, \
                   CASE WHEN {canceled} THEN 0 ELSE {amount} END, CASE WHEN {refunded} THEN {amount} / 2 ELSE 0 END, \
                   'order-' || CAST(n.i AS TEXT), 'Order ' || CAST(n.i AS TEXT), b.name, b.search, NULL, 'automatic', '{{}}', \
                   '{prefix}ac' || CAST(n.i AS TEXT), 'http://bench/p/' || CAST(n.i AS TEXT), {at}, {at}, {at} + 900000 \
                 FROM n JOIN bench_names b ON b.k = {name_key}"
            ))
            .await?;
            self.exec(&format!(
                "INSERT INTO refunds (id, merchant_id, livemode, payment_intent_id, amount, currency, status, reason, created_at, updated_at) \
                 {n} SELECT '{prefix}re_' || CAST(n.i AS TEXT), '{merchant}', FALSE, '{prefix}pi_' || CAST(n.i AS TEXT), {amount} / 2, {currency}, \
                   'succeeded', 'requested_by_customer', {at} + 86400000, {at} + 86400000 FROM n WHERE {refunded}"
            ))
            .await?;
            self.exec(&format!(
                "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, refund_id, amount, currency, \
                   customer_name, customer_name_search, created_at, updated_at) \
                 {n} SELECT '{prefix}tx_' || CAST(n.i AS TEXT), '{merchant}', FALSE, CASE WHEN {canceled} THEN 'cancel' ELSE 'payment' END, \
                   'succeeded', '{prefix}pi_' || CAST(n.i AS TEXT), NULL, {amount}, {currency}, b.name, b.search, {at} + 5000, {at} + 5000 \
                 FROM n JOIN bench_names b ON b.k = {name_key}"
            ))
            .await?;
            self.exec(&format!(
                "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, refund_id, amount, currency, \
                   customer_name, customer_name_search, created_at, updated_at) \
                 {n} SELECT '{prefix}txr_' || CAST(n.i AS TEXT), '{merchant}', FALSE, 'refund', 'succeeded', '{prefix}pi_' || CAST(n.i AS TEXT), \
                   '{prefix}re_' || CAST(n.i AS TEXT), {amount} / 2, {currency}, b.name, b.search, {at} + 86400000, {at} + 86400000 \
                 FROM n JOIN bench_names b ON b.k = {name_key} WHERE {refunded}"
            ))
            .await?;
            lo = hi;
        }
        Ok(())
    }

    async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        self.bare.execute(sql).await.with_context(|| format!("seeding: {}", sql.chars().take(120).collect::<String>()))
    }

    async fn bare_query(&self, sql: &str, merchant: &str, args: &[String]) -> anyhow::Result<u64> {
        let all: Vec<String> = std::iter::once(merchant.to_owned()).chain(args.iter().cloned()).collect();
        self.bare.fetch_count(sql, &all).await
    }

    async fn drop(self) {
        self.bare.close().await;
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                let result = async {
                    let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
                    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await?;
                    admin.close().await
                }
                .await;
                if let Err(e) = result {
                    eprintln!("[search] could not drop database {name}: {e}");
                }
            }
        }
    }
}

/// Per filter: the page call and its bare query.
pub struct Measured {
    label: &'static str,
    matched: String,
    page: Summary,
    bare: Summary,
    scan: Option<Summary>,
}

pub struct Export {
    label: String,
    rows: u64,
    bytes: u64,
    seconds: f64,
    bare_seconds: f64,
    peak_growth_kib: u64,
}

pub struct EngineRun {
    engine: &'static str,
    seed_seconds: f64,
    measured: Vec<Measured>,
    home: Measured,
    exports: Vec<Export>,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let began = Instant::now();
    let mut runs = Vec::new();
    for engine in &options.engines {
        let run = run_engine(engine, &options).await.with_context(|| format!("the {engine} run"))?;
        runs.push(run);
    }
    write(&options, &runs, began.elapsed())
}

async fn run_engine(engine: &str, options: &Options) -> anyhow::Result<EngineRun> {
    let bench = Bench::open(engine, options).await?;
    let result = measure(&bench, options).await;
    bench.drop().await;
    result
}

async fn measure(bench: &Bench, options: &Options) -> anyhow::Result<EngineRun> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("random: {e}"))?;
    let services = Arc::new(Services::new(bench.store.clone(), Arc::new(SystemClock), KeyHasher::new(Secret::new(hex::encode(secret))), "http://bench".into()));
    let settings = BackofficeSettings { dev_mailbox: false, redis_url: None, redis_prefix: None, client_ip_header: None };
    let office = Backoffice::new(services.clone(), bench.store.clone(), settings, None);
    let (merchant, _) = services.create_merchant("Bench Shop").await?;
    let (left, _) = services.create_merchant("Left Shop").await?;
    let (right, _) = services.create_merchant("Right Shop").await?;
    let now = SystemClock.now();

    let seeding = Instant::now();
    bench.exec("CREATE TABLE bench_names (k BIGINT PRIMARY KEY, name TEXT NOT NULL, search TEXT NOT NULL)").await?;
    for (chunk_at, chunk) in names().chunks(500).enumerate() {
        let values: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(j, (name, search))| format!("({}, '{}', '{}')", chunk_at * 500 + j, name.replace('\'', "''"), search.replace('\'', "''")))
            .collect();
        bench.exec(&format!("INSERT INTO bench_names (k, name, search) VALUES {}", values.join(", "))).await?;
    }
    eprintln!("[search] {}: seeding {} transactions and {} beside them", bench.engine, options.rows, 2 * options.other_rows);
    bench.seed(&left.id, "l", options.other_rows, now).await?;
    bench.seed(&merchant.id, "", options.rows, now).await?;
    bench.seed(&right.id, "r", options.other_rows, now).await?;
    bench.exec("DROP TABLE bench_names").await?;
    if bench.engine == "PostgreSQL" {
        // What autovacuum would have done by the time a table holds a million rows.
        bench.exec("VACUUM ANALYZE").await?;
    }
    let seed_seconds = seeding.elapsed().as_secs_f64();
    let total = bench.bare.count("SELECT COUNT(*) FROM transactions WHERE merchant_id = $1", std::slice::from_ref(&merchant.id)).await?;
    eprintln!("[search] {}: seeded in {seed_seconds:.0} s; the merchant has {total} transactions", bench.engine);

    let tz = TimeZone::default_zone();
    let mut measured = Vec::new();
    for scenario in scenarios(now) {
        let parsed: Vec<TransactionQuery> = scenario.queries.iter().map(|q| TransactionQuery::parse(q)).collect::<Result<_, _>>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // Warm-up: each query once; what it matched, for the report.
        let mut matched = Vec::new();
        for query in &parsed {
            let page = office.list_transactions(&merchant.id, query, tz).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            matched.push(if page.totals.capped { format!("{}+", page.totals.count) } else { page.totals.count.to_string() });
        }
        for (sql, args) in &scenario.bare {
            bench.bare_query(sql, &merchant.id, args).await?;
        }
        let mut page_samples = Vec::with_capacity(options.samples);
        let mut bare_samples = Vec::with_capacity(options.samples);
        for i in 0..options.samples {
            let at = Instant::now();
            office.list_transactions(&merchant.id, &parsed[i % parsed.len()], tz).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            page_samples.push(at.elapsed());
            let (sql, args) = &scenario.bare[i % scenario.bare.len()];
            let at = Instant::now();
            bench.bare_query(sql, &merchant.id, args).await?;
            bare_samples.push(at.elapsed());
        }
        let mut scan_samples = Vec::new();
        if !scenario.scan.is_empty() {
            for i in 0..options.scan_samples {
                let (sql, args) = &scenario.scan[i % scenario.scan.len()];
                let at = Instant::now();
                bench.bare_query(sql, &merchant.id, args).await?;
                scan_samples.push(at.elapsed());
            }
        }
        let m = Measured {
            label: scenario.label,
            matched: matched.join(", "),
            page: summarize(page_samples).context("no samples")?,
            bare: summarize(bare_samples).context("no samples")?,
            scan: summarize(scan_samples),
        };
        eprintln!("[search] {}: {}: page p50 {} p99 {}, bare p99 {}", bench.engine, m.label, duration(m.page.p50), duration(m.page.p99), duration(m.bare.p99));
        measured.push(m);
    }

    // Home: the landing page's two aggregates over the last 30 days, beside an index-only count
    // of the same rows (the least any aggregate over them costs).
    let (from, to) = (now - 30 * 86_400_000, now + 1);
    let count_sql = "SELECT COUNT(*) FROM transactions WHERE merchant_id = $1 AND livemode = FALSE AND created_at >= CAST($2 AS BIGINT) AND created_at < CAST($3 AS BIGINT)";
    let range = [from.to_string(), to.to_string()];
    let (mut page_samples, mut bare_samples) = (Vec::new(), Vec::new());
    for i in 0..=options.samples.min(100) {
        let at = Instant::now();
        office.stores.activity.activity(&merchant.id, false, from, to).await?;
        office.stores.activity.intent_outcomes(&merchant.id, false, from, to).await?;
        let page = at.elapsed();
        let at = Instant::now();
        bench.bare_query(count_sql, &merchant.id, &range).await?;
        // The first round warms both.
        if i > 0 {
            page_samples.push(page);
            bare_samples.push(at.elapsed());
        }
    }
    let rows_30_days = bench.bare.count(count_sql, &[merchant.id.clone(), range[0].clone(), range[1].clone()]).await?;
    let home = Measured {
        label: "home: 30 days of volume and counts by type, and intent outcomes",
        matched: rows_30_days.to_string(),
        page: summarize(page_samples).context("no samples")?,
        bare: summarize(bare_samples).context("no samples")?,
        scan: None,
    };
    eprintln!("[search] {}: {}: p50 {} p99 {}, bare count p99 {}", bench.engine, home.label, duration(home.page.p50), duration(home.page.p99), duration(home.bare.p99));

    let mut exports = Vec::new();
    for (label, id) in [("a merchant beside it", &left.id), ("the measured merchant", &merchant.id)] {
        let export = export(bench, &office, id, tz, label).await?;
        eprintln!("[search] {}: export of {} rows: {:.0} rows/s, peak memory growth {} KiB", bench.engine, export.rows, export.rows as f64 / export.seconds, export.peak_growth_kib);
        exports.push(export);
    }
    Ok(EngineRun { engine: bench.engine, seed_seconds, measured, home, exports })
}

async fn export(bench: &Bench, office: &Arc<Backoffice>, merchant: &str, tz: TimeZone, label: &str) -> anyhow::Result<Export> {
    let filter = TransactionQuery::parse("range=all").map_err(|e| anyhow::anyhow!("{e:?}"))?.resolve(tz, SystemClock.now()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let before = memory("VmRSS")?;
    reset_peak_memory();
    let at = Instant::now();
    let mut stream = Box::pin(office.export_transactions(merchant.to_owned(), filter, tz));
    let (mut bytes, mut lines) = (0u64, 0u64);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    let seconds = at.elapsed().as_secs_f64();
    let peak = memory("VmHWM")?;
    // The bare read: the same rows' columns in one streamed query over the list index.
    let at = Instant::now();
    let bare_rows = bench
        .bare
        .stream_count(
            &format!(
                "SELECT {COLUMNS}, i.order_name, i.merchant_order_id FROM transactions t JOIN payment_intents i ON i.id = t.payment_intent_id \
                 WHERE t.merchant_id = $1 AND t.livemode = FALSE ORDER BY t.created_at DESC, t.id DESC"
            ),
            &[merchant.to_owned()],
        )
        .await?;
    let bare_seconds = at.elapsed().as_secs_f64();
    anyhow::ensure!(bare_rows + 1 == lines, "the export has {} rows, the table {bare_rows}", lines.saturating_sub(1));
    Ok(Export { label: label.to_owned(), rows: lines - 1, bytes, seconds, bare_seconds, peak_growth_kib: peak.saturating_sub(before) })
}

/// A figure of /proc/self/status, in KiB.
fn memory(field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|rest| rest.trim_start_matches(':').split_whitespace().next()).and_then(|v| v.parse().ok()))
        .with_context(|| format!("{field} in /proc/self/status"))
}

/// Resets VmHWM to the current resident size (Linux: `5` to /proc/self/clear_refs).
fn reset_peak_memory() {
    if let Err(e) = std::fs::write("/proc/self/clear_refs", "5") {
        eprintln!("[search] could not reset the peak memory figure: {e}");
    }
}

fn write(options: &Options, runs: &[EngineRun], elapsed: Duration) -> anyhow::Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "### Run of {} (revision `{}`), {} timed calls per filter; took {:.0} s\n", utc_now(), if options.revision.is_empty() { "unknown" } else { &options.revision }, options.samples, elapsed.as_secs_f64());
    for run in runs {
        let _ = writeln!(
            md,
            "**{}**: one merchant with {} transactions over a year and two beside it with {} each (seeded in {:.0} s).\n",
            run.engine,
            crate::report::thousands(options.rows as usize),
            crate::report::thousands(options.other_rows as usize),
            run.seed_seconds
        );
        md.push_str("| filter | rows matched per query (capped at 10,000) | list page p50 | list page p99 | bare indexed query p50 | bare p99 | page p99 ÷ bare p99 | goal: page p99 ≤ 50 ms | without the bigram index p50 / p99 |\n");
        md.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
        for m in &run.measured {
            let ratio = m.page.p99.as_secs_f64() / m.bare.p99.as_secs_f64().max(1e-9);
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | ×{ratio:.1} | {} | {} |",
                m.label,
                m.matched,
                duration(m.page.p50),
                duration(m.page.p99),
                duration(m.bare.p50),
                duration(m.bare.p99),
                if m.page.p99 <= Duration::from_millis(50) { "met" } else { "**not met**" },
                m.scan.map_or(String::new(), |s| format!("{} / {}", duration(s.p50), duration(s.p99))),
            );
        }
        let h = &run.home;
        let _ = writeln!(
            md,
            "\n| home page (not a list: no goal set) | rows in the 30 days | p50 | p99 | bare index-only count of those rows, p50 | p99 | p99 ÷ bare p99 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n| {} | {} | {} | {} | {} | {} | ×{:.1} |",
            h.label,
            h.matched,
            duration(h.page.p50),
            duration(h.page.p99),
            duration(h.bare.p50),
            duration(h.bare.p99),
            h.page.p99.as_secs_f64() / h.bare.p99.as_secs_f64().max(1e-9)
        );
        md.push_str("\n| CSV export | rows | MB | seconds | rows/s | bare streamed read, rows/s | export ÷ bare | peak memory growth |\n");
        md.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for e in &run.exports {
            let rate = e.rows as f64 / e.seconds.max(1e-9);
            let bare = e.rows as f64 / e.bare_seconds.max(1e-9);
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} | {:.1} | {:.0} | {:.0} | ×{:.2} | {:.1} MiB |",
                e.label,
                crate::report::thousands(e.rows as usize),
                e.bytes as f64 / 1e6,
                e.seconds,
                rate,
                bare,
                rate / bare.max(1e-9),
                e.peak_growth_kib as f64 / 1024.0
            );
        }
        md.push('\n');
    }
    let _ = writeln!(md, "Totals cap: {TOTALS_CAP} rows.");
    md.push_str(&machine());
    splice(&options.output, "backoffice-search", &md)
}
