//! Paygate's public wire types: what the gateway sends and the SDK and the back office read.
//! No I/O (no database, HTTP server or Redis), so it also builds for `wasm32-unknown-unknown`.
//!
//! - [`money`]: currencies, their exponents, validated amounts, and amounts as people read them
//!   per locale (`₩12,000`, `$12.00`).
//! - [`intent`]: the public view of a payment intent, its statuses and failure reasons.
//! - [`event`]: the event envelope of streams and webhooks.
//! - [`error`]: the error body of every API.
//! - [`time`]: timestamps as RFC 3339 text, and time left as `mm:ss`.
//! - [`checkout`]: one payment as a checkout page follows it (the SDK's state machine).
//! - [`qr`]: approval links as SVG QR codes (feature `qr`).

pub mod checkout;
pub mod error;
pub mod event;
pub mod intent;
pub mod money;
pub mod time;
#[cfg(feature = "qr")]
pub mod qr;
