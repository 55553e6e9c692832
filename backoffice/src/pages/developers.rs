//! The developers' pages: API keys, webhook endpoints with their delivery log, and events.
//! A new key or secret is in the answer to the form that made it, and in no later page.

use super::{render, shown_on, Layout, PageForm, ShowsError, Staff};
use crate::accounts::SignedIn;
use crate::developers::{event_choices, KeyState, ROLL_EXPIRIES};
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::Backoffice;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gateway::api::pagination::{decode_cursor, encode_cursor};
use gateway::domain::keys::KeyKind;
use gateway::domain::query::Cursor;
use gateway::domain::webhook::{EndpointStatus, WebhookEndpoint};
use gateway::service::IssuedKey;
use serde::Deserialize;
use std::sync::Arc;

/// A form's fields, repeated names kept (the event checkboxes).
pub struct Fields(Vec<(String, String)>);

impl Fields {
    fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<(String, String)>::deserialize(d).map(Fields)
    }
}

/// `?mode=live` or test; `?cursor=` for the next page; a notice after a redirect.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    cursor: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    notice: String,
    #[serde(default)]
    count: Option<u64>,
}

fn cursor_of(text: &str) -> Option<Cursor> {
    (!text.is_empty()).then(|| decode_cursor(text)).flatten()
}

pub async fn start(staff: Staff) -> Response {
    let to = if staff.0.role.may(Action::ManageKeys) {
        "/dashboard/developers/keys"
    } else if staff.0.role.may(Action::ManageWebhooks) {
        "/dashboard/developers/webhooks"
    } else {
        "/dashboard/developers/events"
    };
    Redirect::to(to).into_response()
}

// ---- API keys ----

pub struct KeyRow {
    pub id: String,
    pub kind: &'static str,
    pub live: bool,
    pub prefix: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub usable: bool,
}

#[derive(Template)]
#[template(path = "developer_keys.html")]
struct KeysPage {
    layout: Layout,
    keys: Vec<KeyRow>,
    /// The key just made, and what it is: shown this once.
    new_key: Option<(String, String)>,
    roll_choices: Vec<(&'static str, &'static str)>,
    error: Option<(&'static str, String)>,
}

impl ShowsError for KeysPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

fn kind_label(t: &crate::i18n::Texts, kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Publishable => t.kind_publishable,
        KeyKind::Secret => t.kind_secret,
    }
}

async fn keys_page(office: &Backoffice, who: &SignedIn, new_key: Option<&IssuedKey>) -> Result<KeysPage, BackofficeError> {
    let layout = Layout::new(who, "developers", false);
    let t = layout.t;
    let tz = who.time_zone;
    let now = office.services.clock.now();
    let keys = office
        .api_keys(who)
        .await?
        .into_iter()
        .map(|k| {
            let state = KeyState::of(&k, now);
            KeyRow {
                kind: kind_label(t, k.kind),
                live: k.livemode,
                prefix: k.display_prefix.clone(),
                created: tz.format(k.created_at),
                expires: k.revoked_at.or(k.expires_at).map(|at| tz.format(at)).unwrap_or_default(),
                last_used: k.last_used_at.map_or_else(|| t.never.to_owned(), |at| tz.format(at)),
                state: state.as_str(),
                state_label: match state {
                    KeyState::Active => t.state_active,
                    KeyState::Expiring => t.state_expiring,
                    KeyState::Expired => t.state_expired,
                    KeyState::Revoked => t.state_revoked,
                },
                usable: k.is_usable_at(now),
                id: k.id,
            }
        })
        .collect();
    let labels = [t.roll_now, t.roll_1h, t.roll_24h, t.roll_7d];
    Ok(KeysPage {
        keys,
        new_key: new_key.map(|k| (format!("{} · {}", kind_label(t, k.record.kind), if k.record.livemode { "live" } else { "test" }), k.plain.value.expose().to_owned())),
        roll_choices: ROLL_EXPIRIES.iter().zip(labels).map(|((code, _), label)| (*code, label)).collect(),
        error: None,
        layout,
    })
}

pub async fn keys(State(office): State<Arc<Backoffice>>, staff: Staff) -> Result<Response, BackofficeError> {
    Ok(render(&keys_page(&office, &staff.0, None).await?, StatusCode::OK))
}

/// The keys page with the new key on it, or with what went wrong.
async fn after_key_change(office: &Backoffice, staff: &Staff, result: Result<Option<IssuedKey>, BackofficeError>) -> Result<Response, BackofficeError> {
    match result {
        Ok(Some(issued)) => Ok(render(&keys_page(office, &staff.0, Some(&issued)).await?, StatusCode::OK)),
        Ok(None) => Ok(Redirect::to("/dashboard/developers/keys").into_response()),
        Err(e @ (BackofficeError::Forbidden | BackofficeError::NotFound)) => Err(e),
        Err(e) => shown_on(keys_page(office, &staff.0, None).await?, e),
    }
}

pub async fn create_key(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    let result = office.create_api_key(&staff.0, form.get("kind"), form.get("mode")).await.map(Some);
    after_key_change(&office, &staff, result).await
}

pub async fn roll_key(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    let result = office.roll_api_key(&staff.0, &id, form.get("expires_in")).await.map(Some);
    after_key_change(&office, &staff, result).await
}

pub async fn revoke_key(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>) -> Result<Response, BackofficeError> {
    let result = office.revoke_api_key(&staff.0, &id).await.map(|()| None);
    after_key_change(&office, &staff, result).await
}

// ---- Webhook endpoints ----

pub struct EndpointRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub enabled: bool,
    pub reason: String,
}

fn endpoint_row(e: &WebhookEndpoint) -> EndpointRow {
    EndpointRow {
        id: e.id.clone(),
        url: e.url.clone(),
        events: e.enabled_events.join(", "),
        enabled: e.status == EndpointStatus::Enabled,
        reason: e.disabled_reason.clone().unwrap_or_default(),
    }
}

/// The event checkboxes: (type, checked), and whether "all" is.
fn choices(selected: &[String]) -> (Vec<(&'static str, bool)>, bool) {
    let all = selected.iter().any(|s| s == "*");
    (event_choices().into_iter().map(|c| (c, !all && selected.iter().any(|s| s == c))).collect(), all)
}

#[derive(Template)]
#[template(path = "developer_webhooks.html")]
struct WebhooksPage {
    layout: Layout,
    live: bool,
    endpoints: Vec<EndpointRow>,
    choices: Vec<(&'static str, bool)>,
    all_checked: bool,
    url: String,
    error: Option<(&'static str, String)>,
}

impl ShowsError for WebhooksPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

async fn webhooks_page(office: &Backoffice, who: &SignedIn, live: bool, url: &str, selected: &[String]) -> Result<WebhooksPage, BackofficeError> {
    let endpoints = office.webhook_endpoints(who, live).await?.iter().map(endpoint_row).collect();
    let (choices, all_checked) = choices(selected);
    Ok(WebhooksPage { layout: Layout::new(who, "developers", !live), live, endpoints, choices, all_checked, url: url.to_owned(), error: None })
}

pub async fn webhooks(State(office): State<Arc<Backoffice>>, staff: Staff, Query(q): Query<ListQuery>) -> Result<Response, BackofficeError> {
    Ok(render(&webhooks_page(&office, &staff.0, q.mode == "live", "", &["*".to_owned()]).await?, StatusCode::OK))
}

pub async fn create_endpoint(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    let events = form.all("events");
    match office.create_endpoint(&staff.0, form.get("mode"), form.get("url"), events.clone()).await {
        Ok(created) => {
            let secret = created.secret.as_ref().map(|s| s.expose().to_owned());
            Ok(render(&endpoint_page(&office, &staff.0, &created.id, None, secret, None).await?, StatusCode::OK))
        }
        Err(e @ (BackofficeError::Forbidden | BackofficeError::NotFound)) => Err(e),
        Err(e) => shown_on(webhooks_page(&office, &staff.0, form.get("mode") == "live", form.get("url"), &events).await?, e),
    }
}

pub struct AttemptRow {
    pub time: String,
    pub event: String,
    pub event_type: String,
    pub attempt: i64,
    pub answer: String,
    pub latency: String,
    pub error: String,
    pub ok: bool,
}

#[derive(Template)]
#[template(path = "developer_webhook.html")]
struct EndpointPage {
    layout: Layout,
    endpoint: EndpointRow,
    live: bool,
    previous_until: Option<String>,
    /// The secret just made: shown this once.
    new_secret: Option<String>,
    choices: Vec<(&'static str, bool)>,
    all_checked: bool,
    attempts: Vec<AttemptRow>,
    next: Option<String>,
    notice: Option<String>,
    since_default: String,
    time_zone: &'static str,
    error: Option<(&'static str, String)>,
}

impl ShowsError for EndpointPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

async fn endpoint_page(office: &Backoffice, who: &SignedIn, id: &str, after: Option<Cursor>, new_secret: Option<String>, notice: Option<String>) -> Result<EndpointPage, BackofficeError> {
    let (scope, endpoint, attempts) = office.endpoint_attempts(who, id, after).await?;
    let tz = who.time_zone;
    let (choices, all_checked) = choices(&endpoint.enabled_events);
    let next = attempts.next.as_ref().map(|c| format!("/dashboard/developers/webhooks/{}?cursor={}", endpoint.id, encode_cursor(c)));
    let attempts = attempts
        .data
        .into_iter()
        .map(|a| AttemptRow {
            time: tz.format(a.attempted_at),
            ok: a.error.is_none(),
            answer: a.response_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into()),
            latency: format!("{} ms", a.latency_ms),
            error: a.error.unwrap_or_default(),
            event: a.event,
            event_type: a.event_type,
            attempt: a.attempt,
        })
        .collect();
    Ok(EndpointPage {
        layout: Layout::new(who, "developers", !scope.livemode),
        live: scope.livemode,
        previous_until: endpoint.previous_secret_expires_at.filter(|at| *at > office.services.clock.now()).map(|at| tz.format(at)),
        endpoint: endpoint_row(&endpoint),
        new_secret,
        choices,
        all_checked,
        attempts,
        next,
        notice,
        since_default: tz.format_local_input(office.services.clock.now() - 24 * 3_600_000),
        time_zone: tz.name(),
        error: None,
    })
}

pub async fn endpoint(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, Query(q): Query<ListQuery>) -> Result<Response, BackofficeError> {
    let t = crate::i18n::Shell::current().t;
    let notice = match q.notice.as_str() {
        "resent" => Some(t.resent_notice.to_owned()),
        "requeued" => Some(format!("{} {}", t.requeued_notice, q.count.unwrap_or(0))),
        _ => None,
    };
    Ok(render(&endpoint_page(&office, &staff.0, &id, cursor_of(&q.cursor), None, notice).await?, StatusCode::OK))
}

/// Back to the endpoint (with `notice`), or its page with what went wrong.
async fn after_endpoint_change(office: &Backoffice, staff: &Staff, id: &str, result: Result<Option<String>, BackofficeError>) -> Result<Response, BackofficeError> {
    match result {
        Ok(notice) => Ok(Redirect::to(&format!("/dashboard/developers/webhooks/{id}{}", notice.map(|n| format!("?{n}")).unwrap_or_default())).into_response()),
        Err(e @ (BackofficeError::Forbidden | BackofficeError::NotFound)) => Err(e),
        Err(e) => shown_on(endpoint_page(office, &staff.0, id, None, None, None).await?, e),
    }
}

pub async fn change_endpoint(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    let result = office.change_endpoint(&staff.0, &id, form.get("url"), form.all("events")).await.map(|()| None);
    after_endpoint_change(&office, &staff, &id, result).await
}

pub async fn enable_endpoint(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>) -> Result<Response, BackofficeError> {
    let result = office.set_endpoint_enabled(&staff.0, &id, true).await.map(|()| None);
    after_endpoint_change(&office, &staff, &id, result).await
}

pub async fn disable_endpoint(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>) -> Result<Response, BackofficeError> {
    let result = office.set_endpoint_enabled(&staff.0, &id, false).await.map(|()| None);
    after_endpoint_change(&office, &staff, &id, result).await
}

pub async fn rotate_secret(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    match office.rotate_endpoint_secret(&staff.0, &id, form.get("overlap_hours")).await {
        Ok(rotated) => {
            let secret = rotated.secret.as_ref().map(|s| s.expose().to_owned());
            Ok(render(&endpoint_page(&office, &staff.0, &id, None, secret, None).await?, StatusCode::OK))
        }
        Err(e) => after_endpoint_change(&office, &staff, &id, Err(e)).await,
    }
}

pub async fn resend_event(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    let result = office.resend_event(&staff.0, &id, form.get("event")).await.map(|()| Some("notice=resent".to_owned()));
    after_endpoint_change(&office, &staff, &id, result).await
}

pub async fn resend_failed(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<Fields>) -> Result<Response, BackofficeError> {
    let result = office.resend_failed_since(&staff.0, &id, form.get("since")).await.map(|n| Some(format!("notice=requeued&count={n}")));
    after_endpoint_change(&office, &staff, &id, result).await
}

// ---- Events ----

pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub object: String,
    pub time: String,
}

#[derive(Template)]
#[template(path = "developer_events.html")]
struct EventsPage {
    layout: Layout,
    live: bool,
    kind: String,
    types: Vec<&'static str>,
    rows: Vec<EventRow>,
    next: Option<String>,
    error: Option<(&'static str, String)>,
}

impl ShowsError for EventsPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

/// The id of the object an event is about.
fn object_of(data: &serde_json::Value) -> String {
    data.get("id").and_then(|v| v.as_str()).unwrap_or_default().to_owned()
}

pub async fn events(State(office): State<Arc<Backoffice>>, staff: Staff, Query(q): Query<ListQuery>) -> Result<Response, BackofficeError> {
    let who = &staff.0;
    let live = q.mode == "live";
    let mut types: Vec<&'static str> = vec!["payment_intent.*", "refund.*"];
    types.extend(event_choices());
    let mut page = EventsPage { layout: Layout::new(who, "developers", !live), live, kind: q.kind.clone(), types, rows: Vec::new(), next: None, error: None };
    let kind = Some(q.kind.as_str()).filter(|k| !k.is_empty());
    match office.events(who, live, kind, cursor_of(&q.cursor)).await {
        Ok(list) => {
            let tz = who.time_zone;
            page.next = list.next.as_ref().map(|c| {
                let mut link = url::form_urlencoded::Serializer::new(String::new());
                link.append_pair("mode", if live { "live" } else { "test" });
                if !q.kind.is_empty() {
                    link.append_pair("type", &q.kind);
                }
                link.append_pair("cursor", &encode_cursor(c));
                format!("/dashboard/developers/events?{}", link.finish())
            });
            page.rows = list.data.into_iter().map(|e| EventRow { object: object_of(&e.data), time: tz.format(e.created_at), kind: e.kind, id: e.id }).collect();
            Ok(render(&page, StatusCode::OK))
        }
        Err(e @ BackofficeError::Forbidden) => Err(e),
        Err(e) => shown_on(page, e),
    }
}

#[derive(Template)]
#[template(path = "developer_event.html")]
struct EventPage {
    layout: Layout,
    id: String,
    kind: String,
    object: String,
    sequence: i64,
    time: String,
    live: bool,
    payload: String,
    deliveries: Vec<crate::store::DeliveryRow>,
}

pub async fn event(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>) -> Result<Response, BackofficeError> {
    let who = &staff.0;
    let (event, deliveries) = office.event(who, &id).await?;
    let page = EventPage {
        layout: Layout::new(who, "developers", !event.livemode),
        object: object_of(&event.data),
        payload: serde_json::to_string_pretty(&event.data).unwrap_or_default(),
        time: who.time_zone.format(event.created_at),
        sequence: event.sequence,
        live: event.livemode,
        kind: event.kind,
        id: event.id,
        deliveries,
    };
    Ok(render(&page, StatusCode::OK))
}
