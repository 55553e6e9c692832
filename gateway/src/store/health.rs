//! Whether the database can be reached. PostgreSQL is checked every half second in the
//! background, so requests can be refused at once (`503`) while it is down instead of each
//! waiting for a connection, and served again as soon as it is back. SQLite is a file: always.

use super::db::{query, Pools};
use super::{SqlStore, StoreError};
use async_trait::async_trait;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const CHECK_EVERY: Duration = Duration::from_millis(500);
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

#[async_trait]
pub trait HealthStore: Send + Sync {
    /// The last background check's answer (no I/O).
    fn database_reachable(&self) -> bool;
    /// Asks the database now (`SELECT 1`, within a second).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// The background check's latest answer; the check stops with the store.
pub(super) struct Watch {
    reachable: Arc<AtomicBool>,
    task: Option<tokio::task::AbortHandle>,
}

impl Watch {
    pub(super) fn start(db: &Pools) -> Self {
        let reachable = Arc::new(AtomicBool::new(true));
        let task = match db {
            Pools::Sqlite { .. } => None,
            Pools::Postgres(_) => {
                let (db, flag) = (db.clone(), reachable.clone());
                let handle = tokio::spawn(async move {
                    loop {
                        let up = ping(&db).await.is_ok();
                        if flag.swap(up, Ordering::SeqCst) != up {
                            if up {
                                tracing::info!("the database is reachable again");
                            } else {
                                tracing::error!("the database cannot be reached: requests are refused with 503 until it is back");
                            }
                        }
                        tokio::time::sleep(CHECK_EVERY).await;
                    }
                });
                Some(handle.abort_handle())
            }
        };
        Self { reachable, task }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

async fn ping(db: &Pools) -> Result<(), StoreError> {
    match tokio::time::timeout(CHECK_TIMEOUT, db.fetch_one(query("SELECT 1 AS one"))).await {
        Ok(result) => result.map(|_| ()),
        Err(_) => Err(StoreError::Unavailable("the database did not answer within a second".into())),
    }
}

#[async_trait]
impl HealthStore for SqlStore {
    fn database_reachable(&self) -> bool {
        self.health.reachable.load(Ordering::SeqCst)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        ping(&self.db).await
    }
}
