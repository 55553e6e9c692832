//! The team: invitations by email (accepted once, lapsing, revocable), roles, removals, one
//! owner at least, and staff on several merchants.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::domain::Role;
use backoffice::store::Outcome;
use gateway::domain::query::Page as ListPage;

paygate_test_support::on_both_engines!(
    an_invited_person_creates_an_account_and_joins_with_the_role,
    an_invitation_is_accepted_once_lapses_after_seven_days_and_can_be_revoked,
    an_existing_account_accepts_signed_in_and_switches_between_merchants,
    only_owners_make_owners_and_a_merchant_keeps_one_owner_even_under_concurrent_demotions,
    a_removed_member_loses_access_at_once,
    roles_without_team_management_are_refused_every_team_route,
);

/// Invites `email` as `role` from `browser`'s team page; the link's path from the mail.
async fn invite(office: &Office, browser: &Browser<'_>, email: &str, role: &str) -> String {
    let sent = browser.submit("/dashboard/team", "/dashboard/team/invite", &[("email", email), ("role", role)]).await;
    assert_eq!(sent.location.as_deref(), Some("/dashboard/team"), "{}", sent.body);
    let mails = office.office.mailbox.as_ref().unwrap().mails();
    let (_, mail) = mails.iter().find(|(_, m)| m.to == email).expect("an invitation mail");
    let link = mail.body.split("https://pay.example.test").nth(1).unwrap().split_whitespace().next().unwrap().to_owned();
    assert!(link.starts_with("/dashboard/invitations/"), "{link}");
    link
}

async fn an_invited_person_creates_an_account_and_joins_with_the_role(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, sk) = office.signed_up("owner@shop.example", "Shop").await;
    office.app.paid_intent(&sk, 10_000).await;
    let link = invite(&office, &owner, "new@shop.example", "analyst").await;
    let team = owner.get("/dashboard/team").await;
    assert!(team.body.contains("new@shop.example") && team.body.contains("id=\"invitations\""));

    let invited = office.browser();
    let page = invited.get(&link).await;
    assert!(page.body.contains("Join Shop") && page.body.contains("<strong data-role=\"analyst\">Analyst</strong>"), "{}", page.body);
    let short = invited.submit(&link, &format!("{link}/accept"), &[("password", "too short")]).await;
    assert_eq!(short.error_code().as_deref(), Some("password_too_short"));
    let joined = invited.submit(&link, &format!("{link}/accept"), &[("password", PASSWORD)]).await;
    assert_eq!(joined.location.as_deref(), Some("/dashboard/transactions"), "{}", joined.body);
    let list = invited.get("/dashboard/transactions?range=all").await;
    assert_eq!(list.total_count(), 1);
    assert!(list.body.contains("(Analyst)"));
    // An analyst exports but does not refund.
    assert!(list.link("export-csv").is_some());
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &ListPage::first(50)).await.unwrap();
    assert!(log.iter().any(|e| e.action == "invitation.create" && e.actor == "owner@shop.example" && e.target.as_deref() == Some("new@shop.example as analyst")));
    assert!(log.iter().any(|e| e.action == "invitation.accept" && e.actor == "new@shop.example" && e.outcome == Outcome::Success));
    // And signs in with the new password later.
    assert_eq!(office.browser().sign_in("new@shop.example", PASSWORD).await.status, StatusCode::SEE_OTHER);
}

async fn an_invitation_is_accepted_once_lapses_after_seven_days_and_can_be_revoked(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, _, _) = office.signed_up("owner@shop.example", "Shop").await;
    let link = invite(&office, &owner, "once@shop.example", "support").await;
    let first = office.browser();
    assert_eq!(first.submit(&link, &format!("{link}/accept"), &[("password", PASSWORD)]).await.status, StatusCode::SEE_OTHER);
    let second = office.browser();
    let again = second.get(&link).await;
    assert_eq!((again.status, again.error_code().as_deref()), (StatusCode::GONE, Some("invitation_closed")));

    let revoked = invite(&office, &owner, "revoked@shop.example", "support").await;
    let team = owner.get("/dashboard/team").await;
    let id = team.body.split("/dashboard/team/invitations/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let done = owner.submit("/dashboard/team", &format!("/dashboard/team/invitations/{id}/revoke"), &[]).await;
    assert_eq!(done.location.as_deref(), Some("/dashboard/team"));
    assert_eq!(office.browser().get(&revoked).await.error_code().as_deref(), Some("invitation_closed"));

    // Sessions last 15 idle minutes: sign in again after the week.
    let lapsing = invite(&office, &owner, "late@shop.example", "support").await;
    office.app.clock.advance_ms(7 * 24 * 3_600_000);
    assert_eq!(office.browser().get(&lapsing).await.error_code().as_deref(), Some("invitation_closed"));
    assert_eq!(office.browser().get("/dashboard/invitations/nonsense").await.status, StatusCode::GONE);
}

async fn an_existing_account_accepts_signed_in_and_switches_between_merchants(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_a, _) = office.signed_up("owner@a.example", "Shop A").await;
    let (other, merchant_b, _) = office.signed_up("owner@b.example", "Shop B").await;
    let link = invite(&office, &owner, "owner@b.example", "developer").await;
    // Signed in as another email: refused, nothing joined.
    assert!(!owner.get(&link).await.body.contains(">Accept<"), "no accept button for another account");
    let csrf = owner.get("/dashboard/transactions").await.hidden("csrf").unwrap();
    let wrong = owner.post(&format!("{link}/accept"), &[("csrf", &csrf)], &[]).await;
    assert_eq!(wrong.error_code().as_deref(), Some("invitation_for_another"));
    let page = other.get(&link).await;
    assert!(page.body.contains(">Accept<"), "{}", page.body);
    let joined = other.submit(&link, &format!("{link}/accept"), &[]).await;
    assert_eq!(joined.location.as_deref(), Some("/dashboard/transactions"));
    let now_on_a = other.get("/dashboard/transactions").await;
    assert!(now_on_a.body.contains("id=\"merchant-name\">Shop A<") && now_on_a.body.contains("(Developer)"), "{}", now_on_a.body);
    assert!(now_on_a.body.contains(&format!("value=\"{merchant_b}\"")), "the switch offers Shop B");
    let back = other.submit("/dashboard/transactions", "/dashboard/switch", &[("merchant", &merchant_b)]).await;
    assert_eq!(back.location.as_deref(), Some("/dashboard/transactions"));
    assert!(other.get("/dashboard/transactions").await.body.contains("id=\"merchant-name\">Shop B<"));
    // Not a member of some other merchant: refused.
    let (_, merchant_c, _) = office.signed_up("owner@c.example", "Shop C").await;
    assert_eq!(other.submit("/dashboard/transactions", "/dashboard/switch", &[("merchant", &merchant_c)]).await.status, StatusCode::NOT_FOUND);
    let _ = merchant_a;
}

async fn only_owners_make_owners_and_a_merchant_keeps_one_owner_even_under_concurrent_demotions(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let admin = office.member(&merchant_id, "admin@shop.example", Role::Admin).await;
    let members = office.office.stores.team.list_members(&merchant_id).await.unwrap();
    let id_of = |email: &str| members.iter().find(|m| m.email == email).unwrap().staff_id.clone();
    let (owner_id, admin_id) = (id_of("owner@shop.example"), id_of("admin@shop.example"));

    let as_owner = admin.submit("/dashboard/team", "/dashboard/team/invite", &[("email", "x@shop.example"), ("role", "owner")]).await;
    assert_eq!(as_owner.status, StatusCode::FORBIDDEN, "an admin cannot invite an owner");
    let demote = admin.submit("/dashboard/team", &format!("/dashboard/team/members/{owner_id}/role"), &[("role", "support")]).await;
    assert_eq!(demote.status, StatusCode::FORBIDDEN, "nor demote one");
    let alone = owner.submit("/dashboard/team", &format!("/dashboard/team/members/{owner_id}/role"), &[("role", "admin")]).await;
    assert_eq!((alone.status, alone.error_code().as_deref()), (StatusCode::CONFLICT, Some("last_owner")));
    let leave = owner.submit("/dashboard/team", &format!("/dashboard/team/members/{owner_id}/remove"), &[]).await;
    assert_eq!(leave.error_code().as_deref(), Some("last_owner"));

    // Two owners demote each other at once: one of them stays owner.
    let promote = owner.submit("/dashboard/team", &format!("/dashboard/team/members/{admin_id}/role"), &[("role", "owner")]).await;
    assert_eq!(promote.location.as_deref(), Some("/dashboard/team"));
    let csrf_owner = owner.get("/dashboard/team").await.hidden("csrf").unwrap();
    let csrf_second = admin.get("/dashboard/team").await.hidden("csrf").unwrap();
    let (path_a, path_b) = (format!("/dashboard/team/members/{admin_id}/role"), format!("/dashboard/team/members/{owner_id}/role"));
    let (fields_a, fields_b) = ([("csrf", csrf_owner.as_str()), ("role", "analyst")], [("csrf", csrf_second.as_str()), ("role", "analyst")]);
    let (a, b) = tokio::join!(owner.post(&path_a, &fields_a, &[]), admin.post(&path_b, &fields_b, &[]));
    let done = [&a, &b].iter().filter(|p| p.location.as_deref() == Some("/dashboard/team")).count();
    // The loser is refused as the last owner, or, when the winner's demotion landed before its
    // request was read, because it is no longer an owner (nor an admin) at all.
    let refused = [&a, &b].iter().filter(|p| matches!(p.error_code().as_deref(), Some("last_owner" | "forbidden"))).count();
    assert_eq!((done, refused), (1, 1), "{} / {}", a.body, b.body);
    let owners = office.office.stores.team.list_members(&merchant_id).await.unwrap().into_iter().filter(|m| m.role == Role::Owner).count();
    assert_eq!(owners, 1);

    // The store itself, with both demotions in flight at once: one is done, one is refused.
    let team = office.office.stores.team.clone();
    let survivor = office.office.stores.team.list_members(&merchant_id).await.unwrap().into_iter().find(|m| m.role == Role::Owner).unwrap().staff_id;
    let other = if survivor == owner_id { admin_id.clone() } else { owner_id.clone() };
    team.change_role(&merchant_id, &other, Role::Owner).await.unwrap();
    let (x, y) = tokio::join!(team.change_role(&merchant_id, &survivor, Role::Analyst), team.change_role(&merchant_id, &other, Role::Analyst));
    let mut outcomes = [x.unwrap(), y.unwrap()].map(|o| format!("{o:?}"));
    outcomes.sort();
    assert_eq!(outcomes, ["Done".to_owned(), "LastOwner".to_owned()]);
    let owners = office.office.stores.team.list_members(&merchant_id).await.unwrap().into_iter().filter(|m| m.role == Role::Owner).count();
    assert_eq!(owners, 1);
}

async fn a_removed_member_loses_access_at_once(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    let support = office.member(&merchant_id, "support@shop.example", Role::Support).await;
    assert_eq!(support.get("/dashboard/transactions").await.status, StatusCode::OK);
    let members = office.office.stores.team.list_members(&merchant_id).await.unwrap();
    let id = members.iter().find(|m| m.email == "support@shop.example").unwrap().staff_id.clone();
    let removed = owner.submit("/dashboard/team", &format!("/dashboard/team/members/{id}/remove"), &[]).await;
    assert_eq!(removed.location.as_deref(), Some("/dashboard/team"));
    assert_eq!(support.get("/dashboard/transactions").await.location.as_deref(), Some("/dashboard/signin"));
    let again = office.browser().sign_in("support@shop.example", PASSWORD).await;
    assert_eq!(again.error_code().as_deref(), Some("no_membership"));
    let log = office.office.stores.audit.list_audit(&merchant_id, &Default::default(), &ListPage::first(50)).await.unwrap();
    assert!(log.iter().any(|e| e.action == "member.remove" && e.target.as_deref() == Some("support@shop.example")));
}

async fn roles_without_team_management_are_refused_every_team_route(app: TestApp) {
    let office = Office::over(app).await;
    let (owner, merchant_id, _) = office.signed_up("owner@shop.example", "Shop").await;
    invite(&office, &owner, "pending@shop.example", "analyst").await;
    let team = owner.get("/dashboard/team").await;
    let invitation = team.body.split("/dashboard/team/invitations/").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let members = office.office.stores.team.list_members(&merchant_id).await.unwrap();
    let owner_id = members.iter().find(|m| m.email == "owner@shop.example").unwrap().staff_id.clone();
    for role in [Role::Developer, Role::Analyst, Role::Support] {
        let browser = office.member(&merchant_id, &format!("{}@shop.example", role.as_str()), role).await;
        assert_eq!(browser.get("/dashboard/team").await.status, StatusCode::FORBIDDEN, "{role:?}");
        let csrf = browser.get("/dashboard/transactions").await.hidden("csrf").unwrap();
        for (path, fields) in [
            ("/dashboard/team/invite".to_owned(), vec![("email", "x@shop.example"), ("role", "analyst")]),
            (format!("/dashboard/team/invitations/{invitation}/revoke"), vec![]),
            (format!("/dashboard/team/members/{owner_id}/role"), vec![("role", "support")]),
            (format!("/dashboard/team/members/{owner_id}/remove"), vec![]),
        ] {
            let mut all = vec![("csrf", csrf.as_str())];
            all.extend(fields);
            assert_eq!(browser.post(&path, &all, &[]).await.status, StatusCode::FORBIDDEN, "{role:?} {path}");
        }
    }
    let members = office.office.stores.team.list_members(&merchant_id).await.unwrap();
    assert_eq!(members.iter().find(|m| m.staff_id == owner_id).unwrap().role, Role::Owner);
}
