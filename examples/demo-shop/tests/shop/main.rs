//! The demo shop's tests: a real shop on port 0 against a fake gateway (tests/shop/support).

mod checkout;
mod csrf;
mod pages;
mod payments;
mod startup;
mod support;
mod webhooks;
