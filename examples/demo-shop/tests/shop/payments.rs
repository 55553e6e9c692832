//! The order's payment from the customer's side: a new code after an expiry, canceling (stock
//! back exactly once), refunding, and the order page learning the outcome from the gateway.

use crate::support::TestShop;
use demo_shop::domain::OrderStatus;
use reqwest::StatusCode;
use std::sync::Arc;
use tokio::task::JoinSet;

#[tokio::test]
async fn an_expired_code_leaves_the_order_pending_and_a_new_code_replaces_it() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let first = app.intent_of(&order).await;
    let expired = app.gateway.set_status(&first, "expired");
    assert_eq!(
        app.send_webhook("payment_intent.expired", &expired).await.0,
        StatusCode::OK
    );
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Pending
    );

    let response = app
        .post_form(&format!("/orders/{order}/new-intent"), "", None)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/orders/{order}/pay")
    );
    let second = app.intent_of(&order).await;
    assert_ne!(first, second);
    let keys: Vec<_> = app
        .gateway
        .calls_to("POST", "/v1/payment_intents")
        .into_iter()
        .map(|c| c.idempotency_key.unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            format!("demo-shop-{order}-intent-1"),
            format!("demo-shop-{order}-intent-2")
        ]
    );

    // A late webhook of the first intent does not disturb the second.
    assert_eq!(
        app.send_webhook("payment_intent.expired", &expired).await.0,
        StatusCode::OK
    );
    assert_eq!(app.intent_of(&order).await, second);
}

#[tokio::test]
async fn a_new_code_is_refused_while_the_current_one_is_approved() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let intent = app.intent_of(&order).await;
    app.gateway.set_status(&intent, "requires_confirmation");
    let response = app
        .post_form(&format!("/orders/{order}/new-intent"), "", None)
        .await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    // The shop confirmed the approval instead of replacing it.
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Paid
    );
    assert_eq!(app.gateway.calls_to("POST", "/v1/payment_intents").len(), 1);
}

#[tokio::test]
async fn canceling_an_order_cancels_its_intent_and_releases_its_stock_exactly_once() {
    let app = Arc::new(TestShop::start().await);
    let beans = app.product("Coffee beans").await;
    let order = app.place_order("Coffee beans", 4).await;
    assert_eq!(app.shop().stock(beans).await.unwrap(), 6);
    let mut cancels = JoinSet::new();
    for _ in 0..8 {
        let (app, order) = (app.clone(), order.clone());
        cancels.spawn(async move {
            app.post_form(&format!("/orders/{order}/cancel"), "", None)
                .await
                .status()
        });
    }
    while let Some(status) = cancels.join_next().await {
        let status = status.unwrap();
        assert!(
            status == StatusCode::SEE_OTHER || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Canceled
    );
    assert_eq!(app.shop().stock(beans).await.unwrap(), 10, "4 back, once");
    let intent = app.intent_of(&order).await;
    assert_eq!(app.gateway.intent(&intent)["status"], "canceled");

    // The cancel's webhook, and another cancel, change nothing more.
    let canceled = app.gateway.intent(&intent);
    assert_eq!(
        app.send_webhook("payment_intent.canceled", &canceled)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.post_form(&format!("/orders/{order}/cancel"), "", None)
            .await
            .status(),
        StatusCode::CONFLICT
    );
    assert_eq!(app.shop().stock(beans).await.unwrap(), 10);
}

#[tokio::test]
async fn a_paid_order_cannot_be_canceled_but_is_refunded_in_full() {
    let app = TestShop::start().await;
    let order = app.place_order("Stoneware mug", 2).await;
    let intent = app.intent_of(&order).await;
    let paid = app.gateway.set_status(&intent, "succeeded");
    app.send_webhook("payment_intent.succeeded", &paid).await;
    let cancel = app
        .post_form(&format!("/orders/{order}/cancel"), "", None)
        .await;
    assert_eq!(cancel.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Paid
    );

    let refund = app
        .post_form(&format!("/orders/{order}/refund"), "", None)
        .await;
    assert_eq!(refund.status(), StatusCode::SEE_OTHER);
    let refunds = app.gateway.calls_to("POST", "/v1/refunds");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].body["payment_intent"], intent.as_str());
    assert_eq!(refunds[0].body["amount"], 36_000);
    assert!(refunds[0]
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with(&format!("demo-shop-{order}-refund-"))));
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Refunded
    );
    assert_eq!(
        app.post_form(&format!("/orders/{order}/refund"), "", None)
            .await
            .status(),
        StatusCode::CONFLICT
    );
}

#[tokio::test]
async fn the_order_page_confirms_an_approval_before_its_webhook_arrives() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let intent = app.intent_of(&order).await;
    app.gateway.set_status(&intent, "requires_confirmation");
    let page = app.get(&format!("/orders/{order}"), None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("data-status=\"paid\""), "{html}");
    let confirms = app.gateway.calls_to("POST", "/confirm");
    assert_eq!(confirms.len(), 1);
    assert_eq!(confirms[0].body["amount"], 12_000);
}
