//! Every bad input gets a 4xx with a stable code; never a 500, never a panic.

use crate::helpers::{blocking_app, Engine, TestApp};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::json;

crate::on_both_engines!(
    bad_inputs_get_a_clear_code_and_never_a_server_error,
    authentication_failures_are_401_or_403,
    requests_two_parsers_could_read_two_ways_are_refused,
    integer_fields_take_whole_numbers_written_with_a_decimal_point_and_refuse_fractions,
    a_webhook_update_and_a_secret_rotation_need_no_body_and_refuse_null,
    a_last_event_id_that_is_no_event_id_names_no_event_of_the_stream,
);

async fn integer_fields_take_whole_numbers_written_with_a_decimal_point_and_refuse_fractions(app: TestApp) {
    let m = app.merchant().await;
    // JSON Schema's `integer` (what the OpenAPI document says) counts 1000.0 as one.
    let mut body = valid();
    body["amount"] = json!(1000.0);
    body["expires_in_minutes"] = json!(15.0);
    let reply = raw_post(&app, &m.sk, "/v1/payment_intents", "application/json", body.to_string()).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.raw);
    assert_eq!(reply.body["amount"], 1000);
    for (field, value, code) in [("amount", json!(1000.5), "amount_invalid"), ("amount", json!(1e19), "amount_invalid"), ("expires_in_minutes", json!(1.5), "parameter_invalid")] {
        let reply = raw_post(&app, &m.sk, "/v1/payment_intents", "application/json", with(field, value.clone())).await;
        assert_eq!((reply.status, reply.code(), reply.body["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, code, Some(field)), "{field} = {value}: {}", reply.raw);
    }
}

async fn a_webhook_update_and_a_secret_rotation_need_no_body_and_refuse_null(app: TestApp) {
    let m = app.merchant().await;
    let created = app.post(&m.sk, "/v1/webhook_endpoints", json!({"url": "https://shop.example.com/hooks"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_owned();
    for path in [format!("/v1/webhook_endpoints/{id}"), format!("/v1/webhook_endpoints/{id}/rotate_secret")] {
        let bare = Request::post(&path).header("authorization", format!("Bearer {}", m.sk)).body(Body::empty()).unwrap();
        let reply = app.send(bare).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.raw);
        assert_eq!(reply.body["id"], id.as_str());
        let null = raw_post(&app, &m.sk, &path, "application/json", "null".into()).await;
        assert_eq!((null.status, null.code()), (StatusCode::BAD_REQUEST, "body_not_object"), "{path}: {}", null.raw);
    }
}

async fn a_last_event_id_that_is_no_event_id_names_no_event_of_the_stream(app: TestApp) {
    let m = app.merchant().await;
    for last in ["0", "evt_short", "pi_000000000000000000000000"] {
        let req = Request::get("/v1/events/stream").header("authorization", format!("Bearer {}", m.sk)).header("last-event-id", last);
        let reply = app.send(req.body(Body::empty()).unwrap()).await;
        assert_eq!((reply.status, reply.code(), reply.body["error"]["param"].as_str()), (StatusCode::BAD_REQUEST, "invalid_last_event_id", Some("Last-Event-ID")), "{last}: {}", reply.raw);
    }
}

async fn requests_two_parsers_could_read_two_ways_are_refused(app: TestApp) {
    let m = app.merchant().await;
    let body = valid().to_string();
    let framed_twice = Request::post("/v1/payment_intents")
        .header("authorization", format!("Bearer {}", m.sk))
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .header("transfer-encoding", "chunked")
        .body(Body::from(body.clone()))
        .unwrap();
    let reply = app.send(framed_twice).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "request_framing_invalid"), "{}", reply.raw);
    let two_keys = Request::post("/v1/payment_intents")
        .header("authorization", format!("Bearer {}", m.sk))
        .header("authorization", "Bearer sk_test_someone_else")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let reply = app.send(two_keys).await;
    assert_eq!((reply.status, reply.code()), (StatusCode::BAD_REQUEST, "authorization_repeated"), "{}", reply.raw);
    assert_eq!(app.get(&m.sk, "/v1/payment_intents").await.body["data"].as_array().unwrap().len(), 0, "nothing was created");
}

fn valid() -> serde_json::Value {
    json!({ "amount": 1000, "currency": "KRW", "merchant_order_id": "o-1", "order_name": "Tea", "customer_name": "Han" })
}

fn with(field: &str, value: serde_json::Value) -> String {
    let mut body = valid();
    body[field] = value;
    body.to_string()
}

async fn raw_post(app: &TestApp, sk: &str, path: &str, content_type: &str, body: String) -> crate::helpers::Reply {
    let req = Request::post(path)
        .header("authorization", format!("Bearer {sk}"))
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    app.send(req).await
}

/// What is sent (name, body, content type) and what must come back (status, code, param).
type BadInput<'a> = (&'a str, String, &'a str, u16, &'a str, Option<&'a str>);

async fn bad_inputs_get_a_clear_code_and_never_a_server_error(app: TestApp) {
    let m = app.merchant().await;
    let json_ct = "application/json";
    let cases: Vec<BadInput> = vec![
        ("malformed JSON", "{\"amount\": 10".into(), json_ct, 400, "invalid_json", None),
        ("not an object", "[1,2]".into(), json_ct, 400, "body_not_object", None),
        ("a bare string", "\"hi\"".into(), json_ct, 400, "body_not_object", None),
        ("text after the object", format!("{}xyz", valid()), json_ct, 400, "invalid_json", None),
        ("two objects", format!("{}{}", valid(), valid()), json_ct, 400, "invalid_json", None),
        ("a NUL in metadata", with("metadata", json!({ "note": "a\u{0}b" })), json_ct, 400, "metadata_invalid", Some("metadata")),
        ("an escape in a metadata key", with("metadata", json!({ "k\u{1b}[31m": "v" })), json_ct, 400, "metadata_invalid", Some("metadata")),
        ("a line break in metadata", with("metadata", json!({ "note": "a\r\nb" })), json_ct, 400, "metadata_invalid", Some("metadata")),
        ("wrong type", with("amount", json!("1000")), json_ct, 400, "amount_invalid", Some("amount")),
        ("fractional amount", with("amount", json!(10.5)), json_ct, 400, "amount_invalid", Some("amount")),
        ("negative amount", with("amount", json!(-1)), json_ct, 400, "amount_invalid", Some("amount")),
        ("zero amount", with("amount", json!(0)), json_ct, 400, "amount_invalid", Some("amount")),
        ("amount above the maximum", with("amount", json!(1_000_000_000_000i64)), json_ct, 400, "amount_too_large", Some("amount")),
        ("overflowing amount", valid().to_string().replace("1000", "92233720368547758070"), json_ct, 400, "amount_invalid", Some("amount")),
        ("unknown currency", with("currency", json!("XYZ")), json_ct, 400, "currency_invalid", Some("currency")),
        ("currency of wrong type", with("currency", json!(410)), json_ct, 400, "parameter_invalid", Some("currency")),
        ("missing field", json!({ "amount": 1000 }).to_string(), json_ct, 400, "parameter_missing", Some("currency")),
        ("unknown field", with("amout", json!(1)), json_ct, 400, "parameter_unknown", Some("amout")),
        ("bad confirm mode", with("confirm_mode", json!("later")), json_ct, 400, "parameter_invalid", Some("confirm_mode")),
        ("expiry too long", with("expires_in_minutes", json!(61)), json_ct, 400, "expiry_invalid", Some("expires_in_minutes")),
        ("bad email", with("customer_email", json!("not-an-email")), json_ct, 400, "email_invalid", Some("customer_email")),
        ("empty name", with("customer_name", json!("   ")), json_ct, 400, "parameter_missing", Some("customer_name")),
        ("metadata not strings", with("metadata", json!({ "a": 1 })), json_ct, 400, "parameter_invalid", Some("metadata.a")),
        ("oversize body", with("order_name", json!("x".repeat(70 * 1024))), json_ct, 413, "body_too_large", None),
        ("form body", "amount=1000".into(), "application/x-www-form-urlencoded", 415, "unsupported_media_type", None),
    ];
    for (what, body, ct, status, code, param) in cases {
        let reply = raw_post(&app, &m.sk, "/v1/payment_intents", ct, body).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.raw);
        assert_eq!(reply.code(), code, "{what}: {}", reply.raw);
        assert_eq!(reply.body["error"]["param"].as_str(), param, "{what}");
        assert!(!reply.body["error"]["message"].as_str().unwrap_or("").is_empty(), "{what}: a message for a person");
    }

    let id = app.paid_intent(&m.sk, 1000).await;
    let gets: Vec<(&str, u16, &str)> = vec![
        ("/v1/payment_intents/pi_000000000000000000000000", 404, "resource_missing"),
        ("/v1/payment_intents/pi_nope", 400, "invalid_id"),
        ("/v1/payment_intents/re_000000000000000000000000", 400, "invalid_id"),
        ("/v1/payment_intents/%F0%9F%92%B8", 400, "invalid_id"),
        ("/v1/refunds/re_000000000000000000000000", 404, "resource_missing"),
        ("/v1/refunds/1", 400, "invalid_id"),
        ("/v1/payment_intents?cursor=garbage", 400, "invalid_cursor"),
        ("/v1/payment_intents?cursor=MTI6cGlfeCc7IERST1A", 400, "invalid_cursor"),
        ("/v1/transactions?cursor=%00", 400, "invalid_cursor"),
        ("/v1/payment_intents?limit=0", 400, "parameter_invalid"),
        ("/v1/payment_intents?limit=101", 400, "parameter_invalid"),
        ("/v1/payment_intents?limit=-1", 400, "parameter_invalid"),
        ("/v1/payment_intents?limit=99999999999", 400, "parameter_invalid"),
        ("/v1/payment_intents?status=paid", 400, "parameter_invalid"),
        ("/v1/payment_intents?created_gte=yesterday", 400, "parameter_invalid"),
        ("/v1/payment_intents?colour=red", 400, "parameter_unknown"),
        ("/v1/transactions?type=chargeback", 400, "parameter_invalid"),
        ("/v1/transactions?payment_intent=pi_000000000000000000000000", 404, "resource_missing"),
        ("/v1/nowhere", 404, "route_not_found"),
        ("/v1/payment_intents/%FF%FE", 400, "invalid_id"),
        ("/v1/refunds/%FF", 400, "invalid_id"),
        ("/v1/payment_intents?customer_name=%00", 400, "parameter_invalid"),
    ];
    for (path, status, code) in gets {
        let reply = app.get(&m.sk, path).await;
        assert_eq!(reply.status.as_u16(), status, "{path}: {}", reply.raw);
        assert_eq!(reply.code(), code, "{path}");
    }

    let posts: Vec<(String, serde_json::Value, u16, &str)> = vec![
        ("/v1/refunds".into(), json!({ "payment_intent": id, "amount": -5 }), 400, "amount_invalid"),
        ("/v1/refunds".into(), json!({ "payment_intent": id, "amount": 0 }), 400, "amount_invalid"),
        ("/v1/refunds".into(), json!({ "payment_intent": "pi_x", "amount": 5 }), 400, "invalid_id"),
        ("/v1/refunds".into(), json!({ "amount": 5 }), 400, "parameter_missing"),
        ("/v1/refunds".into(), json!({ "payment_intent": id, "amount": 9_223_372_036_854_775_807i64 }), 400, "amount_too_large"),
        (format!("/v1/payment_intents/{id}/confirm"), json!({}), 400, "parameter_missing"),
        (format!("/v1/payment_intents/{id}/confirm"), json!({ "amount": "all" }), 400, "amount_invalid"),
    ];
    for (path, body, status, code) in posts {
        let reply = app.post(&m.sk, &path, body.clone()).await;
        assert_eq!(reply.status.as_u16(), status, "{path} {body}: {}", reply.raw);
        assert_eq!(reply.code(), code, "{path} {body}");
    }

    let wrong_method = app.send(Request::delete("/v1/payment_intents").header("authorization", format!("Bearer {}", m.sk)).body(Body::empty()).unwrap()).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.code(), "method_not_allowed");
    app.assert_ledger_balanced().await;
}

async fn authentication_failures_are_401_or_403(app: TestApp) {
    let m = app.merchant().await;
    let cases: Vec<(Option<String>, u16, &str)> = vec![
        (None, 401, "authentication_required"),
        (Some("Basic abc".into()), 401, "authentication_required"),
        (Some("Bearer ".into()), 401, "invalid_api_key"),
        (Some("Bearer sk_test_nothex".into()), 401, "invalid_api_key"),
        (Some(format!("Bearer sk_test_{}", "0".repeat(64))), 401, "invalid_api_key"),
        (Some(format!("Bearer {}", m.sk.replacen("sk_test", "sk_live", 1))), 401, "invalid_api_key"),
        (Some(format!("Bearer {}", m.pk)), 403, "secret_key_required"),
    ];
    for (header, status, code) in cases {
        let mut req = Request::get("/v1/payment_intents");
        if let Some(h) = &header {
            req = req.header("authorization", h);
        }
        let reply = app.send(req.body(Body::empty()).unwrap()).await;
        assert_eq!(reply.status.as_u16(), status, "{header:?}: {}", reply.raw);
        assert_eq!(reply.code(), code, "{header:?}");
    }
}

/// Arbitrary bodies into the create endpoint and arbitrary query strings into the list
/// endpoints, on both engines: always a 2xx or a 4xx, never a 500.
fn fuzz(engine: Engine) {
    let (rt, app) = blocking_app(engine);
    let sk = rt.block_on(app.merchant()).sk;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() });
    let input = (
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            any_json().prop_map(|v| v.to_string()),
        ],
        any_query(),
    );
    runner
        .run(&input, |(body, query)| {
            rt.block_on(async {
                let created = raw_post(&app, &sk, "/v1/payment_intents", "application/json", body).await;
                prop_assert!(created.status.is_success() || created.status.is_client_error(), "{} {}", created.status, created.raw);
                for list in ["/v1/payment_intents", "/v1/transactions", "/v1/refunds"] {
                    let reply = app.get(&sk, &format!("{list}?{query}")).await;
                    prop_assert!(reply.status.is_success() || reply.status.is_client_error(), "{list}?{query}: {}", reply.raw);
                }
                Ok(())
            })
        })
        .unwrap();
}

#[test]
fn sqlite_no_body_or_query_string_makes_the_server_fail() {
    fuzz(Engine::Sqlite);
}

#[test]
fn postgres_no_body_or_query_string_makes_the_server_fail() {
    fuzz(Engine::Postgres);
}

/// Query strings over the real parameter names with hostile values (percent-encoded bytes,
/// NUL, huge numbers, SQL and LIKE metacharacters).
fn any_query() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("limit"), Just("cursor"), Just("status"), Just("customer_name"), Just("created_gte"),
        Just("created_lt"), Just("type"), Just("payment_intent"), Just("x"),
    ];
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(|b| b.iter().map(|x| format!("%{x:02X}")).collect::<String>()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("%00".to_owned()),
        Just("'%3B%20DROP%20TABLE%20payment_intents%3B--".to_owned()),
        Just("%25_%5C".to_owned()),
        Just("2026-01-01".to_owned()),
        "[a-z_]{0,12}",
    ];
    proptest::collection::vec((name, value), 0..4)
        .prop_map(|pairs| pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&"))
}

fn any_json() -> impl Strategy<Value = serde_json::Value> {
    let field = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        ".{0,12}".prop_map(|s| json!(s)),
        Just(json!(["KRW"])),
        Just(json!({ "k": "v" })),
    ];
    proptest::collection::btree_map(
        prop_oneof![
            Just("amount".to_owned()), Just("currency".to_owned()), Just("customer_name".to_owned()),
            Just("order_name".to_owned()), Just("merchant_order_id".to_owned()), Just("metadata".to_owned()),
            Just("expires_in_minutes".to_owned()), Just("confirm_mode".to_owned()), Just("customer_email".to_owned()),
        ],
        field,
        0..9,
    )
    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect()))
}

