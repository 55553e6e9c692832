//! The customer side's tests: one binary, driving the real routers (gateway and bridge merged)
//! over SQLite and PostgreSQL.

/// The core's test support.
mod core_helpers {
    pub use paygate_test_support::*;
}
mod helpers;

mod accounts;
mod approval;
mod jwt;
mod limits;
mod logs;
mod lost_answers;
mod openapi;
mod pages;
mod pwa;
mod qr;
mod wallet_recovery;
mod well_known;
