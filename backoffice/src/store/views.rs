//! A team's saved views of the transaction list: a name and the filter's query string.

use async_trait::async_trait;
use gateway::clock::Millis;
use gateway::store::sql::{query, Row};
use gateway::store::{SqlStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    pub id: String,
    pub merchant_id: String,
    pub name: String,
    /// The normalized query string of the filter (`TransactionQuery::to_query_string`).
    pub query: String,
    /// The email of who saved it.
    pub created_by: String,
    pub created_at: Millis,
}

/// What saving a view did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewSaved {
    Saved,
    /// The merchant has a view of that name already.
    NameTaken,
    /// The merchant has `MAX_VIEWS` already.
    TooMany,
}

/// Views per merchant, at most.
pub const MAX_VIEWS: i64 = 50;

#[async_trait]
pub trait SavedViews: Send + Sync {
    /// Saves the view unless its name is taken or the merchant has [`MAX_VIEWS`] (counted in the
    /// insert's own statement; saves at the same instant may each pass it by one, which only
    /// keeps the list short). Names are unique per merchant whatever the timing.
    async fn save_view(&self, view: &SavedView) -> Result<ViewSaved, StoreError>;
    /// The merchant's views by name.
    async fn list_views(&self, merchant_id: &str) -> Result<Vec<SavedView>, StoreError>;
    /// Deletes one of the merchant's views; whether it existed.
    async fn delete_view(&self, merchant_id: &str, id: &str) -> Result<Option<SavedView>, StoreError>;
}

const COLUMNS: &str = "id, merchant_id, name, query, created_by, created_at";

fn view(r: &Row) -> Result<SavedView, StoreError> {
    Ok(SavedView {
        id: r.text("id")?,
        merchant_id: r.text("merchant_id")?,
        name: r.text("name")?,
        query: r.text("query")?,
        created_by: r.text("created_by")?,
        created_at: r.int("created_at")?,
    })
}

#[async_trait]
impl SavedViews for SqlStore {
    async fn save_view(&self, v: &SavedView) -> Result<ViewSaved, StoreError> {
        let insert = query(
            "INSERT INTO saved_views (id, merchant_id, name, query, created_by, created_at) \
             SELECT $1, $2, $3, $4, $5, $6 WHERE (SELECT COUNT(*) FROM saved_views WHERE merchant_id = $2) < $7 \
             ON CONFLICT (merchant_id, name) DO NOTHING",
        )
        .bind(&v.id)
        .bind(&v.merchant_id)
        .bind(&v.name)
        .bind(&v.query)
        .bind(&v.created_by)
        .bind(v.created_at)
        .bind(MAX_VIEWS);
        if self.sql().execute(insert).await? == 1 {
            return Ok(ViewSaved::Saved);
        }
        // Not inserted: the name is taken, or the merchant is at the limit.
        let taken = query("SELECT 1 AS one FROM saved_views WHERE merchant_id = $1 AND name = $2").bind(&v.merchant_id).bind(&v.name);
        Ok(if self.sql().fetch_optional(taken).await?.is_some() { ViewSaved::NameTaken } else { ViewSaved::TooMany })
    }

    async fn list_views(&self, merchant_id: &str) -> Result<Vec<SavedView>, StoreError> {
        let list = query(format!("SELECT {COLUMNS} FROM saved_views WHERE merchant_id = $1 ORDER BY name, id")).bind(merchant_id);
        self.sql().fetch_all(list).await?.iter().map(view).collect()
    }

    async fn delete_view(&self, merchant_id: &str, id: &str) -> Result<Option<SavedView>, StoreError> {
        let delete = query(format!("DELETE FROM saved_views WHERE merchant_id = $1 AND id = $2 RETURNING {COLUMNS}")).bind(merchant_id).bind(id);
        self.sql().write_fetch_optional(delete).await?.as_ref().map(view).transpose()
    }
}
