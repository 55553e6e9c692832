//! API tests: the real router over real stores (SQLite and PostgreSQL), driven as a merchant would.

mod helpers;

mod concurrency;
mod errors;
mod idempotency;
mod isolation;
mod keys;
mod ledger_property;
mod lifecycle;
mod openapi;
mod readme_verify;
mod receiver;
mod recovery;
mod secrets;
mod store_conformance;
mod webhooks;
