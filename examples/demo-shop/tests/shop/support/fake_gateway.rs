//! A stand-in for the gateway's public API, as far as the shop uses it: intents (create with
//! idempotency replay, retrieve, confirm with the amount check, cancel), refunds and webhook
//! endpoints. Tests move intents by hand (`set_status`, as the customer's approval would) and
//! read every call the shop made.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub const SECRET_KEY: &str = "sk_test_0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";
pub const PUBLISHABLE_KEY: &str =
    "pk_test_fedcba9876543210fedcba9876543210fedcba9876543210fedcba98765432";

#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub idempotency_key: Option<String>,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Fake {
    intents: Mutex<HashMap<String, Value>>,
    replies: Mutex<HashMap<(String, String), (StatusCode, Value)>>,
    endpoints: Mutex<HashMap<String, Value>>,
    secrets: Mutex<HashMap<String, String>>,
    calls: Mutex<Vec<Call>>,
    next: AtomicU64,
    /// While set, `POST /v1/payment_intents` answers 500.
    failing_creates: std::sync::atomic::AtomicBool,
}

#[derive(Clone)]
pub struct FakeGateway {
    pub url: String,
    fake: Arc<Fake>,
}

fn error(status: StatusCode, code: &str) -> Response {
    (status, Json(json!({"error": {"code": code, "message": format!("fake gateway: {code}"), "param": null}}))).into_response()
}

impl Fake {
    fn id(&self, prefix: &str) -> String {
        format!("{prefix}{:024}", self.next.fetch_add(1, Ordering::SeqCst))
    }

    fn record(
        &self,
        method: &str,
        path: String,
        headers: &HeaderMap,
        body: &Value,
    ) -> Option<Response> {
        let header = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let call = Call {
            method: method.into(),
            path,
            idempotency_key: header("idempotency-key"),
            authorization: header("authorization"),
            body: body.clone(),
        };
        let authorized = call.authorization.as_deref() == Some(&format!("Bearer {SECRET_KEY}"));
        self.calls.lock().unwrap().push(call);
        (!authorized).then(|| error(StatusCode::UNAUTHORIZED, "invalid_api_key"))
    }

    fn replay(&self, path: &str, headers: &HeaderMap) -> Option<Response> {
        let key = headers.get("idempotency-key")?.to_str().ok()?.to_owned();
        let (status, body) = self
            .replies
            .lock()
            .unwrap()
            .get(&(path.to_owned(), key))?
            .clone();
        Some((status, Json(body)).into_response())
    }

    fn save(&self, path: &str, headers: &HeaderMap, status: StatusCode, body: &Value) {
        if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
            self.replies
                .lock()
                .unwrap()
                .insert((path.to_owned(), key.to_owned()), (status, body.clone()));
        }
    }
}

async fn create_intent(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let path = "/v1/payment_intents";
    if let Some(refused) = f.record("POST", path.into(), &headers, &body) {
        return refused;
    }
    if f.failing_creates.load(Ordering::SeqCst) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    }
    if let Some(replayed) = f.replay(path, &headers) {
        return replayed;
    }
    let id = f.id("pi_");
    let intent = json!({
        "id": id, "object": "payment_intent", "livemode": false, "status": "requires_action",
        "amount": body["amount"], "currency": body["currency"], "merchant_order_id": body["merchant_order_id"],
        "order_name": body["order_name"], "customer_name": body["customer_name"], "confirm_mode": body["confirm_mode"],
    });
    f.intents.lock().unwrap().insert(id.clone(), intent.clone());
    let mut reply = intent;
    reply["client_secret"] = json!(format!(
        "{id}_secret_{:016}",
        f.next.fetch_add(1, Ordering::SeqCst)
    ));
    f.save(path, &headers, StatusCode::CREATED, &reply);
    (StatusCode::CREATED, Json(reply)).into_response()
}

async fn get_intent(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = f.record(
        "GET",
        format!("/v1/payment_intents/{id}"),
        &headers,
        &Value::Null,
    ) {
        return refused;
    }
    match f.intents.lock().unwrap().get(&id) {
        Some(intent) => Json(intent.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "resource_missing"),
    }
}

async fn confirm_intent(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/confirm");
    if let Some(refused) = f.record("POST", path.clone(), &headers, &body) {
        return refused;
    }
    if let Some(replayed) = f.replay(&path, &headers) {
        return replayed;
    }
    let mut intents = f.intents.lock().unwrap();
    let Some(intent) = intents.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "resource_missing");
    };
    if intent["status"] != "requires_confirmation" {
        return error(StatusCode::CONFLICT, "intent_unexpected_state");
    }
    if intent["amount"] != body["amount"] {
        return error(StatusCode::BAD_REQUEST, "amount_mismatch");
    }
    intent["status"] = json!("succeeded");
    let reply = intent.clone();
    f.save(&path, &headers, StatusCode::OK, &reply);
    Json(reply).into_response()
}

async fn cancel_intent(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let path = format!("/v1/payment_intents/{id}/cancel");
    if let Some(refused) = f.record("POST", path.clone(), &headers, &body) {
        return refused;
    }
    if let Some(replayed) = f.replay(&path, &headers) {
        return replayed;
    }
    let mut intents = f.intents.lock().unwrap();
    let Some(intent) = intents.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "resource_missing");
    };
    if intent["status"] != "requires_action" && intent["status"] != "requires_confirmation" {
        return error(StatusCode::CONFLICT, "intent_unexpected_state");
    }
    intent["status"] = json!("canceled");
    let reply = intent.clone();
    f.save(&path, &headers, StatusCode::OK, &reply);
    Json(reply).into_response()
}

async fn create_refund(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let path = "/v1/refunds";
    if let Some(refused) = f.record("POST", path.into(), &headers, &body) {
        return refused;
    }
    if let Some(replayed) = f.replay(path, &headers) {
        return replayed;
    }
    let id = body["payment_intent"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut intents = f.intents.lock().unwrap();
    let Some(intent) = intents.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "resource_missing");
    };
    if intent["status"] != "succeeded" {
        return error(StatusCode::CONFLICT, "intent_unexpected_state");
    }
    let amount = body
        .get("amount")
        .cloned()
        .unwrap_or(intent["amount"].clone());
    intent["status"] = json!(if amount == intent["amount"] {
        "refunded"
    } else {
        "partially_refunded"
    });
    let reply = json!({"id": f.id("re_"), "object": "refund", "payment_intent": id, "amount": amount, "status": "succeeded"});
    f.save(path, &headers, StatusCode::CREATED, &reply);
    (StatusCode::CREATED, Json(reply)).into_response()
}

async fn create_endpoint(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = f.record("POST", "/v1/webhook_endpoints".into(), &headers, &body) {
        return refused;
    }
    let id = f.id("we_");
    let secret = format!("whsec_{}", base64_of(&id));
    let endpoint = json!({"id": id, "object": "webhook_endpoint", "url": body["url"], "enabled_events": body["enabled_events"], "status": "enabled"});
    f.endpoints
        .lock()
        .unwrap()
        .insert(id.clone(), endpoint.clone());
    f.secrets.lock().unwrap().insert(id.clone(), secret.clone());
    let mut reply = endpoint;
    reply["secret"] = json!(secret);
    (StatusCode::CREATED, Json(reply)).into_response()
}

async fn list_endpoints(State(f): State<Arc<Fake>>, headers: HeaderMap) -> Response {
    if let Some(refused) = f.record(
        "GET",
        "/v1/webhook_endpoints".into(),
        &headers,
        &Value::Null,
    ) {
        return refused;
    }
    let data: Vec<Value> = f.endpoints.lock().unwrap().values().cloned().collect();
    Json(json!({"object": "list", "data": data, "has_more": false, "next_cursor": null}))
        .into_response()
}

async fn get_endpoint(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Some(refused) = f.record(
        "GET",
        format!("/v1/webhook_endpoints/{id}"),
        &headers,
        &Value::Null,
    ) {
        return refused;
    }
    match f.endpoints.lock().unwrap().get(&id) {
        Some(e) => Json(e.clone()).into_response(),
        None => error(StatusCode::NOT_FOUND, "resource_missing"),
    }
}

async fn update_endpoint(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = f.record(
        "POST",
        format!("/v1/webhook_endpoints/{id}"),
        &headers,
        &body,
    ) {
        return refused;
    }
    let mut endpoints = f.endpoints.lock().unwrap();
    let Some(e) = endpoints.get_mut(&id) else {
        return error(StatusCode::NOT_FOUND, "resource_missing");
    };
    for field in ["url", "status"] {
        if let Some(v) = body.get(field) {
            e[field] = v.clone();
        }
    }
    Json(e.clone()).into_response()
}

async fn rotate_secret(
    State(f): State<Arc<Fake>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = f.record(
        "POST",
        format!("/v1/webhook_endpoints/{id}/rotate_secret"),
        &headers,
        &body,
    ) {
        return refused;
    }
    let Some(mut e) = f.endpoints.lock().unwrap().get(&id).cloned() else {
        return error(StatusCode::NOT_FOUND, "resource_missing");
    };
    let secret = format!("whsec_{}", base64_of(&f.id("rotated_")));
    f.secrets.lock().unwrap().insert(id, secret.clone());
    e["secret"] = json!(secret);
    Json(e).into_response()
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("fake-signing-key-{s}"))
}

impl FakeGateway {
    pub async fn start() -> FakeGateway {
        let fake = Arc::new(Fake::default());
        let app = Router::new()
            .route("/v1/payment_intents", post(create_intent))
            .route("/v1/payment_intents/{id}", get(get_intent))
            .route("/v1/payment_intents/{id}/confirm", post(confirm_intent))
            .route("/v1/payment_intents/{id}/cancel", post(cancel_intent))
            .route("/v1/refunds", post(create_refund))
            .route(
                "/v1/webhook_endpoints",
                post(create_endpoint).get(list_endpoints),
            )
            .route(
                "/v1/webhook_endpoints/{id}",
                get(get_endpoint).post(update_endpoint),
            )
            .route(
                "/v1/webhook_endpoints/{id}/rotate_secret",
                post(rotate_secret),
            )
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeGateway { url, fake }
    }

    pub fn calls(&self) -> Vec<Call> {
        self.fake.calls.lock().unwrap().clone()
    }

    /// The calls of one method to paths ending with `suffix` (`/confirm`, `/v1/refunds`).
    pub fn calls_to(&self, method: &str, suffix: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.ends_with(suffix))
            .collect()
    }

    pub fn intent(&self, id: &str) -> Value {
        self.fake
            .intents
            .lock()
            .unwrap()
            .get(id)
            .cloned()
            .unwrap_or(Value::Null)
    }

    /// Moves an intent as the customer (or the gateway) would: `requires_confirmation` after
    /// an approval, `expired`, `failed`, `succeeded`.
    pub fn set_status(&self, id: &str, status: &str) -> Value {
        let mut intents = self.fake.intents.lock().unwrap();
        let intent = intents
            .get_mut(id)
            .expect("no such intent at the fake gateway");
        intent["status"] = json!(status);
        intent.clone()
    }

    pub fn fail_creates(&self, failing: bool) {
        self.fake.failing_creates.store(failing, Ordering::SeqCst);
    }

    pub fn endpoints(&self) -> Vec<Value> {
        self.fake
            .endpoints
            .lock()
            .unwrap()
            .values()
            .cloned()
            .collect()
    }

    pub fn delete_endpoints(&self) {
        self.fake.endpoints.lock().unwrap().clear();
    }

    /// The signing secret of the one endpoint (the latest one when several).
    pub fn webhook_secret(&self) -> String {
        let endpoints = self.endpoints();
        let last = endpoints
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .max()
            .expect("no webhook endpoint registered");
        self.fake.secrets.lock().unwrap()[&last].clone()
    }
}
