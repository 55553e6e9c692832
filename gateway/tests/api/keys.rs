//! API keys: shape, roll with an overlap, revoke.

use crate::helpers::TestApp;
use axum::http::StatusCode;
use gateway::domain::keys::KeyKind;

crate::on_both_engines!(a_key_notes_its_last_use_at_most_once_a_minute, a_rolled_key_works_until_its_expiry_then_stops, a_revoked_key_stops_at_once, keys_are_stored_only_as_a_keyed_hash_and_prefix);

async fn a_rolled_key_works_until_its_expiry_then_stops(app: TestApp) {
    let m = app.merchant().await;
    let old_id = app.services.list_keys(&m.id).await.unwrap().into_iter().find(|k| k.kind == KeyKind::Secret && !k.livemode).unwrap().id;
    let (new, old) = app.services.roll_key(&old_id, 60 * 60 * 1000).await.unwrap();
    let new_sk = new.plain.value.expose().to_owned();
    assert!(new_sk.starts_with("sk_test_"));
    assert_ne!(new_sk, m.sk);
    assert!(old.expires_at.is_some());

    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.status, StatusCode::OK, "old key still works during the overlap");
    assert_eq!(app.get(&new_sk, "/v1/payment_intents").await.status, StatusCode::OK);
    app.clock.advance_minutes(60);
    let expired = app.get(&m.sk, "/v1/payment_intents").await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert_eq!(expired.code(), "api_key_expired");
    assert_eq!(app.get(&new_sk, "/v1/payment_intents").await.status, StatusCode::OK);
}

async fn a_revoked_key_stops_at_once(app: TestApp) {
    let m = app.merchant().await;
    let key = app.services.create_key(&m.id, KeyKind::Secret, false).await.unwrap();
    let sk = key.plain.value.expose().to_owned();
    assert_eq!(app.get(&sk, "/v1/payment_intents").await.status, StatusCode::OK);
    app.services.revoke_key(&key.record.id).await.unwrap();
    assert_eq!(app.get(&sk, "/v1/payment_intents").await.code(), "api_key_expired");
    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.status, StatusCode::OK, "other keys are untouched");
    assert!(app.services.revoke_key("key_000000000000000000000000").await.is_err());
}

async fn keys_are_stored_only_as_a_keyed_hash_and_prefix(app: TestApp) {
    let m = app.merchant().await;
    for record in app.services.list_keys(&m.id).await.unwrap() {
        let shown = format!("{record:?}");
        for plain in [&m.sk, &m.pk, &m.live_sk] {
            assert!(!shown.contains(plain.as_str()));
            assert!(!record.key_hash.0.contains(&plain[8..]));
        }
        assert_eq!(record.display_prefix.chars().count(), 13, "`sk_test_` + 4 characters + `…`");
        assert_eq!(record.key_hash.0.len(), 64);
    }
}

async fn a_key_notes_its_last_use_at_most_once_a_minute(app: TestApp) {
    use gateway::clock::Clock;
    let m = app.merchant().await;
    let last_used = || async {
        let keys = app.services.list_keys(&m.id).await.unwrap();
        keys.into_iter().find(|k| k.kind == KeyKind::Secret && !k.livemode).unwrap().last_used_at
    };
    assert_eq!(last_used().await, None, "never used yet");
    let first = app.clock.now();
    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.status, StatusCode::OK);
    assert_eq!(last_used().await, Some(first));
    app.clock.advance_ms(59_000);
    app.get(&m.sk, "/v1/payment_intents").await;
    assert_eq!(last_used().await, Some(first), "not written again within the minute");
    app.clock.advance_ms(1_000);
    app.get(&m.sk, "/v1/payment_intents").await;
    assert_eq!(last_used().await, Some(first + 60_000));
    // A refused key is not "used".
    app.services.revoke_key(&app.services.list_keys(&m.id).await.unwrap().into_iter().find(|k| k.kind == KeyKind::Secret && !k.livemode).unwrap().id).await.unwrap();
    app.clock.advance_ms(120_000);
    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(last_used().await, Some(first + 60_000));
}
