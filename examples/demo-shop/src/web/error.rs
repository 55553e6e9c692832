//! What a customer sees when a request fails: a message page with a status, saying what to do.
//! Internal causes (database, gateway) are logged and never shown.

use super::render;
use crate::service::ShopError;
use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub title: String,
    pub message: String,
    pub back_href: String,
    pub back_label: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Shop(#[from] ShopError),
    #[error("bad form: {0}")]
    BadForm(String),
    #[error("cross-site post")]
    CrossSite,
}

impl WebError {
    fn parts(&self) -> (StatusCode, &'static str, String, &'static str, &'static str) {
        match self {
            WebError::Shop(ShopError::Invalid(e)) => (StatusCode::BAD_REQUEST, "Please check the form", e.0.clone(), "/cart", "Back to the cart"),
            WebError::Shop(ShopError::NotFound) => (StatusCode::NOT_FOUND, "Not found", "There is no such order or product.".into(), "/", "To the shop"),
            WebError::Shop(ShopError::CartEmpty) => (StatusCode::BAD_REQUEST, "Your cart is empty", "Add something to the cart first.".into(), "/", "To the shop"),
            WebError::Shop(ShopError::SoldOut(name)) => (
                StatusCode::CONFLICT,
                "Sold out",
                format!("Sorry, \u{201c}{name}\u{201d} is sold out (or fewer are left than you asked for). Nothing was reserved or charged."),
                "/cart",
                "Back to the cart",
            ),
            WebError::Shop(ShopError::NotAllowed(m)) => (StatusCode::CONFLICT, "Not possible now", m.clone(), "/orders", "Your orders"),
            WebError::Shop(ShopError::Gateway(_)) => (
                StatusCode::BAD_GATEWAY,
                "Payment gateway unavailable",
                "The payment gateway could not be reached. Please try again in a moment.".into(),
                "/orders",
                "Your orders",
            ),
            WebError::Shop(ShopError::Store(_) | ShopError::Internal(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Something went wrong on our side. Please try again.".into(), "/", "To the shop")
            }
            WebError::BadForm(m) => (StatusCode::BAD_REQUEST, "Please check the form", m.clone(), "/", "To the shop"),
            WebError::CrossSite => (
                StatusCode::FORBIDDEN,
                "Refused",
                "This form was sent from another site, so the shop refused it. Use the shop's own pages.".into(),
                "/",
                "To the shop",
            ),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message, back_href, back_label) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let page = MessagePage {
            title: title.into(),
            message,
            back_href: back_href.into(),
            back_label,
        };
        render(&page, status)
    }
}

pub async fn not_found() -> Response {
    WebError::Shop(ShopError::NotFound).into_response()
}
