//! `/healthz` (the process is alive) and `/readyz` (it can serve: the database answers), and the
//! gate that refuses requests at once while the database is down.

use super::error::ApiError;
use crate::service::Services;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ReadinessBody {
    /// `ready` or `not_ready`.
    pub status: String,
    /// `ok` or `unreachable`.
    pub database: String,
    /// `ok`, `unreachable` or `not_configured`. Redis down does not make a replica unready:
    /// payments go on, only live updates across replicas wait for it.
    pub redis: String,
}

/// `GET /readyz`: `200` while the database answers, `503` while it does not.
#[utoipa::path(
    get, path = "/readyz", tag = "Health",
    description = "Whether this replica can serve: 200 while its database answers (checked now), 503 while it does not. Redis is reported, not required.",
    responses(
        (status = 200, description = "Ready", body = ReadinessBody),
        (status = 503, description = "The database cannot be reached", body = ReadinessBody),
    ),
    security(())
)]
pub async fn readyz(State(services): State<Arc<Services>>) -> Response {
    let r = services.readiness().await;
    let word = |up: bool| if up { "ok" } else { "unreachable" };
    let body = ReadinessBody {
        status: if r.database { "ready" } else { "not_ready" }.into(),
        database: word(r.database).into(),
        redis: r.redis.map_or("not_configured", word).into(),
    };
    let status = if r.database { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}

/// While the database is down, a request that needs it is refused at once with
/// `503 database_unavailable` and `Retry-After`, instead of waiting for a connection.
pub async fn database_gate(State(services): State<Arc<Services>>, req: Request, next: Next) -> Response {
    if services.database_reachable() {
        return next.run(req).await;
    }
    ApiError::database_unavailable().into_response()
}
