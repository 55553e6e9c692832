//! The back office's HTML. Every page goes out through [`render`] with the strict headers;
//! every state change passes [`guard_state_changes`] first (same origin, and the form's CSRF
//! token); pages that need a signed-in staff member take [`Staff`].

mod account;
mod audit;
mod auth;
mod dev;
mod developers;
mod payments;
mod prefs;
mod team;
mod transactions;

use crate::accounts::SignedIn;
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::Backoffice;
use askama::Template;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use gateway::ids::random_base62;
use std::sync::Arc;

/// Largest form body a page accepts.
const FORM_LIMIT: usize = 64 * 1024;

pub fn router(office: Arc<Backoffice>) -> Router<Arc<Backoffice>> {
    let mut routes = Router::new()
        .route("/", get(home))
        .route("/signup", get(auth::signup_page).post(auth::signup))
        .route("/signup/confirm", get(auth::confirm_page).post(auth::confirm))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signin/two-factor", get(auth::second_factor_page).post(auth::second_factor))
        .route("/account", get(account::account))
        .route("/account/two-factor/setup", post(account::begin_two_factor))
        .route("/account/two-factor/enable", post(account::enable_two_factor))
        .route("/account/two-factor/disable", post(account::disable_two_factor))
        .route("/team", get(team::page))
        .route("/team/invite", post(team::invite))
        .route("/team/invitations/{id}/revoke", post(team::revoke))
        .route("/team/members/{id}/role", post(team::role))
        .route("/team/members/{id}/remove", post(team::remove))
        .route("/invitations/{token}", get(team::invitation))
        .route("/invitations/{token}/accept", post(team::accept))
        .route("/audit", get(audit::page))
        .route("/settings", get(account::settings))
        .route("/settings/time-zone", post(account::set_time_zone))
        .route("/settings/two-factor", post(account::set_two_factor_required))
        .route("/signout", post(auth::signout))
        .route("/signout/everywhere", post(auth::signout_everywhere))
        .route("/switch", post(auth::switch))
        .route("/transactions", get(transactions::list))
        .route("/transactions.csv", get(transactions::export))
        .route("/transactions/views", post(transactions::save_view))
        .route("/transactions/views/{id}/delete", post(transactions::delete_view))
        .route("/payments/{id}", get(payments::detail))
        .route("/payments/{id}/refund", post(payments::refund))
        .route("/payments/{id}/cancel", post(payments::cancel))
        .route("/developers", get(developers::start))
        .route("/developers/keys", get(developers::keys).post(developers::create_key))
        .route("/developers/keys/{id}/roll", post(developers::roll_key))
        .route("/developers/keys/{id}/revoke", post(developers::revoke_key))
        .route("/developers/webhooks", get(developers::webhooks).post(developers::create_endpoint))
        .route("/developers/webhooks/{id}", get(developers::endpoint).post(developers::change_endpoint))
        .route("/developers/webhooks/{id}/rotate", post(developers::rotate_secret))
        .route("/developers/webhooks/{id}/enable", post(developers::enable_endpoint))
        .route("/developers/webhooks/{id}/disable", post(developers::disable_endpoint))
        .route("/developers/webhooks/{id}/resend", post(developers::resend_event))
        .route("/developers/webhooks/{id}/resend-failed", post(developers::resend_failed))
        .route("/developers/events", get(developers::events))
        .route("/developers/events/{id}", get(developers::event))
        .route("/prefs", get(prefs::set))
        .route("/assets/dashboard.css", get(stylesheet))
        .route("/assets/htmx-2.0.11.min.js", get(htmx));
    if office.mailbox.is_some() {
        routes = routes.route("/dev/mail", get(dev::mailbox));
    }
    // The shell is outermost: the guard's refusals are pages in the person's language too.
    routes.layer(axum::middleware::from_fn_with_state(office, guard_state_changes)).layer(axum::middleware::from_fn(crate::i18n::scope))
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    live: bool,
    volume_svg: String,
    counts_svg: String,
    currency: &'static str,
    rate: Option<String>,
    succeeded: i64,
    failed: i64,
    abandoned: i64,
}

#[derive(serde::Deserialize)]
struct HomeQuery {
    #[serde(default)]
    mode: String,
}

async fn home(State(office): State<Arc<Backoffice>>, staff: Staff, axum::extract::Query(q): axum::extract::Query<HomeQuery>) -> Result<Response, BackofficeError> {
    staff.may(Action::ReadTransactions)?;
    let live = q.mode == "live";
    let home = office.home(&staff.0, live).await?;
    let layout = Layout::new(&staff.0, "home", !live);
    let page = HomePage {
        volume_svg: crate::home::volume_svg(&home, layout.shell.locale, layout.t.volume_chart),
        counts_svg: crate::home::counts_svg(&home, layout.t.counts_chart),
        currency: home.currency.map_or("", |c| c.code()),
        rate: home.success_rate().map(|r| format!("{r:.1}%")),
        succeeded: home.succeeded,
        failed: home.failed,
        abandoned: home.abandoned,
        live,
        layout,
    };
    Ok(render(&page, StatusCode::OK))
}

async fn stylesheet() -> Response {
    let mut response = include_str!("../../assets/dashboard.css").into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

/// htmx, vendored (`assets/vendor/README.md`): the transaction list's partial updates.
async fn htmx() -> Response {
    let mut response = include_str!("../../assets/vendor/htmx-2.0.11.min.js").into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
    // The file name carries the version: it never changes under this URL.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

/// The cookies the back office sets. Over https they carry the `__Host-` prefix (the browser
/// then refuses them unless `Secure`, host-only and for `/`).
pub struct CookieNames {
    pub session: &'static str,
    pub csrf: &'static str,
}

impl Backoffice {
    pub fn cookie_names(&self) -> CookieNames {
        if self.secure_cookies {
            CookieNames { session: "__Host-paygate_session", csrf: "__Host-paygate_csrf" }
        } else {
            CookieNames { session: "paygate_session", csrf: "paygate_csrf" }
        }
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, for the whole site; `None` clears it.
    pub fn cookie(&self, name: &str, value: Option<&str>) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        let text = match value {
            Some(v) => format!("{name}={v}; Path=/; HttpOnly; SameSite=Lax{secure}"),
            None => format!("{name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}"),
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn client(parts: &Parts, office: &Backoffice) -> String {
    gateway::api::extract::client_address(parts, office.settings.client_ip_header.as_deref())
}

/// A signed-in staff member; a request without a good session is sent to the sign-in page.
pub struct Staff(pub SignedIn);

impl FromRequestParts<Arc<Backoffice>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, office: &Arc<Backoffice>) -> Result<Self, Response> {
        let staff = Self::signed_in(parts, office).await?;
        // A merchant that requires two-factor sign-in lets a member without it reach only the
        // set-up and signing out.
        // The path as the client sent it (inside `nest`, `parts.uri` has lost `/dashboard`).
        let path = parts.extensions.get::<axum::extract::OriginalUri>().map_or_else(|| parts.uri.path().to_owned(), |o| o.0.path().to_owned());
        if staff.0.must_set_up_two_factor && !OPEN_WITHOUT_TWO_FACTOR.contains(&path.as_str()) {
            return Err(Redirect::to("/dashboard/account").into_response());
        }
        Ok(staff)
    }
}

/// What a member whose merchant requires two-factor sign-in may reach before setting it up.
const OPEN_WITHOUT_TWO_FACTOR: [&str; 6] = [
    "/dashboard/account",
    "/dashboard/account/two-factor/setup",
    "/dashboard/account/two-factor/enable",
    "/dashboard/signout",
    "/dashboard/signout/everywhere",
    "/dashboard/switch",
];

impl Staff {
    async fn signed_in(parts: &mut Parts, office: &Arc<Backoffice>) -> Result<Self, Response> {
        if let Some(signed_in) = parts.extensions.get::<SignedIn>() {
            return Ok(Staff(signed_in.clone()));
        }
        let client = client(parts, office);
        let Some(token) = cookie_value(&parts.headers, office.cookie_names().session) else {
            return Err(Redirect::to("/dashboard/signin").into_response());
        };
        match office.session(&token, &client).await {
            Ok(Some(signed_in)) => Ok(Staff(signed_in)),
            Ok(None) => {
                let mut response = Redirect::to("/dashboard/signin").into_response();
                response.headers_mut().insert(header::SET_COOKIE, office.cookie(office.cookie_names().session, None));
                Err(response)
            }
            Err(e) => Err(error_page(&e)),
        }
    }
}

impl Staff {
    /// Refuses what the staff member's role may not do.
    pub fn may(&self, action: Action) -> Result<(), BackofficeError> {
        if self.0.role.may(action) {
            Ok(())
        } else {
            Err(BackofficeError::Forbidden)
        }
    }
}

/// The client's address, for rate limits and the audit log.
pub struct Client(pub String);

impl FromRequestParts<Arc<Backoffice>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, office: &Arc<Backoffice>) -> Result<Self, Self::Rejection> {
        Ok(Client(client(parts, office)))
    }
}

/// The CSRF token of a page without a session: the `paygate_csrf` cookie's value (set here
/// when missing), which the form sends back beside the cookie.
pub struct AnonymousToken {
    pub token: String,
    /// The `Set-Cookie` to send, when the cookie was new.
    pub set_cookie: Option<HeaderValue>,
}

impl FromRequestParts<Arc<Backoffice>> for AnonymousToken {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, office: &Arc<Backoffice>) -> Result<Self, Self::Rejection> {
        let name = office.cookie_names().csrf;
        Ok(match cookie_value(&parts.headers, name).filter(|t| is_anonymous_token(t)) {
            Some(token) => AnonymousToken { token, set_cookie: None },
            None => {
                let token = random_base62(32);
                let set_cookie = Some(office.cookie(name, Some(&token)));
                AnonymousToken { token, set_cookie }
            }
        })
    }
}

fn is_anonymous_token(token: &str) -> bool {
    token.len() == 32 && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Equal in constant time (for tokens compared against what a request sent).
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Every request that may change something (anything but GET and HEAD) must come from this
/// site (`Sec-Fetch-Site` and `Origin`, when the browser sends them) and carry the form token
/// of its session, or before sign-in the anonymous token matching its cookie.
async fn guard_state_changes(State(office): State<Arc<Backoffice>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let (mut parts, body) = req.into_parts();
    let cross_site = parts.headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|site| !matches!(site, "same-origin" | "none"))
        || parts.headers.get(header::ORIGIN).is_some_and(|origin| origin.as_bytes() != office.origin.as_bytes());
    if cross_site {
        return refuse_cross_site(&parts);
    }
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return error_page(&BackofficeError::Invalid(gateway::domain::ValidationError::new("form_too_large", "body", "The form is too large.")));
    };
    let sent = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
    let client = client(&parts, &office);
    let names = office.cookie_names();
    let session = match cookie_value(&parts.headers, names.session) {
        Some(token) => match office.session(&token, &client).await {
            Ok(session) => session,
            Err(e) => return error_page(&e),
        },
        None => None,
    };
    let anonymous = cookie_value(&parts.headers, names.csrf).filter(|t| is_anonymous_token(t));
    let valid = sent.as_deref().is_some_and(|sent| {
        session.as_ref().is_some_and(|s| same_token(&s.csrf_token, sent)) || anonymous.as_deref().is_some_and(|a| same_token(a, sent))
    });
    if !valid {
        return refuse_cross_site(&parts);
    }
    if let Some(session) = session {
        parts.extensions.insert(session);
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn refuse_cross_site(parts: &Parts) -> Response {
    tracing::warn!(path = %parts.uri.path(), "a back-office form was refused: cross-site or without its token");
    error_page(&BackofficeError::CrossSite)
}

/// The one way a page is sent: rendered, with the security headers, never cached.
pub fn render(page: &impl Template, status: StatusCode) -> Response {
    let mut response = match page.render() {
        Ok(html) => (status, html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a back-office page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    gateway::api::hardening::page_security_headers(headers);
    // Not `no-referrer`: with it, browsers send `Origin: null` on form posts and the origin
    // check could not tell our own forms from a sandboxed attacker's. Other sites still learn
    // nothing of our URLs (which carry filters).
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A page that can show what went wrong with the request that rendered it.
pub trait ShowsError: Template {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)>;
}

/// The page again with `e` on it, at `e`'s status; an internal error goes to the error page.
pub fn shown_on<P: ShowsError>(mut page: P, e: BackofficeError) -> Result<Response, BackofficeError> {
    if e.is_internal() {
        return Err(e);
    }
    let status = e.status();
    *page.error_slot() = Some((e.code(), e.message_in(crate::i18n::Shell::current().lang())));
    Ok(render(&page, status))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    shell: crate::i18n::Shell,
    code: &'static str,
    message: String,
}

/// A refusal or a fault as a page: its stable code and message; internal causes only logged.
pub fn error_page(e: &BackofficeError) -> Response {
    if e.is_internal() {
        tracing::error!(error = %e, "back-office request failed");
    }
    let shell = crate::i18n::Shell::current();
    let message = e.message_in(shell.lang());
    render(&ErrorPage { shell, code: e.code(), message }, e.status())
}

impl IntoResponse for BackofficeError {
    fn into_response(self) -> Response {
        error_page(&self)
    }
}

/// What the signed-in layout shows: the staff member, the merchant and the others to switch to.
pub struct Layout {
    pub shell: crate::i18n::Shell,
    pub t: &'static crate::i18n::Texts,
    pub email: String,
    pub merchant_name: String,
    pub merchant_id: String,
    pub role: &'static str,
    pub csrf: String,
    /// (id, name) of every merchant of the staff member.
    pub merchants: Vec<(String, String)>,
    pub test_mode: bool,
    /// Which nav entry is current.
    pub current: &'static str,
    pub may_manage_settings: bool,
    pub may_manage_team: bool,
    pub may_read_audit: bool,
    pub may_manage_keys: bool,
    pub may_manage_webhooks: bool,
    pub may_read_events: bool,
    /// The merchant requires two-factor sign-in and this member has not set it up.
    pub must_set_up_two_factor: bool,
}

impl Layout {
    /// A status or role code in words, in the page's language.
    pub fn label(&self, code: &str) -> String {
        crate::i18n::label(self.shell.lang(), code)
    }

    pub fn new(who: &SignedIn, current: &'static str, test_mode: bool) -> Self {
        let shell = crate::i18n::Shell::current();
        Self {
            t: shell.t,
            shell,
            email: who.staff.email.clone(),
            merchant_name: who.merchant_name.clone(),
            merchant_id: who.merchant_id.clone(),
            role: who.role.as_str(),
            csrf: who.csrf_token.clone(),
            merchants: who.memberships.iter().map(|m| (m.merchant_id.clone(), m.merchant_name.clone())).collect(),
            test_mode,
            current,
            may_manage_settings: who.role.may(Action::ManageSettings),
            may_manage_team: who.role.may(Action::ManageTeam),
            may_read_audit: who.role.may(Action::ReadAudit),
            may_manage_keys: who.role.may(Action::ManageKeys),
            may_manage_webhooks: who.role.may(Action::ManageWebhooks),
            may_read_events: who.role.may(Action::ReadEvents),
            must_set_up_two_factor: who.must_set_up_two_factor,
        }
    }
}

/// A submitted form; one that cannot be read is refused with the `form_invalid` page.
pub struct PageForm<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(rejection) => {
                tracing::debug!(error = %rejection, "a back-office form could not be read");
                let invalid = gateway::domain::ValidationError::new("form_invalid", "body", "The form could not be read: send it from the page.");
                Err(error_page(&BackofficeError::Invalid(invalid)))
            }
        }
    }
}
