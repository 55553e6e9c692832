//! `Office`: the core's `TestApp` with the back office over the same store and clock, and a
//! `Browser` that keeps cookies and fills in the CSRF token of the form it posts.

pub use paygate_test_support::*;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use backoffice::domain::Role;
use backoffice::store::Staff;
use backoffice::{Backoffice, BackofficeSettings};
use gateway::secret::Secret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

pub struct Office {
    pub app: TestApp,
    pub office: Arc<Backoffice>,
    pub router: Router,
}

/// A page as the browser got it.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub location: Option<String>,
    pub headers: axum::http::HeaderMap,
}

impl Page {
    /// The `data-code` of the page's error, if it shows one.
    pub fn error_code(&self) -> Option<String> {
        let at = self.body.find("data-code=\"")? + "data-code=\"".len();
        Some(self.body[at..].split('"').next()?.to_owned())
    }

    /// The value of the first hidden input named `name`, as a browser would send it.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let at = self.body.find(&marker)? + marker.len();
        Some(self.body[at..].split('"').next()?.replace("&#38;", "&").replace("&amp;", "&"))
    }

    /// The number in the list's `total-count`.
    pub fn total_count(&self) -> i64 {
        let at = self.body.find("id=\"total-count\">").expect("a transaction list") + "id=\"total-count\">".len();
        self.body[at..].split('<').next().unwrap().parse().unwrap()
    }

    /// The transaction ids the list shows, in order.
    pub fn transaction_ids(&self) -> Vec<String> {
        self.body.split("data-transaction=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect()
    }

    /// The customer names the list shows, in order.
    pub fn customers(&self) -> Vec<String> {
        self.body.split("<td class=\"customer\">").skip(1).map(|s| s.split('<').next().unwrap().to_owned()).collect()
    }

    /// The id of the webhook endpoint a page links to.
    pub fn endpoint_id(&self) -> String {
        let rest = self.body.split("/dashboard/developers/webhooks/we_").nth(1).expect("a link to an endpoint");
        format!("we_{}", rest.split(['"', '/', '?']).next().unwrap())
    }

    /// The `href` of the element with `id`.
    pub fn link(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\" href=\"");
        let at = self.body.find(&marker)? + marker.len();
        Some(self.body[at..].split('"').next()?.replace("&#38;", "&").replace("&amp;", "&"))
    }
}

impl Office {
    /// With the development mailbox, as the embedded default runs.
    pub async fn over(app: TestApp) -> Self {
        Self::over_settings(app, BackofficeSettings { dev_mailbox: true, ..Default::default() }).await
    }

    pub async fn over_settings(app: TestApp, settings: BackofficeSettings) -> Self {
        let settings = BackofficeSettings { client_ip_header: Some("x-test-client".into()), ..settings };
        let office = Backoffice::new(app.services.clone(), app.store.clone(), settings, None);
        let router = backoffice::router(office.clone());
        Self { app, office, router }
    }

    pub fn browser(&self) -> Browser<'_> {
        // Each browser its own address, so rate limits count per browser as they would per client.
        let n = gateway::ids::random_bytes::<2>();
        Browser { office: self, cookies: Mutex::new(HashMap::new()), client: format!("198.51.{}.{}", n[0], n[1]) }
    }

    /// The code of the newest mail to `email` in the development mailbox.
    pub fn code_for(&self, email: &str) -> String {
        let mails = self.office.mailbox.as_ref().expect("dev mailbox").mails();
        let (_, mail) = mails.iter().find(|(_, m)| m.to == email).expect("a mail to that address");
        mail.subject.split(' ').next().unwrap().to_owned()
    }

    /// Signs a merchant up through the pages; the signed-in browser, the merchant's id and its
    /// test secret key.
    pub async fn signed_up(&self, email: &str, merchant: &str) -> (Browser<'_>, String, String) {
        let browser = self.browser();
        let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", email), ("password", PASSWORD), ("merchant_name", merchant)]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let confirm = page.location.unwrap();
        let signup = confirm.split("signup=").nth(1).unwrap().to_owned();
        let welcome = browser.submit(&confirm, "/dashboard/signup/confirm", &[("signup", &signup), ("code", &self.code_for(email))]).await;
        assert_eq!(welcome.status, StatusCode::OK, "{}", welcome.body);
        let merchant_id = welcome.body.split("<code>mer_").nth(1).map(|s| format!("mer_{}", s.split('<').next().unwrap())).unwrap();
        let sk = welcome.body.split("sk_test_").nth(1).map(|s| format!("sk_test_{}", s.split('<').next().unwrap())).unwrap();
        (browser, merchant_id, sk)
    }

    /// A staff member of `merchant_id` with `role`, made through the store (invitations are the
    /// team pages' job); signed in on a browser of its own.
    pub async fn member(&self, merchant_id: &str, email: &str, role: Role) -> Browser<'_> {
        let hash = gateway::passwords::hash(Secret::new(PASSWORD)).await.unwrap();
        let staff = Staff { id: format!("staff_{}", gateway::ids::random_base62(24)), email: email.into(), created_at: self.app.clock.now(), two_factor: false };
        self.office.stores.staff.create_staff(&staff, &hash).await.unwrap();
        self.office.stores.staff.add_membership(merchant_id, &staff.id, role, self.app.clock.now()).await.unwrap();
        let browser = self.browser();
        let page = browser.sign_in(email, PASSWORD).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        browser
    }
}

use gateway::clock::Clock as _;

pub struct Browser<'a> {
    office: &'a Office,
    cookies: Mutex<HashMap<String, String>>,
    pub client: String,
}

impl Browser<'_> {
    fn cookie_header(&self) -> String {
        self.cookies.lock().unwrap().iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub async fn send(&self, req: Request<Body>) -> Page {
        let response = self.office.router.clone().oneshot(req).await.expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        for cookie in headers.get_all(header::SET_COOKIE) {
            let text = cookie.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || attributes.contains("Max-Age=0") {
                self.cookies.lock().unwrap().remove(name);
            } else {
                self.cookies.lock().unwrap().insert(name.to_owned(), value.to_owned());
            }
        }
        let location = headers.get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
        Page { status, body: String::from_utf8_lossy(&bytes).into_owned(), location, headers }
    }

    pub async fn get(&self, path: &str) -> Page {
        let req = Request::get(path).header(header::COOKIE, self.cookie_header()).header("x-test-client", &self.client).body(Body::empty()).unwrap();
        self.send(req).await
    }

    /// Posts `fields` (and `csrf`, if given) as a form, with this browser's cookies.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)], extra_headers: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut req = Request::post(path)
            .header(header::COOKIE, self.cookie_header())
            .header("x-test-client", &self.client)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in extra_headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    /// Opens `page_path`, reads its form's CSRF token, and posts `fields` with it to `action`.
    pub async fn submit(&self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        let csrf = page.hidden("csrf").unwrap_or_else(|| panic!("{page_path} has a form with a CSRF token: {}", page.body));
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all, &[("sec-fetch-site", "same-origin")]).await
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Page {
        self.submit("/dashboard/signin", "/dashboard/signin", &[("email", email), ("password", password)]).await
    }

    /// The session cookie's value, if signed in.
    pub fn session(&self) -> Option<String> {
        self.cookies.lock().unwrap().iter().find(|(k, _)| k.ends_with("paygate_session")).map(|(_, v)| v.clone())
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.into(), value.into());
    }
}
