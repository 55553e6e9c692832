//! Checkout: stock is reserved all or nothing and never oversold; the order's intent is asked
//! for with the order's amount, manual confirmation and a return URL.

use crate::support::fake_gateway::{FakeGateway, SECRET_KEY};
use crate::support::{order_of_redirect, TestShop};
use demo_shop::domain::{CartId, CustomerName, Quantity};
use demo_shop::ShopError;
use reqwest::StatusCode;
use tokio::task::JoinSet;

const PRINT: &str = "Last one: limited print";

async fn shop_on_a_file() -> (TestShop, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    (
        TestShop::start_on(FakeGateway::start().await, &url).await,
        dir,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_one_of_sixteen_concurrent_checkouts_gets_the_last_item() {
    // A file database: several connections really race for the row.
    let (app, _dir) = shop_on_a_file().await;
    let print = app.product(PRINT).await;
    assert_eq!(app.shop().stock(print).await.unwrap(), 1);
    let customer = CustomerName::parse("Kim Minji").unwrap();
    let mut carts = Vec::new();
    for _ in 0..16 {
        let cart = CartId::generate().unwrap();
        app.shop()
            .add_to_cart(&cart, print, Quantity::parse("1").unwrap())
            .await
            .unwrap();
        carts.push(cart);
    }
    let mut checkouts = JoinSet::new();
    for cart in carts {
        let shop = app.shop().clone();
        let customer = customer.clone();
        checkouts.spawn(async move { shop.checkout(&cart, &customer).await });
    }
    let (mut placed, mut sold_out) = (Vec::new(), 0);
    while let Some(result) = checkouts.join_next().await {
        match result.unwrap() {
            Ok(order) => placed.push(order),
            Err(ShopError::SoldOut(name)) => {
                assert_eq!(name, PRINT);
                sold_out += 1;
            }
            Err(other) => panic!("unexpected checkout failure: {other}"),
        }
    }
    assert_eq!(
        placed.len(),
        1,
        "exactly one checkout reserves the last item"
    );
    assert_eq!(sold_out, 15);
    assert_eq!(app.shop().stock(print).await.unwrap(), 0);
    assert_eq!(
        app.gateway.calls_to("POST", "/v1/payment_intents").len(),
        1,
        "one intent, for the one order"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_checkout_posts_of_the_last_item_sell_it_once() {
    let (app, _dir) = shop_on_a_file().await;
    let print = app.product(PRINT).await;
    let mut carts = Vec::new();
    for _ in 0..16 {
        carts.push(app.add_to_new_cart(print, 1).await);
    }
    let app = std::sync::Arc::new(app);
    let mut posts = JoinSet::new();
    for cart in carts {
        let app = app.clone();
        posts.spawn(async move {
            let response = app.checkout(&cart).await;
            let status = response.status();
            (status, response.text().await.unwrap())
        });
    }
    let mut statuses = Vec::new();
    while let Some(result) = posts.join_next().await {
        let (status, body) = result.unwrap();
        if status == StatusCode::CONFLICT {
            assert!(body.contains("sold out"), "{body}");
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        15
    );
    assert_eq!(app.shop().stock(print).await.unwrap(), 0);
}

#[tokio::test]
async fn a_cart_with_one_line_short_of_stock_reserves_nothing() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let print = app.product(PRINT).await;
    let first = app.add_to_new_cart(print, 1).await;
    let second = app.add_to_new_cart(beans, 2).await;
    assert_eq!(
        app.post_form(
            "/cart/items",
            &format!("product_id={}&quantity=1", print.0),
            Some(&second)
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.checkout(&first).await.status(), StatusCode::SEE_OTHER);
    let response = app.checkout(&second).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.text().await.unwrap().contains("sold out"));
    assert_eq!(
        app.shop().stock(beans).await.unwrap(),
        10,
        "the beans were not reserved either"
    );
    assert_eq!(app.shop().stock(print).await.unwrap(), 0);
    let second = CartId::parse(second.strip_prefix("shop_cart=").unwrap()).unwrap();
    assert_eq!(
        app.shop().cart(&second).await.unwrap().len(),
        2,
        "the cart is kept"
    );
}

#[tokio::test]
async fn checkout_asks_for_a_manual_intent_of_the_order_total_with_a_return_url() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let cart = app.add_to_new_cart(beans, 2).await;
    let response = app.checkout(&cart).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let order = order_of_redirect(&response);
    let creates = app.gateway.calls_to("POST", "/v1/payment_intents");
    assert_eq!(creates.len(), 1);
    let create = &creates[0];
    assert_eq!(
        create.authorization.as_deref(),
        Some(format!("Bearer {SECRET_KEY}").as_str())
    );
    assert_eq!(
        create.idempotency_key.as_deref(),
        Some(format!("demo-shop-{order}-intent-1").as_str())
    );
    assert_eq!(create.body["amount"], 24_000);
    assert_eq!(create.body["currency"], "KRW");
    assert_eq!(create.body["confirm_mode"], "manual");
    assert_eq!(create.body["merchant_order_id"], order.as_str());
    assert_eq!(create.body["customer_name"], "Kim Minji");
    assert_eq!(create.body["order_name"], "Coffee beans ×2");
    assert_eq!(
        create.body["return_url"],
        app.url(&format!("/orders/{order}/return"))
    );
    let stored = app.shop().order(&order).await.unwrap().order;
    assert_eq!(stored.total, 24_000);
    let intent = stored
        .intent_id
        .expect("the reply's intent is stored on the order");
    assert_eq!(
        app.gateway.intent(&intent)["merchant_order_id"],
        order.as_str()
    );
    assert!(stored.client_secret.is_some());
    assert_eq!(app.shop().stock(beans).await.unwrap(), 8);
}

#[tokio::test]
async fn a_checkout_while_the_gateway_fails_keeps_the_order_and_retries_with_the_same_key() {
    let app = TestShop::start().await;
    app.gateway.fail_creates(true);
    let order = app.place_order("Stoneware mug", 1).await;
    let page = app.get(&format!("/orders/{order}/pay"), None).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"new-code\""), "a retry is offered");
    assert!(
        !html.contains("/sdk/v1/paygate.js"),
        "no SDK without an intent"
    );
    app.gateway.fail_creates(false);
    let retry = app
        .post_form(&format!("/orders/{order}/new-intent"), "", None)
        .await;
    assert_eq!(retry.status(), StatusCode::SEE_OTHER);
    let keys: Vec<_> = app
        .gateway
        .calls_to("POST", "/v1/payment_intents")
        .into_iter()
        .map(|c| c.idempotency_key.unwrap())
        .collect();
    assert_eq!(
        keys,
        vec![format!("demo-shop-{order}-intent-1"); 2],
        "the unanswered attempt is retried under its own key"
    );
    assert!(app
        .shop()
        .order(&order)
        .await
        .unwrap()
        .order
        .intent_id
        .is_some());
}
