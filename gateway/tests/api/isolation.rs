//! One merchant sees nothing of another; test and live never mix.

use crate::helpers::TestApp;
use axum::http::StatusCode;
use serde_json::json;

crate::on_both_engines!(another_merchants_key_gets_404_on_every_id_taking_endpoint, test_and_live_objects_never_mix);

async fn another_merchants_key_gets_404_on_every_id_taking_endpoint(app: TestApp) {
    let owner = app.merchant().await;
    let stranger = app.merchant().await;
    let paid = app.paid_intent(&owner.sk, 5000).await;
    let open = app.create_intent(&owner.sk, json!({})).await;
    let manual = app.create_intent(&owner.sk, json!({ "confirm_mode": "manual" })).await;
    app.approve(&owner.sk, &manual, "4242424242424242").await;
    let refund = app.post(&owner.sk, "/v1/refunds", json!({ "payment_intent": paid, "amount": 100 })).await.id();

    let gets = [
        format!("/v1/payment_intents/{paid}"),
        format!("/v1/refunds/{refund}"),
        format!("/v1/refunds?payment_intent={paid}"),
        format!("/v1/transactions?payment_intent={paid}"),
    ];
    for path in &gets {
        let reply = app.get(&stranger.sk, path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.raw);
        assert_eq!(reply.code(), "resource_missing");
    }
    let posts = [
        (format!("/v1/payment_intents/{open}/cancel"), json!({})),
        (format!("/v1/payment_intents/{manual}/confirm"), json!({ "amount": 10000 })),
        (format!("/v1/test_helpers/payment_intents/{open}/approve"), json!({})),
        (format!("/v1/test_helpers/payment_intents/{open}/decline"), json!({})),
        (format!("/v1/test_helpers/payment_intents/{open}/expire"), json!({})),
        ("/v1/refunds".to_owned(), json!({ "payment_intent": paid, "amount": 100 })),
        ("/v1/refunds".to_owned(), json!({ "payment_intent": paid })),
    ];
    for (path, body) in &posts {
        let reply = app.post(&stranger.sk, path, body.clone()).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}: {}", reply.raw);
        assert_eq!(reply.code(), "resource_missing");
    }
    // Lists hold only one's own objects.
    for path in ["/v1/payment_intents", "/v1/refunds", "/v1/transactions"] {
        let reply = app.get(&stranger.sk, path).await;
        assert_eq!(reply.body["data"].as_array().unwrap().len(), 0, "{path}");
    }
    // Nothing the stranger tried changed the owner's objects.
    assert_eq!(app.get(&owner.sk, &format!("/v1/payment_intents/{open}")).await.body["status"], "requires_action");
    assert_eq!(app.get(&owner.sk, &format!("/v1/payment_intents/{manual}")).await.body["status"], "requires_confirmation");
    assert_eq!(app.get(&owner.sk, &format!("/v1/payment_intents/{paid}")).await.body["amount_refunded"], 100);
    app.assert_ledger_balanced().await;
}

async fn test_and_live_objects_never_mix(app: TestApp) {
    let m = app.merchant().await;
    let test_id = app.create_intent(&m.sk, json!({})).await;
    let live_id = app.create_intent(&m.live_sk, json!({})).await;
    let live = app.get(&m.live_sk, &format!("/v1/payment_intents/{live_id}")).await;
    assert_eq!(live.body["livemode"], true);
    assert_eq!(app.get(&m.live_sk, &format!("/v1/payment_intents/{test_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&m.sk, &format!("/v1/payment_intents/{live_id}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.body["data"].as_array().unwrap().len(), 1);

    // Live keys cannot use the test helpers.
    for action in ["approve", "decline", "expire"] {
        let reply = app.post(&m.live_sk, &format!("/v1/test_helpers/payment_intents/{live_id}/{action}"), json!({})).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{action}");
        assert_eq!(reply.code(), "test_mode_only");
    }
    assert_eq!(app.get(&m.live_sk, &format!("/v1/payment_intents/{live_id}")).await.body["status"], "requires_action");
}
