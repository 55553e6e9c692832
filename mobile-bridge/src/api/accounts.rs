//! Wallet accounts over HTTP: sign-up, sign-in, token refresh, sign-out and the signed-in
//! customer. Thin handlers over [`Accounts`](crate::accounts::Accounts).

use crate::accounts::{AccountError, Session};
use crate::auth::{ClientAddress, SignedIn};
use crate::Bridge;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use gateway::api::error::ApiError;
use gateway::api::extract::JsonBody;
use gateway::clock::to_rfc3339;
use gateway::domain::customer::Customer;
use gateway::secret::Secret;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub fn router() -> Router<Arc<Bridge>> {
    Router::new()
        .route("/wallet/v1/customers", post(sign_up))
        .route("/wallet/v1/sessions", post(sign_in))
        .route("/wallet/v1/sessions/refresh", post(refresh))
        .route("/wallet/v1/sessions/revoke", post(revoke))
        .route("/wallet/v1/me", get(me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUpBody {
    email: Option<String>,
    phone: Option<String>,
    password: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInBody {
    identifier: String,
    password: Secret,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: Secret,
}

/// `{"customer", "access_token", "token_type", "expires_in", "refresh_token"}`
#[derive(Serialize)]
struct SessionBody<'a> {
    customer: &'a Customer,
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: &'a str,
}

/// The session's tokens, shown to their owner; never cached on the way.
fn session_response(status: StatusCode, session: &Session) -> Response {
    let body = SessionBody {
        customer: &session.customer,
        access_token: session.access_token.expose(),
        token_type: "Bearer",
        expires_in: session.expires_in,
        refresh_token: session.refresh_token.expose(),
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn sign_up(State(bridge): State<Arc<Bridge>>, JsonBody(body): JsonBody<SignUpBody>) -> Result<Response, ApiError> {
    let session = bridge.accounts.sign_up(body.email.as_deref(), body.phone.as_deref(), &body.password).await?;
    Ok(session_response(StatusCode::CREATED, &session))
}

async fn sign_in(
    State(bridge): State<Arc<Bridge>>,
    ClientAddress(client): ClientAddress,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<Response, ApiError> {
    let session = bridge.accounts.sign_in(&body.identifier, &body.password, &client).await?;
    Ok(session_response(StatusCode::OK, &session))
}

async fn refresh(State(bridge): State<Arc<Bridge>>, JsonBody(body): JsonBody<RefreshBody>) -> Result<Response, ApiError> {
    let session = bridge.accounts.refresh(&body.refresh_token).await?;
    Ok(session_response(StatusCode::OK, &session))
}

async fn revoke(State(bridge): State<Arc<Bridge>>, JsonBody(body): JsonBody<RefreshBody>) -> Result<StatusCode, ApiError> {
    bridge.accounts.sign_out(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn me(State(bridge): State<Arc<Bridge>>, signed_in: SignedIn) -> Result<Json<Customer>, ApiError> {
    Ok(Json(bridge.accounts.customer(&signed_in.customer_id).await?))
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        use AccountError::*;
        let unauthorized = |code, message: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        match e {
            Validation(v) => v.into(),
            IdentifierTaken => ApiError::new(
                StatusCode::CONFLICT,
                "identifier_taken",
                "This email address or phone number already belongs to an account; sign in instead.",
            ),
            InvalidCredentials => unauthorized("invalid_credentials", "The identifier or the password is wrong."),
            Locked { until } => ApiError::new(
                StatusCode::LOCKED,
                "account_locked",
                format!("This account is locked after too many failed sign-ins; try again after {}.", to_rfc3339(until)),
            ),
            RateLimited(secs) => ApiError::rate_limited(secs),
            RefreshTokenInvalid => unauthorized("refresh_token_invalid", "The refresh token is not valid; sign in again."),
            RefreshTokenReused => unauthorized(
                "refresh_token_reused",
                "This refresh token was already used; every session it belongs to is now signed out. Sign in again.",
            ),
            NotFound => ApiError::not_found("customer"),
            Store(err) => {
                tracing::error!(error = %err, "store error");
                ApiError::internal()
            }
            Internal(err) => {
                tracing::error!(error = %err, "internal error");
                ApiError::internal()
            }
        }
    }
}
