//! Webhooks against a local receiver: registration and the REST API, the transactional outbox,
//! Standard Webhooks signatures checked by an independent implementation (the `standardwebhooks`
//! package from PyPI), rotation overlap, retries until the receiver is back, disabling, resend,
//! the SSRF guard and several replicas delivering at once.

#[allow(unused_imports)]
use gateway::store::prelude::*;
use crate::helpers::{webhook_test_settings, TestApp, TestMerchant};
use crate::receiver::{Received, Receiver};
use axum::http::StatusCode;
use gateway::clock::Clock;
use gateway::domain::webhook::{DeliveryStatus, WebhookAttempt};
use gateway::domain::Scope;
use gateway::service::webhooks::NewWebhookEndpoint;
use gateway::service::WebhookSettings;
use gateway::store::DeliveryUpdate;
use serde_json::{json, Value};
use std::collections::BTreeSet;

crate::on_both_engines!(
    a_slow_endpoint_delays_only_itself_and_each_endpoint_gets_its_events_in_order,
    endpoints_are_registered_with_a_secret_shown_once_and_managed_through_the_api,
    bad_webhook_inputs_get_stable_codes_and_other_merchants_endpoints_are_not_found,
    events_reach_subscribed_endpoints_through_the_outbox_signed_the_standard_way,
    during_a_rotation_overlap_both_secrets_verify_and_afterwards_only_the_new_one,
    a_receiver_that_was_down_gets_every_event_once_it_is_back,
    a_delivery_that_fails_every_attempt_disables_its_endpoint,
    a_disabled_endpoint_gets_nothing_new_and_enabling_it_resumes_what_waited,
    an_endpoint_that_answers_410_is_disabled_at_once,
    redirects_are_never_followed,
    internal_destinations_are_refused_at_delivery_time_after_resolution,
    internal_destinations_are_refused_at_registration,
    resend_sends_one_event_to_one_endpoint_even_one_it_never_subscribed_to,
    resending_what_failed_since_a_time_queues_exactly_those_failures_again,
    concurrent_delivery_passes_send_each_due_delivery_exactly_once,
    an_attempt_is_recorded_only_while_its_lease_still_owns_the_delivery,
    the_sweep_forgets_delivery_history_older_than_thirty_days,
);

async fn create_endpoint(app: &TestApp, sk: &str, url: &str, events: Value) -> (String, String) {
    let reply = app.post(sk, "/v1/webhook_endpoints", json!({ "url": url, "enabled_events": events })).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
    (reply.id(), reply.body["secret"].as_str().unwrap().to_owned())
}

async fn event_ids(app: &TestApp, m: &TestMerchant) -> Vec<String> {
    app.raw_text(&format!("SELECT id FROM events WHERE merchant_id = '{}' ORDER BY seq", m.id)).await
}

async fn attempts(app: &TestApp, sk: &str, endpoint: &str) -> Vec<Value> {
    let reply = app.get(sk, &format!("/v1/webhook_endpoints/{endpoint}/attempts?limit=100")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.raw);
    reply.body["data"].as_array().unwrap().clone()
}

fn real_now() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs `verify_webhook.py` (standardwebhooks from PyPI) on (secret, request) pairs.
fn verify_with_python(cases: &[(&str, &Received)]) -> Vec<String> {
    let input: Vec<Value> = cases
        .iter()
        .map(|(secret, r)| {
            json!({
                "secret": secret,
                "body": r.body,
                "headers": {
                    "webhook-id": r.header("webhook-id"),
                    "webhook-timestamp": r.header("webhook-timestamp"),
                    "webhook-signature": r.header("webhook-signature"),
                },
            })
        })
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/verify_webhook.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (install the checker with `python3 -m pip install standardwebhooks==1.1.0`)");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(Value::from(input).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "verify_webhook.py failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn with_body(r: &Received, body: String) -> Received {
    Received { body, ..r.clone() }
}

async fn endpoints_are_registered_with_a_secret_shown_once_and_managed_through_the_api(app: TestApp) {
    let m = app.merchant().await;
    let created = app.post(&m.sk, "/v1/webhook_endpoints", json!({ "url": "https://shop.example.com/hooks" })).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    let id = created.id();
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(id.starts_with("we_") && secret.starts_with("whsec_"), "{}", created.raw);
    assert_eq!(created.body["enabled_events"], json!(["*"]), "every event by default");
    assert_eq!(created.body["status"], "enabled");
    assert_eq!(created.body["livemode"], false);

    let fetched = app.get(&m.sk, &format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert!(fetched.body.get("secret").is_none() && !fetched.raw.contains(&secret[6..]), "the secret is shown once: {}", fetched.raw);

    app.clock.advance_ms(1_000);
    let (second, _) = create_endpoint(&app, &m.sk, "https://shop.example.com/other", json!(["refund.*", "payment_intent.succeeded"])).await;
    let first_page = app.get(&m.sk, "/v1/webhook_endpoints?limit=1").await;
    assert_eq!(first_page.body["data"][0]["id"], second.as_str(), "newest first");
    assert_eq!(first_page.body["has_more"], true);
    let cursor = first_page.body["next_cursor"].as_str().unwrap();
    let next_page = app.get(&m.sk, &format!("/v1/webhook_endpoints?limit=1&cursor={cursor}")).await;
    assert_eq!(next_page.body["data"][0]["id"], id.as_str());
    assert_eq!(next_page.body["has_more"], false);
    assert!(!first_page.raw.contains("whsec_") && !next_page.raw.contains("whsec_"));

    let path = format!("/v1/webhook_endpoints/{id}");
    let updated = app.post(&m.sk, &path, json!({ "url": "https://shop.example.com/v2", "enabled_events": ["refund.created"] })).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.raw);
    assert_eq!(updated.body["url"], "https://shop.example.com/v2");
    assert_eq!(updated.body["enabled_events"], json!(["refund.created"]));
    let disabled = app.post(&m.sk, &path, json!({ "status": "disabled" })).await;
    assert_eq!((disabled.body["status"].as_str(), disabled.body["disabled_reason"].as_str()), (Some("disabled"), Some("disabled_by_merchant")));
    let enabled = app.post(&m.sk, &path, json!({ "status": "enabled" })).await;
    assert_eq!((enabled.body["status"].as_str(), enabled.body["disabled_reason"].as_str()), (Some("enabled"), None));

    let rotated = app.post(&m.sk, &format!("{path}/rotate_secret"), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.raw);
    let new_secret = rotated.body["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_") && new_secret != secret);
    let expected_end = gateway::clock::to_rfc3339(app.clock.now() + 24 * 3600 * 1000);
    assert_eq!(rotated.body["previous_secret_expires_at"], expected_end.as_str(), "24 hours of overlap by default");

    // An idempotent retry of a creation replays the secret, which the saved response keeps sealed.
    let body = json!({ "url": "https://shop.example.com/idem" });
    let first = app.post_idem(&m.sk, "/v1/webhook_endpoints", body.clone(), Some("we-idem")).await;
    let replay = app.post_idem(&m.sk, "/v1/webhook_endpoints", body, Some("we-idem")).await;
    assert!(replay.replayed);
    assert_eq!(replay.raw, first.raw);
    let idem_secret = first.body["secret"].as_str().unwrap();
    let saved = app.raw_text("SELECT COALESCE(answer, '') FROM idempotency_keys").await.join("\n");
    assert!(saved.contains("we_") && !saved.contains(&idem_secret[6..]), "no plaintext secret in saved responses");
    let stored = app.raw_text("SELECT secret FROM webhook_endpoints").await.join("\n");
    assert!(!stored.contains(&secret[6..]) && !stored.contains(&new_secret[6..]) && !stored.contains(&idem_secret[6..]), "secrets are sealed at rest");

    let deleted = app.delete(&m.sk, &path).await;
    assert_eq!((deleted.status, deleted.body["deleted"].as_bool()), (StatusCode::OK, Some(true)), "{}", deleted.raw);
    assert_eq!(app.get(&m.sk, &path).await.code(), "resource_missing");
    assert_eq!(app.delete(&m.sk, &path).await.status, StatusCode::NOT_FOUND);
}

async fn bad_webhook_inputs_get_stable_codes_and_other_merchants_endpoints_are_not_found(app: TestApp) {
    let app = app.with_webhook_settings(WebhookSettings { max_endpoints: 2, ..webhook_test_settings() });
    let m = app.merchant().await;
    let other = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, "https://shop.example.com/hooks", json!(["*"])).await;
    let cases: Vec<(&str, Value, u16, &str, &str)> = vec![
        ("no url", json!({}), 400, "parameter_missing", "url"),
        ("empty url", json!({ "url": " " }), 400, "parameter_missing", "url"),
        ("not http", json!({ "url": "ftp://shop.example.com/" }), 400, "url_invalid", "url"),
        ("not a url", json!({ "url": "hooks" }), 400, "url_invalid", "url"),
        ("credentials", json!({ "url": "https://a:b@shop.example.com/" }), 400, "url_invalid", "url"),
        ("too long", json!({ "url": format!("https://shop.example.com/{}", "a".repeat(2100)) }), 400, "parameter_too_long", "url"),
        ("unknown event", json!({ "url": "https://shop.example.com/", "enabled_events": ["charge.succeeded"] }), 400, "event_type_invalid", "enabled_events"),
        ("no events", json!({ "url": "https://shop.example.com/", "enabled_events": [] }), 400, "parameter_missing", "enabled_events"),
        ("events not a list", json!({ "url": "https://shop.example.com/", "enabled_events": "*" }), 400, "parameter_invalid", "enabled_events"),
        ("unknown field", json!({ "url": "https://shop.example.com/", "secret": "whsec_x" }), 400, "parameter_unknown", "secret"),
    ];
    for (what, body, status, code, param) in cases {
        let reply = app.post(&m.sk, "/v1/webhook_endpoints", body).await;
        assert_eq!((reply.status.as_u16(), reply.code()), (status, code), "{what}: {}", reply.raw);
        assert_eq!(reply.body["error"]["param"], param, "{what}");
    }
    let live = app.post(&m.live_sk, "/v1/webhook_endpoints", json!({ "url": "http://shop.example.com/" })).await;
    assert_eq!(live.code(), "url_invalid", "live mode needs HTTPS: {}", live.raw);

    let path = format!("/v1/webhook_endpoints/{id}");
    let bad_updates: Vec<(String, Value, &str)> = vec![
        (path.clone(), json!({ "status": "paused" }), "parameter_invalid"),
        (path.clone(), json!({ "enabled_events": ["refund.*", "nope"] }), "event_type_invalid"),
        (path.clone(), json!({ "url": "mailto:x@example.com" }), "url_invalid"),
        (format!("{path}/rotate_secret"), json!({ "overlap_seconds": -1 }), "parameter_invalid"),
        (format!("{path}/rotate_secret"), json!({ "overlap_seconds": 8 * 24 * 3600 }), "parameter_invalid"),
        (format!("{path}/resend"), json!({ "event": "pi_000000000000000000000000" }), "invalid_id"),
        (format!("{path}/resend"), json!({}), "parameter_missing"),
        ("/v1/webhook_endpoints/we_short".into(), json!({}), "invalid_id"),
    ];
    for (p, body, code) in bad_updates {
        let reply = app.post(&m.sk, &p, body.clone()).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, code), "{p} {body}: {}", reply.raw);
    }
    assert_eq!(app.get(&m.sk, "/v1/webhook_endpoints/evt_000000000000000000000000").await.code(), "invalid_id");
    assert_eq!(app.get(&m.sk, "/v1/webhook_endpoints?limit=0").await.code(), "parameter_invalid");
    assert_eq!(app.get(&m.sk, "/v1/webhook_endpoints?cursor=nope").await.code(), "invalid_cursor");

    // Another merchant, or the other mode, does not see the endpoint at all.
    for key in [&other.sk, &m.live_sk] {
        assert_eq!(app.get(key, &path).await.code(), "resource_missing");
        assert_eq!(app.post(key, &path, json!({ "status": "disabled" })).await.code(), "resource_missing");
        assert_eq!(app.post(key, &format!("{path}/rotate_secret"), json!({})).await.code(), "resource_missing");
        assert_eq!(app.get(key, &format!("{path}/attempts")).await.code(), "resource_missing");
        assert_eq!(app.post(key, &format!("{path}/resend"), json!({ "event": "evt_000000000000000000000000" })).await.code(), "resource_missing");
        assert_eq!(app.delete(key, &path).await.code(), "resource_missing");
        assert_eq!(app.get(key, "/v1/webhook_endpoints").await.body["data"], json!([]));
    }
    assert_eq!(app.get(&m.sk, &path).await.status, StatusCode::OK, "still there");

    create_endpoint(&app, &m.sk, "https://shop.example.com/second", json!(["*"])).await;
    let over = app.post(&m.sk, "/v1/webhook_endpoints", json!({ "url": "https://shop.example.com/third" })).await;
    assert_eq!((over.status, over.code()), (StatusCode::CONFLICT, "webhook_endpoint_limit"), "{}", over.raw);
}

async fn events_reach_subscribed_endpoints_through_the_outbox_signed_the_standard_way(app: TestApp) {
    let receiver = Receiver::start().await;
    app.clock.set(real_now());
    let m = app.merchant().await;
    let (all, secret) = create_endpoint(&app, &m.sk, &receiver.url("/all"), json!(["*"])).await;
    create_endpoint(&app, &m.sk, &receiver.url("/refunds"), json!(["refund.*"])).await;
    create_endpoint(&app, &m.sk, &receiver.url("/succeeded"), json!(["payment_intent.succeeded"])).await;
    let (_, other_secret) = create_endpoint(&app, &m.sk, "https://shop.example.com/unused", json!(["refund.failed"])).await;
    let (live, _) = create_endpoint(&app, &m.live_sk, "https://shop.example.com/live", json!(["*"])).await;
    let intent = app.paid_intent(&m.sk, 5000).await;
    let events = event_ids(&app, &m).await;
    assert_eq!(events.len(), 3, "created, processing, succeeded");

    // The outbox: the deliveries committed with the events, before any delivery pass ran.
    let queued = app.raw_text(&format!("SELECT event_id FROM webhook_deliveries WHERE endpoint_id = '{all}' AND status = 'pending'")).await;
    assert_eq!(queued.iter().collect::<BTreeSet<_>>(), events.iter().collect::<BTreeSet<_>>());
    let report = app.services.deliver_due().await.unwrap();
    assert_eq!((report.claimed, report.succeeded), (4, 4), "{report:?}");
    assert_eq!(app.services.deliver_due().await.unwrap().claimed, 0, "delivered once");

    let got = receiver.requests_to("/all");
    let ids: BTreeSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(got.len(), 3);
    assert_eq!(ids, events.iter().map(String::as_str).collect::<BTreeSet<_>>());
    for r in &got {
        let body = r.json();
        assert_eq!(body["id"], r.header("webhook-id"), "webhook-id is the event id");
        assert_eq!(body["object"], "event");
        assert_eq!(body["data"]["id"], intent.as_str());
        assert_eq!(r.header("content-type"), "application/json");
        assert!(r.header("webhook-signature").starts_with("v1,"));
        let ts: i64 = r.header("webhook-timestamp").parse().unwrap();
        assert_eq!(ts, app.clock.now() / 1000);
    }
    assert!(receiver.requests_to("/refunds").is_empty(), "filtered out");
    let succeeded = receiver.requests_to("/succeeded");
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0].json()["type"], "payment_intent.succeeded");
    let live_queue = app.raw_text(&format!("SELECT event_id FROM webhook_deliveries WHERE endpoint_id = '{live}'")).await;
    assert!(live_queue.is_empty(), "test events never reach live endpoints");

    // An independent implementation accepts each delivery, and rejects it when one byte of the
    // body changes or the secret is wrong.
    let mut tampered = got[0].body.clone().into_bytes();
    tampered[10] ^= 0x01;
    let tampered = with_body(&got[0], String::from_utf8(tampered).unwrap());
    let mut cases: Vec<(&str, &Received)> = got.iter().map(|r| (secret.as_str(), r)).collect();
    cases.push((secret.as_str(), &tampered));
    cases.push((other_secret.as_str(), &got[0]));
    let verdicts = verify_with_python(&cases);
    assert!(verdicts[..3].iter().all(|v| v == "ok"), "{verdicts:?}");
    // So does the Rust snippet in the README, with the same refusals.
    let now_secs = app.clock.now() / 1000;
    let rust = |secret: &str, r: &Received, now: i64| {
        crate::readme_verify::verify(secret, r.header("webhook-id"), r.header("webhook-timestamp"), r.header("webhook-signature"), r.body.as_bytes(), now)
    };
    assert!(got.iter().all(|r| rust(&secret, r, now_secs)));
    assert!(!rust(&secret, &tampered, now_secs) && !rust(&other_secret, &got[0], now_secs));
    assert!(!rust(&secret, &got[0], now_secs + 6 * 60), "timestamp 6 minutes off");
    assert!(verdicts[3].starts_with("rejected"), "one byte changed: {verdicts:?}");
    assert!(verdicts[4].starts_with("rejected"), "wrong secret: {verdicts:?}");

    // Signed six minutes ago (a resend while the clock is behind): outside the 5-minute tolerance.
    app.clock.set(real_now() - 6 * 60_000);
    let resent = app.post(&m.sk, &format!("/v1/webhook_endpoints/{all}/resend"), json!({ "event": events[0] })).await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.raw);
    app.services.deliver_due().await.unwrap();
    let late = receiver.requests_to("/all").pop().unwrap();
    assert_eq!(late.header("webhook-id"), events[0]);
    let verdicts = verify_with_python(&[(&secret, &late)]);
    assert!(verdicts[0].starts_with("rejected"), "timestamp 6 minutes off: {verdicts:?}");
}

async fn during_a_rotation_overlap_both_secrets_verify_and_afterwards_only_the_new_one(app: TestApp) {
    let receiver = Receiver::start().await;
    app.clock.set(real_now());
    let m = app.merchant().await;
    let (id, old) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["payment_intent.created"])).await;
    let rotated = app.post(&m.sk, &format!("/v1/webhook_endpoints/{id}/rotate_secret"), json!({ "overlap_seconds": 60 })).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.raw);
    let new = rotated.body["secret"].as_str().unwrap().to_owned();

    app.create_intent(&m.sk, json!({})).await;
    app.services.deliver_due().await.unwrap();
    let during = receiver.requests().pop().unwrap();
    assert_eq!(during.header("webhook-signature").split(' ').count(), 2, "both signatures during the overlap");
    assert_eq!(verify_with_python(&[(&old, &during), (&new, &during)]), vec!["ok", "ok"]);

    app.clock.advance_ms(61_000);
    app.create_intent(&m.sk, json!({})).await;
    app.services.deliver_due().await.unwrap();
    let after = receiver.requests().pop().unwrap();
    assert_ne!(after.header("webhook-id"), during.header("webhook-id"));
    assert_eq!(after.header("webhook-signature").split(' ').count(), 1, "only the new secret once the overlap ended");
    let verdicts = verify_with_python(&[(&old, &after), (&new, &after)]);
    assert!(verdicts[0].starts_with("rejected") && verdicts[1] == "ok", "{verdicts:?}");

    // A rotation without overlap stops the previous secret at once.
    let immediate = app.post(&m.sk, &format!("/v1/webhook_endpoints/{id}/rotate_secret"), json!({ "overlap_seconds": 0 })).await;
    assert_eq!(immediate.body["previous_secret_expires_at"], Value::Null, "{}", immediate.raw);
    let newest = immediate.body["secret"].as_str().unwrap().to_owned();
    app.create_intent(&m.sk, json!({})).await;
    app.services.deliver_due().await.unwrap();
    let last = receiver.requests().pop().unwrap();
    let verdicts = verify_with_python(&[(&new, &last), (&newest, &last)]);
    assert!(verdicts[0].starts_with("rejected") && verdicts[1] == "ok", "{verdicts:?}");
}

async fn a_receiver_that_was_down_gets_every_event_once_it_is_back(app: TestApp) {
    let receiver = Receiver::start().await;
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["*"])).await;
    receiver.down().await;
    let first = app.create_intent(&m.sk, json!({})).await;
    app.create_intent(&m.sk, json!({ "merchant_order_id": "order-2" })).await;
    app.post(&m.sk, &format!("/v1/payment_intents/{first}/cancel"), json!({})).await;
    let events = event_ids(&app, &m).await;
    assert_eq!(events.len(), 3);

    let report = app.services.deliver_due().await.unwrap();
    assert_eq!((report.claimed, report.failed), (3, 3), "{report:?}");
    app.clock.advance_ms(30_000);
    assert_eq!(app.services.deliver_due().await.unwrap().claimed, 0, "not due before the backoff ends");
    app.clock.advance_ms(31_000);
    assert_eq!(app.services.deliver_due().await.unwrap().failed, 3, "second attempt, still down");

    receiver.up().await;
    app.clock.advance_ms(61_000);
    let report = app.services.deliver_due().await.unwrap();
    assert_eq!(report.succeeded, 3, "{report:?}");
    let got = receiver.requests();
    let ids: BTreeSet<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids, events.iter().map(String::as_str).collect(), "every event arrived, each named by its webhook-id");

    let log = attempts(&app, &m.sk, &id).await;
    assert_eq!(log.len(), 9);
    for a in &log[..3] {
        assert_eq!((a["attempt"].as_i64(), a["response_status"].as_i64(), a["succeeded"].as_bool()), (Some(3), Some(200), Some(true)), "{a}");
        assert_eq!(a["error"], Value::Null);
    }
    for a in &log[3..] {
        assert_eq!((a["error"].as_str(), a["response_status"].as_i64()), (Some("connection_failed"), None), "{a}");
        assert!(a["latency_ms"].as_i64().unwrap() >= 0 && a["attempted_at"].is_string());
    }
    assert_eq!(app.get(&m.sk, &format!("/v1/webhook_endpoints/{id}")).await.body["status"], "enabled");
}

async fn a_delivery_that_fails_every_attempt_disables_its_endpoint(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["payment_intent.created"])).await;
    app.create_intent(&m.sk, json!({})).await;
    let event = event_ids(&app, &m).await.remove(0);
    // The test schedule waits a minute three times: four attempts in all.
    for n in 1..=4 {
        let report = app.services.deliver_due().await.unwrap();
        assert_eq!(report.failed, 1, "attempt {n}: {report:?}");
        app.clock.advance_ms(60_000);
    }
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    assert_eq!(app.services.get_webhook_delivery(&scope, &id, &event).await.unwrap().status, DeliveryStatus::Failed);
    let endpoint = app.get(&m.sk, &format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!((endpoint.body["status"].as_str(), endpoint.body["disabled_reason"].as_str()), (Some("disabled"), Some("retries_exhausted")));
    let log = attempts(&app, &m.sk, &id).await;
    assert_eq!(log.iter().map(|a| a["attempt"].as_i64().unwrap()).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
    assert!(log.iter().all(|a| a["response_status"] == 500 && a["error"] == "unexpected_status"));

    app.create_intent(&m.sk, json!({ "merchant_order_id": "later" })).await;
    app.clock.advance_ms(3_600_000);
    assert_eq!(app.services.deliver_due().await.unwrap().claimed, 0);
    assert_eq!(receiver.requests().len(), 4);
}

async fn a_disabled_endpoint_gets_nothing_new_and_enabling_it_resumes_what_waited(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(503);
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["payment_intent.created"])).await;
    app.create_intent(&m.sk, json!({})).await;
    let waiting = event_ids(&app, &m).await.remove(0);
    assert_eq!(app.services.deliver_due().await.unwrap().failed, 1);

    let path = format!("/v1/webhook_endpoints/{id}");
    assert_eq!(app.post(&m.sk, &path, json!({ "status": "disabled" })).await.body["status"], "disabled");
    app.create_intent(&m.sk, json!({ "merchant_order_id": "while-disabled" })).await;
    app.clock.advance_ms(10 * 60_000);
    assert_eq!(app.services.deliver_due().await.unwrap().claimed, 0, "a disabled endpoint's deliveries wait");

    receiver.answer(204);
    assert_eq!(app.post(&m.sk, &path, json!({ "status": "enabled" })).await.body["status"], "enabled");
    let report = app.services.deliver_due().await.unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    let got = receiver.requests();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.header("webhook-id") == waiting), "events of the disabled time were not queued");
}

async fn an_endpoint_that_answers_410_is_disabled_at_once(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(410);
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/gone"), json!(["*"])).await;
    app.create_intent(&m.sk, json!({})).await;
    assert_eq!(app.services.deliver_due().await.unwrap().failed, 1);
    let endpoint = app.get(&m.sk, &format!("/v1/webhook_endpoints/{id}")).await;
    assert_eq!((endpoint.body["status"].as_str(), endpoint.body["disabled_reason"].as_str()), (Some("disabled"), Some("endpoint_gone")));
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let event = event_ids(&app, &m).await.remove(0);
    assert_eq!(app.services.get_webhook_delivery(&scope, &id, &event).await.unwrap().status, DeliveryStatus::Failed);
    app.clock.advance_ms(3_600_000);
    assert_eq!(app.services.deliver_due().await.unwrap().claimed, 0);
    assert_eq!(receiver.requests().len(), 1);
    let resend = app.post(&m.sk, &format!("/v1/webhook_endpoints/{id}/resend"), json!({ "event": event })).await;
    assert_eq!((resend.status, resend.code()), (StatusCode::CONFLICT, "webhook_endpoint_disabled"));
}

async fn redirects_are_never_followed(app: TestApp) {
    let receiver = Receiver::start().await;
    let internal = Receiver::start().await;
    receiver.redirect_to(302, &internal.url("/internal"));
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["*"])).await;
    app.create_intent(&m.sk, json!({})).await;
    assert_eq!(app.services.deliver_due().await.unwrap().failed, 1);
    assert_eq!(receiver.requests().len(), 1);
    assert!(internal.requests().is_empty(), "the redirect to an internal URL was not followed");
    let log = attempts(&app, &m.sk, &id).await;
    assert_eq!((log[0]["response_status"].as_i64(), log[0]["error"].as_str()), (Some(302), Some("redirect_not_followed")));

    receiver.redirect_to(307, "http://169.254.169.254/latest/meta-data/");
    app.clock.advance_ms(60_000);
    assert_eq!(app.services.deliver_due().await.unwrap().failed, 1);
    let log = attempts(&app, &m.sk, &id).await;
    assert_eq!((log[0]["response_status"].as_i64(), log[0]["error"].as_str()), (Some(307), Some("redirect_not_followed")));
}

async fn internal_destinations_are_refused_at_delivery_time_after_resolution(app: TestApp) {
    let receiver = Receiver::start().await;
    let port = receiver.port();
    let app = app.with_webhook_settings(WebhookSettings { max_endpoints: 50, ..webhook_test_settings() });
    let m = app.merchant().await;
    let urls = [
        format!("http://127.0.0.1:{port}/loopback"),
        format!("http://localhost:{port}/name-resolving-to-loopback"),
        format!("http://[::1]:{port}/loopback-v6"),
        format!("http://[::ffff:127.0.0.1]:{port}/v4-mapped-loopback"),
        format!("http://0.0.0.0:{port}/unspecified"),
        "http://10.0.0.1/private".into(),
        "http://172.16.0.1/private".into(),
        "http://192.168.1.1/private".into(),
        "http://[fd00::1]/unique-local".into(),
        "http://169.254.1.1/link-local".into(),
        "http://[fe80::1]/link-local-v6".into(),
        "http://169.254.169.254/latest/meta-data/".into(),
        "http://[fd00:ec2::254]/latest/meta-data/".into(),
        "http://100.100.100.200/latest/meta-data/".into(),
        "http://100.64.0.1/carrier-grade-nat".into(),
        "http://224.0.0.1/multicast".into(),
        "http://255.255.255.255/broadcast".into(),
    ];
    let mut endpoints = Vec::new();
    for url in &urls {
        endpoints.push(create_endpoint(&app, &m.sk, url, json!(["*"])).await.0);
    }
    // The same database served by a replica that refuses private destinations (the default).
    let app = app.with_webhook_settings(WebhookSettings { allow_private: false, ..webhook_test_settings() });
    app.create_intent(&m.sk, json!({})).await;
    let report = app.services.deliver_due().await.unwrap();
    assert_eq!((report.claimed, report.failed), (urls.len(), urls.len()), "{report:?}");
    assert!(receiver.requests().is_empty(), "nothing reached the loopback receiver");
    for (endpoint, url) in endpoints.iter().zip(&urls) {
        let log = attempts(&app, &m.sk, endpoint).await;
        assert_eq!(log.len(), 1, "{url}");
        assert_eq!((log[0]["error"].as_str(), log[0]["response_status"].as_i64()), (Some("destination_not_allowed"), None), "{url}");
    }
}

async fn internal_destinations_are_refused_at_registration(app: TestApp) {
    let app = app.with_webhook_settings(WebhookSettings { allow_private: false, ..webhook_test_settings() });
    let m = app.merchant().await;
    for url in ["http://127.0.0.1:8080/", "http://localhost/hooks", "http://[::1]/", "http://10.1.2.3/", "http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://0x7f000001/"] {
        let reply = app.post(&m.sk, "/v1/webhook_endpoints", json!({ "url": url })).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "url_not_allowed"), "{url}: {}", reply.raw);
    }
    let (id, _) = create_endpoint(&app, &m.sk, "https://hooks.example.com/paygate", json!(["*"])).await;
    let moved = app.post(&m.sk, &format!("/v1/webhook_endpoints/{id}"), json!({ "url": "http://192.168.0.10/" })).await;
    assert_eq!(moved.code(), "url_not_allowed");
}

async fn resend_sends_one_event_to_one_endpoint_even_one_it_never_subscribed_to(app: TestApp) {
    let receiver = Receiver::start().await;
    let m = app.merchant().await;
    let other = app.merchant().await;
    app.create_intent(&m.sk, json!({})).await;
    app.create_intent(&other.sk, json!({})).await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/refunds"), json!(["refund.*"])).await;
    let event = event_ids(&app, &m).await.remove(0);
    let path = format!("/v1/webhook_endpoints/{id}/resend");

    let reply = app.post(&m.sk, &path, json!({ "event": event })).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.raw);
    assert_eq!((reply.body["status"].as_str(), reply.body["attempts"].as_i64()), (Some("pending"), Some(0)));
    app.services.deliver_due().await.unwrap();
    app.post(&m.sk, &path, json!({ "event": event })).await;
    app.services.deliver_due().await.unwrap();
    let got = receiver.requests();
    assert_eq!(got.len(), 2, "once per resend");
    assert!(got.iter().all(|r| r.header("webhook-id") == event), "the same webhook-id: receivers de-duplicate on it");
    assert_eq!(attempts(&app, &m.sk, &id).await.iter().map(|a| a["attempt"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 1]);

    let foreign = event_ids(&app, &other).await.remove(0);
    assert_eq!(app.post(&m.sk, &path, json!({ "event": foreign })).await.code(), "resource_missing");
    assert_eq!(app.post(&m.sk, &path, json!({ "event": "evt_000000000000000000000000" })).await.code(), "resource_missing");
    assert_eq!(app.post(&m.sk, &path, json!({ "event": "evt_x" })).await.code(), "invalid_id");
}

async fn concurrent_delivery_passes_send_each_due_delivery_exactly_once(app: TestApp) {
    let receiver = Receiver::start().await;
    let m = app.merchant().await;
    create_endpoint(&app, &m.sk, &receiver.url("/a"), json!(["payment_intent.created"])).await;
    create_endpoint(&app, &m.sk, &receiver.url("/b"), json!(["*"])).await;
    for n in 0..12 {
        app.create_intent(&m.sk, json!({ "merchant_order_id": format!("order-{n}") })).await;
    }
    let settings = WebhookSettings { batch: 4, ..webhook_test_settings() };
    let replicas: Vec<_> = (0..4).map(|_| app.replica(settings.clone())).collect();
    let mut delivered = 0;
    loop {
        let passes = replicas.iter().flat_map(|r| [r.deliver_due(), r.deliver_due()]);
        let reports: Vec<_> = futures::future::join_all(passes).await.into_iter().map(Result::unwrap).collect();
        let claimed: usize = reports.iter().map(|r| r.claimed).sum();
        delivered += reports.iter().map(|r| r.succeeded).sum::<usize>();
        assert!(reports.iter().all(|r| r.lost_leases == 0 && r.errors == 0), "{reports:?}");
        if claimed == 0 {
            break;
        }
    }
    assert_eq!(delivered, 24);
    let got = receiver.requests();
    assert_eq!(got.len(), 24, "each delivery sent exactly once");
    let distinct: BTreeSet<(String, String)> = got.iter().map(|r| (r.path.clone(), r.header("webhook-id").to_owned())).collect();
    assert_eq!(distinct.len(), 24);
}

async fn an_attempt_is_recorded_only_while_its_lease_still_owns_the_delivery(app: TestApp) {
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, "https://hooks.example.com/x", json!(["*"])).await;
    app.create_intent(&m.sk, json!({})).await;
    let now = app.clock.now();
    let first = app.store.claim_webhook_deliveries(now, now + 60_000, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(app.store.claim_webhook_deliveries(now + 59_000, now + 119_000, 10).await.unwrap().is_empty(), "leased");
    let later = now + 61_000;
    let second = app.store.claim_webhook_deliveries(later, later + 60_000, 10).await.unwrap();
    assert_eq!(second.len(), 1, "the lease ran out: another pass takes over");
    assert_ne!(first[0].lease_token, second[0].lease_token);

    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let attempt = |n: &str| WebhookAttempt {
        id: format!("wha_{n}"),
        object: "webhook_attempt".into(),
        livemode: false,
        endpoint: id.clone(),
        event: first[0].event.id.clone(),
        event_type: first[0].event.kind.clone(),
        attempt: 1,
        attempted_at: later,
        response_status: Some(200),
        latency_ms: 5,
        error: None,
        succeeded: true,
    };
    let done = DeliveryUpdate { status: DeliveryStatus::Succeeded, next_attempt_at: later, disable_endpoint: None };
    assert!(!app.store.record_webhook_attempt(&scope, &first[0].lease_token, &attempt("aaaaaaaaaaaaaaaaaaaaaaaa"), &done).await.unwrap());
    assert!(app.store.record_webhook_attempt(&scope, &second[0].lease_token, &attempt("bbbbbbbbbbbbbbbbbbbbbbbb"), &done).await.unwrap());
    assert!(!app.store.record_webhook_attempt(&scope, &second[0].lease_token, &attempt("cccccccccccccccccccccccc"), &done).await.unwrap(), "a lease records once");
    let log = attempts(&app, &m.sk, &id).await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["id"], "wha_bbbbbbbbbbbbbbbbbbbbbbbb");
}

/// Runs on a current-thread runtime so that every task logs into this test's subscriber.
#[tokio::test]
async fn webhook_secrets_never_appear_in_logs_debug_output_the_database_or_later_responses() {
    let app = TestApp::sqlite().await;
    let (logs, _guard) = crate::helpers::CapturedLogs::start();

    let receiver = Receiver::start().await;
    receiver.answer(500);
    let m = app.merchant().await;
    let (id, secret) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["*"])).await;
    let rotated = app.post(&m.sk, &format!("/v1/webhook_endpoints/{id}/rotate_secret"), json!({})).await;
    let new_secret = rotated.body["secret"].as_str().unwrap().to_owned();
    let keyed = app.post_idem(&m.sk, "/v1/webhook_endpoints", json!({ "url": receiver.url("/idem") }), Some("idem-we")).await;
    let keyed_secret = keyed.body["secret"].as_str().unwrap().to_owned();
    app.create_intent(&m.sk, json!({})).await;
    app.services.deliver_due().await.unwrap();

    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let record = app.store.get_webhook_endpoint(&scope, &id).await.unwrap();
    let made = app.services.create_webhook_endpoint(&scope, NewWebhookEndpoint { url: receiver.url("/made"), enabled_events: None }, None).await.unwrap();
    let made_secret = made.secret.as_ref().unwrap().expose().to_owned();
    app.clock.advance_ms(60_000);
    let claimed = app.store.claim_webhook_deliveries(app.clock.now(), app.clock.now() + 1, 10).await.unwrap();
    assert!(!claimed.is_empty());
    let logged = logs.text();
    let mut haystacks = vec![
        ("logs", logged),
        ("debug of a stored endpoint", format!("{record:?}")),
        ("debug of a claimed delivery", format!("{claimed:?}")),
        ("debug of a just-made endpoint", format!("{made:?}")),
        ("stored endpoints", app.raw_text("SELECT secret || ' ' || COALESCE(previous_secret, '') FROM webhook_endpoints").await.join("\n")),
        ("saved idempotent responses", app.raw_text("SELECT COALESCE(answer, '') FROM idempotency_keys").await.join("\n")),
    ];
    for path in [format!("/v1/webhook_endpoints/{id}"), "/v1/webhook_endpoints".into(), format!("/v1/webhook_endpoints/{id}/attempts")] {
        haystacks.push(("a later response", app.get(&m.sk, &path).await.raw));
    }
    assert!(haystacks[0].1.contains("webhook"), "the log capture works");
    for (what, text) in &haystacks {
        for s in [&secret, &new_secret, &keyed_secret, &made_secret] {
            assert!(!text.contains(&s[6..]), "a webhook secret appears in {what}");
        }
    }
    assert_eq!(
        app.post_idem(&m.sk, "/v1/webhook_endpoints", json!({ "url": receiver.url("/idem") }), Some("idem-we")).await.body["secret"],
        keyed_secret.as_str(),
        "the replay still shows the secret"
    );
}

#[test]
fn the_readme_shows_the_rust_verification_snippet_that_the_tests_run() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let snippet = include_str!("readme_verify.rs").replace("pub fn verify", "fn verify");
    assert!(readme.contains(snippet.trim()), "README.md's Rust snippet differs from gateway/tests/api/readme_verify.rs");
}

async fn the_sweep_forgets_delivery_history_older_than_thirty_days(app: TestApp) {
    let receiver = Receiver::start().await;
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/all"), json!(["payment_intent.created"])).await;
    app.create_intent(&m.sk, json!({})).await;
    app.services.deliver_due().await.unwrap();
    app.clock.advance_ms(31 * 24 * 60 * 60 * 1000);
    app.create_intent(&m.sk, json!({})).await;
    app.services.deliver_due().await.unwrap();
    assert_eq!(attempts(&app, &m.sk, &id).await.len(), 2);

    let report = app.services.sweep().await.unwrap();
    assert_eq!(report.purged_webhook_history, 2, "the old attempt and its finished delivery: {report:?}");
    let kept = attempts(&app, &m.sk, &id).await;
    assert_eq!(kept.len(), 1, "the recent attempt stays");
    let events = event_ids(&app, &m).await;
    assert_eq!(kept[0]["event"], events[1].as_str());
    let deliveries = app.raw_text("SELECT event_id FROM webhook_deliveries").await;
    assert_eq!(deliveries, [events[1].clone()]);
    assert_eq!(receiver.requests().len(), 2, "nothing is sent again");
}

async fn a_slow_endpoint_delays_only_itself_and_each_endpoint_gets_its_events_in_order(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.slow_down("/slow", std::time::Duration::from_secs(4));
    let m = app.merchant().await;
    create_endpoint(&app, &m.sk, &receiver.url("/slow"), json!(["payment_intent.created"])).await;
    create_endpoint(&app, &m.sk, &receiver.url("/fast"), json!(["payment_intent.*"])).await;
    let mut intents = Vec::new();
    for i in 0..3 {
        intents.push(app.create_intent(&m.sk, json!({ "merchant_order_id": format!("order-{i}") })).await);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(gateway::service::workers::delivery_loop(app.services.clone(), stopped));
    let arrived = |path: &'static str, n: usize| {
        let receiver = &receiver;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while receiver.requests_to(path).len() < n {
                assert!(std::time::Instant::now() < deadline, "{path} did not get {n} deliveries");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    };
    arrived("/fast", 3).await;
    // Events that happen while the slow endpoint is still answering its first delivery reach the
    // fast one without waiting for it.
    for id in &intents {
        app.post(&m.sk, &format!("/v1/payment_intents/{id}/cancel"), json!({})).await;
    }
    arrived("/fast", 6).await;
    assert!(receiver.requests_to("/slow").len() < 2, "the fast endpoint was not held back by the slow one");
    arrived("/slow", 3).await;
    let _ = stop.send(true);
    worker.await.unwrap();
    for path in ["/fast", "/slow"] {
        let sequences: Vec<i64> = receiver.requests_to(path).iter().map(|r| r.json()["sequence"].as_i64().unwrap()).collect();
        let mut sorted = sequences.clone();
        sorted.sort();
        assert_eq!(sequences, sorted, "{path} got its events in order");
    }
    assert_eq!(receiver.most_at_once("/slow"), 1, "one delivery at a time per endpoint");
}

async fn resending_what_failed_since_a_time_queues_exactly_those_failures_again(app: TestApp) {
    let receiver = Receiver::start().await;
    receiver.answer(500);
    let m = app.merchant().await;
    let (id, _) = create_endpoint(&app, &m.sk, &receiver.url("/hooks"), json!(["payment_intent.created"])).await;
    let scope = Scope { merchant_id: m.id.clone(), livemode: false };
    let path = format!("/v1/webhook_endpoints/{id}");
    // Two events whose deliveries fail every attempt, an hour apart; each disables the endpoint.
    let mut failed_at = Vec::new();
    for order in ["first", "second"] {
        failed_at.push(app.clock.now());
        app.create_intent(&m.sk, json!({ "merchant_order_id": order })).await;
        for _ in 1..=4 {
            app.services.deliver_due().await.unwrap();
            app.clock.advance_ms(60_000);
        }
        assert!(matches!(app.services.resend_failed_webhooks(&scope, &id, 0).await, Err(gateway::service::ServiceError::WebhookEndpointDisabled)));
        assert_eq!(app.post(&m.sk, &path, json!({ "status": "enabled" })).await.body["status"], "enabled");
        app.clock.advance_ms(3_600_000);
    }
    receiver.answer(204);
    app.create_intent(&m.sk, json!({ "merchant_order_id": "delivered" })).await;
    assert_eq!(app.services.deliver_due().await.unwrap().succeeded, 1);
    let events = event_ids(&app, &m).await;
    let before = receiver.requests().len();

    let other = Scope { merchant_id: app.merchant().await.id, livemode: false };
    assert!(app.services.resend_failed_webhooks(&other, &id, 0).await.is_err(), "another merchant's endpoint is not found");
    assert_eq!(app.services.resend_failed_webhooks(&scope, &id, failed_at[1]).await.unwrap(), 1, "only the second failure is that recent");
    assert_eq!(app.services.deliver_due().await.unwrap().succeeded, 1);
    assert_eq!(receiver.requests()[before..].iter().map(|r| r.header("webhook-id").to_owned()).collect::<Vec<_>>(), vec![events[1].clone()]);
    assert_eq!(app.services.resend_failed_webhooks(&scope, &id, failed_at[0]).await.unwrap(), 1, "the first is the one failure left");
    assert_eq!(app.services.deliver_due().await.unwrap().succeeded, 1);
    assert_eq!(receiver.requests()[before + 1].header("webhook-id"), events[0]);
    assert_eq!(app.services.resend_failed_webhooks(&scope, &id, 0).await.unwrap(), 0, "nothing failed is left");
    let attempts = attempts(&app, &m.sk, &id).await;
    assert_eq!(attempts[0]["attempt"], 1, "a resend starts its schedule again");
}
