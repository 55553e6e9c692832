//! The pages: the security policy on every one, the cart cookie's attributes, the pay page's
//! hand-over to the SDK (and nothing secret), and a message page for every bad input.

use crate::support::fake_gateway::{PUBLISHABLE_KEY, SECRET_KEY};
use crate::support::TestShop;
use reqwest::StatusCode;

fn expected_policy(gateway: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' {gateway} 'wasm-unsafe-eval'; style-src 'self' {gateway}; connect-src {gateway}; img-src 'self' data:; frame-ancestors 'none'"
    )
}

#[tokio::test]
async fn every_page_carries_the_content_security_policy() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let policy = expected_policy(&app.gateway.url);
    for path in [
        "/",
        "/cart",
        "/orders",
        &format!("/orders/{order}"),
        &format!("/orders/{order}/pay"),
        &format!("/orders/{order}/return"),
        "/no-such-page",
    ] {
        let response = app.get(path, None).await;
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert_eq!(
            response.headers()["content-security-policy"],
            policy.as_str(),
            "{path}"
        );
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_cart_cookie_is_unguessable_http_only_and_same_site_lax() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let response = app
        .post_form(
            "/cart/items",
            &format!("product_id={}&quantity=1", beans.0),
            None,
        )
        .await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    let value = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("shop_cart=")
        .unwrap();
    assert_eq!(value.len(), 32);
    let cart = app
        .get("/cart", Some(&format!("shop_cart={value}")))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        cart.contains("Coffee beans") && cart.contains("₩12,000"),
        "{cart}"
    );
    let forged = app
        .get("/cart", Some("shop_cart=../../x"))
        .await
        .text()
        .await
        .unwrap();
    assert!(forged.contains("id=\"cart-empty\""));
}

#[tokio::test]
async fn the_pay_page_hands_the_sdk_the_intent_but_never_the_secret_key() {
    let app = TestShop::start().await;
    let order = app.place_order("Coffee beans", 1).await;
    let response = app.get(&format!("/orders/{order}/pay"), None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.unwrap();
    let secret = app
        .shop()
        .order(&order)
        .await
        .unwrap()
        .order
        .client_secret
        .unwrap();
    assert!(
        html.contains(&format!(
            "<script src=\"{}/sdk/v1/paygate.js\"></script>",
            app.gateway.url
        )),
        "{html}"
    );
    assert!(html.contains("<script src=\"/assets/checkout.js\"></script>"));
    assert!(html.contains(&format!("data-client-secret=\"{}\"", secret.expose())));
    assert!(html.contains(&format!("data-publishable-key=\"{PUBLISHABLE_KEY}\"")));
    assert!(html.contains("data-locale=\"en\""));
    for id in [
        "id=\"pay\"",
        "id=\"pay-result\"",
        "id=\"new-code\"",
        "₩12,000",
    ] {
        assert!(html.contains(id), "{id} missing");
    }
    assert!(
        !html.contains(SECRET_KEY) && !html.contains("sk_test_"),
        "the secret key never reaches the browser"
    );
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    let detail = app
        .get(&format!("/orders/{order}"), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(detail.contains("id=\"order-status\"") && detail.contains("data-status=\"pending\""));
    assert!(detail.contains("id=\"cancel-order\""));
}

#[tokio::test]
async fn the_assets_are_served_and_the_script_never_fetches_the_shop() {
    let app = TestShop::start().await;
    let js = app.get("/assets/checkout.js", None).await;
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let js = js.text().await.unwrap();
    assert!(js.contains("Paygate.load") && js.contains("pg.pay") && js.contains("window.Paygate"));
    assert!(
        !js.contains("fetch(") && !js.contains("XMLHttpRequest"),
        "connect-src does not include the shop"
    );
    let css = app.get("/assets/shop.css", None).await;
    assert_eq!(css.status(), StatusCode::OK);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}

#[tokio::test]
async fn bad_form_input_gets_a_message_page() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let cart = app.add_to_new_cart(beans, 1).await;
    let cases: [(&str, &str, StatusCode, &str); 9] = [
        (
            "/cart/items",
            "product_id=abc&quantity=1",
            StatusCode::BAD_REQUEST,
            "does not exist",
        ),
        (
            "/cart/items",
            "product_id=999&quantity=1",
            StatusCode::NOT_FOUND,
            "no such",
        ),
        (
            "/cart/items",
            "product_id=1&quantity=0",
            StatusCode::BAD_REQUEST,
            "from 1 to 99",
        ),
        (
            "/cart/items",
            "product_id=1&quantity=100000000000000000000",
            StatusCode::BAD_REQUEST,
            "from 1 to 99",
        ),
        (
            "/cart/items",
            "quantity=%FF%FE",
            StatusCode::BAD_REQUEST,
            "Please check the form",
        ),
        (
            "/checkout",
            "customer_name=+++",
            StatusCode::BAD_REQUEST,
            "enter your name",
        ),
        (
            "/checkout",
            "customer_name=a%00b",
            StatusCode::BAD_REQUEST,
            "control characters",
        ),
        (
            "/cart/remove",
            "product_id=-4",
            StatusCode::BAD_REQUEST,
            "does not exist",
        ),
        (
            "/orders/ord_nope/cancel",
            "",
            StatusCode::NOT_FOUND,
            "no such",
        ),
    ];
    for (path, form, status, text) in cases {
        let response = app.post_form(path, form, Some(&cart)).await;
        assert_eq!(response.status(), status, "{path} {form}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let html = response.text().await.unwrap();
        assert!(html.contains(text), "{path} {form}: {html}");
    }
    let empty = app.post_form("/checkout", "customer_name=Kim", None).await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let not_a_form = app
        .http
        .post(app.url("/checkout"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(not_a_form.status(), StatusCode::BAD_REQUEST);
    for path in ["/orders/%00", "/orders/ord_<script>", "/orders/x/pay"] {
        assert_eq!(
            app.get(path, None).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn customer_text_is_escaped_on_the_pages() {
    let app = TestShop::start().await;
    let beans = app.product("Coffee beans").await;
    let cart = app.add_to_new_cart(beans, 1).await;
    let response = app
        .post_form(
            "/checkout",
            "customer_name=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            Some(&cart),
        )
        .await;
    let order = crate::support::order_of_redirect(&response);
    let html = app
        .get(&format!("/orders/{order}"), None)
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert(1)</script>"));
    assert!(
        html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
        "{html}"
    );
}
