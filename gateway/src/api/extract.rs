//! Extractors that turn every malformed request into the API's own error: JSON bodies, query
//! strings, path ids and the authenticated merchant.

use super::error::ApiError;
use crate::domain::Scope;
use crate::ids::IdKind;
use crate::service::AuthenticatedKey;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use bytes::Bytes;
use serde::de::DeserializeOwned;

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A JSON body. An empty body reads as `{}` so that endpoints whose fields are all optional
/// accept a bare POST.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json")));
        let bytes = Bytes::from_request(req, state).await.map_err(|_| body_too_large())?;
        if bytes.is_empty() {
            return parse_json(b"{}").map(JsonBody);
        }
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the request body as JSON with `Content-Type: application/json`.",
            ));
        }
        parse_json(&bytes).map(JsonBody)
    }
}

pub fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
    )
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde would read a struct from an array too; the API only takes objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b != b'{') && serde_json::from_slice::<serde_json::Value>(bytes).is_ok() {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "body_not_object", "The request body must be a JSON object."));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("The request body is not valid JSON: {inner}"))
            }
            serde_json::error::Category::Data => field_error(&path, &inner.to_string()),
        }
    })?;
    // One JSON object and nothing after it (whitespace aside): `{...}xyz` and `{...}{...}` are
    // refused, not read as their first object.
    de.end().map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", "The request body must hold one JSON object and nothing after it."))?;
    Ok(parsed)
}

/// A typed-field error: the parameter comes from the path serde reports, or from the message for
/// a missing field (reported at its parent).
fn field_error(path: &str, message: &str) -> ApiError {
    let message = message.split(" at line ").next().unwrap_or(message).to_owned();
    let quoted = message.split('`').nth(1).unwrap_or_default().to_owned();
    let param = |p: &str| if path.is_empty() || path == "." { p.to_owned() } else if p.is_empty() { path.to_owned() } else { format!("{path}.{p}") };
    if message.starts_with("missing field") {
        ApiError::bad_request("parameter_missing", param(&quoted), format!("The parameter `{}` is required.", param(&quoted)))
    } else if message.starts_with("unknown field") {
        // serde reports an unknown field at its own path.
        let name = if path.is_empty() || path == "." { quoted } else { path.to_owned() };
        ApiError::bad_request("parameter_unknown", name.clone(), format!("The parameter `{name}` is not recognized."))
    } else {
        let param = param("");
        let code = if param == "amount" { "amount_invalid" } else { "parameter_invalid" };
        ApiError::bad_request(code, param.clone(), format!("The parameter `{param}` is invalid: {message}."))
    }
}

/// A query string, strictly typed; unknown parameters are refused.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(QueryParams)
            .map_err(|err| field_error(&err.path().to_string(), &err.into_inner().to_string()))
    }
}

fn form_urlencoded_parse(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The `{id}` of a path, whatever bytes it holds; its shape is checked by [`object_id`].
pub struct IdParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(id)| IdParam(id))
            .map_err(|_| ApiError::bad_request("invalid_id", "id", "The id in the path is not valid UTF-8 text."))
    }
}

/// A free-text search parameter: at most 100 characters, no control characters.
pub fn search_text(param: &'static str, value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(value) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().count() > 100 || value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "parameter_invalid",
            param,
            format!("{param} must be at most 100 characters, without control characters."),
        ));
    }
    Ok(Some(value))
}

/// Checks a path id's shape before any lookup.
pub fn object_id(kind: IdKind, id: &str, param: &'static str) -> Result<(), ApiError> {
    if kind.is_well_formed(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "invalid_id",
            param,
            format!("`{}` is not a valid {} id (expected `{}` followed by 24 letters or digits).", truncate(id, 64), kind.noun(), kind.prefix()),
        ))
    }
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// The merchant a secret key speaks for, put there by the authentication middleware.
#[derive(Debug, Clone)]
pub struct MerchantAuth(pub AuthenticatedKey);

impl MerchantAuth {
    pub fn scope(&self) -> &Scope {
        &self.0.scope
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MerchantAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<MerchantAuth>() {
            return Ok(auth.clone());
        }
        if parts.extensions.get::<PublishableAuth>().is_some() {
            return Err(secret_key_required());
        }
        Err(ApiError::new(StatusCode::UNAUTHORIZED, "authentication_required", "Send your secret key as `Authorization: Bearer sk_...`."))
    }
}

pub fn secret_key_required() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "secret_key_required", "This endpoint needs a secret key (sk_...), not a publishable key.")
}

/// A publishable key (`pk_...`) on `/v1`, authenticated by the same middleware. Only the
/// checkout's status read takes one (with the intent's client secret); everything else answers
/// `403 secret_key_required`.
#[derive(Clone)]
pub struct PublishableAuth(pub AuthenticatedKey);

impl PublishableAuth {
    pub fn scope(&self) -> &Scope {
        &self.0.scope
    }
}

/// Whoever called an endpoint that both kinds of key may read.
pub enum Caller {
    Secret(MerchantAuth),
    Publishable(PublishableAuth),
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        if let Some(auth) = parts.extensions.get::<PublishableAuth>() {
            return Ok(Caller::Publishable(auth.clone()));
        }
        MerchantAuth::from_request_parts(parts, state).await.map(Caller::Secret)
    }
}

/// Integer body fields as JSON Schema has them: `12000` and `12000.0` are the same integer (the
/// OpenAPI documents say `type: integer`, which both satisfy), `12000.5` is not one.
/// `#[serde(deserialize_with = "whole::number")]`, or `whole::optional` with `#[serde(default)]`.
pub mod whole {
    use serde::de::{Deserializer, Error, Unexpected};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Integer(i64),
        Float(f64),
    }

    fn integer<E: Error>(number: Number) -> Result<i64, E> {
        match number {
            Number::Integer(n) => Ok(n),
            // Within ±2^63 and without a fraction: exactly one i64.
            Number::Float(f) if f.fract() == 0.0 && f.abs() < 9_223_372_036_854_775_808.0 => Ok(f as i64),
            Number::Float(f) => Err(E::invalid_type(Unexpected::Float(f), &"an integer")),
        }
    }

    pub fn number<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        integer(Number::deserialize(d).map_err(|_| D::Error::custom("invalid type: expected an integer"))?)
    }

    pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Number>::deserialize(d).map_err(|_| D::Error::custom("invalid type: expected an integer"))? {
            Some(n) => integer(n).map(Some),
            None => Ok(None),
        }
    }
}

/// The client's IP address, for rate limits and audit. Behind a load balancer every request
/// comes from the balancer, so a deployment names the header its proxy sets (`proxy_header`,
/// for example `x-real-ip`); its last comma-separated value is the address the proxy saw.
/// Without that setting the header is ignored (a client could write anything there) and the
/// socket's peer is used, or `unknown` when there is none (tests driving the router directly).
pub fn client_address(parts: &axum::http::request::Parts, proxy_header: Option<&str>) -> String {
    let from_proxy = proxy_header.and_then(|name| {
        let value = parts.headers.get(name)?.to_str().ok()?;
        let last = value.rsplit(',').next()?.trim();
        last.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
    });
    let peer = || parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|info| info.0.ip().to_string());
    from_proxy.or_else(peer).unwrap_or_else(|| "unknown".to_owned())
}
