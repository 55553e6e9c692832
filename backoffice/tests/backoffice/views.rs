//! Saved views: a team names a filter of the transaction list and everyone on it opens the same
//! list; and the housekeeping that forgets what can no longer be used.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::domain::Role;
use gateway::domain::query::Page as ListPage;

paygate_test_support::on_both_engines!(
    a_team_saves_a_filter_under_a_name_and_everyone_on_it_opens_the_same_list,
    a_view_needs_a_free_name_and_a_filter_that_reads,
    housekeeping_forgets_year_old_audit_entries_dead_sessions_and_lapsed_sign_ups_only,
);

fn view_links(page: &Page) -> Vec<(String, String)> {
    page.body
        .split("<span class=\"view\" data-view=\"")
        .skip(1)
        .map(|s| {
            let href = s.split("href=\"").nth(1).unwrap().split('"').next().unwrap().replace("&#38;", "&").replace("&amp;", "&");
            let name = s.split("\">").nth(2).unwrap().split('<').next().unwrap().to_owned();
            (name, href)
        })
        .collect()
}

async fn a_team_saves_a_filter_under_a_name_and_everyone_on_it_opens_the_same_list(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    office.app.fake_intent(&sk).customer("김민수").paid().await;
    office.app.fake_intent(&sk).customer("김영희").paid().await;
    office.app.fake_intent(&sk).customer("Alice").paid().await;
    let filtered = "/dashboard/transactions?q=%EA%B9%80&range=7d&type=payment";
    let list = owner.get(filtered).await;
    assert_eq!(list.total_count(), 2);
    assert!(list.body.contains("No saved views") || list.body.contains("None yet"), "no views yet");
    let query = list.hidden("query").expect("the save form carries the filter");
    let saved = owner.submit(filtered, "/dashboard/transactions/views", &[("query", &query), ("name", "  김씨 이번 주  ")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let opened = saved.location.unwrap();
    assert!(opened.starts_with("/dashboard/transactions?q=%EA%B9%80&range=7d&type=payment"), "{opened}");

    let analyst = office.member(&merchant_id, "analyst@shop.example", Role::Analyst).await;
    let theirs = analyst.get("/dashboard/transactions").await;
    let views = view_links(&theirs);
    assert_eq!(views, vec![("김씨 이번 주".to_owned(), opened.clone())], "the whole team sees it, trimmed");
    assert_eq!(analyst.get(&views[0].1).await.total_count(), 2, "and opens the same list");
    let (_, b_id, _) = office.signed_up("owner@other.example", "Other").await;
    assert!(view_links(&office.member(&b_id, "x@other.example", Role::Owner).await.get("/dashboard/transactions").await).is_empty(), "not another merchant's");

    let id = theirs.body.split("data-view=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let deleted = analyst.submit("/dashboard/transactions", &format!("/dashboard/transactions/views/{id}/delete"), &[]).await;
    assert_eq!(deleted.location.as_deref(), Some("/dashboard/transactions"));
    assert!(view_links(&owner.get("/dashboard/transactions").await).is_empty());
    let again = analyst.submit("/dashboard/transactions", &format!("/dashboard/transactions/views/{id}/delete"), &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &ListPage::first(50)).await.unwrap();
    let entry = |action: &str| log.iter().find(|e| e.action == action).map(|e| (e.actor.clone(), e.target.clone()));
    assert_eq!(entry("view.save"), Some(("owner@shop.example".into(), Some("김씨 이번 주".into()))));
    assert_eq!(entry("view.delete"), Some(("analyst@shop.example".into(), Some("김씨 이번 주".into()))));
}

async fn a_view_needs_a_free_name_and_a_filter_that_reads(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, _) = office.signed_up("owner@shop.example", "Shop").await;
    let owner = &owner;
    let save = |name: &'static str, query: &'static str| async move { owner.submit("/dashboard/transactions", "/dashboard/transactions/views", &[("query", query), ("name", name)]).await };
    assert_eq!(save("Refunds", "range=all&type=refund").await.status, StatusCode::SEE_OTHER);
    let taken = save("Refunds", "range=today").await;
    assert_eq!((taken.status, taken.error_code().as_deref()), (StatusCode::CONFLICT, Some("view_name_taken")));
    assert!(taken.body.contains("id=\"total-count\""), "shown on the list it was saved from");
    let unnamed = save("   ", "range=today").await;
    assert_eq!((unnamed.status, unnamed.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("view_name_missing")));
    let unread = save("Broken", "range=yesterday").await;
    assert_eq!(unread.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", unread.body);
    assert_eq!(view_links(&owner.get("/dashboard/transactions").await).len(), 1);
}

async fn housekeeping_forgets_year_old_audit_entries_dead_sessions_and_lapsed_sign_ups_only(app: TestApp) {
    let office = Office::over(app).await;
    let (_, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let stale = office.browser();
    stale.sign_in("owner@shop.example", PASSWORD).await;
    let pending = office.browser();
    pending.submit("/dashboard/signup", "/dashboard/signup", &[("email", "late@shop.example"), ("password", PASSWORD), ("merchant_name", "Late")]).await;
    let entries = || async { office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &ListPage::first(100)).await.unwrap() };
    let old_entries = entries().await.len() as u64;
    assert!(old_entries >= 2);

    // A year and a day later, a fresh sign-in keeps a session and writes an entry.
    office.app.clock.advance_ms(366 * 24 * 3_600_000);
    let fresh = office.browser();
    fresh.sign_in("owner@shop.example", PASSWORD).await;
    let report = office.office.housekeeping().await.unwrap();
    assert!(report.audit_entries >= old_entries, "at least the merchant's year-old entries: {report:?}");
    assert_eq!(report.sessions, 2, "the two sessions idle for a year");
    assert_eq!(report.signups, 2, "the completed sign-up and the one never confirmed");
    assert_eq!(fresh.get("/dashboard/transactions").await.status, StatusCode::OK, "a live session is kept");
    assert_eq!(stale.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"));
    let left = entries().await;
    assert!(left.iter().all(|e| e.action == "signin"), "only the new entry is left");
    assert_eq!(office.office.housekeeping().await.unwrap(), Default::default(), "a second run finds nothing");
}
