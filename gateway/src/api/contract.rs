//! The API contract: what the OpenAPI documents say about each value a request may carry, next to
//! the rules that check it, and the answers every operation can give.
//!
//! Request fields name their schema here, as `#[schema(format = "contract:text:64")]` (see
//! [`field_schema`]), so each constraint is written once, next to the others, and kept with the
//! field's own description. They are JSON Schema 2020-12 (as OpenAPI 3.1 has it), some of it
//! beyond what utoipa's model holds (`propertyNames`, `anyOf` of patterns), which is why
//! [`document`] puts them in place on the JSON. [`document`] then states, for every
//! operation, what its shape implies the server answers: `401`/`403` where a credential is needed, `400`/`404` for a
//! path id, `413`/`415` for a body, `409`/`422` for an `Idempotency-Key`, `503` while the
//! database is down, `500`; and it gives parameters their constraints (ids, `limit`, `cursor`,
//! times, the `Idempotency-Key` header). `scripts/test-schemathesis` checks the result against
//! the server.

use crate::domain::event::EVENT_TYPES;
use crate::ids::IdKind;
use serde_json::{json, Map, Value};

/// Unicode White_Space, which Rust's `str::trim` removes from both ends of a text field.
const SPACE: &str = r"[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
/// Not a control character (Unicode Cc: `char::is_control`).
const VISIBLE: &str = r"[^\x00-\x1f\x7f-\x9f]";
/// Neither a control character nor white space.
const SOLID: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// A text field as [`crate::domain::text_field`] reads it: not blank, no control characters
/// once the white space around it is trimmed.
pub fn text_pattern() -> String {
    format!("^{SPACE}*{SOLID}(?:{VISIBLE}*{SOLID})?{SPACE}*$")
}

/// The schema a field's `#[schema(format = "contract:<name>")]` stands for, by name (see
/// [`field_schema`]); `None` for an unknown name.
pub fn field_schema(name: &str) -> Option<Value> {
    if let Some(max) = name.strip_prefix("text:") {
        let max: usize = max.parse().ok()?;
        return Some(json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": text_pattern()}));
    }
    Some(match name {
        // A positive amount in the currency's minor unit ([`crate::domain::money::Amount`]).
        "amount" => json!({"type": "integer", "minimum": 1, "maximum": crate::domain::money::MAX_AMOUNT, "example": 12000}),
        // Any integer: a value the server compares rather than validates (a confirm's amount).
        "any_amount" => json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "example": 12000}),
        // A supported ISO 4217 code (upper case is canonical; lower case is read too).
        "currency" => {
            let codes: Vec<&str> = crate::domain::money::Currency::ALL.iter().map(|c| c.code()).collect();
            json!({"type": "string", "enum": codes, "example": "KRW"})
        }
        // `customer_email` as a payment intent takes it: something, `@`, a domain with a dot
        // inside, at most 254 characters.
        "customer_email" => {
            let part = r"[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
            let edge = r"[^.@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";
            let pattern = format!("^{SPACE}*{part}+@{edge}{part}*\\.{part}*{edge}{SPACE}*$");
            json!({"type": "string", "maxLength": 254, "pattern": pattern, "example": "alice@example.com"})
        }
        "wallet_email" => json!({"type": "string", "maxLength": 254, "pattern": WALLET_EMAIL, "example": "alice@example.com"}),
        "phone" => json!({"type": "string", "maxLength": 64, "pattern": PHONE, "example": "010-1234-5678"}),
        // Sign-in's `identifier`: an email address, or a phone number.
        "identifier" => json!({"type": "string", "maxLength": 254, "anyOf": [{"pattern": WALLET_EMAIL}, {"pattern": PHONE}], "example": "alice@example.com"}),
        // Up to 50 pairs, keys of 1 to 40 characters, values up to 500, no control characters.
        "metadata" => {
            let no_control = format!("^{VISIBLE}*$");
            json!({
                "type": "object",
                "maxProperties": 50,
                "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": no_control},
                "additionalProperties": {"type": "string", "maxLength": 500, "pattern": no_control},
                "example": {"order_ref": "A-1001"}
            })
        }
        "expiry" => json!({"type": "integer", "minimum": 1, "maximum": crate::domain::intent::MAX_EXPIRY_MINUTES, "example": 15}),
        "payment_intent_id" => json!({"type": "string", "pattern": id_pattern(IdKind::PaymentIntent)}),
        "event_id" => json!({"type": "string", "pattern": id_pattern(IdKind::Event)}),
        // 12 to 19 digits, spaces between them allowed.
        "card_number" => json!({"type": "string", "pattern": "^ *(?:[0-9] *){12,19}$", "example": "4242 4242 4242 4242"}),
        // Absolute `http(s)`, a host name, no user name, password or fragment, at most 2048
        // characters. Whether the host is internal is checked too, and depends on the
        // configuration (`url_not_allowed`).
        "webhook_url" => {
            let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
            let pattern = format!(
                r"^https?://(?:{label}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?(?::[1-9][0-9]{{0,3}})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$"
            );
            json!({"type": "string", "minLength": 1, "maxLength": 2048, "pattern": pattern, "example": "https://shop.example.com/webhooks"})
        }
        // `https` and a host name, or `http` on the merchant's own machine; no user name or
        // password; at most 2048 characters ([`crate::domain::intent::ReturnUrl`]).
        "return_url" => {
            let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
            let rest = r"(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@/-]*)?(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?(?:#[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?$";
            let pattern = format!(r"^(?:https://(?:{label}\.)+[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?|http://(?:localhost|127\.0\.0\.1|\[::1\])){rest}");
            json!({"type": "string", "minLength": 1, "maxLength": crate::domain::intent::MAX_RETURN_URL_CHARS, "pattern": pattern, "example": "https://shop.example.com/orders/1001/return"})
        }
        // One entry of `enabled_events`: an event type, a family of them, or `*`.
        "event_pattern" => {
            let mut choices = event_patterns();
            choices.push("*".into());
            json!({"type": "string", "enum": choices})
        }
        "overlap" => json!({"type": "integer", "minimum": 0, "maximum": crate::service::webhooks::MAX_ROTATION_OVERLAP_MS / 1000, "example": 86400}),
        "new_password" => json!({
            "type": "string",
            "format": "password",
            "minLength": crate::domain::customer::PASSWORD_MIN_CHARS,
            "maxLength": crate::domain::customer::PASSWORD_MAX_CHARS
        }),
        _ => return None,
    })
}

/// A wallet account's email address ([`crate::domain::customer::Identifier::email`]), in the
/// ASCII spelling: dot-separated atoms, `@`, and at least two domain labels.
pub const WALLET_EMAIL: &str = r"^(?=[^@]{1,64}@)[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$";

/// A phone number ([`crate::domain::customer::Identifier::phone`]): `+` and 8 to 15 digits, or a
/// Korean national number (`0`, then 8 to 10 digits), spaced with ` `, `-`, `.`, `(` or `)`.
pub const PHONE: &str = r"^[ ().-]*(?:\+[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}|0[ ().-]*[1-9](?:[ ().-]*[0-9]){7,9})[ ().-]*$";

fn id_pattern(kind: IdKind) -> String {
    format!("^{}[0-9A-Za-z]{{24}}$", kind.prefix())
}

/// Event types, and families of them (`payment_intent.*`).
fn event_patterns() -> Vec<String> {
    let mut all: Vec<String> = EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect();
    let mut families: Vec<String> = EVENT_TYPES.iter().filter_map(|t| t.split('.').next()).map(|f| format!("{f}.*")).collect();
    families.dedup();
    all.extend(families);
    all
}

/// Which API a document describes: their credentials differ.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `/v1`: secret keys (a publishable key is `403 secret_key_required`).
    Merchant,
    /// `/wallet/v1`: the customer's access token.
    Wallet,
}

/// The document as served and committed: `doc` with its contract schemas in place and every
/// operation completed from its shape (see the module's documentation).
pub fn document(doc: &utoipa::openapi::OpenApi, surface: Surface) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serializes");
    put_in_place(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for operation in item.values_mut() {
                if let Some(operation) = operation.as_object_mut() {
                    complete(surface, path, operation);
                }
            }
        }
    }
    doc
}

/// Replaces each field schema marked `format: contract:<name>` by the named schema, keeping the
/// field's description and whether it may be `null`.
fn put_in_place(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let name = object.get("format").and_then(Value::as_str).and_then(|f| f.strip_prefix("contract:")).map(str::to_owned);
            if let Some(name) = name {
                let Some(Value::Object(mut schema)) = field_schema(&name) else { panic!("no contract schema is named `{name}`") };
                let nullable = object.get("type").and_then(Value::as_array).is_some_and(|t| t.contains(&json!("null")));
                if nullable {
                    let kind = schema["type"].clone();
                    schema.insert("type".into(), json!([kind, "null"]));
                }
                if let Some(description) = object.get("description").cloned() {
                    schema.insert("description".into(), description);
                }
                *object = schema;
            }
            object.values_mut().for_each(put_in_place);
        }
        Value::Array(items) => items.iter_mut().for_each(put_in_place),
        _ => {}
    }
}

/// The kind of id a path's `{id}` names.
fn path_id_kind(path: &str) -> Option<IdKind> {
    let resource = path.trim_start_matches("/v1/").trim_start_matches("/wallet/v1/").trim_start_matches("test_helpers/");
    match resource.split('/').next()? {
        "payment_intents" => Some(IdKind::PaymentIntent),
        "refunds" => Some(IdKind::Refund),
        "events" => Some(IdKind::Event),
        "webhook_endpoints" => Some(IdKind::WebhookEndpoint),
        "wallets" => Some(IdKind::Wallet),
        _ => None,
    }
}

fn parameter_schema(path: &str, name: &str, place: &str) -> Option<Value> {
    let any_id = |kinds: &[IdKind]| {
        let prefixes: Vec<&str> = kinds.iter().map(|k| k.prefix().trim_end_matches('_')).collect();
        json!({"type": "string", "pattern": format!("^(?:{})_[0-9A-Za-z]{{24}}$", prefixes.join("|"))})
    };
    let time = json!({"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}], "example": "2026-11-21"});
    Some(match (place, name) {
        ("path", "id") => json!({"type": "string", "pattern": id_pattern(path_id_kind(path)?)}),
        ("path", "code") => json!({"type": "string", "pattern": "^[0-9A-Za-z]{32}$"}),
        ("query", "limit") => json!({"type": "integer", "minimum": 1, "maximum": super::pagination::MAX_LIMIT, "default": super::pagination::DEFAULT_LIMIT}),
        ("query", "cursor") => json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,200}$"}),
        ("query", "created_gte" | "created_lt") => time,
        ("query", "payment_intent") => any_id(&[IdKind::PaymentIntent]),
        ("query", "object") => any_id(&[IdKind::PaymentIntent, IdKind::Refund]),
        ("query", "customer_name") => json!({"type": "string", "maxLength": 100, "pattern": format!("^{VISIBLE}*$")}),
        ("query", "status") => json!({"type": "string", "enum": crate::domain::intent::IntentStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()}),
        ("query", "type") if path.ends_with("/transactions") => json!({"type": "string", "enum": ["payment", "cancel", "refund"]}),
        ("query", "type") if path.ends_with("/events") => json!({"type": "string", "enum": event_patterns()}),
        ("query", "key") => json!({"type": "string", "pattern": "^pk_(?:test|live)_[0-9a-f]{64}$"}),
        ("query", "client_secret") => json!({"type": "string", "minLength": 1, "maxLength": super::intents::MAX_CLIENT_SECRET_CHARS}),
        ("header", "Idempotency-Key") => {
            json!({"type": "string", "minLength": 1, "maxLength": super::idempotency::MAX_KEY_LEN, "pattern": "^[!-~]+$"})
        }
        ("query", "last_event_id") => json!({"type": "string", "pattern": format!("^(?:{})?$", id_pattern(IdKind::Event).trim_start_matches('^').trim_end_matches('$'))}),
        // Empty is the same as absent (a stream that has sent no id yet).
        ("header", "Last-Event-ID") => json!({"type": "string", "pattern": format!("^(?:{})?$", id_pattern(IdKind::Event).trim_start_matches('^').trim_end_matches('$'))}),
        _ => return None,
    })
}

fn error_answer(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

fn retry_after() -> Value {
    json!({"Retry-After": {"description": "Seconds to wait before retrying.", "required": true, "schema": {"type": "integer", "minimum": 0}}})
}

fn complete(surface: Surface, path: &str, operation: &mut Map<String, Value>) {
    // Parameters: their constraints, and what they imply the server may answer.
    let mut in_path = false;
    // A filter that names an object answers 404 when there is no such object.
    let mut names_object = false;
    let mut keyed = false;
    let mut has_parameters = false;
    if let Some(parameters) = operation.get_mut("parameters").and_then(Value::as_array_mut) {
        for parameter in parameters.iter_mut() {
            let name = parameter["name"].as_str().unwrap_or_default().to_owned();
            let place = parameter["in"].as_str().unwrap_or_default().to_owned();
            has_parameters = true;
            in_path |= place == "path";
            names_object |= place == "query" && name == "payment_intent";
            keyed |= name == "Idempotency-Key";
            if let Some(schema) = parameter_schema(path, &name, &place) {
                parameter["schema"] = schema;
            } else if let Some(kind) = parameter["schema"]["type"].as_array().and_then(|t| t.first()).cloned() {
                // A parameter is present or absent, never `null`.
                parameter["schema"]["type"] = kind;
            }
        }
    }
    // An optional body is an object or nothing: not `null`.
    let mut has_body = false;
    if let Some(body) = operation.get_mut("requestBody") {
        has_body = true;
        if let Some(schema) = body.pointer_mut("/content/application~1json/schema") {
            if let Some(choices) = schema.get("oneOf").and_then(Value::as_array).cloned() {
                if let Some(object) = choices.into_iter().find(|c| c.get("type") != Some(&json!("null"))) {
                    *schema = object;
                    body["required"] = json!(false);
                }
            }
        }
    }
    let secured = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|alternatives| !alternatives.is_empty() && alternatives.iter().all(|a| a.as_object().is_some_and(|a| !a.is_empty())));

    let takes_publishable = operation
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|alternatives| alternatives.iter().any(|a| a.get("publishable_key").is_some()));

    let responses = operation.entry("responses").or_insert_with(|| json!({}));
    let Some(responses) = responses.as_object_mut() else { return };
    let mut add = |status: &str, answer: Value| {
        responses.entry(status.to_owned()).or_insert(answer);
    };
    if has_body || has_parameters {
        add("400", error_answer("Invalid request: the error's `code` and `param` say what and where."));
    }
    if secured {
        match surface {
            Surface::Merchant => {
                add("401", error_answer("authentication_required, invalid_api_key, api_key_expired"));
                if !takes_publishable {
                    add("403", error_answer("secret_key_required: a publishable key where a secret key is needed"));
                }
            }
            Surface::Wallet => add("401", error_answer("authentication_required, token_invalid, token_expired")),
        }
    }
    if in_path || names_object {
        add("404", error_answer("No such object (resource_missing)"));
    }
    if keyed {
        add("409", error_answer("idempotency_key_in_use, idempotency_key_unreplayable"));
        add("422", error_answer("idempotency_key_reused: the key was used with another body"));
    }
    if has_body {
        add("413", error_answer("body_too_large: over 64 KiB"));
        add("415", error_answer("unsupported_media_type: a body without `Content-Type: application/json`"));
    }
    add("500", error_answer("internal_error: retry with the same Idempotency-Key"));
    let mut unavailable = error_answer("database_unavailable: the database cannot be reached right now; retry after `Retry-After` seconds");
    unavailable["headers"] = retry_after();
    add("503", unavailable);
    // Every listed answer in ascending order, as a reader scans them.
    let mut sorted: Vec<(String, Value)> = std::mem::take(responses).into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    responses.extend(sorted);
}
