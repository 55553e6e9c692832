//! CSRF: every state change must come from this site and carry its form's token.

use crate::helpers::*;
use axum::http::StatusCode;

paygate_test_support::on_both_engines!(every_post_route_refuses_a_form_without_its_token, a_cross_site_request_is_refused_even_with_the_right_token,);

/// Every POST route of the back office (`{id}`: a payment of the merchant).
const POST_ROUTES: &[&str] = &[
    "/dashboard/signup",
    "/dashboard/signup/confirm",
    "/dashboard/signin",
    "/dashboard/signin/two-factor",
    "/dashboard/account/two-factor/setup",
    "/dashboard/account/two-factor/enable",
    "/dashboard/account/two-factor/disable",
    "/dashboard/settings/time-zone",
    "/dashboard/settings/two-factor",
    "/dashboard/signout",
    "/dashboard/signout/everywhere",
    "/dashboard/switch",
    "/dashboard/team/invite",
    "/dashboard/team/invitations/inv_x/revoke",
    "/dashboard/team/members/staff_x/role",
    "/dashboard/team/members/staff_x/remove",
    "/dashboard/invitations/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/accept",
    "/dashboard/payments/{id}/refund",
    "/dashboard/payments/{id}/cancel",
    "/dashboard/transactions/views",
    "/dashboard/transactions/views/view_x/delete",
    "/dashboard/developers/keys",
    "/dashboard/developers/keys/key_x/roll",
    "/dashboard/developers/keys/key_x/revoke",
    "/dashboard/developers/webhooks",
    "/dashboard/developers/webhooks/we_x",
    "/dashboard/developers/webhooks/we_x/rotate",
    "/dashboard/developers/webhooks/we_x/enable",
    "/dashboard/developers/webhooks/we_x/disable",
    "/dashboard/developers/webhooks/we_x/resend",
    "/dashboard/developers/webhooks/we_x/resend-failed",
];

async fn every_post_route_refuses_a_form_without_its_token(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, merchant_id, sk) = office.signed_up("a@shop.example", "Shop").await;
    let paid = office.app.paid_intent(&sk, 10_000).await;
    let submit = "a".repeat(32);
    for route in POST_ROUTES {
        let route = &route.replace("{id}", &paid);
        let fields = [("email", "a@shop.example"), ("password", PASSWORD), ("merchant", merchant_id.as_str()), ("merchant_name", "X"), ("submit", submit.as_str()), ("time_zone", "Europe/London"), ("required", "on")];
        let missing = browser.post(route, &fields, &[]).await;
        assert_eq!((missing.status, missing.error_code().as_deref()), (StatusCode::FORBIDDEN, Some("csrf_refused")), "{route}");
        let mut forged = vec![("csrf", "x".repeat(64))];
        forged.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let forged: Vec<(&str, &str)> = forged.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let wrong = browser.post(route, &forged, &[]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{route}");
    }
    // Nothing happened: the session is still good, nothing was refunded.
    assert_eq!(browser.get("/dashboard/transactions").await.status, StatusCode::OK);
    assert_eq!(office.app.get(&sk, &format!("/v1/payment_intents/{paid}")).await.body["amount_refunded"], 0);
    let settings = browser.get("/dashboard/settings").await;
    assert!(settings.body.contains("value=\"Asia/Seoul\"") && !settings.body.contains(" checked>"), "no setting changed");
}

async fn a_cross_site_request_is_refused_even_with_the_right_token(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let csrf = browser.get("/dashboard/transactions").await.hidden("csrf").unwrap();
    let fields = [("csrf", csrf.as_str())];
    let cross = browser.post("/dashboard/signout", &fields, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!((cross.status, cross.error_code().as_deref()), (StatusCode::FORBIDDEN, Some("csrf_refused")));
    let other_origin = browser.post("/dashboard/signout", &fields, &[("origin", "https://evil.example")]).await;
    assert_eq!(other_origin.status, StatusCode::FORBIDDEN);
    assert_eq!(browser.get("/dashboard/transactions").await.status, StatusCode::OK, "still signed in");
    // From this site's own origin, the same form signs out.
    let same = browser.post("/dashboard/signout", &fields, &[("origin", "https://pay.example.test"), ("sec-fetch-site", "same-origin")]).await;
    assert_eq!(same.location.as_deref(), Some("/dashboard/signin"));
}
