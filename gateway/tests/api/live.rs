//! Live streams over real sockets: fan-out to many subscribers, resume with Last-Event-ID, the
//! browser's per-intent stream and its credentials, keep-alive, shutdown, and recovery of
//! notices the bus lost.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{TestApp, TestMerchant};
use crate::on_both_engines;
use crate::sse_client::{merchant_stream, SseClient};
use serde_json::json;
use std::sync::Arc;

on_both_engines!(
    many_concurrent_subscribers_all_receive_each_event_once_and_in_order,
    a_reconnect_with_last_event_id_replays_every_event_after_it,
    the_intent_stream_replays_its_history_then_follows_it_and_ends_after_the_final_state,
    the_intent_stream_needs_that_intents_client_secret_and_a_publishable_key_and_allows_any_origin,
    an_idle_stream_gets_keep_alive_comments,
    shutting_down_ends_open_streams,
    events_whose_notices_were_lost_still_reach_the_stream_from_the_database,
    a_stream_opened_on_another_replica_sees_changes_made_on_this_one_after_a_resync,
    an_unknown_last_event_id_is_refused,
);

/// Creates an intent and returns its id and client secret.
async fn intent_with_secret(app: &TestApp, m: &TestMerchant) -> (String, String) {
    let reply = app.post(&m.sk, "/v1/payment_intents", json!({
        "amount": 12000, "currency": "KRW", "merchant_order_id": "o-1", "order_name": "Beans", "customer_name": "Kim",
    }))
    .await;
    (reply.id(), reply.body["client_secret"].as_str().unwrap().to_owned())
}

fn intent_stream_path(id: &str, secret: &str, pk: &str) -> String {
    format!("/v1/payment_intents/{id}/events?client_secret={secret}&key={pk}")
}

async fn many_concurrent_subscribers_all_receive_each_event_once_and_in_order(app: TestApp) {
    let app = Arc::new(app);
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = intent_with_secret(&app, &m).await;
    let mut merchant_clients = Vec::new();
    let mut intent_clients = Vec::new();
    for _ in 0..40 {
        merchant_clients.push(merchant_stream(&base, &m.sk, None).await);
        let client = SseClient::open(&base, &intent_stream_path(&id, &secret, &m.pk), &[]).await;
        assert_eq!(client.status, 200, "{}", client.body);
        intent_clients.push(client);
    }
    let approved = app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(approved.body["status"], "succeeded");
    let second = app.create_intent(&m.sk, json!({})).await;

    let readers = merchant_clients.into_iter().map(|mut c| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..3 {
                let frame = c.next_event().await.expect("event");
                let object = frame.json()["data"]["id"].as_str().unwrap().to_owned();
                got.push((frame.event.unwrap(), object));
            }
            got
        })
    });
    for got in futures::future::join_all(readers).await {
        let got = got.unwrap();
        assert_eq!(
            got,
            [
                ("payment_intent.processing".to_owned(), id.clone()),
                ("payment_intent.succeeded".to_owned(), id.clone()),
                ("payment_intent.created".to_owned(), second.clone()),
            ]
        );
    }
    let readers = intent_clients.into_iter().map(|mut c| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(frame) = c.next_event().await {
                got.push(frame.event.unwrap());
            }
            got
        })
    });
    for got in futures::future::join_all(readers).await {
        assert_eq!(got.unwrap(), ["payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"]);
    }
}

async fn a_reconnect_with_last_event_id_replays_every_event_after_it(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let mut client = merchant_stream(&base, &m.sk, None).await;
    let first = app.create_intent(&m.sk, json!({})).await;
    let frame = client.next_event().await.unwrap();
    assert_eq!(frame.json()["data"]["id"], first.as_str());
    let last_seen = frame.id.clone().unwrap();
    // A forced disconnect: the connection is gone while more happens.
    drop(client);
    app.approve(&m.sk, &first, "4242424242424242").await;
    let second = app.create_intent(&m.sk, json!({})).await;
    app.post(&m.sk, &format!("/v1/payment_intents/{second}/cancel"), json!({})).await;

    let mut resumed = merchant_stream(&base, &m.sk, Some(&last_seen)).await;
    let types = resumed.event_types(4).await;
    assert_eq!(types, ["payment_intent.processing", "payment_intent.succeeded", "payment_intent.created", "payment_intent.canceled"]);
    // And it goes on live after the replay.
    let third = app.create_intent(&m.sk, json!({})).await;
    assert_eq!(resumed.next_event().await.unwrap().json()["data"]["id"], third.as_str());
}

async fn the_intent_stream_replays_its_history_then_follows_it_and_ends_after_the_final_state(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = intent_with_secret(&app, &m).await;
    app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/scan"), json!({})).await;
    let mut client = SseClient::open(&base, &intent_stream_path(&id, &secret, &m.pk), &[]).await;
    assert_eq!(client.status, 200, "{}", client.body);
    assert_eq!(client.header("content-type"), Some("text/event-stream"));
    assert_eq!(client.event_types(2).await, ["payment_intent.created", "payment_intent.scanned"]);
    // Another intent's events are not on this stream.
    let other = app.create_intent(&m.sk, json!({})).await;
    app.approve(&m.sk, &other, "4242424242424242").await;
    app.approve(&m.sk, &id, "4000000000000002").await;
    let processing = client.next_event().await.unwrap();
    assert_eq!(processing.event.as_deref(), Some("payment_intent.processing"));
    assert_eq!(processing.json()["data"]["id"], id.as_str());
    let failed = client.next_event().await.unwrap();
    assert_eq!(failed.event.as_deref(), Some("payment_intent.failed"));
    assert_eq!(failed.json()["data"]["status"], "failed");
    assert!(client.next_event().await.is_none(), "the stream ends after the final state");

    // Reopened later, it replays the history and ends at once.
    let mut again = SseClient::open(&base, &intent_stream_path(&id, &secret, &m.pk), &[]).await;
    let mut replayed = Vec::new();
    while let Some(frame) = again.next_event().await {
        replayed.push(frame.event.unwrap());
    }
    assert_eq!(replayed, ["payment_intent.created", "payment_intent.scanned", "payment_intent.processing", "payment_intent.failed"]);
}

async fn the_intent_stream_needs_that_intents_client_secret_and_a_publishable_key_and_allows_any_origin(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let other = app.merchant().await;
    let (id, secret) = intent_with_secret(&app, &m).await;
    let (other_id, other_secret) = intent_with_secret(&app, &m).await;
    let (_, foreign_secret) = intent_with_secret(&app, &other).await;
    let refused = [
        intent_stream_path(&id, &other_secret, &m.pk),
        intent_stream_path(&id, &format!("{id}_secret_0000000000000000000000000000000000000000"), &m.pk),
        intent_stream_path(&id, &secret, &m.sk),
        intent_stream_path(&id, &secret, &other.pk),
        intent_stream_path(&id, &secret, "pk_test_0000000000000000000000000000000000000000000000000000000000000000"),
        intent_stream_path(&other_id, &foreign_secret, &other.pk),
    ];
    for path in refused {
        let client = SseClient::open(&base, &path, &[]).await;
        assert_eq!(client.status, 401, "{path}: {}", client.body);
        let body: serde_json::Value = serde_json::from_str(&client.body).unwrap();
        assert_eq!(body["error"]["code"], "stream_not_authorized", "{path}");
        assert!(!client.body.contains(&secret) && !client.body.contains(&m.sk), "nothing secret echoed");
    }
    let missing = SseClient::open(&base, &format!("/v1/payment_intents/{id}/events?key={}", m.pk), &[]).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert!(missing.body.contains("parameter_missing"), "{}", missing.body);

    let allowed = SseClient::open(&base, &intent_stream_path(&id, &secret, &m.pk), &[("origin", "https://shop.example")]).await;
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.header("access-control-allow-origin"), Some("*"));
    let preflight = app
        .send(
            axum::http::Request::options(format!("/v1/payment_intents/{id}/events"))
                .header("origin", "https://shop.example")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "last-event-id")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(preflight.status.is_success(), "preflight: {}", preflight.status);
}

async fn an_idle_stream_gets_keep_alive_comments(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let mut client = merchant_stream(&base, &m.sk, None).await;
    // The test apps send a keep-alive every 200 ms.
    for _ in 0..2 {
        let frame = client.next_frame().await.unwrap();
        assert_eq!(frame.comment.as_deref(), Some("keep-alive"), "{frame:?}");
        assert!(frame.event.is_none());
    }
}

async fn shutting_down_ends_open_streams(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = intent_with_secret(&app, &m).await;
    let mut merchant = merchant_stream(&base, &m.sk, None).await;
    let mut intent = SseClient::open(&base, &intent_stream_path(&id, &secret, &m.pk), &[]).await;
    assert_eq!(intent.next_event().await.unwrap().event.as_deref(), Some("payment_intent.created"));
    app.services.bus.shut_down();
    while let Some(frame) = merchant.next_frame().await {
        assert!(frame.event.is_none(), "no events after shutdown: {frame:?}");
    }
    while let Some(frame) = intent.next_frame().await {
        assert!(frame.event.is_none(), "no events after shutdown: {frame:?}");
    }
}

async fn events_whose_notices_were_lost_still_reach_the_stream_from_the_database(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let (id, secret) = intent_with_secret(&app, &m).await;
    let mut merchant = merchant_stream(&base, &m.sk, None).await;
    let mut intent = SseClient::open(&base, &intent_stream_path(&id, &secret, &m.pk), &[]).await;
    assert_eq!(intent.event_types(1).await, ["payment_intent.created"]);
    // The bus loses every notice for a while (as Redis pub/sub may): the events are in the
    // database only.
    app.store.clear_event_listeners();
    app.post(&m.sk, &format!("/v1/test_helpers/payment_intents/{id}/scan"), json!({})).await;
    let lost = app.create_intent(&m.sk, json!({})).await;
    let bus = app.services.bus.clone();
    app.store.add_event_listener(Arc::new(move |notices| bus.publish(notices)));
    // The next notice is out of line for both streams: they read the gap from the database.
    app.approve(&m.sk, &id, "4242424242424242").await;
    assert_eq!(
        merchant.event_types(4).await,
        ["payment_intent.scanned", "payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"]
    );
    assert_eq!(intent.event_types(3).await, ["payment_intent.scanned", "payment_intent.processing", "payment_intent.succeeded"]);
    let _ = lost;
}

async fn a_stream_opened_on_another_replica_sees_changes_made_on_this_one_after_a_resync(app: TestApp) {
    // Two replicas on one database without a carrier between them: a resync (what a Redis
    // reconnect triggers) brings the other replica's events from the database.
    let replica = app.sibling().await;
    let base = replica.serve().await;
    let m = app.merchant().await;
    let mut client = merchant_stream(&base, &m.sk, None).await;
    let id = app.create_intent(&m.sk, json!({})).await;
    app.approve(&m.sk, &id, "4242424242424242").await;
    replica.services.bus.resync_all();
    assert_eq!(client.event_types(3).await, ["payment_intent.created", "payment_intent.processing", "payment_intent.succeeded"]);
}

async fn an_unknown_last_event_id_is_refused(app: TestApp) {
    let base = app.serve().await;
    let m = app.merchant().await;
    let other = app.merchant().await;
    let id = app.create_intent(&other.sk, json!({})).await;
    let foreign_event = app.get(&other.sk, &format!("/v1/events?object={id}")).await.body["data"][0]["id"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {}", m.sk);
    for last in [foreign_event.as_str(), "evt_000000000000000000000000", "not-an-id"] {
        let client = SseClient::open(&base, "/v1/events/stream", &[("authorization", auth.as_str()), ("last-event-id", last)]).await;
        assert_eq!(client.status, 400, "{last}: {}", client.body);
        assert!(client.body.contains("invalid_last_event_id") || client.body.contains("invalid_id"), "{}", client.body);
    }
}
