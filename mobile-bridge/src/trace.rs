//! Request spans for the customer side: they name the matched route template (`/p/{code}`),
//! never the raw path, which carries approval codes.

use axum::extract::MatchedPath;
use axum::http::Request;
use tracing::Span;

pub fn route_span<B>(req: &Request<B>) -> Span {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::debug_span!("bridge_request", method = %req.method(), route)
}
