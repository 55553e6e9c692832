//! Rate limits: sign-in per client and per identifier over HTTP (429 with Retry-After), the
//! approve limit the approval handler calls, and counts shared through Redis or kept in process
//! when Redis is unreachable.

use crate::core_helpers::START;
use crate::helpers::{BridgeApp, Engine, TestApp, PASSWORD};
use mobile_bridge::BridgeSettings;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use gateway::clock::{Clock, ManualClock};
use gateway::secret::Secret;
use mobile_bridge::limits::{Bucket, RateLimiter};
use serde_json::json;
use std::sync::Arc;

crate::bridge_on_both_engines!(
    the_twenty_first_sign_in_from_one_client_within_a_minute_is_refused_with_retry_after,
    the_eleventh_sign_in_at_one_identifier_within_a_minute_is_refused,
);

/// Signs in; the status and the Retry-After header.
async fn sign_in_raw(app: &BridgeApp, identifier: &str, password: &str) -> (StatusCode, Option<String>) {
    let req = Request::post("/wallet/v1/sessions")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "identifier": identifier, "password": password }).to_string()))
        .unwrap();
    let response = app.send_raw(req).await;
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (response.status(), retry_after)
}

async fn the_twenty_first_sign_in_from_one_client_within_a_minute_is_refused_with_retry_after(app: BridgeApp) {
    app.core.clock.advance_ms(15_000);
    for n in 0..20 {
        let (status, _) = sign_in_raw(&app, &format!("user{n}@example.com"), PASSWORD).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let (status, retry_after) = sign_in_raw(&app, "user20@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after.as_deref(), Some("45"), "the window ends a minute after START");
    let reply = app.sign_in("user21@example.com", PASSWORD).await;
    assert_eq!(reply.code(), "rate_limited");
    app.core.clock.advance_ms(45_000);
    assert_eq!(sign_in_raw(&app, "user22@example.com", PASSWORD).await.0, StatusCode::UNAUTHORIZED);
}

async fn the_eleventh_sign_in_at_one_identifier_within_a_minute_is_refused(app: BridgeApp) {
    app.sign_up("busy@example.com").await;
    for n in 0..10 {
        assert_eq!(sign_in_raw(&app, "busy@example.com", PASSWORD).await.0, StatusCode::OK, "attempt {n}");
    }
    let (status, retry_after) = sign_in_raw(&app, "BUSY@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after.as_deref(), Some("60"));
    // Another identifier from the same client is still let through.
    app.sign_up("calm@example.com").await;
    assert_eq!(sign_in_raw(&app, "calm@example.com", PASSWORD).await.0, StatusCode::OK);
    app.core.clock.advance_minutes(1);
    assert_eq!(sign_in_raw(&app, "busy@example.com", PASSWORD).await.0, StatusCode::OK);
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START))
}

#[tokio::test]
async fn ten_approve_attempts_per_customer_and_minute_pass_and_the_eleventh_gets_429() {
    let clock = clock();
    let limits = RateLimiter::new(clock.clone() as Arc<dyn Clock>, None);
    for _ in 0..10 {
        limits.check(Bucket::Approve, "cus_a").await.expect("within the limit");
    }
    let refused = limits.check(Bucket::Approve, "cus_a").await.expect_err("over the limit");
    assert_eq!((refused.status, refused.code, refused.retry_after_secs), (StatusCode::TOO_MANY_REQUESTS, "rate_limited", Some(60)));
    let response = axum::response::IntoResponse::into_response(refused);
    assert_eq!(response.headers()["retry-after"], "60");
    limits.check(Bucket::Approve, "cus_b").await.expect("another customer has a count of their own");
    clock.advance_minutes(1);
    limits.check(Bucket::Approve, "cus_a").await.expect("a new window");
}

#[tokio::test]
async fn two_replicas_on_one_redis_share_one_count() {
    let clock = clock();
    let url = Secret::new("redis://127.0.0.1:6379");
    let a = RateLimiter::new(clock.clone() as Arc<dyn Clock>, Some(&url));
    let b = RateLimiter::new(clock.clone() as Arc<dyn Clock>, Some(&url));
    // A key of its own per run: the window (from the manual clock) is the same every run.
    let key = format!("test_{}", gateway::ids::random_base62(16));
    for n in 0..10 {
        let replica = if n % 2 == 0 { &a } else { &b };
        replica.attempt(Bucket::Approve, &key).await.expect("within the shared limit");
    }
    assert_eq!(a.attempt(Bucket::Approve, &key).await, Err(60));
    assert_eq!(b.attempt(Bucket::Approve, &key).await, Err(60));
    // Each replica alone would still have allowance left: the count is in Redis.
    let local = RateLimiter::new(clock.clone() as Arc<dyn Clock>, None);
    assert_eq!(local.attempt(Bucket::Approve, &key).await, Ok(()));
}

#[tokio::test]
async fn a_limiter_whose_redis_is_unreachable_still_counts_in_process() {
    let clock = clock();
    let limits = RateLimiter::new(clock.clone() as Arc<dyn Clock>, Some(&Secret::new("redis://127.0.0.1:1")));
    for _ in 0..10 {
        assert_eq!(limits.attempt(Bucket::Approve, "cus_fallback").await, Ok(()));
    }
    assert_eq!(limits.attempt(Bucket::Approve, "cus_fallback").await, Err(60));
    clock.advance_minutes(1);
    assert_eq!(limits.attempt(Bucket::Approve, "cus_fallback").await, Ok(()));
}

/// Signs in from `client` as the proxy names it in `x-real-ip`.
async fn sign_in_via_proxy(app: &BridgeApp, n: usize, client: &str) -> StatusCode {
    let req = Request::post("/wallet/v1/sessions")
        .header("content-type", "application/json")
        .header("x-real-ip", client)
        .body(Body::from(json!({ "identifier": format!("user{n}@example.com"), "password": PASSWORD }).to_string()))
        .unwrap();
    app.send_raw(req).await.status()
}

#[tokio::test]
async fn behind_a_proxy_each_client_gets_its_own_sign_in_budget() {
    let settings = BridgeSettings { client_ip_header: Some("x-real-ip".into()), ..BridgeSettings::default() };
    let app = BridgeApp::over(TestApp::on(Engine::Sqlite).await, settings);
    for n in 0..20 {
        assert_eq!(sign_in_via_proxy(&app, n, "203.0.113.7").await, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    assert_eq!(sign_in_via_proxy(&app, 20, "203.0.113.7").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(sign_in_via_proxy(&app, 21, "198.51.100.9").await, StatusCode::UNAUTHORIZED, "another client behind the same proxy");
}

#[tokio::test]
async fn without_a_configured_proxy_header_a_client_cannot_choose_its_address() {
    let app = BridgeApp::on(Engine::Sqlite).await;
    for n in 0..20 {
        let spoofed = format!("198.51.100.{n}");
        assert_eq!(sign_in_via_proxy(&app, n, &spoofed).await, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    assert_eq!(sign_in_via_proxy(&app, 20, "192.0.2.1").await, StatusCode::TOO_MANY_REQUESTS, "the header is ignored");
}

#[tokio::test]
async fn an_email_reaches_redis_only_as_a_keyed_hash() {
    let settings = BridgeSettings { redis_url: Some(Secret::new("redis://127.0.0.1:6379")), ..BridgeSettings::default() };
    let app = BridgeApp::over(TestApp::on(Engine::Sqlite).await, settings);
    let marker = format!("hidden{}", gateway::ids::random_base62(12).to_lowercase());
    assert_eq!(app.sign_in(&format!("{marker}@example.com"), PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.expect("Redis at 127.0.0.1:6379");
    let keys: Vec<String> = redis::cmd("KEYS").arg("paygate:rl:*").query_async(&mut conn).await.unwrap();
    assert!(keys.iter().any(|k| k.starts_with("paygate:rl:signin_identifier:")), "the attempt was counted in Redis: {keys:?}");
    assert!(keys.iter().all(|k| !k.contains(&marker)), "{keys:?}");
}
