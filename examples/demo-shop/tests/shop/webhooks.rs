//! Webhooks: only verified ones count, each is handled once, and an approval is confirmed with
//! the amount the shop stored, never one from the webhook.

use crate::support::{event, now, TestShop};
use demo_shop::domain::OrderStatus;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_correctly_signed_webhook_is_accepted() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let intent = app.gateway.intent(&app.intent_of(&order).await);
    let (status, body) = app.send_webhook("payment_intent.created", &intent).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "applied"));
}

#[tokio::test]
async fn webhooks_with_a_wrong_secret_a_tampered_body_or_a_stale_timestamp_are_refused_and_change_nothing(
) {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let intent_id = app.intent_of(&order).await;
    let approved = app.gateway.set_status(&intent_id, "requires_confirmation");
    let secret = app.gateway.webhook_secret();
    let body = event(
        "evt_000000000000000000000001",
        "payment_intent.requires_confirmation",
        &approved,
    );

    let wrong_secret = "whsec_bm90LXRoZS1zaG9wcy1zZWNyZXQtYXQtYWxs";
    let refused = [
        app.send_signed("evt_000000000000000000000001", now(), &body, wrong_secret)
            .await,
        app.send_raw(
            "evt_000000000000000000000001",
            &now().to_string(),
            &crate::support::sign(
                &secret,
                "evt_000000000000000000000001",
                now(),
                body.as_bytes(),
            ),
            &body.replace("\"sequence\":1", "\"sequence\":2"),
        )
        .await,
        app.send_signed(
            "evt_000000000000000000000001",
            now() - 6 * 60,
            &body,
            &secret,
        )
        .await,
        app.send_signed(
            "evt_000000000000000000000001",
            now() + 6 * 60,
            &body,
            &secret,
        )
        .await,
        app.send_raw(
            "evt_000000000000000000000001",
            "yesterday",
            "v1,AAAA",
            &body,
        )
        .await,
        // Signed for another webhook-id.
        app.send_raw(
            "evt_000000000000000000000003",
            &now().to_string(),
            &crate::support::sign(
                &secret,
                "evt_000000000000000000000001",
                now(),
                body.as_bytes(),
            ),
            &body,
        )
        .await,
    ];
    for (status, text) in &refused {
        assert_eq!(
            (*status, text.as_str()),
            (StatusCode::BAD_REQUEST, "unverified")
        );
    }
    let no_headers = app
        .http
        .post(app.url("/webhooks"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(no_headers.status(), StatusCode::BAD_REQUEST);

    assert!(app.gateway.calls_to("POST", "/confirm").is_empty());
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Pending
    );

    // The same event, properly signed, is then taken.
    assert_eq!(
        app.send_signed("evt_000000000000000000000001", now(), &body, &secret)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(app.gateway.calls_to("POST", "/confirm").len(), 1);
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn an_approved_intent_is_confirmed_with_the_amount_stored_for_the_order() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 3).await;
    let intent_id = app.intent_of(&order).await;
    let approved = app.gateway.set_status(&intent_id, "requires_confirmation");
    let (status, _) = app
        .send_webhook("payment_intent.requires_confirmation", &approved)
        .await;
    assert_eq!(status, StatusCode::OK);
    let confirms = app.gateway.calls_to("POST", "/confirm");
    assert_eq!(confirms.len(), 1);
    assert_eq!(
        confirms[0].path,
        format!("/v1/payment_intents/{intent_id}/confirm")
    );
    assert_eq!(confirms[0].body, json!({"amount": 36_000}));
    assert_eq!(
        confirms[0].idempotency_key.as_deref(),
        Some(format!("demo-shop-{order}-confirm-{intent_id}").as_str())
    );
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn an_intent_whose_amount_differs_from_the_order_is_canceled_and_the_order_marked() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let order = app.place_order("Coffee beans", 2).await;
    assert_eq!(app.shop().stock(beans).await.unwrap(), 8);
    let intent_id = app.intent_of(&order).await;
    let mut approved = app.gateway.set_status(&intent_id, "requires_confirmation");
    approved["amount"] = json!(100);
    let (status, _) = app
        .send_webhook("payment_intent.requires_confirmation", &approved)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        app.gateway.calls_to("POST", "/confirm").is_empty(),
        "nothing is captured"
    );
    assert_eq!(app.gateway.intent(&intent_id)["status"], "canceled");
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::AmountMismatch
    );
    assert_eq!(
        app.shop().stock(beans).await.unwrap(),
        10,
        "the stock is released"
    );
}

#[tokio::test]
async fn a_replayed_succeeded_webhook_changes_nothing_the_second_time() {
    let app = TestShop::start().await;
    let order = app.place_order("Stoneware mug", 1).await;
    let intent_id = app.intent_of(&order).await;
    let paid = app.gateway.set_status(&intent_id, "succeeded");
    let body = event(
        "evt_000000000000000000000042",
        "payment_intent.succeeded",
        &paid,
    );
    let secret = app.gateway.webhook_secret();
    assert_eq!(
        app.send_signed("evt_000000000000000000000042", now(), &body, &secret)
            .await,
        (StatusCode::OK, "applied".into())
    );
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Paid
    );

    // Refunded since: neither a redelivery nor a copy under a new id moves the order back.
    let refund = app
        .post_form(&format!("/orders/{order}/refund"), "", None)
        .await;
    assert_eq!(refund.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Refunded
    );
    assert_eq!(
        app.send_signed("evt_000000000000000000000042", now(), &body, &secret)
            .await,
        (StatusCode::OK, "duplicate".into())
    );
    let (status, _) = app.send_webhook("payment_intent.succeeded", &paid).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Refunded
    );
}

#[tokio::test]
async fn concurrent_deliveries_of_one_success_move_the_order_once() {
    let app = std::sync::Arc::new(TestShop::start().await);
    let order = app.place_order("Stoneware mug", 1).await;
    let intent_id = app.intent_of(&order).await;
    let paid = app.gateway.set_status(&intent_id, "succeeded");
    let body = event(
        "evt_000000000000000000000077",
        "payment_intent.succeeded",
        &paid,
    );
    let secret = app.gateway.webhook_secret();
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, body, secret) = (app.clone(), body.clone(), secret.clone());
        deliveries.spawn(async move {
            app.send_signed("evt_000000000000000000000077", now(), &body, &secret)
                .await
        });
    }
    while let Some(delivery) = deliveries.join_next().await {
        assert_eq!(delivery.unwrap().0, StatusCode::OK);
    }
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Paid
    );
}

#[tokio::test]
async fn refund_webhooks_move_a_paid_order() {
    let app = TestShop::start().await;
    let order = app.place_order("Drip bags", 2).await;
    let intent_id = app.intent_of(&order).await;
    let paid = app.gateway.set_status(&intent_id, "succeeded");
    app.send_webhook("payment_intent.succeeded", &paid).await;
    let partly = app.gateway.set_status(&intent_id, "partially_refunded");
    app.send_webhook("payment_intent.partially_refunded", &partly)
        .await;
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::PartiallyRefunded
    );
    let refunded = app.gateway.set_status(&intent_id, "refunded");
    app.send_webhook("payment_intent.refunded", &refunded).await;
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Refunded
    );
}

#[tokio::test]
async fn a_webhook_about_someone_elses_intent_is_ignored() {
    let app = TestShop::start().await;
    let stranger = json!({"id": "pi_000000000000000000009999", "status": "succeeded", "amount": 5, "currency": "USD", "merchant_order_id": "order-1001"});
    assert_eq!(
        app.send_webhook("payment_intent.succeeded", &stranger)
            .await,
        (StatusCode::OK, "ignored".into())
    );
    let refund =
        json!({"id": "re_000000000000000000000001", "object": "refund", "status": "succeeded"});
    assert_eq!(
        app.send_webhook("refund.succeeded", &refund).await,
        (StatusCode::OK, "ignored".into())
    );
}

#[tokio::test]
async fn a_verified_webhook_that_is_not_an_event_is_refused() {
    let app = TestShop::start().await;
    let secret = app.gateway.webhook_secret();
    let (status, _) = app
        .send_signed("evt_000000000000000000000005", now(), "[1, 2, 3]", &secret)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let bad_intent = event(
        "evt_000000000000000000000006",
        "payment_intent.succeeded",
        &json!({"id": 7}),
    );
    let (status, _) = app
        .send_signed("evt_000000000000000000000006", now(), &bad_intent, &secret)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
