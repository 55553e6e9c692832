//! The customer side's tests: one binary, driving the real routers (gateway and bridge merged)
//! over SQLite and PostgreSQL.

#[allow(dead_code, unused_imports)]
#[path = "../../../gateway/tests/api/helpers.rs"]
mod core_helpers;
mod helpers;

mod accounts;
mod approval;
mod jwt;
mod limits;
mod logs;
mod openapi;
mod pages;
mod pwa;
mod qr;
mod wallet_recovery;
mod well_known;
