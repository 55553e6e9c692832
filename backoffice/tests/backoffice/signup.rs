//! Merchant sign-up: the mailed code, its expiry and its attempts, and a double submit.

use crate::helpers::*;
use axum::http::StatusCode;

paygate_test_support::on_both_engines!(
    a_merchant_signs_up_with_the_mailed_code_and_gets_test_keys_at_once,
    a_code_is_refused_ten_minutes_after_it_was_sent,
    five_wrong_codes_spend_the_sign_up,
    submitting_the_right_code_twice_at_once_creates_one_merchant,
    a_short_password_or_a_bad_email_is_refused_with_its_code,
    without_mail_or_a_development_mailbox_sign_up_says_so_and_no_mailbox_page_exists,
);

async fn a_merchant_signs_up_with_the_mailed_code_and_gets_test_keys_at_once(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, merchant_id, sk) = office.signed_up("owner@bakery.example", "Seoul Bakery").await;
    let mailbox = browser.get("/dashboard/dev/mail").await;
    assert!(mailbox.body.contains("is your Paygate confirmation code"), "{}", mailbox.body);
    // The secret key works against the API at once, in test mode.
    let created = office.app.fake_intent(&sk).create().await;
    assert!(created.starts_with("pi_"));
    let list = browser.get("/dashboard/transactions").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("Seoul Bakery") && list.body.contains("id=\"test-badge\""));
    let merchant = office.app.store.get_merchant(&merchant_id).await.unwrap();
    assert_eq!(merchant.name, "Seoul Bakery");
    // The welcome page was the only place the secret key appeared.
    assert!(!list.body.contains(&sk));
}

async fn a_code_is_refused_ten_minutes_after_it_was_sent(app: TestApp) {
    let office = Office::over(app).await;
    let browser = office.browser();
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "late@shop.example"), ("password", PASSWORD), ("merchant_name", "Late Shop")]).await;
    let confirm = page.location.unwrap();
    let signup = confirm.split("signup=").nth(1).unwrap().to_owned();
    let code = office.code_for("late@shop.example");
    office.app.clock.advance_ms(10 * 60_000);
    let refused = browser.submit(&confirm, "/dashboard/signup/confirm", &[("signup", &signup), ("code", &code)]).await;
    assert_eq!(refused.status, StatusCode::GONE);
    assert_eq!(refused.error_code().as_deref(), Some("signup_expired"));
    assert!(office.app.store.list_merchants().await.unwrap().is_empty());
}

async fn five_wrong_codes_spend_the_sign_up(app: TestApp) {
    let office = Office::over(app).await;
    let browser = office.browser();
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "guess@shop.example"), ("password", PASSWORD), ("merchant_name", "Guess")]).await;
    let confirm = page.location.unwrap();
    let signup = confirm.split("signup=").nth(1).unwrap().to_owned();
    let right = office.code_for("guess@shop.example");
    let wrong = if right == "000000" { "000001" } else { "000000" };
    for attempt in 1..=5 {
        let refused = browser.submit(&confirm, "/dashboard/signup/confirm", &[("signup", &signup), ("code", wrong)]).await;
        let expected = if attempt < 5 { "code_wrong" } else { "signup_expired" };
        assert_eq!(refused.error_code().as_deref(), Some(expected), "attempt {attempt}");
    }
    let too_late = browser.submit(&confirm, "/dashboard/signup/confirm", &[("signup", &signup), ("code", &right)]).await;
    assert_eq!(too_late.error_code().as_deref(), Some("signup_expired"));
}

async fn submitting_the_right_code_twice_at_once_creates_one_merchant(app: TestApp) {
    let office = Office::over(app).await;
    let browser = office.browser();
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "twice@shop.example"), ("password", PASSWORD), ("merchant_name", "Twice")]).await;
    let confirm = page.location.unwrap();
    let signup = confirm.split("signup=").nth(1).unwrap().to_owned();
    let code = office.code_for("twice@shop.example");
    let form = browser.get(&confirm).await;
    let csrf = form.hidden("csrf").unwrap();
    let fields = [("csrf", csrf.as_str()), ("signup", signup.as_str()), ("code", code.as_str())];
    let (a, b) = tokio::join!(browser.post("/dashboard/signup/confirm", &fields, &[]), browser.post("/dashboard/signup/confirm", &fields, &[]));
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "{} / {}", a.body, b.body);
    assert_eq!(office.app.store.list_merchants().await.unwrap().len(), 1);
}

async fn a_short_password_or_a_bad_email_is_refused_with_its_code(app: TestApp) {
    let office = Office::over(app).await;
    let browser = office.browser();
    let short = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "a@shop.example"), ("password", "elevenchars"), ("merchant_name", "A")]).await;
    assert_eq!((short.status, short.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("password_too_short")));
    // What was typed stays in the form, except the password.
    assert!(short.body.contains("value=\"a@shop.example\"") && !short.body.contains("elevenchars"));
    let email = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "not-an-email"), ("password", PASSWORD), ("merchant_name", "A")]).await;
    assert_eq!(email.error_code().as_deref(), Some("email_invalid"));
    let name = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "a@shop.example"), ("password", PASSWORD), ("merchant_name", "  ")]).await;
    assert_eq!(name.status, StatusCode::UNPROCESSABLE_ENTITY);
    let code = browser.submit("/dashboard/signup/confirm?signup=signup_x", "/dashboard/signup/confirm", &[("signup", "signup_x"), ("code", "12ab56")]).await;
    assert_eq!(code.error_code().as_deref(), Some("code_invalid"));
}

async fn without_mail_or_a_development_mailbox_sign_up_says_so_and_no_mailbox_page_exists(app: TestApp) {
    let office = Office::over_settings(app, backoffice::BackofficeSettings::default()).await;
    let browser = office.browser();
    assert_eq!(browser.get("/dashboard/dev/mail").await.status, StatusCode::NOT_FOUND);
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "a@shop.example"), ("password", PASSWORD), ("merchant_name", "A")]).await;
    assert_eq!((page.status, page.error_code().as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("mail_unavailable")));
    assert!(!browser.get("/dashboard/signin").await.body.contains("/dashboard/dev/mail"));
}
