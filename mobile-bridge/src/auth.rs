//! Who is calling the wallet API: the customer an access token speaks for, and the client's
//! address (for rate limits).

use crate::jwt::TokenError;
use crate::Bridge;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use gateway::api::error::ApiError;
use std::convert::Infallible;
use std::sync::Arc;

/// The customer of a valid `Authorization: Bearer <access token>`.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub customer_id: String,
}

impl FromRequestParts<Arc<Bridge>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, bridge: &Arc<Bridge>) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "authentication_required",
                "Send your access token as `Authorization: Bearer <access_token>`.",
            ));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or_default();
        match bridge.accounts.tokens().verify(token, bridge.services.clock.now()) {
            Ok(customer_id) => Ok(SignedIn { customer_id }),
            Err(TokenError::Expired) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "token_expired",
                "The access token has expired; get a new one from POST /wallet/v1/sessions/refresh.",
            )),
            Err(TokenError::Invalid) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "token_invalid", "The access token is not valid.")),
        }
    }
}

/// The client's IP address, for rate limits (see [`gateway::api::extract::client_address`]).
#[derive(Debug, Clone)]
pub struct ClientAddress(pub String);

impl FromRequestParts<Arc<Bridge>> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, bridge: &Arc<Bridge>) -> Result<Self, Infallible> {
        Ok(ClientAddress(gateway::api::extract::client_address(parts, bridge.settings.client_ip_header.as_deref())))
    }
}
