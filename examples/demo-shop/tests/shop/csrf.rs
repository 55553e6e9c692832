//! Form posts from another site are refused before they change anything.

use crate::support::TestShop;
use demo_shop::domain::OrderStatus;
use reqwest::StatusCode;

#[tokio::test]
async fn a_cross_site_form_post_is_refused_and_changes_nothing() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let order = app.place_order("Coffee beans", 1).await;
    let form = format!("product_id={}&quantity=5", beans.0);
    for headers in [
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
        ][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
    ] {
        let response = app
            .post_form_with("/cart/items", &form, None, headers)
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(response.headers().get("set-cookie").is_none());
        assert!(response.text().await.unwrap().contains("another site"));
        let cancel = app
            .post_form_with(&format!("/orders/{order}/cancel"), "", None, headers)
            .await;
        assert_eq!(cancel.status(), StatusCode::FORBIDDEN);
        let checkout = app
            .post_form_with("/checkout", "customer_name=Mallory", None, headers)
            .await;
        assert_eq!(checkout.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        app.shop().order(&order).await.unwrap().order.status,
        OrderStatus::Pending
    );
    assert_eq!(app.shop().stock(beans).await.unwrap(), 9);
    assert!(app.gateway.calls_to("POST", "/cancel").is_empty());
}

#[tokio::test]
async fn webhooks_are_not_subject_to_the_cross_site_check() {
    let app = TestShop::start().await;
    // A server-to-server post carries no browser headers; a cross-site marker does not block
    // it either: the signature decides.
    let response = app
        .http
        .post(app.url("/webhooks"))
        .header("sec-fetch-site", "cross-site")
        .header("webhook-id", "evt_000000000000000000000001")
        .header("webhook-timestamp", "1")
        .header("webhook-signature", "v1,AAAA")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.text().await.unwrap(), "unverified");
}
