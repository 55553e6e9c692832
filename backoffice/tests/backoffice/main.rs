//! The back office's tests: one binary, driving the real router (with the core's beside it) over
//! SQLite and PostgreSQL, as a browser would: cookies kept, forms read for their CSRF token.

mod helpers;

mod audit;
mod csrf;
mod developers;
mod signin;
mod home;
mod isolation;
mod payments;
mod prefs;
mod secrets;
mod signup;
mod smtp;
mod store_conformance;
mod team;
mod transactions;
mod two_factor;
mod views;
