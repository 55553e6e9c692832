//! The shop's domain: validated values (ids, quantities, names) that cannot exist invalid, and
//! the order's statuses with the one table of moves between them. No I/O here.

pub mod ids;
pub mod input;
pub mod order;

pub use ids::{CartId, OrderId};
pub use input::{CustomerName, InputError, ProductId, Quantity};
pub use order::{OrderStatus, OrderTransition};
