//! The shop's SQLite database: opening it, its schema, the first start's catalogue, and the
//! queries, one module per table group. Functions take a connection, so the service decides
//! which of them share a transaction. Runtime queries only (no `DATABASE_URL` at build time).

pub mod carts;
pub mod catalog;
pub mod orders;
pub mod webhooks;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub type Conn = sqlx::SqliteConnection;

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating when missing) the database at `url`, applies the schema and seeds the
    /// catalogue on the first start. `sqlite::memory:` is one private database on one
    /// connection, kept for the life of the store.
    pub async fn open(url: &str) -> Result<Store, sqlx::Error> {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = SqliteConnectOptions::from_str(url)?
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            if let Some(dir) = options
                .get_filename()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
            }
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        sqlx::raw_sql(include_str!("schema.sql"))
            .execute(&pool)
            .await?;
        let store = Store { pool };
        catalog::seed(&mut *store.pool.acquire().await?).await?;
        Ok(store)
    }

    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<Sqlite>, sqlx::Error> {
        self.pool.acquire().await
    }

    /// A write transaction that takes SQLite's write lock at once (`BEGIN IMMEDIATE`): two
    /// checkouts queue on the lock instead of failing on a stale read snapshot.
    pub async fn write(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A stored value that does not parse is a broken row, not a panic.
pub(crate) fn corrupt(column: &'static str, value: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} \"{value}\" in the shop's database").into())
}
