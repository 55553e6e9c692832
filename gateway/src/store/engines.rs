//! Opening each engine: its connections, its settings and its migrations.
//!
//! SQLite: WAL, `synchronous = FULL` (an answered payment survives a power loss, not only a crash
//! of the process), foreign keys, one writer connection whose transactions commit in groups
//! ([`super::group_commit`]) and four readers; the file is created readable by its owner only,
//! and the writer counts its commits. PostgreSQL: one pool, no ping before each use (a dead
//! connection fails its statement, which the health watch and the callers' retries handle); the
//! compare-and-set updates' row locks serialize concurrent changes of one object.

use super::db::Pools;
use super::group_commit::GroupWriter;
use super::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub(super) async fn open_sqlite(url: &str) -> Result<Pools, StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    create_private(options.get_filename()).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
    let commits = Arc::new(AtomicU64::new(0));
    let counter = commits.clone();
    // An in-process SQLite connection cannot be cut like a network one: no ping before each use
    // (it is a round trip to the connection's worker thread).
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            let counter = counter.clone();
            Box::pin(async move {
                conn.lock_handle().await?.set_commit_hook(move || {
                    counter.fetch_add(1, Ordering::Relaxed);
                    true
                });
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await?;
    sqlx::migrate!("../migrations/sqlite").run(&writer).await?;
    let writer = GroupWriter::new(writer.acquire().await?.detach());
    let reader = SqlitePoolOptions::new().max_connections(4).test_before_acquire(false).connect_with(options.read_only(true)).await?;
    Ok(Pools::Sqlite { writer, reader, commits })
}

/// Creates the database file (and its directory) when missing, readable and writable by its
/// owner only: it holds key hashes, sealed secrets and customers. SQLite gives its `-wal` and
/// `-shm` files the same mode.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        // Another process made it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

pub(super) async fn open_postgres(url: &str, schema: Option<&str>) -> Result<Pools, StoreError> {
    let mut options = PgConnectOptions::from_str(url)?;
    if let Some(schema) = schema {
        let admin = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
        let create = format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", schema.replace('"', ""));
        sqlx::query(sqlx::AssertSqlSafe(create)).execute(&admin).await?;
        admin.close().await;
        options = options.options([("search_path", schema)]);
    }
    // A request waits at most this long for a connection: while the database is down, the
    // health watch refuses requests at once, and the ones already waiting give up soon.
    let pool = PgPoolOptions::new().max_connections(16).test_before_acquire(false).acquire_timeout(Duration::from_secs(5)).connect_with(options).await?;
    sqlx::migrate!("../migrations/postgres").run(&pool).await?;
    Ok(Pools::Postgres(pool))
}
