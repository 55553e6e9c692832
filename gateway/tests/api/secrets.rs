//! No secret key, key hash, client secret or hashing secret appears in logs, `Debug` output or any
//! response after creation.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{CapturedLogs, TestApp, HASH_SECRET};
use gateway::domain::keys::KeyKind;
use gateway::domain::Scope;
use serde_json::json;

#[tokio::test]
async fn sqlite_no_secret_appears_in_logs_debug_output_or_later_responses() {
    no_secret_appears(TestApp::sqlite().await).await
}

#[tokio::test]
async fn postgres_no_secret_appears_in_logs_debug_output_or_later_responses() {
    no_secret_appears(TestApp::postgres().await).await
}

/// Runs on a current-thread runtime so that every task logs into this test's subscriber.
async fn no_secret_appears(app: TestApp) {
    let (logs, _guard) = CapturedLogs::start();

    let m = app.merchant().await;
    let extra = app.services.create_key(&m.id, KeyKind::Secret, false).await.unwrap();
    let created = app
        .post(&m.sk, "/v1/payment_intents", json!({ "amount": 1000, "currency": "KRW", "merchant_order_id": "s", "order_name": "n", "customer_name": "c" }))
        .await;
    let client_secret = created.body["client_secret"].as_str().unwrap().to_owned();
    let id = created.id();
    // Created with an Idempotency-Key: the saved response must not keep the client secret, yet a
    // replay still hands it back.
    let body = json!({ "amount": 2000, "currency": "KRW", "merchant_order_id": "s2", "order_name": "n", "customer_name": "c" });
    let keyed = app.post_idem(&m.sk, "/v1/payment_intents", body.clone(), Some("secret-idem")).await;
    let keyed_secret = keyed.body["client_secret"].as_str().unwrap().to_owned();
    let replayed = app.post_idem(&m.sk, "/v1/payment_intents", body, Some("secret-idem")).await;
    assert!(replayed.replayed);
    assert_eq!(replayed.raw, keyed.raw, "the replay is the creation response, client secret included");
    assert_eq!(app.services.verify_client_secret(&keyed_secret).as_deref(), Some(keyed.id().as_str()));
    assert_eq!(app.services.verify_client_secret(&format!("{}x", keyed_secret)), None);
    app.approve(&m.sk, &id, "4242424242424242").await;
    app.approve(&m.sk, &id, "4000000000000002").await;
    app.post(&m.sk, "/v1/refunds", json!({ "payment_intent": id, "amount": 10 })).await;
    app.get(&m.pk, "/v1/payment_intents").await;
    app.get(&format!("{}0", m.sk), "/v1/payment_intents").await;
    app.get(&m.live_sk.replace("sk_live", "sk_test"), "/v1/payment_intents").await;
    app.services.revoke_key(&extra.record.id).await.unwrap();
    app.get(extra.plain.value.expose(), "/v1/payment_intents").await;
    app.services.sweep().await.unwrap();
    // The browser's stream takes the client secret in its query string: never logged. The intent
    // has succeeded, so its stream replays and ends.
    let stream = format!("/v1/payment_intents/{id}/events?client_secret={client_secret}&key={}", m.pk);
    let streamed = app.send(axum::http::Request::get(&stream).body(axum::body::Body::empty()).unwrap()).await;
    assert!(streamed.raw.contains("payment_intent.succeeded"), "{}", streamed.raw);
    let refused = format!("/v1/payment_intents/{}/events?client_secret={client_secret}&key={}", keyed.id(), m.pk);
    assert_eq!(app.send(axum::http::Request::get(&refused).body(axum::body::Body::empty()).unwrap()).await.status, 401);
    let redis_password = "redis-password-never-shown";
    let config = gateway::config::Config::from_sources(None, |name| match name {
        "REDIS_URL" => Some(format!("redis://:{redis_password}@127.0.0.1:6379")),
        _ => None,
    })
    .unwrap();

    let records = app.services.list_keys(&m.id).await.unwrap();
    let mut secrets: Vec<String> = vec![
        m.sk.clone(),
        m.pk.clone(),
        m.live_sk.clone(),
        extra.plain.value.expose().to_owned(),
        client_secret.clone(),
        keyed_secret.clone(),
        HASH_SECRET.to_owned(),
        redis_password.to_owned(),
    ];
    secrets.extend(records.iter().map(|r| r.key_hash.0.clone()));
    // The random part alone must not leak either.
    secrets.extend([&m.sk, &m.pk, &m.live_sk].iter().map(|k| k[8..].to_owned()));
    secrets.push(client_secret.split("_secret_").nth(1).unwrap().to_owned());

    let mut haystacks = vec![("logs", logs.text())];
    haystacks.push(("debug of an issued key", format!("{extra:?}")));
    haystacks.push(("debug of key records", format!("{records:?}")));
    let auth = app.services.authenticate(&m.sk).await.unwrap().unwrap();
    haystacks.push(("debug of an authenticated key", format!("{auth:?}")));
    haystacks.push(("debug of services' hasher", format!("{:?}", app.services.hasher)));
    haystacks.push(("debug of the configuration", format!("{config:?}")));
    haystacks.push(("an event stream", streamed.raw.clone()));
    for path in [format!("/v1/payment_intents/{id}"), "/v1/payment_intents".into(), "/v1/transactions".into(), "/v1/refunds".into(), "/v1/events".into()] {
        haystacks.push(("a later response", app.get(&m.sk, &path).await.raw));
    }
    let stored = app.raw_text("SELECT COALESCE(answer, '') FROM idempotency_keys").await;
    assert_eq!(stored.len(), 1);
    haystacks.push(("saved idempotent responses", stored.join("\n")));
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    haystacks.push(("event payloads", format!("{:?}", app.store.events_after(&scope, Some(&id), 0, 1000).await.unwrap())));

    assert!(haystacks[0].1.contains("payment"), "the log capture works: {}", haystacks[0].1.len());
    for (what, text) in &haystacks {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a secret appears in {what}");
        }
    }
}
