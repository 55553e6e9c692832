//! `/v1/webhook_endpoints`: register, list, retrieve, update, delete, rotate the secret, read the
//! delivery log and resend an event.

use super::error::{ApiError, ErrorBody};
use super::extract::{object_id, IdParam, JsonBody, MerchantAuth, QueryParams};
use super::idempotency::RequestKey;
use crate::domain::idempotency::View;
use super::pagination::{list_response, page};
use crate::domain::webhook::{EndpointStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint};
use crate::ids::IdKind;
use crate::service::webhooks::{NewWebhookEndpoint, WebhookEndpointUpdate};
use crate::service::Services;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

list_response!(WebhookEndpointList, WebhookEndpoint);
list_response!(WebhookAttemptList, WebhookAttempt);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpointRequest {
    /// `https://...` (live mode requires HTTPS). Internal addresses are refused.
    #[schema(format = "contract:webhook_url")]
    pub url: String,
    /// Event types, families such as `payment_intent.*`, or `*` (the default).
    #[schema(format = "contract:event_pattern", min_items = 1, max_items = 32)]
    pub enabled_events: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpointRequest {
    #[schema(format = "contract:webhook_url")]
    pub url: Option<String>,
    #[schema(format = "contract:event_pattern", min_items = 1, max_items = 32)]
    pub enabled_events: Option<Vec<String>>,
    /// `disabled` stops deliveries (they wait); `enabled` resumes them at once.
    pub status: Option<EndpointStatus>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long deliveries stay signed with the previous secret too: 0 to 604800 (7 days),
    /// default 86400 (24 hours).
    #[schema(format = "contract:overlap")]
    #[serde(default, deserialize_with = "crate::api::extract::whole::optional")]
    pub overlap_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResendRequest {
    /// The event to send again (`evt_...`), any event of this merchant and mode.
    #[schema(format = "contract:event_id")]
    pub event: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeletedWebhookEndpoint {
    pub id: String,
    /// Always `webhook_endpoint`.
    pub object: String,
    pub deleted: bool,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints", tag = "Webhooks",
    description = "Registers an endpoint. The reply carries its `whsec_` signing secret, shown only this once.",
    request_body = CreateWebhookEndpointRequest,
    responses(
        (status = 201, body = WebhookEndpoint),
        (status = 400, description = "url_invalid, url_not_allowed, event_type_invalid, ...", body = ErrorBody),
        (status = 409, description = "webhook_endpoint_limit", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn create(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    JsonBody(req): JsonBody<CreateWebhookEndpointRequest>,
) -> Result<(StatusCode, Json<WebhookEndpoint>), ApiError> {
    let new = NewWebhookEndpoint { url: req.url, enabled_events: req.enabled_events };
    let key = key.answering(201, View::EndpointWithSecret);
    Ok((StatusCode::CREATED, Json(services.create_webhook_endpoint(auth.scope(), new, key.as_ref()).await?)))
}

#[utoipa::path(
    get, path = "/v1/webhook_endpoints", tag = "Webhooks",
    params(ListQuery),
    responses((status = 200, body = WebhookEndpointList), (status = 400, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn list(State(services): State<Arc<Services>>, auth: MerchantAuth, QueryParams(q): QueryParams<ListQuery>) -> Result<Json<WebhookEndpointList>, ApiError> {
    let page = page(q.limit, q.cursor.as_deref())?;
    Ok(Json(services.list_webhook_endpoints(auth.scope(), page).await?.into()))
}

#[utoipa::path(
    get, path = "/v1/webhook_endpoints/{id}", tag = "Webhooks",
    params(("id" = String, Path, description = "we_...")),
    responses((status = 200, body = WebhookEndpoint), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn retrieve(State(services): State<Arc<Services>>, auth: MerchantAuth, IdParam(id): IdParam) -> Result<Json<WebhookEndpoint>, ApiError> {
    object_id(IdKind::WebhookEndpoint, &id, "id")?;
    Ok(Json(services.get_webhook_endpoint(auth.scope(), &id).await?))
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints/{id}", tag = "Webhooks",
    description = "Changes the URL, the event types or the status. Enabling a disabled endpoint resumes its waiting deliveries at once.",
    params(("id" = String, Path, description = "we_...")),
    request_body(content = Option<UpdateWebhookEndpointRequest>, description = "Every field is optional; an empty body changes nothing."),
    responses((status = 200, body = WebhookEndpoint), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn update(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    IdParam(id): IdParam,
    JsonBody(req): JsonBody<UpdateWebhookEndpointRequest>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    object_id(IdKind::WebhookEndpoint, &id, "id")?;
    let update = WebhookEndpointUpdate { url: req.url, enabled_events: req.enabled_events, status: req.status };
    Ok(Json(services.update_webhook_endpoint(auth.scope(), &id, update, key.ok().as_ref()).await?))
}

#[utoipa::path(
    delete, path = "/v1/webhook_endpoints/{id}", tag = "Webhooks",
    description = "Deletes the endpoint, its pending deliveries and its delivery log.",
    params(("id" = String, Path, description = "we_...")),
    responses((status = 200, body = DeletedWebhookEndpoint), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn delete(State(services): State<Arc<Services>>, auth: MerchantAuth, IdParam(id): IdParam) -> Result<Json<DeletedWebhookEndpoint>, ApiError> {
    object_id(IdKind::WebhookEndpoint, &id, "id")?;
    services.delete_webhook_endpoint(auth.scope(), &id).await?;
    Ok(Json(DeletedWebhookEndpoint { id, object: "webhook_endpoint".into(), deleted: true }))
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints/{id}/rotate_secret", tag = "Webhooks",
    description = "Issues a new signing secret, returned only in this reply. Until `previous_secret_expires_at`, deliveries carry signatures under both secrets.",
    params(("id" = String, Path, description = "we_...")),
    request_body(content = Option<RotateSecretRequest>, description = "Optional: without a body the previous secret keeps signing for 24 hours."),
    responses((status = 200, body = WebhookEndpoint), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn rotate_secret(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    IdParam(id): IdParam,
    JsonBody(req): JsonBody<RotateSecretRequest>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    object_id(IdKind::WebhookEndpoint, &id, "id")?;
    let overlap_ms = req.overlap_seconds.map(|s| s.saturating_mul(1000));
    let key = key.answering(200, View::EndpointWithSecret);
    Ok(Json(services.rotate_webhook_secret(auth.scope(), &id, overlap_ms, key.as_ref()).await?))
}

#[utoipa::path(
    get, path = "/v1/webhook_endpoints/{id}/attempts", tag = "Webhooks",
    description = "The delivery log: every attempt's time, response status, latency and error, newest first.",
    params(("id" = String, Path, description = "we_..."), ListQuery),
    responses((status = 200, body = WebhookAttemptList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("secret_key" = []))
)]
pub async fn attempts(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    IdParam(id): IdParam,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Json<WebhookAttemptList>, ApiError> {
    object_id(IdKind::WebhookEndpoint, &id, "id")?;
    let page = page(q.limit, q.cursor.as_deref())?;
    Ok(Json(services.list_webhook_attempts(auth.scope(), &id, page).await?.into()))
}

#[utoipa::path(
    post, path = "/v1/webhook_endpoints/{id}/resend", tag = "Webhooks",
    description = "Queues one event for this endpoint again, due at once with a fresh retry schedule, even if the endpoint did not subscribe to it or did not exist when it happened.",
    params(("id" = String, Path, description = "we_...")),
    request_body = ResendRequest,
    responses(
        (status = 202, body = WebhookDelivery),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "webhook_endpoint_disabled", body = ErrorBody),
    ),
    security(("secret_key" = []))
)]
pub async fn resend(
    State(services): State<Arc<Services>>,
    auth: MerchantAuth,
    key: RequestKey,
    IdParam(id): IdParam,
    JsonBody(req): JsonBody<ResendRequest>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    object_id(IdKind::WebhookEndpoint, &id, "id")?;
    object_id(IdKind::Event, &req.event, "event")?;
    Ok((StatusCode::ACCEPTED, Json(services.resend_webhook(auth.scope(), &id, &req.event, key.answering(202, View::Object).as_ref()).await?)))
}
