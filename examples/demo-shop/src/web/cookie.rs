//! The cart cookie: an unguessable id, `HttpOnly` (no script reads it), `SameSite=Lax` (no
//! cross-site post carries it), `Secure` when the shop is served over HTTPS.

use crate::domain::CartId;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};

pub const CART_COOKIE: &str = "shop_cart";

/// The visitor's cart id, if the request carries a well-formed one.
pub struct Visitor(pub Option<CartId>);

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Visitor(cart_of(&parts.headers)))
    }
}

pub fn cart_of(headers: &HeaderMap) -> Option<CartId> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == CART_COOKIE)
        .and_then(|(_, value)| CartId::parse(value.trim_matches('"')))
}

pub fn set_cart(cart: &CartId, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CART_COOKIE}={}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax{secure}",
        cart.as_str()
    ))
    .ok()
}
