//! Access tokens on `GET /wallet/v1/me`: only HS256 tokens signed with the server's key, for
//! this issuer and audience, inside their validity period (by the services' clock), get in.

use crate::core_helpers::{HASH_SECRET, START};
use crate::helpers::BridgeApp;
use axum::http::StatusCode;
use gateway::domain::keys::KeyHasher;
use gateway::secret::Secret;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

crate::bridge_on_both_engines!(
    a_token_made_with_the_server_key_and_the_right_claims_is_accepted,
    a_request_without_a_token_is_refused_as_unauthenticated,
    an_unsigned_alg_none_token_is_refused,
    a_token_signed_with_another_key_is_refused,
    a_token_with_another_algorithm_in_its_header_is_refused,
    a_token_for_another_audience_or_issuer_is_refused,
    a_token_without_a_required_claim_is_refused,
    an_access_token_expires_after_ten_minutes_of_the_services_clock,
    a_token_not_yet_valid_is_refused,
    garbage_in_the_authorization_header_is_refused,
);

fn server_key() -> Vec<u8> {
    KeyHasher::new(Secret::new(HASH_SECRET)).hash("wallet-jwt-signing-key").0.into_bytes()
}

/// Claims as the server issues them at START, with `changes` applied (`null` removes one).
fn claims(customer_id: &str, changes: Value) -> Value {
    let now = START / 1000;
    let mut claims = json!({
        "sub": customer_id, "iss": "https://pay.example.test", "aud": "paygate-wallet",
        "exp": now + 600, "nbf": now, "iat": now, "jti": "test",
    });
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

fn sign(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(key).unwrap()).unwrap()
}

fn b64(json: &str) -> String {
    // base64url without padding, enough for test headers.
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = json.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// `token` with its header replaced.
fn with_header(token: &str, header: &str) -> String {
    let mut parts = token.splitn(2, '.');
    parts.next();
    format!("{}.{}", b64(header), parts.next().unwrap())
}

async fn assert_refused(app: &BridgeApp, token: &str, code: &str) {
    let reply = app.get(token, "/wallet/v1/me").await;
    assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, code), "{token}: {}", reply.raw);
}

async fn a_token_made_with_the_server_key_and_the_right_claims_is_accepted(app: BridgeApp) {
    // The control for every refusal below: only the one thing each of them changes is wrong.
    let phone = app.sign_up("control@example.com").await;
    let token = sign(Algorithm::HS256, &server_key(), &claims(&phone.customer_id, json!({})));
    let reply = app.get(&token, "/wallet/v1/me").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    assert_eq!(reply.body["id"], phone.customer_id.as_str());
}

async fn a_request_without_a_token_is_refused_as_unauthenticated(app: BridgeApp) {
    assert_refused(&app, "", "authentication_required").await;
}

async fn an_unsigned_alg_none_token_is_refused(app: BridgeApp) {
    let phone = app.sign_up("none@example.com").await;
    let real = phone.access_token;
    let payload = real.split('.').nth(1).unwrap();
    for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"None"}"#, r#"{"alg":"NONE","typ":"JWT"}"#] {
        assert_refused(&app, &format!("{}.{payload}.", b64(header)), "token_invalid").await;
        assert_refused(&app, &format!("{}.{payload}", b64(header)), "token_invalid").await;
    }
}

async fn a_token_signed_with_another_key_is_refused(app: BridgeApp) {
    let phone = app.sign_up("forged@example.com").await;
    let forged = sign(Algorithm::HS256, b"some other key, guessed or stolen elsewhere", &claims(&phone.customer_id, json!({})));
    assert_refused(&app, &forged, "token_invalid").await;
    // A real token whose payload was changed to another customer.
    let other = app.sign_up("victim@example.com").await;
    let parts: Vec<&str> = phone.access_token.split('.').collect();
    let swapped = format!("{}.{}.{}", parts[0], b64(&claims(&other.customer_id, json!({})).to_string()), parts[2]);
    assert_refused(&app, &swapped, "token_invalid").await;
}

async fn a_token_with_another_algorithm_in_its_header_is_refused(app: BridgeApp) {
    let phone = app.sign_up("alg@example.com").await;
    let c = claims(&phone.customer_id, json!({}));
    // The right key, but not the pinned algorithm.
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        assert_refused(&app, &sign(alg, &server_key(), &c), "token_invalid").await;
    }
    // A real HS256 signature under a header claiming RS256 or ES256 (key confusion).
    for header in [r#"{"alg":"RS256","typ":"JWT"}"#, r#"{"alg":"ES256","typ":"JWT"}"#] {
        assert_refused(&app, &with_header(&phone.access_token, header), "token_invalid").await;
    }
}

async fn a_token_for_another_audience_or_issuer_is_refused(app: BridgeApp) {
    let phone = app.sign_up("aud@example.com").await;
    for change in [
        json!({"aud": "paygate-merchant"}),
        json!({"aud": ["someone-else"]}),
        json!({"iss": "https://evil.example"}),
        json!({"iss": "https://pay.example.test/"}),
    ] {
        let token = sign(Algorithm::HS256, &server_key(), &claims(&phone.customer_id, change.clone()));
        let reply = app.get(&token, "/wallet/v1/me").await;
        assert_eq!(reply.code(), "token_invalid", "{change}");
    }
}

async fn a_token_without_a_required_claim_is_refused(app: BridgeApp) {
    let phone = app.sign_up("claims@example.com").await;
    for missing in ["exp", "nbf", "iat", "iss", "aud", "sub"] {
        let token = sign(Algorithm::HS256, &server_key(), &claims(&phone.customer_id, json!({ missing: null })));
        let reply = app.get(&token, "/wallet/v1/me").await;
        assert_eq!(reply.code(), "token_invalid", "without {missing}");
    }
}

async fn an_access_token_expires_after_ten_minutes_of_the_services_clock(app: BridgeApp) {
    let phone = app.sign_up("expiry@example.com").await;
    app.core.clock.advance_minutes(10);
    // Within the 30 s leeway it still works...
    assert_eq!(app.get(&phone.access_token, "/wallet/v1/me").await.status, StatusCode::OK);
    app.core.clock.advance_ms(30_000);
    // ...and not a moment after, whatever the system clock says.
    assert_refused(&app, &phone.access_token, "token_expired").await;
}

async fn a_token_not_yet_valid_is_refused(app: BridgeApp) {
    let phone = app.sign_up("nbf@example.com").await;
    let later = START / 1000 + 300;
    let token = sign(Algorithm::HS256, &server_key(), &claims(&phone.customer_id, json!({"nbf": later, "iat": later, "exp": later + 600})));
    assert_refused(&app, &token, "token_invalid").await;
    app.core.clock.advance_minutes(5);
    assert_eq!(app.get(&token, "/wallet/v1/me").await.status, StatusCode::OK);
}

async fn garbage_in_the_authorization_header_is_refused(app: BridgeApp) {
    for token in ["garbage", "a.b.c", "..", "eyJhbGciOiJIUzI1NiJ9..", "sk_test_123"] {
        assert_refused(&app, token, "token_invalid").await;
    }
    let phone = app.sign_up("scheme@example.com").await;
    let req = axum::http::Request::get("/wallet/v1/me")
        .header("authorization", format!("Basic {}", phone.access_token))
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.code(), "token_invalid");
}
