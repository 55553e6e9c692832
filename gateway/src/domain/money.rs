//! Money: integer minor units and an ISO 4217 currency whose exponent decides the formatting.
//! The types are the wire crate's (the SDK formats amounts with the same code).

pub use paygate_wire::money::*;
