//! `/dashboard/prefs?lang=ko&theme=dark&back=/dashboard/...`: remembers the choice in a cookie
//! (a year) and goes back to the page it was made on (only ever a back-office path).

use crate::i18n::{Lang, Theme, LANG_COOKIE, THEME_COOKIE};
use crate::Backoffice;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Deserialize)]
pub struct PrefsQuery {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    theme: String,
    #[serde(default)]
    back: String,
}

/// Only a path of this site's back office: never another site, never `//host`.
fn back_to(back: &str) -> &str {
    let safe = back.starts_with("/dashboard") && !back.starts_with("//") && !back.contains(['\\', '\r', '\n']);
    if safe { back } else { "/dashboard" }
}

pub async fn set(State(office): State<Arc<Backoffice>>, Query(q): Query<PrefsQuery>) -> Response {
    let mut response = Redirect::to(back_to(&q.back)).into_response();
    let secure = if office.secure_cookies { "; Secure" } else { "" };
    let mut remember = |name: &str, value: &str| {
        if let Ok(cookie) = HeaderValue::from_str(&format!("{name}={value}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly{secure}")) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    };
    if let Some(lang) = Lang::parse(&q.lang) {
        remember(LANG_COOKIE, lang.code());
    }
    if let Some(theme) = Theme::parse(&q.theme) {
        remember(THEME_COOKIE, theme.code());
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_switch_only_ever_goes_back_into_the_back_office() {
        assert_eq!(super::back_to("/dashboard/transactions?q=%EA%B9%80"), "/dashboard/transactions?q=%EA%B9%80");
        for evil in ["https://evil.example/", "//evil.example/dashboard", "/p/abc", "/dashboard\\@evil", ""] {
            assert_eq!(super::back_to(evil), "/dashboard", "{evil}");
        }
    }
}
