//! Korean and English, light and dark: chosen by Accept-Language or the switch, remembered in
//! cookies, on every page and in error messages.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

paygate_test_support::on_both_engines!(
    a_korean_browser_gets_korean_pages_and_the_switch_remembers_english,
    the_theme_toggle_turns_dark_and_back_and_returns_to_the_same_filtered_page,
);

async fn a_korean_browser_gets_korean_pages_and_the_switch_remembers_english(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    office.app.fake_intent(&sk).customer("김민수").paid().await;
    let korean = |path: &str| Request::get(path).header(header::COOKIE, format!("__Host-paygate_session={}", owner.session().unwrap())).header(header::ACCEPT_LANGUAGE, "ko-KR,ko;q=0.9").body(Body::empty()).unwrap();
    let list = owner.send(korean("/dashboard/transactions?range=all")).await;
    assert!(list.body.contains("<html lang=\"ko\""), "{}", list.body);
    for text in ["거래 내역", "고객 이름", "최근 30일", "CSV 내보내기", ">결제<", "로그아웃", ">English<"] {
        assert!(list.body.contains(text), "the Korean list shows {text}");
    }
    // Errors are Korean too, with the same stable code.
    let bad = owner.send(korean("/dashboard/transactions?type=chargeback")).await;
    assert_eq!(bad.error_code().as_deref(), Some("type_invalid"));
    let missing = owner.send(korean("/dashboard/payments/pi_doesnotexist")).await;
    assert!(missing.body.contains("찾을 수 없습니다.") && missing.body.contains("data-code=\"not_found\""));
    // The switch sets a cookie that wins over Accept-Language, and goes back.
    let back = url::form_urlencoded::byte_serialize(b"/dashboard/transactions?range=all").collect::<String>();
    let switched = owner.get(&format!("/dashboard/prefs?lang=en&back={back}")).await;
    assert_eq!(switched.location.as_deref(), Some("/dashboard/transactions?range=all"));
    let english = owner.send(Request::get("/dashboard/transactions?range=all").header(header::COOKIE, format!("__Host-paygate_session={}; paygate_lang=en", owner.session().unwrap())).header(header::ACCEPT_LANGUAGE, "ko-KR").body(Body::empty()).unwrap()).await;
    assert!(english.body.contains("<html lang=\"en\"") && english.body.contains("Customer name"));
    // Pages before sign-in too.
    let signin = office.browser().send(Request::get("/dashboard/signin").header(header::ACCEPT_LANGUAGE, "ko").body(Body::empty()).unwrap()).await;
    assert!(signin.body.contains("로그인") && signin.body.contains("비밀번호"));
}

async fn the_theme_toggle_turns_dark_and_back_and_returns_to_the_same_filtered_page(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, _) = office.signed_up("owner@shop.example", "Shop").await;
    let page = owner.get("/dashboard/transactions?q=kim&range=7d").await;
    assert!(page.body.contains("data-theme=\"system\""));
    let toggle = page.link("theme-toggle").unwrap();
    assert!(toggle.starts_with("/dashboard/prefs?theme=dark&back=%2Fdashboard%2Ftransactions%3Fq%3Dkim%26range%3D7d"), "{toggle}");
    let went = owner.get(&toggle).await;
    assert_eq!(went.location.as_deref(), Some("/dashboard/transactions?q=kim&range=7d"));
    let cookie = went.headers.get(header::SET_COOKIE).unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("paygate_theme=dark;") && cookie.contains("Max-Age=31536000"), "{cookie}");
    let dark = owner.get("/dashboard/transactions").await;
    assert!(dark.body.contains("data-theme=\"dark\""));
    assert!(dark.link("theme-toggle").unwrap().contains("theme=light"));
    // Never back to another site.
    assert_eq!(owner.get("/dashboard/prefs?theme=light&back=https://evil.example/").await.location.as_deref(), Some("/dashboard"));
    assert_eq!(owner.get("/dashboard/prefs?theme=light&back=//evil.example").await.status, StatusCode::SEE_OTHER);
}
