//! Form bodies: fields arrive as text (a missing one as empty) and are checked by the domain
//! types, so every bad input gets the domain's own message; a body that is not a form at all
//! gets a message page too.

use super::error::WebError;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde::Deserialize;

pub struct FormData<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for FormData<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, WebError> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(FormData(value)),
            Err(e) => Err(WebError::BadForm(format!(
                "The form could not be read ({}).",
                e.body_text()
            ))),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct AddToCart {
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub quantity: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct RemoveFromCart {
    #[serde(default)]
    pub product_id: String,
}

#[derive(Debug, Deserialize)]
pub struct Checkout {
    #[serde(default)]
    pub customer_name: String,
}
