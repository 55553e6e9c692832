//! Start: the webhook endpoint is registered once and reused across restarts; no secret ever
//! shows in debug output.

use crate::support::fake_gateway::{FakeGateway, SECRET_KEY};
use crate::support::{config, TestShop};
use reqwest::StatusCode;

#[tokio::test]
async fn the_shop_registers_its_webhook_endpoint_for_payment_intent_events() {
    let app = TestShop::start().await;
    let endpoints = app.gateway.endpoints();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0]["url"], app.url("/webhooks"));
    assert_eq!(
        endpoints[0]["enabled_events"],
        serde_json::json!(["payment_intent.*"])
    );
}

#[tokio::test]
async fn a_restarted_shop_reuses_its_webhook_endpoint_and_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let gateway = FakeGateway::start().await;
    let first = TestShop::start_on(gateway.clone(), &url).await;
    let secret = gateway.webhook_secret();
    let order = first.place_order("Coffee beans", 1).await;
    first.running.stop().await.unwrap();

    // Port 0 again: another port, so the endpoint is pointed at the new URL.
    let second = TestShop::start_on(gateway.clone(), &url).await;
    assert_eq!(gateway.endpoints().len(), 1, "no second endpoint");
    assert_eq!(gateway.calls_to("POST", "/v1/webhook_endpoints").len(), 1);
    assert_eq!(gateway.endpoints()[0]["url"], second.url("/webhooks"));
    assert_eq!(gateway.webhook_secret(), secret);
    let beans = second.product("Coffee beans").await;
    assert_eq!(
        second.shop().stock(beans).await.unwrap(),
        9,
        "the catalogue is not seeded twice"
    );
    let intent = second
        .gateway
        .set_status(&second.intent_of(&order).await, "succeeded");
    assert_eq!(
        second
            .send_webhook("payment_intent.succeeded", &intent)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_shop_whose_endpoint_was_deleted_registers_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let gateway = FakeGateway::start().await;
    TestShop::start_on(gateway.clone(), &url)
        .await
        .running
        .stop()
        .await
        .unwrap();
    let old = gateway.webhook_secret();
    gateway.delete_endpoints();
    let app = TestShop::start_on(gateway.clone(), &url).await;
    assert_eq!(gateway.endpoints().len(), 1);
    assert_ne!(gateway.webhook_secret(), old);
    let order = app.place_order("Coffee beans", 1).await;
    let intent = app.gateway.intent(&app.intent_of(&order).await);
    assert_eq!(
        app.send_webhook("payment_intent.created", &intent).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_shop_with_a_fresh_database_adopts_the_endpoint_already_pointing_at_it() {
    let gateway = FakeGateway::start().await;
    let mut cfg = config(&gateway, "sqlite::memory:");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    cfg.bind = listener.local_addr().unwrap();
    drop(listener);
    cfg.public_url = Some(public.clone());
    demo_shop::start(cfg.clone())
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();
    let old = gateway.webhook_secret();
    demo_shop::start(cfg).await.unwrap().stop().await.unwrap();
    assert_eq!(gateway.endpoints().len(), 1, "adopted, not duplicated");
    assert_ne!(gateway.webhook_secret(), old, "its lost secret was rotated");
}

#[tokio::test]
async fn a_wrong_secret_key_stops_the_start_with_a_clear_error() {
    let gateway = FakeGateway::start().await;
    let mut cfg = config(&gateway, "sqlite::memory:");
    cfg.secret_key = "sk_test_not-the-merchants-key".into();
    let error = demo_shop::start(cfg).await.unwrap_err();
    assert!(
        format!("{error:#}").contains("refused the shop's secret key"),
        "{error:#}"
    );
}

#[tokio::test]
async fn secrets_never_appear_in_debug_output() {
    let app = TestShop::start().await;
    let webhook_secret = app.gateway.webhook_secret();
    let cfg = config(&app.gateway, "sqlite::memory:");
    for printed in [
        format!("{cfg:?}"),
        format!("{:?}", app.running),
        format!("{:?}", app.shop()),
        format!("{:?}", app.shop().settings()),
    ] {
        assert!(!printed.contains(SECRET_KEY), "{printed}");
        assert!(!printed.contains(&webhook_secret), "{printed}");
        assert!(!printed.contains(&SECRET_KEY[8..20]), "{printed}");
    }
}
