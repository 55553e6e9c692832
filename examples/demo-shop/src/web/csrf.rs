//! Cross-site request refusal for the shop's form posts. Browsers say where a request comes
//! from: `Sec-Fetch-Site` (all current browsers), else `Origin`. A post marked as coming from
//! another site, or from an origin other than the shop's, is refused before any handler runs.
//! A request with neither header did not come from a browser that could be tricked into
//! sending it (the rule of Go's `http.CrossOriginProtection`), so it passes; the cart cookie
//! is `SameSite=Lax` besides.

use crate::service::Shop;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cross-site request refused: {0}")]
pub struct CrossSite(pub String);

/// `Ok` for safe methods and for requests from `own_origin` (`http://127.0.0.1:8081`).
pub fn check(method: &Method, headers: &HeaderMap, own_origin: &str) -> Result<(), CrossSite> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            // `none`: the user made the request themselves (typed, bookmarked).
            Ok("same-origin" | "none") => Ok(()),
            Ok(other) => Err(CrossSite(format!("Sec-Fetch-Site: {other}"))),
            Err(_) => Err(CrossSite("unreadable Sec-Fetch-Site".into())),
        };
    }
    match headers.get(axum::http::header::ORIGIN) {
        None => Ok(()),
        Some(origin)
            if origin
                .to_str()
                .is_ok_and(|o| o.eq_ignore_ascii_case(own_origin)) =>
        {
            Ok(())
        }
        Some(origin) => Err(CrossSite(format!(
            "Origin: {}",
            origin.to_str().unwrap_or("(unreadable)")
        ))),
    }
}

pub async fn refuse_cross_site(
    State(shop): State<Arc<Shop>>,
    request: Request,
    next: Next,
) -> Response {
    match check(
        request.method(),
        request.headers(),
        &shop.settings.public_origin,
    ) {
        Ok(()) => next.run(request).await,
        Err(refused) => {
            tracing::warn!(path = %request.uri().path(), reason = %refused.0, "cross-site form post refused");
            super::error::WebError::CrossSite.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    const OWN: &str = "http://127.0.0.1:8081";

    #[test]
    fn a_post_from_another_site_is_refused() {
        assert!(check(
            &Method::POST,
            &headers(&[("sec-fetch-site", "cross-site")]),
            OWN
        )
        .is_err());
        assert!(check(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-site")]),
            OWN
        )
        .is_err());
        assert!(check(
            &Method::POST,
            &headers(&[("origin", "https://evil.example")]),
            OWN
        )
        .is_err());
        assert!(check(&Method::POST, &headers(&[("origin", "null")]), OWN).is_err());
        assert!(check(
            &Method::POST,
            &headers(&[("origin", "http://127.0.0.1:8082")]),
            OWN
        )
        .is_err());
    }

    #[test]
    fn a_post_from_the_shop_itself_passes() {
        assert!(check(
            &Method::POST,
            &headers(&[("sec-fetch-site", "same-origin"), ("origin", OWN)]),
            OWN
        )
        .is_ok());
        assert!(check(&Method::POST, &headers(&[("origin", OWN)]), OWN).is_ok());
        assert!(check(
            &Method::GET,
            &headers(&[("sec-fetch-site", "cross-site")]),
            OWN
        )
        .is_ok());
    }

    #[test]
    fn sec_fetch_site_wins_over_a_matching_origin() {
        assert!(check(
            &Method::POST,
            &headers(&[("sec-fetch-site", "cross-site"), ("origin", OWN)]),
            OWN
        )
        .is_err());
    }
}
