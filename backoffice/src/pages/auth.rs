//! Sign-up, its confirmation code, sign-in, sign-out (here and everywhere) and the merchant
//! switch. Handlers read the form, call the accounts service, and render or redirect.

use super::{error_page, render, AnonymousToken, Client, PageForm, Staff};
use crate::accounts::SignInStep;
use crate::error::BackofficeError;
use crate::Backoffice;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use gateway::secret::Secret;
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    shell: crate::i18n::Shell,
    csrf: String,
    email: String,
    merchant_name: String,
    error: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    shell: crate::i18n::Shell,
    csrf: String,
    signup: String,
    dev_mailbox: bool,
    error: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "welcome.html")]
struct WelcomePage {
    shell: crate::i18n::Shell,
    merchant_name: String,
    merchant_id: String,
    /// (label, value) of each new key.
    keys: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SigninPage {
    shell: crate::i18n::Shell,
    csrf: String,
    email: String,
    error: Option<(&'static str, String)>,
    dev_mailbox: bool,
}

/// Sends `page` with the anonymous CSRF cookie when it is new.
fn with_token(mut response: Response, token: &AnonymousToken) -> Response {
    if let Some(cookie) = &token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    response
}

fn refused(e: &BackofficeError) -> Option<(&'static str, String)> {
    Some((e.code(), e.message_in(crate::i18n::Shell::current().lang())))
}

pub async fn signup_page(token: AnonymousToken) -> Response {
    let page = SignupPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), email: String::new(), merchant_name: String::new(), error: None };
    with_token(render(&page, StatusCode::OK), &token)
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    merchant_name: String,
}

pub async fn signup(State(office): State<Arc<Backoffice>>, Client(client): Client, token: AnonymousToken, PageForm(form): PageForm<SignupForm>) -> Response {
    match office.sign_up(&form.email, &Secret::new(form.password), &form.merchant_name, &client).await {
        Ok(signup) => Redirect::to(&format!("/dashboard/signup/confirm?signup={signup}")).into_response(),
        Err(e) if e.is_internal() => error_page(&e),
        Err(e) => {
            let page = SignupPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), email: form.email, merchant_name: form.merchant_name, error: refused(&e) };
            with_token(render(&page, e.status()), &token)
        }
    }
}

#[derive(Deserialize)]
pub struct ConfirmQuery {
    #[serde(default)]
    signup: String,
}

pub async fn confirm_page(State(office): State<Arc<Backoffice>>, token: AnonymousToken, Query(q): Query<ConfirmQuery>) -> Response {
    let page = ConfirmPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), signup: q.signup, dev_mailbox: office.mailbox.is_some(), error: None };
    with_token(render(&page, StatusCode::OK), &token)
}

#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    signup: String,
    #[serde(default)]
    code: String,
}

pub async fn confirm(State(office): State<Arc<Backoffice>>, Client(client): Client, token: AnonymousToken, PageForm(form): PageForm<ConfirmForm>) -> Response {
    match office.confirm_sign_up(&form.signup, &form.code, &client).await {
        Ok(welcome) => {
            let keys = welcome
                .keys
                .iter()
                .map(|k| (format!("{} key ({})", k.record.kind.as_str(), if k.record.livemode { "live" } else { "test" }), k.plain.value.expose().to_owned()))
                .collect();
            let page = WelcomePage { shell: crate::i18n::Shell::current(), merchant_name: welcome.merchant_name, merchant_id: welcome.merchant_id, keys };
            let mut response = render(&page, StatusCode::OK);
            response.headers_mut().append(header::SET_COOKIE, office.cookie(office.cookie_names().session, Some(welcome.session.expose())));
            response
        }
        Err(e) if e.is_internal() => error_page(&e),
        Err(e) => {
            let page = ConfirmPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), signup: form.signup, dev_mailbox: office.mailbox.is_some(), error: refused(&e) };
            with_token(render(&page, e.status()), &token)
        }
    }
}

pub async fn signin_page(State(office): State<Arc<Backoffice>>, token: AnonymousToken) -> Response {
    let page = SigninPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), email: String::new(), error: None, dev_mailbox: office.mailbox.is_some() };
    with_token(render(&page, StatusCode::OK), &token)
}

#[derive(Deserialize)]
pub struct SigninForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn signin(State(office): State<Arc<Backoffice>>, Client(client): Client, token: AnonymousToken, PageForm(form): PageForm<SigninForm>) -> Response {
    match office.sign_in(&form.email, &Secret::new(form.password), &client).await {
        Ok(step) => {
            let (next, session) = match step {
                SignInStep::SignedIn(session) => ("/dashboard/transactions", session),
                SignInStep::SecondFactor(session) => ("/dashboard/signin/two-factor", session),
            };
            let mut response = Redirect::to(next).into_response();
            response.headers_mut().append(header::SET_COOKIE, office.cookie(office.cookie_names().session, Some(session.expose())));
            response
        }
        Err(e) if e.is_internal() => error_page(&e),
        Err(e) => {
            let page = SigninPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), email: form.email, error: refused(&e), dev_mailbox: office.mailbox.is_some() };
            with_token(render(&page, e.status()), &token)
        }
    }
}

fn signed_out(office: &Backoffice) -> Response {
    let mut response = Redirect::to("/dashboard/signin").into_response();
    response.headers_mut().append(header::SET_COOKIE, office.cookie(office.cookie_names().session, None));
    response
}

pub async fn signout(State(office): State<Arc<Backoffice>>, staff: Staff) -> Response {
    match office.sign_out(&staff.0).await {
        Ok(()) => signed_out(&office),
        Err(e) => error_page(&e),
    }
}

pub async fn signout_everywhere(State(office): State<Arc<Backoffice>>, staff: Staff) -> Response {
    match office.sign_out_everywhere(&staff.0).await {
        Ok(_) => signed_out(&office),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    merchant: String,
}

pub async fn switch(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<SwitchForm>) -> Response {
    match office.switch_merchant(&staff.0, &form.merchant).await {
        Ok(()) => Redirect::to("/dashboard/transactions").into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    shell: crate::i18n::Shell,
    csrf: String,
    error: Option<(&'static str, String)>,
}

pub async fn second_factor_page(State(office): State<Arc<Backoffice>>, token: AnonymousToken, headers: axum::http::HeaderMap) -> Response {
    let waiting = match super::cookie_value(&headers, office.cookie_names().session) {
        Some(session) => office.waiting_session(&session).await,
        None => Ok(None),
    };
    match waiting {
        Ok(Some(_)) => with_token(render(&SecondFactorPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), error: None }, StatusCode::OK), &token),
        Ok(None) => Redirect::to("/dashboard/signin").into_response(),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct SecondFactorForm {
    #[serde(default)]
    code: String,
}

pub async fn second_factor(
    State(office): State<Arc<Backoffice>>,
    Client(client): Client,
    token: AnonymousToken,
    headers: axum::http::HeaderMap,
    PageForm(form): PageForm<SecondFactorForm>,
) -> Response {
    let session = super::cookie_value(&headers, office.cookie_names().session).unwrap_or_default();
    match office.second_factor(&session, &form.code, &client).await {
        Ok(session) => {
            let mut response = Redirect::to("/dashboard/transactions").into_response();
            response.headers_mut().append(header::SET_COOKIE, office.cookie(office.cookie_names().session, Some(session.expose())));
            response
        }
        Err(BackofficeError::SessionEnded) => Redirect::to("/dashboard/signin").into_response(),
        Err(e) if e.is_internal() => error_page(&e),
        Err(e) => with_token(render(&SecondFactorPage { shell: crate::i18n::Shell::current(), csrf: token.token.clone(), error: refused(&e) }, e.status()), &token),
    }
}
