//! The back office's store traits, each on both engines: the same answers from SQLite and
//! PostgreSQL.

use crate::helpers::*;
use backoffice::domain::{Role, LOCKOUT_MS, SIGN_IN_FAILURE_LIMIT};
use backoffice::store::{SearchFilter, TransactionSearch, SessionStore, AuditEntry, AuditFilter, Outcome, SavedView, SessionRecord, SignupRecord, Staff, StaffCreated, Stores, ViewSaved, MAX_VIEWS};
use gateway::domain::query::{Cursor, Page};
use gateway::secret::Secret;

paygate_test_support::on_both_engines!(
    a_staff_email_belongs_to_one_account,
    concurrent_failed_sign_ins_each_count_and_the_tenth_locks_once,
    a_sign_up_completes_once,
    memberships_list_oldest_first_with_the_merchant_name,
    sessions_are_found_by_hash_touched_moved_and_ended,
    the_audit_log_filters_pages_and_forgets_only_what_is_past_retention,
    a_time_zone_is_set_and_changed,
    saved_views_are_named_once_per_merchant_bounded_and_deleted_only_by_their_merchant,
    only_sessions_that_can_no_longer_be_used_and_lapsed_sign_ups_are_purged,
    a_name_search_by_bigrams_finds_exactly_what_a_substring_scan_finds,
    name_search_pages_walk_every_match_once_through_equal_times,
    totals_past_their_cap_say_so_and_give_no_partial_sums,
);

fn staff(email: &str) -> Staff {
    Staff { id: format!("staff_{}", gateway::ids::random_base62(24)), email: email.into(), created_at: START, two_factor: false }
}

async fn a_staff_email_belongs_to_one_account(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    let hash = Secret::new("$argon2id$placeholder");
    assert_eq!(stores.staff.create_staff(&staff("a@shop.example"), &hash).await.unwrap(), StaffCreated::Created);
    assert_eq!(stores.staff.create_staff(&staff("a@shop.example"), &hash).await.unwrap(), StaffCreated::EmailTaken);
    let found = stores.staff.find_staff_by_email("a@shop.example").await.unwrap().unwrap();
    assert_eq!(found.password_hash.expose(), hash.expose());
    assert_eq!(stores.staff.get_staff(&found.staff.id).await.unwrap(), found.staff);
    assert!(stores.staff.find_staff_by_email("b@shop.example").await.unwrap().is_none());
}

async fn concurrent_failed_sign_ins_each_count_and_the_tenth_locks_once(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    let s = staff("a@shop.example");
    stores.staff.create_staff(&s, &Secret::new("h")).await.unwrap();
    let tries = (0..SIGN_IN_FAILURE_LIMIT).map(|_| {
        let (staff, id) = (stores.staff.clone(), s.id.clone());
        tokio::spawn(async move { staff.record_failed_sign_in(&id, START).await.unwrap() })
    });
    let locks: Vec<_> = futures::future::join_all(tries).await.into_iter().filter_map(|r| r.unwrap()).collect();
    assert_eq!(locks, vec![START + LOCKOUT_MS], "exactly one of the ten locked");
    let after = stores.staff.find_staff_by_email("a@shop.example").await.unwrap().unwrap();
    assert_eq!((after.failed_signins, after.locked_until), (0, Some(START + LOCKOUT_MS)));
    stores.staff.record_failed_sign_in(&s.id, START + 1).await.unwrap();
    stores.staff.reset_failed_sign_ins(&s.id).await.unwrap();
    let reset = stores.staff.find_staff_by_email("a@shop.example").await.unwrap().unwrap();
    assert_eq!((reset.failed_signins, reset.locked_until), (0, None));
}

async fn a_sign_up_completes_once(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    let signup = SignupRecord {
        id: "signup_1".into(),
        email: "a@shop.example".into(),
        merchant_name: "Shop".into(),
        password_hash: Secret::new("h"),
        code_hash: "c".into(),
        attempts: 0,
        expires_at: START + 600_000,
        completed_at: None,
        created_at: START,
    };
    stores.staff.insert_signup(&signup).await.unwrap();
    assert_eq!(stores.staff.count_signup_attempt("signup_1").await.unwrap(), 1);
    assert_eq!(stores.staff.count_signup_attempt("signup_1").await.unwrap(), 2);
    let (a, b) = tokio::join!(stores.staff.complete_signup("signup_1", START + 1), stores.staff.complete_signup("signup_1", START + 2));
    assert!(a.unwrap() ^ b.unwrap(), "one of two completes it");
    let found = stores.staff.find_signup("signup_1").await.unwrap().unwrap();
    assert_eq!((found.attempts, found.completed_at.is_some(), found.code_hash.as_str()), (2, true, "c"));
    assert!(stores.staff.find_signup("signup_2").await.unwrap().is_none());
}

async fn memberships_list_oldest_first_with_the_merchant_name(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    let first = app.merchant().await;
    let (second, _) = app.services.create_merchant("Second Shop").await.unwrap();
    let s = staff("a@shop.example");
    stores.staff.create_staff(&s, &Secret::new("h")).await.unwrap();
    stores.staff.add_membership(&first.id, &s.id, Role::Support, START).await.unwrap();
    stores.staff.add_membership(&second.id, &s.id, Role::Analyst, START + 1).await.unwrap();
    // Adding again changes the role.
    stores.staff.add_membership(&first.id, &s.id, Role::Admin, START + 2).await.unwrap();
    let list = stores.staff.memberships_of(&s.id).await.unwrap();
    let seen: Vec<_> = list.iter().map(|m| (m.merchant_id.as_str(), m.merchant_name.as_str(), m.role)).collect();
    assert_eq!(seen, vec![(first.id.as_str(), "Test Shop", Role::Admin), (second.id.as_str(), "Second Shop", Role::Analyst)]);
}

async fn sessions_are_found_by_hash_touched_moved_and_ended(app: TestApp) {
    sessions_answer_as_specified(Stores::new(app.store.clone()).sessions.as_ref()).await;
}

/// The session contract, for the table and for Redis alike.
pub async fn sessions_answer_as_specified(sessions: &dyn SessionStore) {
    let session = |hash: &str| SessionRecord {
        id_hash: hash.into(),
        staff_id: "staff_1".into(),
        merchant_id: "mer_1".into(),
        client_ip: "192.0.2.1".into(),
        created_at: START,
        last_seen_at: START,
        ended_at: None,
        second_factor_pending: false,
    };
    sessions.insert_session(&session("h1")).await.unwrap();
    sessions.insert_session(&session("h2")).await.unwrap();
    assert_eq!(sessions.find_session("h1").await.unwrap().unwrap(), session("h1"));
    sessions.touch_session("h1", START + 5).await.unwrap();
    sessions.touch_session("h1", START + 3).await.unwrap();
    sessions.switch_session_merchant("h1", "mer_2").await.unwrap();
    let moved = sessions.find_session("h1").await.unwrap().unwrap();
    assert_eq!((moved.last_seen_at, moved.merchant_id.as_str()), (START + 5, "mer_2"), "a touch never goes back in time");
    sessions.end_session("h1", START + 6).await.unwrap();
    assert_eq!(sessions.find_session("h1").await.unwrap().unwrap().ended_at, Some(START + 6));
    assert_eq!(sessions.end_sessions_of("staff_1", START + 7).await.unwrap(), 1, "h2 only: h1 had ended");
    assert_eq!(sessions.find_session("h2").await.unwrap().unwrap().ended_at, Some(START + 7));
    assert!(sessions.find_session("h3").await.unwrap().is_none());
}

async fn the_audit_log_filters_pages_and_forgets_only_what_is_past_retention(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    let entry = |id: &str, merchant: &str, action: &str, at: i64| AuditEntry {
        id: id.into(),
        merchant_id: Some(merchant.into()),
        staff_id: Some("staff_1".into()),
        actor: "a@shop.example".into(),
        action: action.into(),
        target: None,
        client_ip: "192.0.2.1".into(),
        outcome: Outcome::Success,
        created_at: at,
    };
    for (i, action) in ["signin", "refund", "signin", "key.create"].iter().enumerate() {
        stores.audit.append_audit(&entry(&format!("aud_{i}"), "mer_1", action, START + i as i64)).await.unwrap();
    }
    stores.audit.append_audit(&entry("aud_other", "mer_2", "signin", START)).await.unwrap();
    let ids = |list: Vec<AuditEntry>| list.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(stores.audit.list_audit("mer_1", &AuditFilter::default(), &Page::first(10)).await.unwrap()), ["aud_3", "aud_2", "aud_1", "aud_0"]);
    let signins = AuditFilter { action: Some("signin".into()), ..Default::default() };
    assert_eq!(ids(stores.audit.list_audit("mer_1", &signins, &Page::first(10)).await.unwrap()), ["aud_2", "aud_0"]);
    let window = AuditFilter { created_gte: Some(START + 1), created_lt: Some(START + 3), ..Default::default() };
    assert_eq!(ids(stores.audit.list_audit("mer_1", &window, &Page::first(10)).await.unwrap()), ["aud_2", "aud_1"]);
    let after = Page { limit: 2, after: Some(Cursor { created_at: START + 2, id: "aud_2".into() }) };
    assert_eq!(ids(stores.audit.list_audit("mer_1", &AuditFilter::default(), &after).await.unwrap()), ["aud_1", "aud_0"]);
    assert_eq!(stores.audit.purge_audit(START + 2).await.unwrap(), 3, "aud_0, aud_1 and mer_2's");
    assert_eq!(ids(stores.audit.list_audit("mer_1", &AuditFilter::default(), &Page::first(10)).await.unwrap()), ["aud_3", "aud_2"]);
}

async fn a_time_zone_is_set_and_changed(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    assert_eq!(stores.settings.time_zone("mer_1").await.unwrap(), None);
    stores.settings.set_time_zone("mer_1", "Asia/Tokyo").await.unwrap();
    stores.settings.set_time_zone("mer_1", "Europe/London").await.unwrap();
    assert_eq!(stores.settings.time_zone("mer_1").await.unwrap().as_deref(), Some("Europe/London"));
}

async fn saved_views_are_named_once_per_merchant_bounded_and_deleted_only_by_their_merchant(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    let view = |id: &str, merchant: &str, name: &str| SavedView {
        id: id.into(),
        merchant_id: merchant.into(),
        name: name.into(),
        query: "range=today&mode=test".into(),
        created_by: "a@shop.example".into(),
        created_at: START,
    };
    assert_eq!(stores.views.save_view(&view("view_1", "mer_1", "오늘")).await.unwrap(), ViewSaved::Saved);
    assert_eq!(stores.views.save_view(&view("view_2", "mer_1", "오늘")).await.unwrap(), ViewSaved::NameTaken);
    assert_eq!(stores.views.save_view(&view("view_3", "mer_2", "오늘")).await.unwrap(), ViewSaved::Saved, "names are per merchant");
    assert_eq!(stores.views.save_view(&view("view_4", "mer_1", "Refunds")).await.unwrap(), ViewSaved::Saved);
    let names = |list: Vec<SavedView>| list.into_iter().map(|v| v.name).collect::<Vec<_>>();
    assert_eq!(names(stores.views.list_views("mer_1").await.unwrap()), ["Refunds", "오늘"], "by name");
    assert_eq!(stores.views.list_views("mer_1").await.unwrap()[1], view("view_1", "mer_1", "오늘"));
    // Two saves of one name at once: one view.
    let (five, six) = (view("view_5", "mer_1", "race"), view("view_6", "mer_1", "race"));
    let (a, b) = tokio::join!(stores.views.save_view(&five), stores.views.save_view(&six));
    let mut outcomes = vec![a.unwrap(), b.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [ViewSaved::NameTaken, ViewSaved::Saved]);
    assert!(stores.views.delete_view("mer_2", "view_1").await.unwrap().is_none(), "another merchant's view is not deleted");
    assert_eq!(stores.views.delete_view("mer_1", "view_1").await.unwrap().map(|v| v.name).as_deref(), Some("오늘"));
    assert!(stores.views.delete_view("mer_1", "view_1").await.unwrap().is_none(), "deleted once");
    for n in stores.views.list_views("mer_1").await.unwrap().len() as i64..MAX_VIEWS {
        assert_eq!(stores.views.save_view(&view(&format!("view_n{n}"), "mer_1", &format!("n{n}"))).await.unwrap(), ViewSaved::Saved);
    }
    assert_eq!(stores.views.save_view(&view("view_over", "mer_1", "one too many")).await.unwrap(), ViewSaved::TooMany);
    assert_eq!(stores.views.list_views("mer_1").await.unwrap().len() as i64, MAX_VIEWS);
}

async fn only_sessions_that_can_no_longer_be_used_and_lapsed_sign_ups_are_purged(app: TestApp) {
    let stores = Stores::new(app.store.clone());
    purging_answers_as_specified(stores.sessions.as_ref()).await;
    let signup = |id: &str, expires_at: i64| SignupRecord {
        id: id.into(),
        email: format!("{id}@shop.example"),
        merchant_name: "Shop".into(),
        password_hash: Secret::new("h"),
        code_hash: "c".into(),
        attempts: 0,
        expires_at,
        completed_at: None,
        created_at: START,
    };
    stores.staff.insert_signup(&signup("su_old", START + 10)).await.unwrap();
    stores.staff.insert_signup(&signup("su_new", START + 30)).await.unwrap();
    assert_eq!(stores.staff.purge_signups(START + 20).await.unwrap(), 1);
    assert!(stores.staff.find_signup("su_old").await.unwrap().is_none());
    assert!(stores.staff.find_signup("su_new").await.unwrap().is_some());
}

/// Purging sessions, for the table and for Redis alike.
pub async fn purging_answers_as_specified(sessions: &dyn SessionStore) {
    let session = |hash: &str, created_at: i64, last_seen_at: i64, ended_at: Option<i64>| SessionRecord {
        id_hash: hash.into(),
        staff_id: "staff_9".into(),
        merchant_id: "mer_1".into(),
        client_ip: "192.0.2.1".into(),
        created_at,
        last_seen_at,
        ended_at,
        second_factor_pending: false,
    };
    sessions.insert_session(&session("live", START + 50, START + 90, None)).await.unwrap();
    sessions.insert_session(&session("idle", START + 50, START + 10, None)).await.unwrap();
    sessions.insert_session(&session("old", START, START + 95, None)).await.unwrap();
    sessions.insert_session(&session("ended", START + 50, START + 95, Some(START + 96))).await.unwrap();
    assert_eq!(sessions.purge_sessions(START + 20, START + 40).await.unwrap(), 3);
    assert!(sessions.find_session("live").await.unwrap().is_some());
    for gone in ["idle", "old", "ended"] {
        assert!(sessions.find_session(gone).await.unwrap().is_none(), "{gone}");
    }
    assert_eq!(sessions.end_sessions_of("staff_9", START + 100).await.unwrap(), 1, "only the live one is left to end");
    assert_eq!(sessions.purge_sessions(START, START).await.unwrap(), 1, "an ended session goes at the next purge");
}

/// Both contracts on Redis, under a prefix of their own.
#[tokio::test]
async fn sessions_in_redis_answer_as_the_table_does() {
    let url = Secret::new(std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()));
    let fresh = || backoffice::store::RedisSessions::open(&url, &format!("paygate:test:{}", gateway::ids::random_base62(12))).unwrap();
    let (one, two) = (fresh(), fresh());
    sessions_answer_as_specified(&one).await;
    purging_answers_as_specified(&two).await;
    let shown = format!("{one:?}");
    assert!(!shown.contains("6379"), "no URL in Debug: {shown}");
    one.clear().await.unwrap();
    two.clear().await.unwrap();
}

/// Customer names of every shape the bigram index must handle: two-syllable Korean given names,
/// one-character names, repeated pieces, mixed case, spaces, and LIKE's own wildcards.
const NAMES: [&str; 12] = ["김민수", "김민준", "이민지", "민", "Minji Kim", "MINJI park", "aaaa bbbb", "50% off", "a_b", "ab", "Ăn Đức", "김 민수"];

/// Pays one intent per name for a merchant (and for a second one, whose rows must never show),
/// and refunds part of the first; returns the first merchant's id.
async fn named_book(app: &TestApp) -> String {
    let shop = app.merchant().await;
    let other = app.merchant().await;
    for (n, name) in NAMES.iter().enumerate() {
        let id = app.fake_intent(&shop.sk).customer(name).amount(1_000 + n as i64).paid().await;
        if n == 0 {
            let refund = app.post(&shop.sk, "/v1/refunds", serde_json::json!({ "payment_intent": id, "amount": 100 })).await;
            assert_eq!(refund.status.as_u16(), 201, "{}", refund.raw);
        }
        app.fake_intent(&other.sk).customer(name).paid().await;
    }
    shop.id
}

fn by_name(needle: &str) -> SearchFilter {
    SearchFilter { customer_name: Some(needle.into()), ..SearchFilter::default() }
}

async fn a_name_search_by_bigrams_finds_exactly_what_a_substring_scan_finds(app: TestApp) {
    let merchant = named_book(&app).await;
    let all = app.store.search_transactions(&merchant, &SearchFilter::default(), &Page::first(100)).await.unwrap();
    assert_eq!(all.len(), NAMES.len() + 1, "one payment per name and one refund");
    let needles = ["민", "민지", "김민", "김민수", "minji", "MinJi K", "inji", "aa", "aaa", "a b", "%", "0%", "_b", "a_", "zz", "수", "ăn đ", "ĐỨC", " 민", "b"];
    for needle in needles {
        let expected: Vec<&str> =
            all.iter().filter(|r| r.transaction.customer_name.to_lowercase().contains(&needle.to_lowercase())).map(|r| r.transaction.id.as_str()).collect();
        let found = app.store.search_transactions(&merchant, &by_name(needle), &Page::first(100)).await.unwrap();
        let found: Vec<&str> = found.iter().map(|r| r.transaction.id.as_str()).collect();
        assert_eq!(found, expected, "{needle:?}: the same rows in the same order as a scan");
        let totals = app.store.transaction_totals(&merchant, &by_name(needle), 100).await.unwrap();
        assert_eq!((totals.count, totals.capped), (expected.len() as i64, false), "{needle:?}");
    }
    // With the other filters: the refund of 김민수, and nothing in live mode.
    let refund = SearchFilter { types: vec![gateway::domain::transaction::TransactionType::Refund], ..by_name("민수") };
    let found = app.store.search_transactions(&merchant, &refund, &Page::first(100)).await.unwrap();
    assert_eq!(found.iter().map(|r| r.transaction.customer_name.as_str()).collect::<Vec<_>>(), ["김민수"]);
    let live = SearchFilter { livemode: true, ..by_name("민수") };
    assert!(app.store.search_transactions(&merchant, &live, &Page::first(100)).await.unwrap().is_empty());
}

async fn name_search_pages_walk_every_match_once_through_equal_times(app: TestApp) {
    // The test clock stands still: every transaction has the same time, and ids break the ties.
    let merchant = named_book(&app).await;
    for needle in ["민", "민수", "in", "a"] {
        let whole = app.store.search_transactions(&merchant, &by_name(needle), &Page::first(100)).await.unwrap();
        let mut walked = Vec::new();
        let mut page = Page::first(2);
        loop {
            let rows = app.store.search_transactions(&merchant, &by_name(needle), &page).await.unwrap();
            let Some(last) = rows.last() else { break };
            page = Page { limit: 2, after: Some(Cursor { created_at: last.transaction.created_at, id: last.transaction.id.clone() }) };
            walked.extend(rows.iter().map(|r| r.transaction.id.clone()));
        }
        assert_eq!(walked, whole.iter().map(|r| r.transaction.id.clone()).collect::<Vec<_>>(), "{needle:?}");
        assert!(whole.len() >= 2, "{needle:?} matches several rows");
    }
}

async fn totals_past_their_cap_say_so_and_give_no_partial_sums(app: TestApp) {
    let merchant = named_book(&app).await;
    let everything = SearchFilter::default();
    let exact = app.store.transaction_totals(&merchant, &everything, NAMES.len() as i64 + 1).await.unwrap();
    assert_eq!((exact.count, exact.capped, exact.per_currency.len()), (NAMES.len() as i64 + 1, false, 1));
    let capped = app.store.transaction_totals(&merchant, &everything, 5).await.unwrap();
    assert_eq!((capped.count, capped.capped, capped.per_currency), (5, true, Vec::new()));
    let named = app.store.transaction_totals(&merchant, &by_name("민"), 2).await.unwrap();
    assert_eq!((named.count, named.capped), (2, true), "민 matches six rows");
}
