//! Payment core: domain, store, connectors, services and the merchant REST API.

pub mod clock;
pub mod domain;
pub mod faults;
pub mod ids;
pub mod lang;
pub mod limits;
pub mod passwords;
pub mod secret;
pub mod server;
pub mod store;
pub mod connector;
pub mod service;
pub mod live;
pub mod config;
pub mod api;
