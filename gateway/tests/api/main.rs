//! API tests: the real router over real stores (SQLite and PostgreSQL), driven as a merchant would.

mod helpers;
mod sse_client;

mod concurrency;
mod errors;
mod events;
mod idempotency;
mod isolation;
mod keys;
mod ledger_property;
mod lifecycle;
mod live;
mod openapi;
mod readme_verify;
mod receiver;
mod recovery;
mod redis_fanout;
mod secrets;
mod store_conformance;
mod wallet_store;
mod webhooks;
