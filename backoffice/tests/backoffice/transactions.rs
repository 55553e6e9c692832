//! The transaction list: each filter and their combination, keyset pages, totals, the CSV export
//! of exactly the filtered set, and what staff of another merchant or another role see.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::domain::Role;
use gateway::domain::keys::KeyKind;
use serde_json::json;

paygate_test_support::on_both_engines!(
    every_filter_alone_and_combined_finds_exactly_its_rows,
    totals_count_the_filtered_set_and_net_it_per_currency,
    pages_walk_every_row_once_newest_first,
    the_csv_is_the_filtered_set_with_a_bom_seoul_times_plain_amounts_and_defused_cells,
    staff_of_another_merchant_see_none_of_its_transactions,
    only_roles_allowed_to_export_may_and_a_refusal_is_audited,
    a_bad_filter_value_shows_its_code_on_the_page,
    the_merchants_time_zone_decides_the_days_and_the_times_shown,
    the_list_loads_vendored_htmx_that_keeps_no_history_and_runs_no_inline_code,
    past_ten_thousand_rows_the_page_says_or_more_and_shows_no_sums,
);

/// One hour in milliseconds.
const HOUR: i64 = 3_600_000;

/// The book every filter test reads (clock START is 2026-01-01 09:00 in Seoul):
/// Jan 1: 김민수 pays ₩12,000 (o-1). Jan 2: Alice Kim pays $25.00 (o-2). Jan 3: 이영희 pays
/// ₩50,000 (o-3) and gets ₩20,000 back; 김민준's ₩8,000 intent (o-4) is canceled; a live
/// ₩7,000 intent of Live Lee's is canceled. Returns the browser and 김민수's intent id.
async fn seeded(office: &Office) -> (Browser<'_>, String) {
    let (browser, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let app = &office.app;
    let minsu = app.fake_intent(&sk).customer("김민수").amount(12_000).order("o-1").paid().await;
    app.clock.advance_ms(24 * HOUR);
    app.fake_intent(&sk).customer("Alice Kim").currency("USD").amount(2_500).order("o-2").paid().await;
    app.clock.advance_ms(24 * HOUR);
    let younghee = app.fake_intent(&sk).customer("이영희").amount(50_000).order("o-3").paid().await;
    let refund = app.post(&sk, "/v1/refunds", json!({ "payment_intent": younghee, "amount": 20_000 })).await;
    assert_eq!(refund.status, StatusCode::CREATED, "{}", refund.raw);
    let minjun = app.fake_intent(&sk).customer("김민준").amount(8_000).order("o-4").create().await;
    let cancel = app.post(&sk, &format!("/v1/payment_intents/{minjun}/cancel"), json!({})).await;
    assert_eq!(cancel.status, StatusCode::OK, "{}", cancel.raw);
    let live = app.services.create_key(&merchant_id, KeyKind::Secret, true).await.unwrap();
    // Live payments need a real processor; a live cancel is a live-mode transaction too.
    let live_sk = live.plain.value.expose().to_owned();
    let live_intent = app.fake_intent(&live_sk).customer("Live Lee").amount(7_000).order("o-5").create().await;
    assert_eq!(app.post(&live_sk, &format!("/v1/payment_intents/{live_intent}/cancel"), json!({})).await.status, StatusCode::OK);
    app.clock.advance_ms(HOUR);
    // Days went by: the sign-up's session is long over.
    assert_eq!(browser.sign_in("owner@shop.example", PASSWORD).await.status, StatusCode::SEE_OTHER);
    (browser, minsu)
}

async fn every_filter_alone_and_combined_finds_exactly_its_rows(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, minsu) = seeded(&office).await;
    let count = |query: String| {
        let browser = &browser;
        async move {
            let page = browser.get(&format!("/dashboard/transactions?{query}")).await;
            assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
            let mut names = page.customers();
            names.sort();
            (page.total_count(), names)
        }
    };
    let all = "range=all";
    assert_eq!(count(all.into()).await.0, 5, "test mode only: the live payment is not here");
    // Customer name: a case-insensitive substring, two Korean characters too.
    assert_eq!(count(format!("{all}&q=%EB%AF%BC")).await, (2, vec!["김민수".into(), "김민준".into()]), "민");
    assert_eq!(count(format!("{all}&q=%EA%B9%80%EB%AF%BC")).await.0, 2, "김민");
    assert_eq!(count(format!("{all}&q=alice")).await, (1, vec!["Alice Kim".into()]));
    assert_eq!(count(format!("{all}&q=KIM")).await.0, 1);
    assert_eq!(count(format!("{all}&q=%25")).await.0, 0, "a % is matched literally");
    // Dates, in Seoul's days.
    assert_eq!(count("range=today".into()).await.0, 3, "이영희's payment and refund, 김민준's cancel");
    assert_eq!(count("range=7d".into()).await.0, 5);
    assert_eq!(count("range=custom&from=2026-01-01&to=2026-01-01".into()).await, (1, vec!["김민수".into()]));
    assert_eq!(count("range=custom&from=2026-01-02".into()).await.0, 4);
    assert_eq!(count("range=custom&to=2026-01-02".into()).await.0, 2);
    // Type, one or several.
    assert_eq!(count(format!("{all}&type=refund")).await, (1, vec!["이영희".into()]));
    assert_eq!(count(format!("{all}&type=cancel")).await, (1, vec!["김민준".into()]));
    assert_eq!(count(format!("{all}&type=payment&type=cancel")).await.0, 4);
    // Status.
    assert_eq!(count(format!("{all}&type=payment&status=succeeded")).await.0, 3);
    assert_eq!(count(format!("{all}&status=failed")).await.0, 0);
    // Mode.
    assert_eq!(count(format!("{all}&mode=live")).await, (1, vec!["Live Lee".into()]));
    // Amount range, in the currency's own units.
    assert_eq!(count(format!("{all}&currency=KRW&min=10000")).await.0, 3);
    assert_eq!(count(format!("{all}&currency=KRW&min=10000&max=30000")).await.0, 2);
    assert_eq!(count(format!("{all}&currency=USD&min=25")).await, (1, vec!["Alice Kim".into()]));
    assert_eq!(count(format!("{all}&currency=USD&min=25.01")).await.0, 0);
    // Exact order id and intent id.
    assert_eq!(count(format!("{all}&order=o-3")).await.0, 2);
    assert_eq!(count(format!("{all}&intent={minsu}")).await, (1, vec!["김민수".into()]));
    // All at once.
    assert_eq!(count("q=%EC%98%81&range=today&type=refund&status=succeeded&currency=KRW&max=20000&order=o-3".into()).await, (1, vec!["이영희".into()]));
    assert_eq!(count("q=%EC%98%81&range=today&type=payment&currency=KRW&max=20000".into()).await.0, 0);
}

async fn totals_count_the_filtered_set_and_net_it_per_currency(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _) = seeded(&office).await;
    let page = browser.get("/dashboard/transactions?range=all").await;
    assert_eq!(page.total_count(), 5);
    // ₩12,000 + ₩50,000 − ₩20,000 refunded; the canceled ₩8,000 moved no money.
    assert!(page.body.contains("<span class=\"total\">4 ₩42,000</span>"), "{}", page.body);
    assert!(page.body.contains("<span class=\"total\">1 $25.00</span>"));
}

async fn pages_walk_every_row_once_newest_first(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    for i in 0..57 {
        // Every other one at the same millisecond as its neighbour: ties are ordered by id.
        if i % 2 == 0 {
            office.app.clock.advance_ms(1_000);
        }
        office.app.fake_intent(&sk).customer(&format!("Customer {i}")).order(&format!("o-{i}")).paid().await;
    }
    let mut seen = Vec::new();
    let mut path = "/dashboard/transactions?range=all".to_owned();
    loop {
        let page = browser.get(&path).await;
        assert_eq!(page.total_count(), 57);
        seen.extend(page.transaction_ids());
        match page.link("next-page") {
            Some(next) => path = format!("/dashboard/transactions{next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 57);
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 57, "no row twice");
    let first = browser.get("/dashboard/transactions?range=all").await;
    assert_eq!(first.customers()[0], "Customer 56", "newest first");
}

async fn the_csv_is_the_filtered_set_with_a_bom_seoul_times_plain_amounts_and_defused_cells(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _) = seeded(&office).await;
    let page = browser.get("/dashboard/transactions?range=all&q=%EB%AF%BC").await;
    let link = page.link("export-csv").expect("an export link for the owner");
    let csv = browser.get(&link).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers.get("content-type").unwrap(), "text/csv; charset=utf-8");
    assert!(csv.body.starts_with('\u{feff}'), "a byte-order mark first");
    let lines: Vec<&str> = csv.body.trim_start_matches('\u{feff}').split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "created_at (Asia/Seoul),type,status,amount,currency,customer_name,order_name,order_id,payment_intent,refund,transaction");
    assert_eq!(lines.len(), 3, "exactly the two rows of the filter: {lines:?}");
    // Newest first: 김민준's cancel on Jan 3, then 김민수's payment on Jan 1, 09:00 in Seoul.
    assert!(lines[1].contains(",cancel,") && lines[1].contains("김민준"));
    assert!(lines[2].starts_with("2026-01-01 09:00:00 +09:00,payment,succeeded,12000,KRW,김민수,Coffee beans,o-1,pi_"), "{}", lines[2]);

    // A name a spreadsheet would run is defused; an amount in dollars keeps its cents.
    let (other, _, sk) = office.signed_up("csv@shop.example", "CSV Shop").await;
    office.app.fake_intent(&sk).customer("=HYPERLINK(\"http://evil\")").currency("USD").amount(1_050).paid().await;
    office.app.fake_intent(&sk).customer("+82, 010").amount(100).paid().await;
    let csv = other.get("/dashboard/transactions.csv?range=all").await;
    assert!(csv.body.contains(",10.50,USD,\"'=HYPERLINK(\"\"http://evil\"\")\","), "{}", csv.body);
    assert!(csv.body.contains(",100,KRW,\"'+82, 010\","), "{}", csv.body);
}

async fn staff_of_another_merchant_see_none_of_its_transactions(app: TestApp) {
    let office = Office::over(app).await;
    let (_, minsu) = seeded(&office).await;
    let (other, _, _) = office.signed_up("b@other.example", "Other").await;
    let page = other.get("/dashboard/transactions?range=all").await;
    assert_eq!(page.total_count(), 0);
    assert_eq!(other.get(&format!("/dashboard/transactions?range=all&intent={minsu}")).await.total_count(), 0);
    assert_eq!(other.get("/dashboard/transactions?range=all&mode=live").await.total_count(), 0);
    let csv = other.get("/dashboard/transactions.csv?range=all").await;
    assert_eq!(csv.body.trim_start_matches('\u{feff}').lines().count(), 1, "the header only: {}", csv.body);
}

async fn only_roles_allowed_to_export_may_and_a_refusal_is_audited(app: TestApp) {
    let office = Office::over(app).await;
    let (_, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    office.app.fake_intent(&sk).paid().await;
    for role in Role::ALL {
        let browser = office.member(&merchant_id, &format!("{}@shop.example", role.as_str()), role).await;
        let list = browser.get("/dashboard/transactions?range=all").await;
        let export = browser.get("/dashboard/transactions.csv?range=all").await;
        let may_export = matches!(role, Role::Owner | Role::Admin | Role::Analyst);
        assert_eq!(list.status, StatusCode::OK, "{role:?} reads transactions");
        assert_eq!(list.link("export-csv").is_some(), may_export, "{role:?}'s export link");
        assert_eq!(export.status == StatusCode::OK, may_export, "{role:?} exports");
        if !may_export {
            assert_eq!((export.status, export.error_code().as_deref()), (StatusCode::FORBIDDEN, Some("forbidden")));
        }
    }
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &gateway::domain::query::Page::first(100)).await.unwrap();
    let refused: Vec<_> = log.iter().filter(|e| e.action == "transactions.export" && e.outcome == backoffice::store::Outcome::Refused).map(|e| e.actor.as_str()).collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert!(refused.contains(&"developer@shop.example") && refused.contains(&"support@shop.example"));
}

async fn a_bad_filter_value_shows_its_code_on_the_page(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, _) = office.signed_up("owner@shop.example", "Shop").await;
    for (query, code) in [("type=chargeback", "type_invalid"), ("range=year", "range_invalid"), ("from=2026-02-30", "date_invalid"), ("min=5", "currency_required"), ("currency=KRW&min=1.5", "amount_invalid"), ("after=zzz", "after_invalid")] {
        let page = browser.get(&format!("/dashboard/transactions?{query}")).await;
        assert_eq!((page.status, page.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{query}");
    }
    let export = browser.get("/dashboard/transactions.csv?type=chargeback").await;
    assert_eq!((export.status, export.error_code().as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("type_invalid")));
}

async fn the_merchants_time_zone_decides_the_days_and_the_times_shown(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, sk) = office.signed_up("owner@shop.example", "Shop").await;
    // 2026-01-01T00:00:00Z: Jan 1, 09:00 in Seoul, but still Dec 31 in New York.
    office.app.fake_intent(&sk).customer("Kim").paid().await;
    let jan_1 = "range=custom&from=2026-01-01&to=2026-01-01";
    assert_eq!(owner.get(&format!("/dashboard/transactions?{jan_1}")).await.total_count(), 1);
    let bad = owner.submit("/dashboard/settings", "/dashboard/settings/time-zone", &[("time_zone", "Mars/Olympus")]).await;
    assert_eq!(bad.error_code().as_deref(), Some("time_zone_invalid"));
    let saved = owner.submit("/dashboard/settings", "/dashboard/settings/time-zone", &[("time_zone", "America/New_York")]).await;
    assert_eq!(saved.location.as_deref(), Some("/dashboard/settings"));
    assert_eq!(owner.get(&format!("/dashboard/transactions?{jan_1}")).await.total_count(), 0);
    let dec_31 = owner.get("/dashboard/transactions?range=custom&from=2025-12-31&to=2025-12-31").await;
    assert_eq!(dec_31.total_count(), 1);
    assert!(dec_31.body.contains("2025-12-31 19:00:00 -05:00") && dec_31.body.contains("Time (America/New_York)"));
    let csv = owner.get("/dashboard/transactions.csv?range=all").await;
    assert!(csv.body.contains("created_at (America/New_York)") && csv.body.contains("2025-12-31 19:00:00 -05:00,payment"));
}

async fn the_list_loads_vendored_htmx_that_keeps_no_history_and_runs_no_inline_code(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, _, _) = office.signed_up("a@shop.example", "Shop").await;
    let list = browser.get("/dashboard/transactions").await;
    assert!(list.body.contains(r#"<script src="/dashboard/assets/htmx-2.0.11.min.js" defer></script>"#), "from this site, never a CDN");
    for setting in [r#""historyCacheSize":0"#, r#""allowEval":false"#, r#""includeIndicatorStyles":false"#] {
        assert!(list.body.contains(setting), "{setting}");
    }
    assert!(list.body.contains(r##"hx-select="#results""##) && list.body.contains(r#"<section id="results""#), "the filter swaps the results only");
    let csp = list.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "{csp}");
    let script = browser.get("/dashboard/assets/htmx-2.0.11.min.js").await;
    assert_eq!(script.status, StatusCode::OK);
    assert_eq!(script.headers["content-type"], "text/javascript; charset=utf-8");
    assert!(script.body.starts_with("var htmx=function()"), "the vendored file");
    assert!(script.headers["cache-control"].to_str().unwrap().contains("immutable"));
}

async fn past_ten_thousand_rows_the_page_says_or_more_and_shows_no_sums(app: TestApp) {
    let office = Office::over(app).await;
    let (browser, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    let app = &office.app;
    app.fake_intent(&sk).customer("김민수").amount(12_000).paid().await;
    // 10,000 more payments, written behind the store's back (the API would take minutes).
    let numbers = match app.services.engine() {
        gateway::store::Engine::Sqlite => "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)",
        gateway::store::Engine::Postgres => "WITH n(i) AS (SELECT generate_series(1, 10000))",
    };
    let at = START + 1;
    app.exec_raw(&format!(
        "INSERT INTO payment_intents (id, merchant_id, livemode, status, amount, currency, amount_captured, merchant_order_id, order_name, \
           customer_name, customer_name_search, confirm_mode, metadata, approval_code, approval_url, created_at, updated_at, expires_at) \
         {numbers} SELECT 'pi_seed' || CAST(i AS TEXT), '{merchant_id}', FALSE, 'succeeded', 1000, 'KRW', 1000, 'seed', 'Seed', 'Seed Kim', 'seed kim', \
           'automatic', '{{}}', 'seed' || CAST(i AS TEXT), 'http://x/p/seed', {at}, {at}, {at} FROM n"
    ))
    .await
    .unwrap();
    app.exec_raw(&format!(
        "INSERT INTO transactions (id, merchant_id, livemode, type, status, payment_intent_id, amount, currency, customer_name, customer_name_search, \
           created_at, updated_at) {numbers} SELECT 'txn_seed' || CAST(i AS TEXT), '{merchant_id}', FALSE, 'payment', 'succeeded', 'pi_seed' || CAST(i AS TEXT), \
           1000, 'KRW', 'Seed Kim', 'seed kim', {at}, {at} FROM n"
    ))
    .await
    .unwrap();
    let page = browser.get("/dashboard/transactions?range=all").await;
    assert_eq!(page.total_count(), 10_000);
    assert!(page.body.contains("id=\"totals-capped\""), "{}", page.body);
    assert!(!page.body.contains("class=\"total\""), "no sums of part of the set");
    // A narrower filter is counted and summed exactly again, the seeded rows found by name too.
    let named = browser.get("/dashboard/transactions?range=all&q=%EB%AF%BC%EC%88%98").await;
    assert_eq!(named.total_count(), 1);
    assert!(named.body.contains("<span class=\"total\">1 ₩12,000</span>"), "{}", named.body);
    assert_eq!(browser.get("/dashboard/transactions?range=all&q=seed%20k").await.total_count(), 10_000);
}
