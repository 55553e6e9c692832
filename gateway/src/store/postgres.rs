//! PostgreSQL engine: one pool; row locks taken by the compare-and-set updates serialize
//! concurrent changes of one object.

use super::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};
use std::str::FromStr;

pub struct PostgresStore {
    pool: PgPool,
    listener: std::sync::RwLock<Option<super::EventListener>>,
}

impl PostgresStore {
    /// `schema`, when given, is created if missing and used as the search path (tests give each
    /// test its own schema so they run in parallel on one server).
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url)?;
        if let Some(schema) = schema {
            let admin = PgPoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS \"{}\"", schema.replace('"', ""))))
                .execute(&admin)
                .await?;
            admin.close().await;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new().max_connections(16).connect_with(options).await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        Ok(Self { pool, listener: Default::default() })
    }

    fn read_pool(&self) -> &PgPool {
        &self.pool
    }

    fn write_pool(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Postgres>, StoreError> {
        Ok(self.pool.begin().await?)
    }

    /// Counted by the server: `pg_stat_database`, or the transaction ids assigned.
    fn write_commits(&self) -> Option<u64> {
        None
    }
}

super::sql::sql_store!(PostgresStore, Postgres, "postgres");
