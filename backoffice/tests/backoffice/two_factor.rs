//! Two-factor sign-in: set-up with a code the test computes, sign-in in two steps, replayed and
//! stale codes refused, recovery codes spent once, and the owner's requirement.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::store::Outcome;
use backoffice::two_factor::{step_of, TotpKey};
use gateway::clock::Clock as _;
use gateway::domain::query::Page as ListPage;

paygate_test_support::on_both_engines!(
    two_factor_sign_in_takes_a_fresh_code_and_refuses_a_replayed_or_stale_one,
    a_recovery_code_signs_in_once,
    a_session_waiting_for_its_code_opens_no_page,
    turning_two_factor_off_takes_a_current_code,
    an_owner_can_require_two_factor_of_the_whole_team,
);

/// Turns two-factor sign-in on through the pages; the key (read from the set-up page) and the
/// recovery codes.
async fn turn_on(office: &Office, browser: &Browser<'_>) -> (TotpKey, Vec<String>) {
    let setup = browser.submit("/dashboard/account", "/dashboard/account/two-factor/setup", &[]).await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    assert!(setup.body.contains("<svg"), "a QR code of the key");
    let text = setup.body.split("id=\"totp-key\">").nth(1).unwrap().split('<').next().unwrap();
    let key = TotpKey::from_base32(text).expect("the page shows a base32 key");
    let code = key.code_at_step(step_of(office.app.clock.now()));
    let csrf = setup.hidden("csrf").unwrap();
    let on = browser.post("/dashboard/account/two-factor/enable", &[("csrf", &csrf), ("code", &code)], &[]).await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert!(on.body.contains("Two-factor sign-in is on."));
    let codes: Vec<String> = on.body.split("id=\"recovery-codes\">").nth(1).unwrap().split("<code>").skip(1).map(|c| c.split('<').next().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 10);
    (key, codes)
}

async fn second_step(browser: &Browser<'_>, code: &str) -> Page {
    browser.submit("/dashboard/signin/two-factor", "/dashboard/signin/two-factor", &[("code", code)]).await
}

async fn two_factor_sign_in_takes_a_fresh_code_and_refuses_a_replayed_or_stale_one(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, _) = office.signed_up("a@shop.example", "Shop").await;
    let (key, _) = turn_on(&office, &owner).await;
    // The code that turned it on was for this step: signing in needs a later one.
    office.app.clock.advance_ms(30_000);

    let laptop = office.browser();
    let password = laptop.sign_in("a@shop.example", PASSWORD).await;
    assert_eq!(password.location.as_deref(), Some("/dashboard/signin/two-factor"));
    let waiting = laptop.session().unwrap();
    let wrong = second_step(&laptop, "000000").await;
    let wrong = if key.code_at_step(step_of(office.app.clock.now())) == "000000" { second_step(&laptop, "111111").await } else { wrong };
    assert_eq!((wrong.status, wrong.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("code_wrong")));
    let code = key.code_at_step(step_of(office.app.clock.now()));
    let signed_in = second_step(&laptop, &code).await;
    assert_eq!(signed_in.location.as_deref(), Some("/dashboard/transactions"), "{}", signed_in.body);
    assert_ne!(laptop.session().unwrap(), waiting, "a new session id once both factors passed");
    assert_eq!(laptop.get("/dashboard/transactions").await.status, StatusCode::OK);

    // The same code again, on another device within its 30 seconds: refused.
    let thief = office.browser();
    thief.sign_in("a@shop.example", PASSWORD).await;
    let replayed = second_step(&thief, &code).await;
    assert_eq!(replayed.error_code().as_deref(), Some("code_wrong"), "a code is good once");
    // Two steps old: refused too.
    office.app.clock.advance_ms(60_000);
    let stale = key.code_at_step(step_of(office.app.clock.now()) - 2);
    assert_eq!(second_step(&thief, &stale).await.error_code().as_deref(), Some("code_wrong"));
    let fresh = key.code_at_step(step_of(office.app.clock.now()));
    assert_eq!(second_step(&thief, &fresh).await.location.as_deref(), Some("/dashboard/transactions"));

    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &ListPage::first(50)).await.unwrap();
    let steps: Vec<Outcome> = log.iter().filter(|e| e.action == "signin.second_factor").map(|e| e.outcome).collect();
    assert_eq!(steps.iter().filter(|o| **o == Outcome::Success).count(), 2);
    assert_eq!(steps.iter().filter(|o| **o == Outcome::Failure).count(), 3);
    assert!(log.iter().any(|e| e.action == "two_factor.enable" && e.outcome == Outcome::Success));
}

async fn a_recovery_code_signs_in_once(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let (_, codes) = turn_on(&office, &owner).await;
    let phone = office.browser();
    phone.sign_in("a@shop.example", PASSWORD).await;
    // Typed in capitals without its dash, as people do.
    let typed = codes[3].to_uppercase().replace('-', "");
    assert_eq!(second_step(&phone, &typed).await.location.as_deref(), Some("/dashboard/transactions"));
    let again = office.browser();
    again.sign_in("a@shop.example", PASSWORD).await;
    assert_eq!(second_step(&again, &codes[3]).await.error_code().as_deref(), Some("code_wrong"));
    let account = phone.get("/dashboard/account").await;
    assert!(account.body.contains("id=\"recovery-left\">9<"), "{}", account.body);
}

async fn a_session_waiting_for_its_code_opens_no_page(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let (key, _) = turn_on(&office, &owner).await;
    office.app.clock.advance_ms(30_000);
    let browser = office.browser();
    browser.sign_in("a@shop.example", PASSWORD).await;
    for path in ["/dashboard/transactions", "/dashboard/account", "/dashboard/transactions.csv"] {
        assert_eq!(browser.get(path).await.location.as_deref(), Some("/dashboard/signin"), "{path}");
    }
    // It waits five minutes at the most.
    browser.sign_in("a@shop.example", PASSWORD).await;
    let csrf = browser.get("/dashboard/signin/two-factor").await.hidden("csrf").unwrap();
    office.app.clock.advance_ms(5 * 60_000);
    assert_eq!(browser.get("/dashboard/signin/two-factor").await.location.as_deref(), Some("/dashboard/signin"));
    let code = key.code_at_step(step_of(office.app.clock.now()));
    let late = browser.post("/dashboard/signin/two-factor", &[("csrf", &csrf), ("code", &code)], &[]).await;
    assert_eq!(late.location.as_deref(), Some("/dashboard/signin"));
}

async fn turning_two_factor_off_takes_a_current_code(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let (key, _) = turn_on(&office, &owner).await;
    office.app.clock.advance_ms(30_000);
    let wrong = owner.submit("/dashboard/account", "/dashboard/account/two-factor/disable", &[("code", "12345")]).await;
    assert_eq!(wrong.error_code().as_deref(), Some("code_wrong"));
    let code = key.code_at_step(step_of(office.app.clock.now()));
    let off = owner.submit("/dashboard/account", "/dashboard/account/two-factor/disable", &[("code", &code)]).await;
    assert!(off.body.contains("Two-factor sign-in is off."), "{}", off.body);
    let browser = office.browser();
    assert_eq!(browser.sign_in("a@shop.example", PASSWORD).await.location.as_deref(), Some("/dashboard/transactions"), "the password alone again");
}

async fn an_owner_can_require_two_factor_of_the_whole_team(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let analyst = office.member(&merchant_id, "analyst@shop.example", backoffice::domain::Role::Analyst).await;
    // Only the owner may change it.
    let refused = analyst.submit("/dashboard/transactions", "/dashboard/settings/two-factor", &[("required", "on")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(analyst.get("/dashboard/settings").await.status, StatusCode::FORBIDDEN);
    let (_, _) = turn_on(&office, &owner).await;
    let saved = owner.submit("/dashboard/settings", "/dashboard/settings/two-factor", &[("required", "on")]).await;
    assert_eq!(saved.location.as_deref(), Some("/dashboard/settings"));
    // The analyst without it is held at the set-up page until it is on.
    let held = analyst.get("/dashboard/transactions").await;
    assert_eq!(held.location.as_deref(), Some("/dashboard/account"));
    let account = analyst.get("/dashboard/account").await;
    assert!(account.body.contains("id=\"two-factor-required\""), "{}", account.body);
    turn_on(&office, &analyst).await;
    assert_eq!(analyst.get("/dashboard/transactions").await.status, StatusCode::OK);
    // And it cannot be turned off while required.
    office.app.clock.advance_ms(30_000);
    let off = owner.submit("/dashboard/account", "/dashboard/account/two-factor/disable", &[("code", "123456")]).await;
    assert_eq!((off.status, off.error_code().as_deref()), (StatusCode::FORBIDDEN, Some("two_factor_required")));
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &ListPage::first(50)).await.unwrap();
    assert!(log.iter().any(|e| e.action == "settings.two_factor.required" && e.actor == "owner@shop.example"));
    assert!(log.iter().any(|e| e.action == "settings.two_factor" && e.outcome == Outcome::Refused && e.actor == "analyst@shop.example"));
}
