//! Tenancy and roles across the whole back office:
//! - the isolation sweep: every route, GET and POST, driven by an owner of merchant B against
//!   merchant A's objects, answers 404 and changes nothing; B's own pages never show A's data.
//!   The sweep's table is checked against the router's source, so a new route must join it.
//! - the role matrix: each role against each action, with the answers written out by hand.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::domain::Role;
use gateway::domain::webhook::EndpointStatus;
use gateway::domain::Scope;
use serde_json::json;

paygate_test_support::on_both_engines!(
    staff_of_another_merchant_get_404_on_every_route_and_never_see_its_data,
    each_role_may_do_exactly_what_the_role_table_says,
);

/// How a route is swept.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sweep {
    /// Names one of A's objects: 404 for B.
    Object,
    /// B's own data: the page must not show any of A's.
    Own,
    /// Before sign-in, by token, or the same for everyone: nothing of a merchant's to leak.
    Public,
}

/// Every route of the back office (as `pages::router` declares them), how it is swept, and the
/// concrete request: `{intent}`, `{key}`, `{endpoint}`, `{event}`, `{invitation}`, `{member}`
/// and `{merchant}` are merchant A's.
const ROUTES: &[(&str, &str, Sweep, &str)] = &[
    ("GET", "/", Sweep::Own, "/dashboard"),
    ("GET", "/signup", Sweep::Public, ""),
    ("POST", "/signup", Sweep::Public, ""),
    ("GET", "/signup/confirm", Sweep::Public, ""),
    ("POST", "/signup/confirm", Sweep::Public, ""),
    ("GET", "/signin", Sweep::Public, ""),
    ("POST", "/signin", Sweep::Public, ""),
    ("GET", "/signin/two-factor", Sweep::Public, ""),
    ("POST", "/signin/two-factor", Sweep::Public, ""),
    ("GET", "/account", Sweep::Own, "/dashboard/account"),
    ("POST", "/account/two-factor/setup", Sweep::Own, ""),
    ("POST", "/account/two-factor/enable", Sweep::Own, ""),
    ("POST", "/account/two-factor/disable", Sweep::Own, ""),
    ("GET", "/team", Sweep::Own, "/dashboard/team"),
    ("POST", "/team/invite", Sweep::Own, ""),
    ("POST", "/team/invitations/{id}/revoke", Sweep::Object, "/dashboard/team/invitations/{invitation}/revoke"),
    ("POST", "/team/members/{id}/role", Sweep::Object, "/dashboard/team/members/{member}/role"),
    ("POST", "/team/members/{id}/remove", Sweep::Object, "/dashboard/team/members/{member}/remove"),
    ("GET", "/invitations/{token}", Sweep::Public, ""),
    ("POST", "/invitations/{token}/accept", Sweep::Public, ""),
    ("GET", "/audit", Sweep::Own, "/dashboard/audit?range=all"),
    ("GET", "/settings", Sweep::Own, "/dashboard/settings"),
    ("POST", "/settings/time-zone", Sweep::Own, ""),
    ("POST", "/settings/two-factor", Sweep::Own, ""),
    ("POST", "/signout", Sweep::Own, ""),
    ("POST", "/signout/everywhere", Sweep::Own, ""),
    ("POST", "/switch", Sweep::Object, "/dashboard/switch?merchant={merchant}"),
    ("GET", "/transactions", Sweep::Own, "/dashboard/transactions?range=all&q=Kim"),
    ("GET", "/transactions.csv", Sweep::Own, "/dashboard/transactions.csv?range=all&q=Isolation"),
    ("POST", "/transactions/views", Sweep::Own, ""),
    ("POST", "/transactions/views/{id}/delete", Sweep::Object, "/dashboard/transactions/views/{view}/delete"),
    ("GET", "/payments/{id}", Sweep::Object, "/dashboard/payments/{intent}"),
    ("POST", "/payments/{id}/refund", Sweep::Object, "/dashboard/payments/{intent}/refund"),
    ("POST", "/payments/{id}/cancel", Sweep::Object, "/dashboard/payments/{waiting}/cancel"),
    ("GET", "/developers", Sweep::Own, ""),
    ("GET", "/developers/keys", Sweep::Own, "/dashboard/developers/keys"),
    ("POST", "/developers/keys", Sweep::Own, ""),
    ("POST", "/developers/keys/{id}/roll", Sweep::Object, "/dashboard/developers/keys/{key}/roll"),
    ("POST", "/developers/keys/{id}/revoke", Sweep::Object, "/dashboard/developers/keys/{key}/revoke"),
    ("GET", "/developers/webhooks", Sweep::Own, "/dashboard/developers/webhooks"),
    ("POST", "/developers/webhooks", Sweep::Own, ""),
    ("GET", "/developers/webhooks/{id}", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}"),
    ("POST", "/developers/webhooks/{id}", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}"),
    ("POST", "/developers/webhooks/{id}/rotate", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}/rotate"),
    ("POST", "/developers/webhooks/{id}/enable", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}/enable"),
    ("POST", "/developers/webhooks/{id}/disable", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}/disable"),
    ("POST", "/developers/webhooks/{id}/resend", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}/resend"),
    ("POST", "/developers/webhooks/{id}/resend-failed", Sweep::Object, "/dashboard/developers/webhooks/{endpoint}/resend-failed"),
    ("GET", "/developers/events", Sweep::Own, "/dashboard/developers/events"),
    ("GET", "/developers/events/{id}", Sweep::Object, "/dashboard/developers/events/{event}"),
    ("GET", "/prefs", Sweep::Public, ""),
    ("GET", "/assets/dashboard.css", Sweep::Public, ""),
    ("GET", "/assets/htmx-2.0.11.min.js", Sweep::Public, ""),
    ("GET", "/dev/mail", Sweep::Public, ""),
];

/// The (method, path) pairs `pages::router` declares, read from its source.
fn declared_routes() -> Vec<(String, String)> {
    let source = include_str!("../../src/pages/mod.rs");
    let mut routes = Vec::new();
    for call in source.split(".route(\"").skip(1) {
        let path = call.split('"').next().unwrap().to_owned();
        let handlers = call.lines().next().unwrap();
        for (marker, method) in [("get(", "GET"), ("post(", "POST")] {
            if handlers.contains(marker) {
                routes.push((method.to_owned(), path.clone()));
            }
        }
    }
    routes
}

async fn staff_of_another_merchant_get_404_on_every_route_and_never_see_its_data(app: TestApp) {
    let office = Office::over(app).await;
    // Merchant A, with one of everything.
    let (a, a_id, a_sk) = office.signed_up("owner@a.example", "Shop A").await;
    let intent = office.app.fake_intent(&a_sk).customer("Kim Isolation").amount(10_000).paid().await;
    let waiting = office.app.fake_intent(&a_sk).customer("Lee Isolation").amount(5_000).create().await;
    a.submit("/dashboard/team", "/dashboard/team/invite", &[("email", "invited@a.example"), ("role", "analyst")]).await;
    let member_browser = office.member(&a_id, "analyst@a.example", Role::Analyst).await;
    drop(member_browser);
    let made = a.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", "https://hooks.a.example/in"), ("events", "*")]).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let list = a.get("/dashboard/transactions?range=all").await;
    let saved = a.submit("/dashboard/transactions?range=all", "/dashboard/transactions/views", &[("query", &list.hidden("query").unwrap()), ("name", "A's secret view")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let view = office.office.stores.views.list_views(&a_id).await.unwrap().remove(0).id;
    let a_scope = Scope { merchant_id: a_id.clone(), livemode: false };
    let endpoint = made.endpoint_id();
    let key = office.office.services.list_keys(&a_id).await.unwrap().remove(0);
    let event = office.app.raw_text(&format!("SELECT id FROM events WHERE merchant_id = '{a_id}' ORDER BY seq")).await.remove(0);
    let invitation = office.office.stores.team.open_invitations(&a_id, 0).await.unwrap().remove(0).id;
    let member = office.office.stores.team.list_members(&a_id).await.unwrap().into_iter().find(|m| m.email == "analyst@a.example").unwrap().staff_id;
    // What must never show on B's pages.
    let a_markers = [intent.as_str(), waiting.as_str(), "Kim Isolation", "Lee Isolation", "owner@a.example", "invited@a.example", "analyst@a.example", "hooks.a.example", "A&#39;s secret view", "A's secret view", view.as_str(), endpoint.as_str(), event.as_str(), key.display_prefix.trim_end_matches('…'), "Shop A"];

    // Merchant B's owner, who may do everything in B.
    let (b, _, b_sk) = office.signed_up("owner@b.example", "Shop B").await;
    office.app.fake_intent(&b_sk).customer("Park Other").paid().await;
    let fill = |template: &str| {
        template
            .replace("{intent}", &intent)
            .replace("{waiting}", &waiting)
            .replace("{key}", &key.id)
            .replace("{endpoint}", &endpoint)
            .replace("{event}", &event)
            .replace("{invitation}", &invitation)
            .replace("{member}", &member)
            .replace("{merchant}", &a_id)
            .replace("{view}", &view)
    };

    // The table covers the router exactly.
    let mut declared = declared_routes();
    let mut swept: Vec<(String, String)> = ROUTES.iter().map(|(m, p, _, _)| (m.to_string(), p.to_string())).collect();
    declared.sort();
    swept.sort();
    assert_eq!(declared, swept, "every route of pages::router is in the sweep, and nothing else");

    let csrf = b.get("/dashboard/transactions").await.hidden("csrf").unwrap();
    let submit = "b".repeat(32);
    let fields = |extra: &[(&'static str, &str)]| {
        let mut f = vec![("csrf", csrf.clone()), ("submit", submit.clone()), ("role", "owner".into()), ("url", "https://evil.b.example/".into()), ("events", "*".into())];
        f.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        f.extend([("overlap_hours", "0".into()), ("expires_in", "now".into()), ("event", event.clone()), ("since", "2000-01-01T00:00".into()), ("amount", "".into()), ("reason", "x".into())]);
        f
    };
    for (method, route, sweep, request) in ROUTES {
        if *sweep != Sweep::Object {
            continue;
        }
        let request = fill(request);
        let page = if *method == "GET" {
            b.get(&request).await
        } else {
            let (path, merchant) = request.split_once("?merchant=").map_or((request.as_str(), None), |(p, m)| (p, Some(m)));
            let mut form = fields(&[]);
            if let Some(m) = merchant {
                form.push(("merchant", m.to_owned()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            b.post(path, &form, &[("sec-fetch-site", "same-origin")]).await
        };
        assert_eq!((page.status, page.error_code().as_deref()), (StatusCode::NOT_FOUND, Some("not_found")), "{method} {route}: {}", page.body);
        // (The page's language switch links back to the request's own URL, ids and all.)
        for marker in a_markers.iter().filter(|m| !request.contains(*m)) {
            assert!(!page.body.contains(marker), "{method} {route} shows A's {marker}");
        }
    }
    for (method, route, sweep, request) in ROUTES {
        if *sweep != Sweep::Own || *method != "GET" || request.is_empty() {
            continue;
        }
        let page = b.get(&fill(request)).await;
        assert_eq!(page.status, StatusCode::OK, "{route}");
        for marker in a_markers {
            assert!(!page.body.contains(marker), "B's {route} shows A's {marker}");
        }
    }
    // Filtering by A's ids finds nothing.
    for filter in ["intent", "order"] {
        let page = b.get(&format!("/dashboard/transactions?range=all&{filter}={intent}")).await;
        assert_eq!(page.total_count(), 0, "{filter}");
    }
    // B's own endpoint cannot be made to carry A's events.
    let mine = b.submit("/dashboard/developers/webhooks", "/dashboard/developers/webhooks", &[("mode", "test"), ("url", "https://hooks.b.example/in"), ("events", "*")]).await;
    let b_endpoint = mine.endpoint_id();
    let path = format!("/dashboard/developers/webhooks/{b_endpoint}");
    let refused = b.submit(&path, &format!("{path}/resend"), &[("event", &event)]).await;
    assert_eq!(refused.error_code().as_deref(), Some("event_unknown"), "A's event is not one of B's");

    // Nothing of A's changed.
    assert_eq!(office.app.get(&a_sk, &format!("/v1/payment_intents/{intent}")).await.body["amount_refunded"], 0);
    assert_eq!(office.app.get(&a_sk, &format!("/v1/payment_intents/{waiting}")).await.body["status"], "requires_action", "not canceled");
    assert!(office.office.services.list_keys(&a_id).await.unwrap().iter().all(|k| k.revoked_at.is_none() && k.expires_at.is_none()));
    assert_eq!(office.office.services.list_keys(&a_id).await.unwrap().len(), 2, "no key rolled");
    let ep = office.app.services.get_webhook_endpoint(&a_scope, &endpoint).await.unwrap();
    assert_eq!((ep.status, ep.url.as_str(), ep.previous_secret_expires_at), (EndpointStatus::Enabled, "https://hooks.a.example/in", None));
    assert_eq!(office.office.stores.team.open_invitations(&a_id, 0).await.unwrap().len(), 1);
    assert_eq!(office.office.stores.views.list_views(&a_id).await.unwrap().len(), 1, "A's view is still there");
    let members = office.office.stores.team.list_members(&a_id).await.unwrap();
    assert_eq!(members.iter().find(|m| m.staff_id == member).map(|m| m.role), Some(Role::Analyst));
    assert_eq!(b.get("/dashboard/transactions").await.status, StatusCode::OK, "B is still B's");
}

/// The actions of the role table, each as a request; `{paid}` and `{waiting}` are intents.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("read transactions", "GET", "/dashboard/transactions"),
    ("read a payment", "GET", "/dashboard/payments/{paid}"),
    ("export", "GET", "/dashboard/transactions.csv?range=all"),
    ("refund", "POST", "/dashboard/payments/{paid}/refund"),
    ("cancel", "POST", "/dashboard/payments/{waiting}/cancel"),
    ("keys", "GET", "/dashboard/developers/keys"),
    ("create a key", "POST", "/dashboard/developers/keys"),
    ("webhooks", "GET", "/dashboard/developers/webhooks"),
    ("add an endpoint", "POST", "/dashboard/developers/webhooks"),
    ("events", "GET", "/dashboard/developers/events"),
    ("team", "GET", "/dashboard/team"),
    ("invite", "POST", "/dashboard/team/invite"),
    ("audit log", "GET", "/dashboard/audit"),
    ("settings", "GET", "/dashboard/settings"),
    ("change the time zone", "POST", "/dashboard/settings/time-zone"),
];

/// Who may do what, as the role list says, written out by hand (not read from the code).
fn allowed(role: Role, action: &str) -> bool {
    let read = ["read transactions", "read a payment"];
    let developer = ["keys", "create a key", "webhooks", "add an endpoint", "events"];
    match role {
        Role::Owner => true,
        Role::Admin => !["settings", "change the time zone"].contains(&action),
        Role::Developer => read.contains(&action) || developer.contains(&action),
        Role::Analyst => read.contains(&action) || action == "export",
        Role::Support => read.contains(&action) || ["refund", "cancel"].contains(&action),
    }
}

async fn each_role_may_do_exactly_what_the_role_table_says(app: TestApp) {
    let office = Office::over(app).await;
    let (_, merchant_id, sk) = office.signed_up("founder@shop.example", "Shop").await;
    let mut matrix = Vec::new();
    for role in Role::ALL {
        let browser = office.member(&merchant_id, &format!("{}@shop.example", role.as_str()), role).await;
        let paid = office.app.paid_intent(&sk, 10_000).await;
        let waiting = office.app.create_intent(&sk, json!({})).await;
        let csrf = browser.get("/dashboard/transactions").await.hidden("csrf").unwrap();
        let submit = gateway::ids::random_base62(32);
        let email = format!("new-{}@shop.example", role.as_str());
        let url = format!("https://hooks.example/{}", role.as_str());
        let form = [
            ("csrf", csrf.as_str()),
            ("submit", submit.as_str()),
            ("amount", "1000"),
            ("kind", "secret"),
            ("mode", "test"),
            ("url", url.as_str()),
            ("events", "*"),
            ("email", email.as_str()),
            ("role", "analyst"),
            ("time_zone", "Asia/Seoul"),
        ];
        for (action, method, path) in ACTIONS {
            let path = path.replace("{paid}", &paid).replace("{waiting}", &waiting);
            let page = if *method == "GET" { browser.get(&path).await } else { browser.post(&path, &form, &[("sec-fetch-site", "same-origin")]).await };
            let done = page.status.is_success() || page.status.is_redirection();
            assert!(done || page.status == StatusCode::FORBIDDEN, "{} {action}: {} {}", role.as_str(), page.status, page.body);
            matrix.push(format!("{:<9} {:<22} {}", role.as_str(), action, if done { "yes" } else { "refused" }));
            assert_eq!(done, allowed(role, action), "{} {action}: {}", role.as_str(), page.status);
        }
        // What the allowed changes did, so "done" was not just a page.
        let refunded = office.app.get(&sk, &format!("/v1/payment_intents/{paid}")).await.body["amount_refunded"].as_i64();
        assert_eq!(refunded, Some(if allowed(role, "refund") { 1_000 } else { 0 }), "{}", role.as_str());
        let status = office.app.get(&sk, &format!("/v1/payment_intents/{waiting}")).await.body["status"].as_str().map(str::to_owned);
        assert_eq!(status.as_deref() == Some("canceled"), allowed(role, "cancel"), "{}", role.as_str());
    }
    println!("{}", matrix.join("\n"));
}
