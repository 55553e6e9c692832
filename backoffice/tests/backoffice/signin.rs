//! Sign-in, lockout, sessions' idle and absolute limits, and signing out (here and everywhere).

use crate::helpers::*;
use axum::http::StatusCode;

paygate_test_support::on_both_engines!(
    each_sign_in_gets_a_new_session_id_in_an_http_only_cookie,
    an_unknown_email_and_a_wrong_password_answer_alike,
    the_tenth_failed_sign_in_locks_the_account_for_thirty_minutes,
    a_session_ends_after_fifteen_idle_minutes,
    a_session_ends_twelve_hours_after_sign_in_however_busy,
    signing_out_everywhere_ends_every_session_of_the_staff_member,
    signing_out_ends_this_session_only,
    with_redis_sessions_live_there_expire_on_the_services_clock_and_end_everywhere_at_once,
);

async fn each_sign_in_gets_a_new_session_id_in_an_http_only_cookie(app: TestApp) {
    let office = Office::over(app).await;
    let (first, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let second = office.browser();
    let page = second.sign_in("a@shop.example", PASSWORD).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let cookie = page.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    // The test app's public URL is https: the cookie is __Host- prefixed and Secure.
    assert!(cookie.starts_with("__Host-paygate_session=bos_"), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("Domain"));
    assert_ne!(first.session(), second.session());
    // 43 base62 characters after the prefix: about 256 bits.
    assert_eq!(second.session().unwrap().len(), 4 + 43);
    assert_eq!(second.get("/dashboard/transactions").await.status, StatusCode::OK);
}

async fn an_unknown_email_and_a_wrong_password_answer_alike(app: TestApp) {
    let office = Office::over(app).await;
    office.signed_up("a@shop.example", "Shop").await;
    let browser = office.browser();
    let wrong = browser.sign_in("a@shop.example", "not the password at all").await;
    let unknown = browser.sign_in("nobody@shop.example", "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!((wrong.status, wrong.error_code()), (unknown.status, unknown.error_code()));
    assert!(browser.session().is_none());
}

async fn the_tenth_failed_sign_in_locks_the_account_for_thirty_minutes(app: TestApp) {
    let office = Office::over(app).await;
    office.signed_up("a@shop.example", "Shop").await;
    let browser = office.browser();
    for _ in 0..10 {
        assert_eq!(browser.sign_in("a@shop.example", "wrong password here").await.error_code().as_deref(), Some("credentials_invalid"));
        // Past the per-minute rate limits: this is about the lock.
        office.app.clock.advance_ms(61_000);
    }
    let locked = browser.sign_in("a@shop.example", PASSWORD).await;
    assert_eq!((locked.status, locked.error_code().as_deref()), (StatusCode::LOCKED, Some("account_locked")));
    office.app.clock.advance_ms(30 * 60_000);
    assert_eq!(browser.sign_in("a@shop.example", PASSWORD).await.status, StatusCode::SEE_OTHER);
}

async fn a_session_ends_after_fifteen_idle_minutes(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, _) = office.signed_up("a@shop.example", "Shop").await;
    office.app.clock.advance_ms(14 * 60_000);
    assert_eq!(browser.get("/dashboard/transactions").await.status, StatusCode::OK);
    office.app.clock.advance_ms(14 * 60_000);
    assert_eq!(browser.get("/dashboard/transactions").await.status, StatusCode::OK, "used within 15 minutes, so still good");
    office.app.clock.advance_ms(15 * 60_000);
    let ended = browser.get("/dashboard/transactions").await;
    assert_eq!((ended.status, ended.location.as_deref()), (StatusCode::SEE_OTHER, Some("/dashboard/signin")));
}

async fn a_session_ends_twelve_hours_after_sign_in_however_busy(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, _) = office.signed_up("a@shop.example", "Shop").await;
    for _ in 0..(12 * 6 - 1) {
        office.app.clock.advance_ms(10 * 60_000);
        assert_eq!(browser.get("/dashboard/transactions").await.status, StatusCode::OK);
    }
    office.app.clock.advance_ms(10 * 60_000);
    assert_eq!(browser.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"));
}

async fn signing_out_everywhere_ends_every_session_of_the_staff_member(app: TestApp) {
    let office = Office::over(app).await;
    let (laptop, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let desktop = office.browser();
    desktop.sign_in("a@shop.example", PASSWORD).await;
    let out = laptop.submit("/dashboard/transactions", "/dashboard/signout/everywhere", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/dashboard/signin"));
    assert!(laptop.session().is_none());
    assert_eq!(desktop.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"));
}

async fn signing_out_ends_this_session_only(app: TestApp) {
    let office = Office::over(app).await;
    let (laptop, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let desktop = office.browser();
    desktop.sign_in("a@shop.example", PASSWORD).await;
    let kept = laptop.session().unwrap();
    laptop.submit("/dashboard/transactions", "/dashboard/signout", &[]).await;
    // The old cookie, replayed, is dead.
    laptop.set_cookie("__Host-paygate_session", &kept);
    assert_eq!(laptop.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"));
    assert_eq!(desktop.get("/dashboard/transactions").await.status, StatusCode::OK);
}

async fn with_redis_sessions_live_there_expire_on_the_services_clock_and_end_everywhere_at_once(app: TestApp) {
    let url = gateway::secret::Secret::new(std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()));
    let office = Office::over_settings(app, backoffice::BackofficeSettings { dev_mailbox: true, redis_url: Some(url), redis_prefix: Some(format!("paygate:test:{}", gateway::ids::random_base62(12))), ..Default::default() }).await;
    let email = format!("redis-{}@shop.example", gateway::ids::random_base62(8).to_lowercase());
    let (first, _, _) = office.signed_up(&email, "Shop").await;
    let second = office.browser();
    assert_eq!(second.sign_in(&email, PASSWORD).await.status, StatusCode::SEE_OTHER);
    assert_eq!(first.get("/dashboard/transactions").await.status, StatusCode::OK);
    assert_eq!(office.app.raw_text("SELECT id_hash FROM staff_sessions").await.len(), 0, "no session in the database");

    // Idle for 16 minutes on the services clock: the first is over, the second kept busy.
    for _ in 0..4 {
        office.app.clock.advance_ms(4 * 60_000);
        assert_eq!(second.get("/dashboard/transactions").await.status, StatusCode::OK);
    }
    assert_eq!(first.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"));
    let third = office.browser();
    third.sign_in(&email, PASSWORD).await;
    let out = second.submit("/dashboard/transactions", "/dashboard/signout/everywhere", &[]).await;
    assert_eq!(out.location.as_deref(), Some("/dashboard/signin"));
    assert_eq!(third.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"), "ended on every device");
    assert!(office.office.housekeeping().await.unwrap().sessions >= 3, "housekeeping forgets them in Redis too");
}
