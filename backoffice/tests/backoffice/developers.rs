//! The developers' pages: API keys (shown once, rolled with an expiry, revoked, last used),
//! webhook endpoints against a real local receiver (secret shown once, events, rotation,
//! disable and enable, the delivery log, resend one, resend what failed since a time) and the
//! events browser; each change audited.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::domain::Role;
use backoffice::store::{AuditEntry, Outcome};
use gateway::clock::Clock;
use gateway::domain::query::Page as ListPage;
use serde_json::json;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

paygate_test_support::on_both_engines!(
    a_new_key_is_shown_once_works_at_once_and_its_last_use_appears,
    a_rolled_key_keeps_working_for_the_chosen_time_and_a_revoked_one_stops_at_once,
    an_endpoint_shows_its_secret_once_and_logs_each_attempt_with_status_latency_and_error,
    an_endpoint_is_changed_rotated_disabled_enabled_and_resends_one_event,
    everything_that_failed_since_a_local_time_is_sent_again,
    the_events_browser_lists_by_type_and_shows_an_events_payload_and_deliveries,
    roles_without_developer_rights_see_no_developer_pages_and_are_refused,
);

/// A webhook receiver on a real port: answers `status` and keeps the `webhook-id`s it got.
struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(status: u16) -> Self {
        let status = Arc::new(AtomicU16::new(status));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (status.clone(), got.clone());
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: axum::http::HeaderMap| {
                let (s, g) = (s.clone(), g.clone());
                async move {
                    g.lock().unwrap().push(headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned());
                    StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, status, got }
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn got(&self) -> Vec<String> {
        self.got.lock().unwrap().clone()
    }
}

async fn audit(office: &Office, merchant_id: &str) -> Vec<AuditEntry> {
    office.office.stores.audit.list_audit(merchant_id, &Default::default(), &ListPage::first(100)).await.unwrap()
}

fn text_of(page: &Page, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let at = page.body.find(&marker)? + marker.len();
    let rest = &page.body[at..];
    Some(rest[rest.find('>')? + 1..].split('<').next()?.to_owned())
}

async fn event_ids(office: &Office, merchant_id: &str) -> Vec<String> {
    office.app.raw_text(&format!("SELECT id FROM events WHERE merchant_id = '{merchant_id}' ORDER BY seq")).await
}

async fn a_new_key_is_shown_once_works_at_once_and_its_last_use_appears(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, merchant_id, _) = office.signed_up("dev@shop.example", "Shop").await;
    let list = browser.get("/dashboard/developers/keys").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.matches("data-key=\"key_").count(), 2, "the test keys of sign-up");
    assert!(list.body.contains("href=\"/dashboard/developers\""), "the owner's nav has the developers' pages");

    let made = browser.submit("/dashboard/developers/keys", "/dashboard/developers/keys", &[("kind", "secret"), ("mode", "test")]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let key = text_of(&made, "new-key").expect("the new key on the page");
    assert!(key.starts_with("sk_test_") && key.len() == 72, "{key}");
    assert_eq!(made.headers["cache-control"], "no-store");
    assert_eq!(office.app.get(&key, "/v1/payment_intents").await.status, StatusCode::OK, "it works at once");

    let later = browser.get("/dashboard/developers/keys").await;
    assert!(!later.body.contains(&key[8..]), "never shown again");
    assert_eq!(later.body.matches("data-key=\"key_").count(), 3);
    assert!(later.body.contains(&format!("<code>{}…</code>", &key[..12])), "its prefix is");
    let used = office.office.services.list_keys(&merchant_id).await.unwrap().into_iter().find(|k| key.starts_with(k.display_prefix.trim_end_matches('…'))).unwrap();
    let shown_time = backoffice::domain::TimeZone::default_zone().format(used.last_used_at.expect("its use was noted"));
    assert!(later.body.contains(&format!("<td class=\"last-used\">{shown_time}</td>")), "last used, in the merchant's zone");

    let live = browser.submit("/dashboard/developers/keys", "/dashboard/developers/keys", &[("kind", "publishable"), ("mode", "live")]).await;
    assert!(text_of(&live, "new-key").unwrap().starts_with("pk_live_"));
    let bad = browser.submit("/dashboard/developers/keys", "/dashboard/developers/keys", &[("kind", "root"), ("mode", "test")]).await;
    assert_eq!((bad.status, bad.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("key_kind_invalid")));
    let bad = browser.submit("/dashboard/developers/keys", "/dashboard/developers/keys", &[("kind", "secret"), ("mode", "prod")]).await;
    assert_eq!(bad.error_code().as_deref(), Some("mode_invalid"));

    let log = audit(&office, &merchant_id).await;
    assert_eq!(log.iter().filter(|e| e.action == "api_key.create" && e.outcome == Outcome::Success).count(), 2);
    assert!(log.iter().all(|e| !format!("{e:?}").contains(&key[8..])), "no key in the audit log");
}

async fn a_rolled_key_keeps_working_for_the_chosen_time_and_a_revoked_one_stops_at_once(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, merchant_id, sk) = office.signed_up("dev@shop.example", "Shop").await;
    let keys = office.office.services.list_keys(&merchant_id).await.unwrap();
    let old = keys.iter().find(|k| sk.starts_with(k.display_prefix.trim_end_matches('…'))).unwrap().id.clone();
    let roll = format!("/dashboard/developers/keys/{old}/roll");

    let bad = browser.submit("/dashboard/developers/keys", &roll, &[("expires_in", "forever")]).await;
    assert_eq!(bad.error_code().as_deref(), Some("expiry_invalid"));
    let rolled = browser.submit("/dashboard/developers/keys", &roll, &[("expires_in", "1h")]).await;
    assert_eq!(rolled.status, StatusCode::OK, "{}", rolled.body);
    let new = text_of(&rolled, "new-key").unwrap();
    assert!(new.starts_with("sk_test_") && new != sk);
    assert!(rolled.body.contains(&format!("data-key=\"{old}\" data-state=\"expiring\"")));
    assert_eq!(office.app.get(&sk, "/v1/payment_intents").await.status, StatusCode::OK, "the old key works for the hour");
    office.app.clock.advance_ms(3_600_000);
    assert_eq!(office.app.get(&sk, "/v1/payment_intents").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(office.app.get(&new, "/v1/payment_intents").await.status, StatusCode::OK);
    browser.sign_in("dev@shop.example", PASSWORD).await; // the hour outlasted the idle limit
    let page = browser.get("/dashboard/developers/keys").await;
    assert!(page.body.contains(&format!("data-key=\"{old}\" data-state=\"expired\"")));
    let again = browser.submit("/dashboard/developers/keys", &roll, &[("expires_in", "now")]).await;
    assert_eq!((again.status, again.error_code().as_deref()), (StatusCode::CONFLICT, Some("key_not_usable")), "an expired key is not rolled");

    let new_id = office.office.services.list_keys(&merchant_id).await.unwrap().into_iter().find(|k| new.starts_with(k.display_prefix.trim_end_matches('…'))).unwrap().id;
    let revoke = format!("/dashboard/developers/keys/{new_id}/revoke");
    let revoked = browser.submit("/dashboard/developers/keys", &revoke, &[]).await;
    assert_eq!(revoked.location.as_deref(), Some("/dashboard/developers/keys"));
    assert_eq!(office.app.get(&new, "/v1/payment_intents").await.code(), "api_key_expired", "stops at once");
    let twice = browser.submit("/dashboard/developers/keys", &revoke, &[]).await;
    assert_eq!(twice.location.as_deref(), Some("/dashboard/developers/keys"), "a double submit is done already");
    assert!(browser.get("/dashboard/developers/keys").await.body.contains(&format!("data-key=\"{new_id}\" data-state=\"revoked\"")));

    let mut actions: Vec<String> = audit(&office, &merchant_id).await.iter().filter(|e| e.action.starts_with("api_key.")).map(|e| format!("{} {:?}", e.action, e.outcome)).collect();
    actions.sort();
    assert_eq!(actions, vec!["api_key.revoke Success", "api_key.roll Success"], "the refused inputs changed nothing");
}

async fn an_endpoint_shows_its_secret_once_and_logs_each_attempt_with_status_latency_and_error(app: TestApp) {
    let office = Office::over(app).await;
    let receiver = Receiver::start(500).await;
    let (browser, merchant_id, sk) = office.signed_up("dev@shop.example", "Shop").await;
    let empty = browser.get("/dashboard/developers/webhooks").await;
    assert!(empty.body.contains("id=\"test-badge\""), "test mode by default, with its badge");

    let none = browser.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", &receiver.url)]).await;
    assert_eq!(none.error_code().as_deref(), Some("parameter_missing"), "at least one event type");
    let bad = browser.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", "ftp://x"), ("events", "*")]).await;
    assert_eq!((bad.status, bad.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("url_invalid")));
    let live_http = browser.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "live"), ("url", &receiver.url), ("events", "*")]).await;
    assert_eq!(live_http.error_code().as_deref(), Some("url_invalid"), "live endpoints use https");

    let created = browser
        .submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", &receiver.url), ("events", "payment_intent.succeeded"), ("events", "refund.succeeded")])
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.body);
    let secret = text_of(&created, "new-secret").expect("the secret on the page");
    assert!(secret.starts_with("whsec_"));
    let id = created.endpoint_id();
    let path = format!("/dashboard/developers/webhooks/{id}");

    let paid = office.app.paid_intent(&sk, 10_000).await;
    let report = office.app.services.deliver_due().await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let page = browser.get(&path).await;
    assert!(!page.body.contains(&secret[6..]), "the secret is never shown again");
    assert!(page.body.contains("payment_intent.succeeded, refund.succeeded"));
    let row = page.body.split("<tr data-event=\"").nth(1).expect("one attempt in the log");
    assert!(row.contains("class=\"failed\""), "{row}");
    assert!(row.contains("<td class=\"answer\">500</td>") && row.contains("<td class=\"error-code\">unexpected_status</td>"), "{row}");
    assert!(row.contains(" ms</td>"), "its latency");
    let event = row.split('"').next().unwrap().to_owned();
    assert_eq!(office.app.get(&sk, &format!("/v1/events/{event}")).await.body["data"]["id"], paid.as_str());
    let list = browser.get("/dashboard/developers/webhooks").await;
    assert!(list.body.contains(&format!("data-endpoint=\"{id}\"")) && !list.body.contains(&secret[6..]));
    assert!(!browser.get("/dashboard/developers/webhooks?mode=live").await.body.contains(&id), "a test endpoint is not among the live ones");

    let log = audit(&office, &merchant_id).await;
    assert!(log.iter().any(|e| e.action == "webhook.create" && e.target.as_deref() == Some(id.as_str())));
    assert!(log.iter().all(|e| !format!("{e:?}").contains(&secret[6..])));
}

async fn an_endpoint_is_changed_rotated_disabled_enabled_and_resends_one_event(app: TestApp) {
    let office = Office::over(app).await;
    let receiver = Receiver::start(204).await;
    let (browser, merchant_id, sk) = office.signed_up("dev@shop.example", "Shop").await;
    let created = browser.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", &receiver.url), ("events", "*")]).await;
    let id = created.endpoint_id();
    let path = format!("/dashboard/developers/webhooks/{id}");

    let changed = browser.submit(&path, &path, &[("url", &receiver.url), ("events", "payment_intent.created")]).await;
    assert_eq!(changed.location.as_deref(), Some(path.as_str()), "{}", changed.body);
    let page = browser.get(&path).await;
    assert!(page.body.contains("<dd><code>payment_intent.created</code></dd>"), "only that type now");
    let bad = browser.submit(&path, &path, &[("url", &receiver.url), ("events", "payment_intent.paid")]).await;
    assert_eq!(bad.error_code().as_deref(), Some("event_type_invalid"));

    let rotated = browser.submit(&path, &format!("{path}/rotate"), &[("overlap_hours", "2")]).await;
    assert_eq!(rotated.status, StatusCode::OK);
    let new_secret = text_of(&rotated, "new-secret").unwrap();
    assert!(new_secret.starts_with("whsec_"));
    assert!(rotated.body.contains("The previous secret also signs until"), "the overlap's end is shown");
    let too_long = browser.submit(&path, &format!("{path}/rotate"), &[("overlap_hours", "169")]).await;
    assert_eq!(too_long.error_code().as_deref(), Some("overlap_invalid"));

    let disabled = browser.submit(&path, &format!("{path}/disable"), &[]).await;
    assert_eq!(disabled.location.as_deref(), Some(path.as_str()));
    let page = browser.get(&path).await;
    assert_eq!(text_of(&page, "endpoint-status").as_deref(), Some("Disabled"));
    assert_eq!(text_of(&page, "disabled-reason").as_deref(), Some("disabled_by_merchant"));
    office.app.create_intent(&sk, json!({})).await;
    let event = event_ids(&office, &merchant_id).await.pop().unwrap();
    let refused = browser.submit(&path, &format!("{path}/resend"), &[("event", &event)]).await;
    assert_eq!((refused.status, refused.error_code().as_deref()), (StatusCode::CONFLICT, Some("webhook_endpoint_disabled")));
    assert_eq!(office.app.services.deliver_due().await.unwrap().claimed, 0, "nothing goes to a disabled endpoint");

    browser.submit(&path, &format!("{path}/enable"), &[]).await;
    assert_eq!(text_of(&browser.get(&path).await, "endpoint-status").as_deref(), Some("Enabled"));
    let unknown = browser.submit(&path, &format!("{path}/resend"), &[("event", "evt_000000000000000000000000")]).await;
    assert_eq!(unknown.error_code().as_deref(), Some("event_unknown"));
    let resent = browser.submit(&path, &format!("{path}/resend"), &[("event", &event)]).await;
    assert_eq!(resent.location.as_deref(), Some(format!("{path}?notice=resent").as_str()));
    assert!(browser.get(resent.location.as_deref().unwrap()).await.body.contains("id=\"notice\""));
    assert_eq!(office.app.services.deliver_due().await.unwrap().succeeded, 1);
    assert_eq!(receiver.got(), vec![event.clone()], "the one event, once");

    let mut actions: Vec<String> = audit(&office, &merchant_id).await.iter().filter(|e| e.action.starts_with("webhook.")).map(|e| format!("{} {:?}", e.action, e.outcome)).collect();
    actions.sort();
    assert_eq!(
        actions,
        vec!["webhook.create Success", "webhook.disable Success", "webhook.enable Success", "webhook.resend Failure", "webhook.resend Failure", "webhook.resend Success", "webhook.rotate Success", "webhook.update Success"],
        "each change once (the refused inputs are not changes)"
    );
}

async fn everything_that_failed_since_a_local_time_is_sent_again(app: TestApp) {
    let office = Office::over(app).await;
    let receiver = Receiver::start(500).await;
    let (browser, merchant_id, sk) = office.signed_up("dev@shop.example", "Shop").await;
    let created = browser.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", &receiver.url), ("events", "payment_intent.created")]).await;
    let id = created.endpoint_id();
    let path = format!("/dashboard/developers/webhooks/{id}");
    let tz = backoffice::domain::TimeZone::default_zone();
    let before_event = tz.format_local_input(office.app.clock.now());
    office.app.clock.advance_ms(60_000);
    office.app.create_intent(&sk, json!({})).await;
    // The test schedule: four attempts a minute apart, then the delivery fails and the endpoint
    // is disabled.
    for _ in 0..4 {
        office.app.services.deliver_due().await.unwrap();
        office.app.clock.advance_ms(60_000);
    }
    let page = browser.get(&path).await;
    assert_eq!(text_of(&page, "disabled-reason").as_deref(), Some("retries_exhausted"));
    assert_eq!(page.body.matches("<tr data-event=").count(), 4, "each attempt in the log");
    browser.submit(&path, &format!("{path}/enable"), &[]).await;
    receiver.answer(204);

    let after_event = tz.format_local_input(office.app.clock.now());
    let none = browser.submit(&path, &format!("{path}/resend-failed"), &[("since", &after_event)]).await;
    assert_eq!(none.location.as_deref(), Some(format!("{path}?notice=requeued&count=0").as_str()), "nothing failed that recently");
    let bad = browser.submit(&path, &format!("{path}/resend-failed"), &[("since", "last week")]).await;
    assert_eq!(bad.error_code().as_deref(), Some("time_invalid"));
    let requeued = browser.submit(&path, &format!("{path}/resend-failed"), &[("since", &before_event)]).await;
    assert_eq!(requeued.location.as_deref(), Some(format!("{path}?notice=requeued&count=1").as_str()));
    assert_eq!(office.app.services.deliver_due().await.unwrap().succeeded, 1);
    let event = event_ids(&office, &merchant_id).await.pop().unwrap();
    assert_eq!(receiver.got().last(), Some(&event));
    assert_eq!(receiver.got().len(), 5);
    let again = browser.submit(&path, &format!("{path}/resend-failed"), &[("since", &before_event)]).await;
    assert!(again.location.unwrap().ends_with("count=0"), "a delivered one is not sent again");
    let page = browser.get(&path).await;
    assert!(page.body.split("<tr data-event=\"").nth(1).unwrap().contains("class=\"ok\""), "the newest attempt succeeded");
    assert!(audit(&office, &merchant_id).await.iter().any(|e| e.action == "webhook.resend_failed" && e.outcome == Outcome::Success));
}

async fn the_events_browser_lists_by_type_and_shows_an_events_payload_and_deliveries(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, sk) = office.signed_up("dev@shop.example", "Shop").await;
    let paid = office.app.paid_intent(&sk, 10_000).await;
    let refund = office.app.post(&sk, "/v1/refunds", json!({ "payment_intent": paid, "amount": 3_000 })).await;
    assert!(refund.status.is_success(), "{}", refund.raw);

    let all = browser.get("/dashboard/developers/events").await;
    assert_eq!(all.status, StatusCode::OK);
    let kinds = |page: &Page| page.body.split("<tr data-event=\"").skip(1).map(|r| r.split("</td><td>").nth(1).unwrap().to_owned()).collect::<Vec<_>>();
    let listed = kinds(&all);
    assert_eq!(listed.first().map(String::as_str), Some("payment_intent.partially_refunded"), "newest first: {listed:?}");
    assert!(listed.contains(&"payment_intent.created".to_owned()) && listed.contains(&"refund.succeeded".to_owned()));
    let refunds_only = browser.get("/dashboard/developers/events?mode=test&type=refund.*").await;
    assert!(!kinds(&refunds_only).is_empty() && kinds(&refunds_only).iter().all(|k| k.starts_with("refund.")), "{:?}", kinds(&refunds_only));
    let one = browser.get("/dashboard/developers/events?type=payment_intent.succeeded").await;
    assert_eq!(kinds(&one), vec!["payment_intent.succeeded"]);
    let bad = browser.get("/dashboard/developers/events?type=nonsense").await;
    assert_eq!((bad.status, bad.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("event_type_invalid")));
    assert!(kinds(&browser.get("/dashboard/developers/events?mode=live").await).is_empty(), "no live events");

    let event_id = one.body.split("<tr data-event=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let detail = browser.get(&format!("/dashboard/developers/events/{event_id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(text_of(&detail, "event-kind").as_deref(), Some("payment_intent.succeeded"));
    assert!(detail.body.contains(&format!("&#34;id&#34;: &#34;{paid}&#34;")) || detail.body.contains(&format!("&quot;id&quot;: &quot;{paid}&quot;")), "the payload, escaped");
    assert!(detail.body.contains(&format!("href=\"/dashboard/payments/{paid}\"")), "a link to the payment");
    assert_eq!(browser.get("/dashboard/developers/events/evt_000000000000000000000000").await.status, StatusCode::NOT_FOUND);
    assert_eq!(browser.get("/dashboard/developers/events/%3Cscript%3E").await.status, StatusCode::NOT_FOUND);

    // Pages of 50, newest first, following the "older" link to the end.
    for n in 0..30 {
        office.app.create_intent(&sk, json!({ "merchant_order_id": format!("o{n}") })).await;
    }
    let first = browser.get("/dashboard/developers/events?type=payment_intent.created").await;
    assert_eq!(kinds(&first).len(), 31);
    let mut seen = kinds(&browser.get("/dashboard/developers/events").await).len();
    let mut page = browser.get("/dashboard/developers/events").await;
    while let Some(next) = page.link("next-page") {
        page = browser.get(&next).await;
        seen += kinds(&page).len();
    }
    let total = office.app.get(&sk, "/v1/events?limit=100").await.body["data"].as_array().unwrap().len();
    assert_eq!(seen, total, "every event once across the pages");
}

async fn roles_without_developer_rights_see_no_developer_pages_and_are_refused(app: TestApp) {
    let office = Office::over(app).await;
    let (_, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let developer = office.member(&merchant_id, "dev@shop.example", Role::Developer).await;
    let analyst = office.member(&merchant_id, "analyst@shop.example", Role::Analyst).await;
    let support = office.member(&merchant_id, "support@shop.example", Role::Support).await;

    assert!(developer.get("/dashboard/transactions").await.body.contains("href=\"/dashboard/developers\""));
    assert_eq!(developer.get("/dashboard/developers").await.location.as_deref(), Some("/dashboard/developers/keys"));
    let made = developer.submit("/dashboard/developers/keys", "/dashboard/developers/keys", &[("kind", "secret"), ("mode", "test")]).await;
    assert_eq!(made.status, StatusCode::OK, "developers manage keys");
    for browser in [&analyst, &support] {
        assert!(!browser.get("/dashboard/transactions").await.body.contains("href=\"/dashboard/developers\""), "no nav entry");
        for path in ["/dashboard/developers/keys", "/dashboard/developers/webhooks", "/dashboard/developers/events"] {
            let page = browser.get(path).await;
            assert_eq!((page.status, page.error_code().as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")), "{path}");
        }
        let csrf = browser.get("/dashboard/transactions").await.hidden("csrf").unwrap();
        let refused = browser.post("/dashboard/developers/keys", &[("csrf", &csrf), ("kind", "secret"), ("mode", "test")], &[]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(office.office.services.list_keys(&merchant_id).await.unwrap().len(), 3, "only the developer's key was made");
    let refusals = audit(&office, &merchant_id).await.into_iter().filter(|e| e.outcome == Outcome::Refused && e.action.starts_with("api_key.create")).count();
    assert_eq!(refusals, 2, "each refusal audited");
}
