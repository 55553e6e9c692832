//! API tests: the real router over real stores (SQLite and PostgreSQL), driven as a merchant would.

/// The shared test support, under the name these tests use.
mod helpers {
    pub use paygate_test_support::*;
}
#[allow(unused_imports)]
pub(crate) use paygate_test_support::on_both_engines;
mod sse_client;

mod checkout;
mod concurrency;
mod errors;
mod events;
mod idempotency;
mod isolation;
mod keys;
mod ledger_property;
mod lifecycle;
mod lost_answers;
mod live;
mod openapi;
mod outage;
mod readme_verify;
mod receiver;
mod recovery;
mod redis_fanout;
mod secrets;
mod serving;
mod store_conformance;
mod stream_order;
mod wallet_store;
mod webhooks;
