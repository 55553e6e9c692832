//! The wallet JSON API (`/wallet/v1`): one API for the approval page and native apps.

mod accounts;

use crate::Bridge;
use axum::Router;
use std::sync::Arc;

pub fn router() -> Router<Arc<Bridge>> {
    Router::new().merge(accounts::router())
}
