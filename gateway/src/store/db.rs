//! The one SQL layer both engines run. A statement is SQL text with `$n` placeholders (SQLite and
//! PostgreSQL both read them) and plain values bound in order; rows are read by column name. Each
//! engine's pool, transaction and row is one variant of an enum here, so the area files above
//! hold one SQL text per operation and no engine generics.

use super::StoreError;
use sqlx::postgres::{PgPool, PgRow};
use super::group_commit::{GroupWriter, Job};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{Postgres, Row as _, Sqlite};
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Which database engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: one file, one writer.
    Sqlite,
    /// Production: shared by every replica.
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

/// A value bound to a placeholder. NULLs carry their type: PostgreSQL types every parameter.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    Text(String),
    Bool(bool),
    NullInt,
    NullText,
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::NullText, |s| Value::Text(s.to_owned()))
    }
}

impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        v.as_deref().into()
    }
}

/// A statement and its parameters, `$1` first.
#[derive(Debug, Clone)]
pub struct Query {
    sql: Cow<'static, str>,
    params: Vec<Value>,
}

/// A statement of fixed text, or built from fixed parts (column lists): never from input.
pub fn query(sql: impl Into<Cow<'static, str>>) -> Query {
    Query { sql: sql.into(), params: Vec::new() }
}

impl Query {
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.params.push(value.into());
        self
    }

    fn sqlite(&self) -> sqlx::query::Query<'_, Sqlite, sqlx::sqlite::SqliteArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(&*self.sql));
        for p in &self.params {
            q = match p {
                Value::Int(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_str()),
                Value::Bool(v) => q.bind(*v),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<&str>),
            };
        }
        q
    }

    fn postgres(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(&*self.sql));
        for p in &self.params {
            q = match p {
                Value::Int(v) => q.bind(*v),
                Value::Text(v) => q.bind(v.as_str()),
                Value::Bool(v) => q.bind(*v),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<&str>),
            };
        }
        q
    }
}

/// One result row.
pub enum Row {
    Sqlite(SqliteRow),
    Postgres(PgRow),
}

impl Row {
    fn get<T>(&self, column: &str) -> Result<T, StoreError>
    where
        T: for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(column)?,
            Row::Postgres(r) => r.try_get(column)?,
        })
    }

    pub fn text(&self, column: &str) -> Result<String, StoreError> {
        self.get(column)
    }

    pub fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }

    pub fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.get(column)
    }

    pub fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.get(column)
    }

    pub fn bool(&self, column: &str) -> Result<bool, StoreError> {
        self.get(column)
    }
}

/// The store's connections: SQLite has one writer and a few readers (it serializes writes
/// anyway; one writer turns lock errors into queueing); PostgreSQL one pool for both.
#[derive(Clone)]
pub enum Pools {
    Sqlite { writer: Arc<GroupWriter>, reader: SqlitePool, commits: Arc<AtomicU64> },
    Postgres(PgPool),
}

/// An open write transaction. Dropped without [`Tx::commit`], it rolls back.
pub enum Tx {
    Sqlite(Job),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl Pools {
    pub fn engine(&self) -> Engine {
        match self {
            Pools::Sqlite { .. } => Engine::Sqlite,
            Pools::Postgres(_) => Engine::Postgres,
        }
    }

    /// A write transaction. SQLite: a savepoint in the writer's group transaction, which took
    /// its write lock up front (`BEGIN IMMEDIATE`); see [`super::group_commit`].
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match self {
            Pools::Sqlite { writer, .. } => Tx::Sqlite(writer.begin().await?),
            Pools::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub fn write_commits(&self) -> Option<u64> {
        match self {
            Pools::Sqlite { commits, .. } => Some(commits.load(Ordering::Relaxed)),
            Pools::Postgres(_) => None,
        }
    }

    /// A read outside any transaction (SQLite: on a reader connection).
    pub async fn fetch_optional(&self, q: Query) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Pools::Sqlite { reader, writer, .. } => {
                writer.settled().await;
                q.sqlite().fetch_optional(reader).await?.map(Row::Sqlite)
            }
            Pools::Postgres(pool) => q.postgres().fetch_optional(pool).await?.map(Row::Postgres),
        })
    }

    pub async fn fetch_one(&self, q: Query) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    pub async fn fetch_all(&self, q: Query) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Pools::Sqlite { reader, writer, .. } => {
                writer.settled().await;
                q.sqlite().fetch_all(reader).await?.into_iter().map(Row::Sqlite).collect()
            }
            Pools::Postgres(pool) => q.postgres().fetch_all(pool).await?.into_iter().map(Row::Postgres).collect(),
        })
    }

    /// One write statement on its own (its own transaction); returns the rows it changed.
    pub async fn execute(&self, q: Query) -> Result<u64, StoreError> {
        Ok(match self {
            Pools::Sqlite { .. } => {
                let mut tx = self.begin().await?;
                let changed = tx.execute(q).await?;
                tx.commit().await?;
                changed
            }
            Pools::Postgres(pool) => q.postgres().execute(pool).await?.rows_affected(),
        })
    }

    /// One write statement on its own that returns rows (`UPDATE ... RETURNING`).
    pub async fn write_fetch_optional(&self, q: Query) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Pools::Sqlite { .. } => {
                let mut tx = self.begin().await?;
                let row = tx.fetch_optional(q).await?;
                tx.commit().await?;
                row
            }
            Pools::Postgres(pool) => q.postgres().fetch_optional(pool).await?.map(Row::Postgres),
        })
    }

    pub async fn write_fetch_all(&self, q: Query) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Pools::Sqlite { .. } => {
                let mut tx = self.begin().await?;
                let rows = tx.fetch_all(q).await?;
                tx.commit().await?;
                rows
            }
            Pools::Postgres(pool) => q.postgres().fetch_all(pool).await?.into_iter().map(Row::Postgres).collect(),
        })
    }
}

impl Tx {
    pub async fn execute(&mut self, q: Query) -> Result<u64, StoreError> {
        Ok(match self {
            Tx::Sqlite(job) => q.sqlite().execute(job.conn()?).await?.rows_affected(),
            Tx::Postgres(tx) => q.postgres().execute(&mut **tx).await?.rows_affected(),
        })
    }

    pub async fn fetch_optional(&mut self, q: Query) -> Result<Option<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(job) => q.sqlite().fetch_optional(job.conn()?).await?.map(Row::Sqlite),
            Tx::Postgres(tx) => q.postgres().fetch_optional(&mut **tx).await?.map(Row::Postgres),
        })
    }

    pub async fn fetch_one(&mut self, q: Query) -> Result<Row, StoreError> {
        self.fetch_optional(q).await?.ok_or(StoreError::NotFound)
    }

    pub async fn fetch_all(&mut self, q: Query) -> Result<Vec<Row>, StoreError> {
        Ok(match self {
            Tx::Sqlite(job) => q.sqlite().fetch_all(job.conn()?).await?.into_iter().map(Row::Sqlite).collect(),
            Tx::Postgres(tx) => q.postgres().fetch_all(&mut **tx).await?.into_iter().map(Row::Postgres).collect(),
        })
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(job) => job.commit().await?,
            Tx::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

pub fn is_unique_violation(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// `text` with the LIKE wildcards and the escape character escaped (escape character `\`).
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Lower-cased `%text%`, matched literally.
pub fn contains_pattern(text: &str) -> String {
    format!("%{}%", escape_like(&text.to_lowercase()))
}
