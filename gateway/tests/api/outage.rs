//! PostgreSQL going away and coming back, as a replica sees it (a proxy that cuts every
//! connection): requests are refused at once with `503 database_unavailable` and `Retry-After`,
//! `/readyz` says so, and service resumes by itself within seconds of the database's return.

use crate::helpers::{DatabaseProxy, TestApp};
use axum::http::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// Polls `done` every 50 ms until it holds, for at most `limit`.
async fn eventually(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_postgres_is_down_requests_get_503_at_once_and_service_resumes_when_it_is_back() {
    let proxy = DatabaseProxy::start().await;
    let app = TestApp::postgres_at(&proxy.url()).await;
    let m = app.merchant().await;
    app.create_intent(&m.sk, json!({})).await;
    assert_eq!(app.get("", "/readyz").await.body["database"], "ok");

    proxy.down();
    assert!(eventually(Duration::from_secs(10), async || !app.services.database_reachable()).await, "the outage is noticed");
    // Bounded, not timed: a request must not wait 30 s for a connection.
    let refused = tokio::time::timeout(Duration::from_secs(3), app.post(&m.sk, "/v1/payment_intents", app.fake_intent(&m.sk).body()))
        .await
        .expect("answered at once, not after a connection timeout");
    assert_eq!((refused.status, refused.code()), (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"), "{}", refused.raw);
    assert_eq!(refused.retry_after.as_deref(), Some("1"));
    let read = app.get(&m.sk, "/v1/payment_intents").await;
    assert_eq!(read.code(), "database_unavailable", "reads too");
    let ready = app.get("", "/readyz").await;
    assert_eq!((ready.status, ready.body["database"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unreachable")), "{}", ready.raw);
    assert_eq!(ready.body["redis"], "not_configured");
    assert_eq!(app.get("", "/healthz").await.status, StatusCode::OK, "the process itself is alive");

    proxy.up();
    let resumed = eventually(Duration::from_secs(15), async || {
        app.post(&m.sk, "/v1/payment_intents", app.fake_intent(&m.sk).body()).await.status == StatusCode::CREATED
    })
    .await;
    assert!(resumed, "writes succeed again once the database is back");
    assert_eq!(app.get("", "/readyz").await.status, StatusCode::OK);
    app.assert_ledger_balanced().await;
}
