//! Wallet accounts: sign-up and sign-in by email or phone, refresh-token rotation and reuse,
//! sign-out, lockout, and secrets that never print.

use crate::helpers::{phone_from, BridgeApp, PASSWORD};
use axum::http::StatusCode;
use gateway::domain::customer::Password;
use gateway::secret::Secret;
use serde_json::json;

crate::bridge_on_both_engines!(
    a_customer_signs_up_and_signs_in_with_an_email,
    a_customer_signs_up_and_signs_in_with_a_korean_phone_number,
    an_email_or_phone_number_opens_only_one_account,
    sign_up_refuses_what_is_not_an_identifier_or_an_acceptable_password,
    a_wrong_password_and_an_unknown_account_get_the_same_answer,
    a_refresh_token_rotates_and_a_reused_one_signs_out_its_whole_family,
    signing_out_stops_the_refresh_token_and_its_successors,
    ten_failed_sign_ins_lock_the_account_for_thirty_minutes,
    each_customer_sees_only_their_own_account,
);

async fn a_customer_signs_up_and_signs_in_with_an_email(app: BridgeApp) {
    let reply = app.post("", "/wallet/v1/customers", json!({"email": "Alice@Example.com", "password": PASSWORD})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
    let customer = &reply.body["customer"];
    assert!(customer["id"].as_str().unwrap().starts_with("cus_"));
    assert_eq!(customer["email"], "alice@example.com");
    assert_eq!(customer["phone"], serde_json::Value::Null);
    assert_eq!(customer["created_at"], "2026-01-01T00:00:00.000Z");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 600);
    let refresh = reply.body["refresh_token"].as_str().unwrap();
    assert!(refresh.starts_with("rt_") && refresh.len() >= 46, "{refresh}");
    assert!(!reply.raw.contains("password"), "no password or hash in the answer");

    let signed_in = app.sign_in("ALICE@example.com", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::OK, "{}", signed_in.raw);
    assert_eq!(signed_in.body["customer"], *customer);
    let me = app.get(signed_in.body["access_token"].as_str().unwrap(), "/wallet/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body, *customer);
}

async fn a_customer_signs_up_and_signs_in_with_a_korean_phone_number(app: BridgeApp) {
    let phone = app.sign_up("010-1234-5678").await;
    let me = app.get(&phone.access_token, "/wallet/v1/me").await;
    assert_eq!(me.body["phone"], "+821012345678");
    assert_eq!(me.body["email"], serde_json::Value::Null);
    for spelling in ["+821012345678", "+82 10 1234 5678", "01012345678"] {
        let reply = app.sign_in(spelling, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{spelling}: {}", reply.raw);
        assert_eq!(phone_from(&reply).customer_id, phone.customer_id);
    }
}

async fn an_email_or_phone_number_opens_only_one_account(app: BridgeApp) {
    app.sign_up("taken@example.com").await;
    app.sign_up("010-9999-0000").await;
    for body in [
        json!({"email": "TAKEN@example.com", "password": "another password"}),
        json!({"phone": "+82 10 9999 0000", "password": "another password"}),
    ] {
        let reply = app.post("", "/wallet/v1/customers", body).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::CONFLICT, "identifier_taken"), "{}", reply.raw);
    }
}

async fn sign_up_refuses_what_is_not_an_identifier_or_an_acceptable_password(app: BridgeApp) {
    let long = "x".repeat(129);
    for (body, code, param) in [
        (json!({"password": PASSWORD}), "identifier_required", "email"),
        (json!({"email": "not-an-email", "password": PASSWORD}), "email_invalid", "email"),
        (json!({"phone": "12-34", "password": PASSWORD}), "phone_invalid", "phone"),
        (json!({"email": "a@example.com", "password": "short"}), "password_too_short", "password"),
        (json!({"email": "a@example.com", "password": long}), "password_too_long", "password"),
        (json!({"email": "a@example.com"}), "parameter_missing", "password"),
        (json!({"email": "a@example.com", "password": PASSWORD, "admin": true}), "parameter_unknown", "admin"),
    ] {
        let reply = app.post("", "/wallet/v1/customers", body.clone()).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, code), "{body}: {}", reply.raw);
        assert_eq!(reply.body["error"]["param"], param, "{body}");
    }
    let reply = app.sign_in("", PASSWORD).await;
    assert_eq!(reply.code(), "identifier_required");
}

async fn a_wrong_password_and_an_unknown_account_get_the_same_answer(app: BridgeApp) {
    app.sign_up("bob@example.com").await;
    let wrong = app.sign_in("bob@example.com", "not the password").await;
    let unknown = app.sign_in("nobody@example.com", PASSWORD).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.status, unknown.status);
}

async fn refresh(app: &BridgeApp, token: &str) -> crate::helpers::Reply {
    app.post("", "/wallet/v1/sessions/refresh", json!({ "refresh_token": token })).await
}

async fn a_refresh_token_rotates_and_a_reused_one_signs_out_its_whole_family(app: BridgeApp) {
    let first = app.sign_up("rotate@example.com").await;
    let rotated = refresh(&app, &first.refresh_token).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.raw);
    let second = phone_from(&rotated);
    assert_eq!(second.customer_id, first.customer_id);
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(app.get(&second.access_token, "/wallet/v1/me").await.status, StatusCode::OK);

    // The spent token comes back (a thief, or a replay): refused, and the family is revoked.
    let reused = refresh(&app, &first.refresh_token).await;
    assert_eq!((reused.status, reused.code()), (StatusCode::UNAUTHORIZED, "refresh_token_reused"));
    let newest = refresh(&app, &second.refresh_token).await;
    assert_eq!((newest.status, newest.code()), (StatusCode::UNAUTHORIZED, "refresh_token_invalid"));

    // Another sign-in starts a family of its own.
    let other = phone_from(&app.sign_in("rotate@example.com", PASSWORD).await);
    assert_eq!(refresh(&app, &other.refresh_token).await.status, StatusCode::OK);
    for bogus in ["", "rt_short", "not a token"] {
        assert_eq!(refresh(&app, bogus).await.code(), "refresh_token_invalid", "{bogus}");
    }
}

async fn signing_out_stops_the_refresh_token_and_its_successors(app: BridgeApp) {
    let first = app.sign_up("bye@example.com").await;
    let second = phone_from(&refresh(&app, &first.refresh_token).await);
    let out = app.post("", "/wallet/v1/sessions/revoke", json!({ "refresh_token": second.refresh_token })).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.raw);
    assert_eq!(refresh(&app, &second.refresh_token).await.code(), "refresh_token_invalid");
    // Signing out again, or with an unknown token, is not an error.
    let again = app.post("", "/wallet/v1/sessions/revoke", json!({ "refresh_token": second.refresh_token })).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
    // Thirty days on, a refresh token has expired anyway.
    let later = app.sign_up("later@example.com").await;
    app.core.clock.advance_minutes(30 * 24 * 60);
    assert_eq!(refresh(&app, &later.refresh_token).await.code(), "refresh_token_invalid");
}

async fn ten_failed_sign_ins_lock_the_account_for_thirty_minutes(app: BridgeApp) {
    app.sign_up("locked@example.com").await;
    for attempt in 1..=10 {
        let reply = app.sign_in("locked@example.com", "wrong password!").await;
        assert_eq!(reply.code(), "invalid_credentials", "attempt {attempt}: {}", reply.raw);
    }
    let locked = app.sign_in("locked@example.com", PASSWORD).await;
    assert_eq!((locked.status, locked.code()), (StatusCode::LOCKED, "account_locked"), "{}", locked.raw);
    assert!(locked.body["error"]["message"].as_str().unwrap().contains("2026-01-01T00:30:00.000Z"), "{}", locked.raw);
    app.core.clock.advance_minutes(29);
    assert_eq!(app.sign_in("locked@example.com", PASSWORD).await.code(), "account_locked");
    app.core.clock.advance_minutes(1);
    let open = app.sign_in("locked@example.com", PASSWORD).await;
    assert_eq!(open.status, StatusCode::OK, "{}", open.raw);
}

async fn each_customer_sees_only_their_own_account(app: BridgeApp) {
    let a = app.sign_up("a@example.com").await;
    let b = app.sign_up("b@example.com").await;
    assert_eq!(app.get(&a.access_token, "/wallet/v1/me").await.body["id"], a.customer_id.as_str());
    assert_eq!(app.get(&b.access_token, "/wallet/v1/me").await.body["id"], b.customer_id.as_str());
    // One customer's refresh token never yields the other's session.
    let refreshed = phone_from(&refresh(&app, &a.refresh_token).await);
    assert_eq!(refreshed.customer_id, a.customer_id);
}

#[test]
fn debug_output_of_passwords_tokens_and_sessions_shows_no_secret() {
    let password = Password::parse(&Secret::new("correct horse battery staple")).unwrap();
    let token = Secret::new("rt_0123456789abcdefghijABCDEFGHIJ0123456789abc");
    let session = mobile_bridge::accounts::Session {
        customer: gateway::domain::customer::Customer { id: "cus_x".into(), email: None, phone: None, created_at: 0 },
        access_token: Secret::new("eyJhbGciOiJIUzI1NiJ9.payload.signature"),
        expires_in: 600,
        refresh_token: token.clone(),
    };
    let hasher = gateway::domain::keys::KeyHasher::new(Secret::new(crate::core_helpers::HASH_SECRET));
    let tokens = mobile_bridge::jwt::AccessTokens::new(&hasher, "https://pay.example.test");
    let key = hasher.hash("wallet-jwt-signing-key");
    let printed = format!("{password:?} {token:?} {token} {session:?} {tokens:?} {:?}", hasher.hash(token.expose()));
    for secret in ["correct horse", "rt_0123456789", "eyJhbGciOiJIUzI1NiJ9", key.0.as_str(), crate::core_helpers::HASH_SECRET] {
        assert!(!printed.contains(secret), "{secret} printed in {printed}");
    }
}
