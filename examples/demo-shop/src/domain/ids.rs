//! Unguessable identifiers: the cart cookie (it is the only thing tying a browser to its cart
//! and orders) and the order id (it is in URLs and is the gateway's `merchant_order_id`).

use std::fmt;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` base62 characters from the operating system's generator, unbiased (bytes of 248 and
/// above are drawn again).
fn random_base62(len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for b in buf {
            if b < 248 && out.len() < len {
                out.push(BASE62[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

fn is_base62(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A server-side cart's key, sent as the `shop_cart` cookie: 32 base62 characters (about 190 bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CartId(String);

impl CartId {
    const LEN: usize = 32;

    pub fn generate() -> Result<Self, getrandom::Error> {
        random_base62(Self::LEN).map(CartId)
    }

    /// A cookie value of any other shape is no cart at all.
    pub fn parse(value: &str) -> Option<Self> {
        is_base62(value, Self::LEN).then(|| CartId(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `ord_` and 24 base62 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderId(String);

impl OrderId {
    const PREFIX: &'static str = "ord_";
    const LEN: usize = 24;

    pub fn generate() -> Result<Self, getrandom::Error> {
        random_base62(Self::LEN).map(|s| OrderId(format!("{}{s}", Self::PREFIX)))
    }

    pub fn parse(value: &str) -> Option<Self> {
        let rest = value.strip_prefix(Self::PREFIX)?;
        is_base62(rest, Self::LEN).then(|| OrderId(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_other_shapes_do_not() {
        let order = OrderId::generate().unwrap();
        assert_eq!(OrderId::parse(order.as_str()), Some(order.clone()));
        assert_ne!(OrderId::generate().unwrap(), order);
        assert_eq!(OrderId::parse("ord_short"), None);
        assert_eq!(OrderId::parse("ord_<script>alert(1)</script>xx"), None);
        let cart = CartId::generate().unwrap();
        assert_eq!(CartId::parse(cart.as_str()), Some(cart));
        assert_eq!(CartId::parse("../../etc/passwd"), None);
    }
}
