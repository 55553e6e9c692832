//! `/v1/events`: the event log (list, retrieve) and the live streams (Server-Sent Events): one
//! merchant-wide stream for servers (secret key) and one per intent for the browser SDK
//! (publishable key and the intent's client secret, CORS open).

use super::error::{ApiError, ErrorBody};
use super::extract::{object_id, IdParam, MerchantAuth, QueryParams};
use super::pagination::{list_response, page, time_param};
use crate::domain::event::{for_checkout, is_event_type_pattern, Event};
use crate::ids::IdKind;
use crate::live::Follow;
use crate::service::Services;
use crate::domain::query::EventFilter;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::Stream;
use serde::Deserialize;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use utoipa::IntoParams;

list_response!(EventList, Event);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListEventsQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// One event type (`payment_intent.succeeded`) or a family (`payment_intent.*`, `refund.*`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub kind: Option<String>,
    /// Only events about this object (`pi_...` or `re_...`).
    pub object: Option<String>,
    /// At or after (RFC 3339 or YYYY-MM-DD).
    pub created_gte: Option<String>,
    /// Before (RFC 3339 or YYYY-MM-DD).
    pub created_lt: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/events", tag = "Events",
    description = "Every state change, newest first. Each event's `sequence` increases by one per merchant.",
    params(ListEventsQuery),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn list(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    QueryParams(q): QueryParams<ListEventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    if let Some(kind) = &q.kind {
        if !is_event_type_pattern(kind) {
            return Err(ApiError::bad_request("parameter_invalid", "type", "type must be an event type such as payment_intent.succeeded, or a family such as refund.*."));
        }
    }
    if let Some(object) = &q.object {
        if !(IdKind::PaymentIntent.is_well_formed(object) || IdKind::Refund.is_well_formed(object)) {
            return Err(ApiError::bad_request("invalid_id", "object", "object must be a payment intent (pi_...) or refund (re_...) id."));
        }
    }
    let filter = EventFilter {
        kind: q.kind,
        object_id: q.object,
        created_gte: time_param("created_gte", q.created_gte.as_deref())?,
        created_lt: time_param("created_lt", q.created_lt.as_deref())?,
    };
    let page = page(q.limit, q.cursor.as_deref())?;
    Ok(Json(services.list_events(auth.scope(), &filter, page).await?.into()))
}

#[utoipa::path(
    get, path = "/v1/events/{id}", tag = "Events",
    params(("id" = String, Path, description = "evt_...")),
    responses((status = 200, body = Event), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn retrieve(State(services): State<Arc<Services>>, auth: MerchantAuth, IdParam(id): IdParam) -> Result<Json<Event>, ApiError> {
    object_id(IdKind::Event, &id, "id")?;
    Ok(Json(services.get_event(auth.scope(), &id).await?))
}

#[utoipa::path(
    get, path = "/v1/events/stream", tag = "Events",
    description = "Server-Sent Events: every new event of the key's merchant and mode, as `id: evt_...`, \
                   `event: <type>`, `data: <event JSON>`. Reconnect with `Last-Event-ID` to receive every \
                   event after it. Idle streams get a comment line every 15 seconds.",
    params(("Last-Event-ID" = Option<String>, Header, description = "Resume after this event.")),
    responses(
        (status = 200, description = "An endless event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "invalid_last_event_id", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn merchant_stream(State(services): State<Arc<Services>>, auth: MerchantAuth, headers: HeaderMap) -> Result<Response, ApiError> {
    let last = last_event_id(&headers)?;
    let follow = services.follow_merchant(auth.scope(), last.as_deref()).await?;
    Ok(sse(follow, services.bus.settings.keep_alive))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IntentStreamQuery {
    /// The intent's client secret, from its creation.
    pub client_secret: String,
    /// The merchant's publishable key (`pk_...`).
    pub key: String,
    /// Resume after this event, like `Last-Event-ID` (which wins when both are sent): for clients
    /// that reconnect with a new `EventSource`, which cannot set headers.
    pub last_event_id: Option<String>,
}

#[utoipa::path(
    get, path = "/v1/payment_intents/{id}/events", tag = "Events",
    description = "Server-Sent Events for the browser: the intent's events so far, then each new one, ending \
                   after `succeeded`, `failed`, `canceled` or `expired`. Authorized by the publishable key and \
                   the intent's client secret; any origin may read it (CORS). Each event's `data` is the intent \
                   as a checkout may see it (`PublicPaymentIntent`: no customer details, order id or metadata).",
    params(("id" = String, Path, description = "pi_..."), IntentStreamQuery,
           ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event.")),
    responses(
        (status = 200, description = "The intent's event stream", content_type = "text/event-stream", body = String),
        (status = 400, description = "invalid_id, invalid_last_event_id (header or query), parameter_missing", body = ErrorBody),
        (status = 401, description = "stream_not_authorized", body = ErrorBody),
    ),
    security(())
)]
pub async fn intent_stream(
    State(services): State<Arc<Services>>,
    IdParam(id): IdParam,
    QueryParams(q): QueryParams<IntentStreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    object_id(IdKind::PaymentIntent, &id, "id")?;
    let last = match last_event_id(&headers)? {
        Some(last) => Some(last),
        None => checked_event_id(q.last_event_id.as_deref().unwrap_or(""), "last_event_id")?,
    };
    let scope = services.authorize_intent_stream(&q.key, &q.client_secret, &id).await?;
    let follow = services.follow_intent(&scope, &id, last.as_deref()).await?;
    Ok(sse_with(follow, services.bus.settings.keep_alive, for_checkout))
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    // Not visible ASCII: refused below like any other malformed id.
    checked_event_id(value.to_str().unwrap_or("?"), "Last-Event-ID")
}

/// An event id to resume after; empty is none.
fn checked_event_id(id: &str, param: &'static str) -> Result<Option<String>, ApiError> {
    let id = id.trim();
    if id.is_empty() {
        return Ok(None);
    }
    // A malformed id names no event of this stream either.
    if !IdKind::Event.is_well_formed(id) {
        return Err(ApiError::bad_request("invalid_last_event_id", param, format!("{param} names no event of this stream.")));
    }
    Ok(Some(id.to_owned()))
}

fn sse(follow: Follow, keep_alive: Duration) -> Response {
    sse_with(follow, keep_alive, |event| event)
}

/// An event stream whose events pass through `view` on their way out.
fn sse_with(follow: Follow, keep_alive: Duration, view: fn(Event) -> Event) -> Response {
    let events = Sse::new(frames(follow, view)).keep_alive(KeepAlive::new().interval(keep_alive).text("keep-alive"));
    // Proxies such as nginx must pass each frame through at once.
    let no_buffering = [(HeaderName::from_static("x-accel-buffering"), HeaderValue::from_static("no"))];
    (no_buffering, events).into_response()
}

fn frames(follow: Follow, view: fn(Event) -> Event) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    futures::stream::unfold(follow, move |mut follow| async move {
        match follow.next().await? {
            Ok(event) => {
                let event = view(event);
                let frame = SseEvent::default()
                    .id(event.id.clone())
                    .event(event.kind.clone())
                    .json_data(&event)
                    .unwrap_or_else(|_| SseEvent::default().comment("unserializable event"));
                Some((Ok(frame), follow))
            }
            Err(e) => {
                // The client reconnects with Last-Event-ID and misses nothing.
                tracing::error!(error = %e, "event stream ended by a store error");
                None
            }
        }
    })
}
