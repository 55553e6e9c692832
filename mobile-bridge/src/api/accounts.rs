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
use gateway::api::error::{ApiError, ErrorBody};
use gateway::api::extract::JsonBody;
use gateway::clock::to_rfc3339;
use gateway::domain::customer::Customer;
use gateway::secret::Secret;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

pub fn router() -> Router<Arc<Bridge>> {
    Router::new()
        .route("/wallet/v1/customers", post(sign_up))
        .route("/wallet/v1/sessions", post(sign_in))
        .route("/wallet/v1/sessions/refresh", post(refresh))
        .route("/wallet/v1/sessions/revoke", post(revoke))
        .route("/wallet/v1/me", get(me))
}

/// Opens an account: an email address, a phone number or both, and a password.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpBody {
    /// An email address; stored lower-cased. Give this, `phone`, or both.
    #[schema(format = "contract:wallet_email")]
    email: Option<String>,
    /// A phone number in the international form (`+82 10 1234 5678`) or a Korean national
    /// number (`010-1234-5678`); stored in E.164. Give this, `email`, or both.
    #[schema(format = "contract:phone")]
    phone: Option<String>,
    /// 10 to 128 characters.
    #[schema(value_type = String, format = "contract:new_password")]
    password: Secret,
}

/// Signs in with the email address or phone number of the account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// An email address, or a phone number when it has no `@` (any spelling the sign-up takes).
    #[schema(format = "contract:identifier")]
    identifier: String,
    #[schema(value_type = String, format = Password)]
    password: Secret,
}

/// A refresh token, to spend (`/sessions/refresh`) or to sign out with (`/sessions/revoke`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// `rt_...`, from the latest sign-up, sign-in or refresh.
    #[schema(value_type = String, format = Password)]
    refresh_token: Secret,
}

/// `{"customer", "access_token", "token_type", "expires_in", "refresh_token"}`
///
/// A signed-in session. Answered with `Cache-Control: no-store`.
#[derive(Serialize, ToSchema)]
pub struct SessionBody<'a> {
    customer: &'a Customer,
    /// A JWT (HS256): send it as `Authorization: Bearer <access_token>`.
    #[schema(value_type = String)]
    access_token: &'a str,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    token_type: &'static str,
    /// Seconds the access token stays valid (600).
    #[schema(example = 600)]
    expires_in: i64,
    /// `rt_` and 43 letters and digits; valid 30 days and spent by its first use: keep the one
    /// each refresh answers with.
    #[schema(value_type = String)]
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

/// `POST /wallet/v1/customers`: sign-up.
#[utoipa::path(
    post, path = "/wallet/v1/customers", tag = "Accounts",
    description = "Opens a wallet account with an email address, a phone number or both, and signs it in.",
    request_body = SignUpBody,
    responses(
        (status = 201, description = "The account is open and signed in.", body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "identifier_required, email_invalid, phone_invalid, password_too_short, password_too_long; \
parameter_missing, parameter_unknown, parameter_invalid, invalid_json, body_not_object", body = ErrorBody),
        (status = 409, description = "identifier_taken: the email address or phone number already belongs to an account", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    ),
)]
pub async fn sign_up(State(bridge): State<Arc<Bridge>>, JsonBody(body): JsonBody<SignUpBody>) -> Result<Response, ApiError> {
    let session = bridge.accounts.sign_up(body.email.as_deref(), body.phone.as_deref(), &body.password).await?;
    Ok(session_response(StatusCode::CREATED, &session))
}

/// `POST /wallet/v1/sessions`: sign-in.
#[utoipa::path(
    post, path = "/wallet/v1/sessions", tag = "Accounts",
    description = "Signs in with an email address or phone number and the password. An unknown account and a wrong \
password get the same answer. Ten failed sign-ins in a row lock the account for 30 minutes. At most 20 attempts a minute \
from one client address and 10 a minute for one identifier.",
    request_body = SignInBody,
    responses(
        (status = 200, description = "Signed in.", body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "identifier_required, email_invalid, phone_invalid; \
parameter_missing, parameter_unknown, parameter_invalid, invalid_json, body_not_object", body = ErrorBody),
        (status = 401, description = "invalid_credentials: no such account, or the wrong password", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
        (status = 423, description = "account_locked: too many failed sign-ins; the message tells until when", body = ErrorBody),
        (status = 429, description = "rate_limited", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again"))),
    ),
)]
pub async fn sign_in(
    State(bridge): State<Arc<Bridge>>,
    ClientAddress(client): ClientAddress,
    JsonBody(body): JsonBody<SignInBody>,
) -> Result<Response, ApiError> {
    let session = bridge.accounts.sign_in(&body.identifier, &body.password, &client).await?;
    Ok(session_response(StatusCode::OK, &session))
}

/// `POST /wallet/v1/sessions/refresh`: a new access token and the next refresh token.
#[utoipa::path(
    post, path = "/wallet/v1/sessions/refresh", tag = "Accounts",
    description = "Spends a refresh token for a new access token and the next refresh token of its family. A refresh \
token works once: when a spent one comes back, every token of its family stops working (`refresh_token_reused`) and the \
customer signs in again.",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "The new tokens.", body = SessionBody,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "parameter_missing, parameter_unknown, parameter_invalid, invalid_json, body_not_object", body = ErrorBody),
        (status = 401, description = "refresh_token_invalid (unknown, expired or signed out), refresh_token_reused (already spent: \
its family is now signed out)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    ),
)]
pub async fn refresh(State(bridge): State<Arc<Bridge>>, JsonBody(body): JsonBody<RefreshBody>) -> Result<Response, ApiError> {
    let session = bridge.accounts.refresh(&body.refresh_token).await?;
    Ok(session_response(StatusCode::OK, &session))
}

/// `POST /wallet/v1/sessions/revoke`: sign-out.
#[utoipa::path(
    post, path = "/wallet/v1/sessions/revoke", tag = "Accounts",
    description = "Signs out: the refresh token and every other token of its family stop working. Access tokens already \
issued run until they expire (at most 10 minutes). An unknown or already revoked token is not an error.",
    request_body = RefreshBody,
    responses(
        (status = 204, description = "Signed out (or was already)."),
        (status = 400, description = "parameter_missing, parameter_unknown, parameter_invalid, invalid_json, body_not_object", body = ErrorBody),
        (status = 415, description = "unsupported_media_type", body = ErrorBody),
    ),
)]
pub async fn revoke(State(bridge): State<Arc<Bridge>>, JsonBody(body): JsonBody<RefreshBody>) -> Result<StatusCode, ApiError> {
    bridge.accounts.sign_out(&body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /wallet/v1/me`: the signed-in customer.
#[utoipa::path(
    get, path = "/wallet/v1/me", tag = "Accounts",
    description = "The account the access token speaks for.",
    responses(
        (status = 200, body = Customer),
        (status = 401, description = "authentication_required, token_invalid, token_expired (refresh it)", body = ErrorBody),
        (status = 404, description = "resource_missing: the account no longer exists", body = ErrorBody),
    ),
    security(("access_token" = []))
)]
pub async fn me(State(bridge): State<Arc<Bridge>>, signed_in: SignedIn) -> Result<Json<Customer>, ApiError> {
    Ok(Json(bridge.accounts.customer(&signed_in.customer_id).await?))
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        use AccountError::*;
        let unauthorized = |code, message: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        match e {
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
            Service(e) => e.into(),
        }
    }
}
