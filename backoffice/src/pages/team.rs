//! The team page (members, roles, invitations) and an invitation's own page.

use super::{cookie_value, error_page, render, shown_on, AnonymousToken, Client, Layout, PageForm, Staff};
use crate::domain::Role;
use crate::error::BackofficeError;
use crate::Backoffice;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use gateway::secret::Secret;
use serde::Deserialize;
use std::sync::Arc;

pub struct MemberView {
    pub staff_id: String,
    pub email: String,
    pub role: &'static str,
    pub two_factor: bool,
    pub since: String,
    pub is_me: bool,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    layout: Layout,
    members: Vec<MemberView>,
    /// (id, email, role, expires)
    invitations: Vec<(String, String, &'static str, String)>,
    roles: Vec<&'static str>,
    error: Option<(&'static str, String)>,
}

impl super::ShowsError for TeamPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

async fn team_page(office: &Backoffice, who: &crate::accounts::SignedIn) -> Result<TeamPage, BackofficeError> {
    let (members, invitations) = office.team(who).await?;
    let tz = who.time_zone;
    Ok(TeamPage {
        layout: Layout::new(who, "team", false),
        members: members
            .into_iter()
            .map(|m| MemberView { is_me: m.staff_id == who.staff.id, staff_id: m.staff_id, email: m.email, role: m.role.as_str(), two_factor: m.two_factor, since: tz.format(m.since) })
            .collect(),
        invitations: invitations.into_iter().map(|i| (i.id, i.email, i.role.as_str(), tz.format(i.expires_at))).collect(),
        roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
        error: None,
    })
}

pub async fn page(State(office): State<Arc<Backoffice>>, staff: Staff) -> Result<Response, BackofficeError> {
    Ok(render(&team_page(&office, &staff.0).await?, StatusCode::OK))
}

/// Back to the team page, or the page with what went wrong.
async fn done(office: &Backoffice, staff: &Staff, result: Result<(), BackofficeError>) -> Result<Response, BackofficeError> {
    match result {
        Ok(()) => Ok(Redirect::to("/dashboard/team").into_response()),
        Err(e @ (BackofficeError::Forbidden | BackofficeError::NotFound)) => Err(e),
        Err(e) => shown_on(team_page(office, &staff.0).await?, e),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<InviteForm>) -> Result<Response, BackofficeError> {
    let result = office.invite(&staff.0, &form.email, &form.role).await;
    done(&office, &staff, result).await
}

pub async fn revoke(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>) -> Result<Response, BackofficeError> {
    let result = office.revoke_invitation(&staff.0, &id).await;
    done(&office, &staff, result).await
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn role(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<RoleForm>) -> Result<Response, BackofficeError> {
    let result = office.change_role(&staff.0, &id, &form.role).await;
    done(&office, &staff, result).await
}

pub async fn remove(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>) -> Result<Response, BackofficeError> {
    let result = office.remove_member(&staff.0, &id).await;
    done(&office, &staff, result).await
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    shell: crate::i18n::Shell,
    csrf: String,
    token: String,
    merchant_name: String,
    email: String,
    role: &'static str,
    role_label: String,
    has_account: bool,
    /// Signed in as the invited email: accept with one button.
    signed_in_as_invited: bool,
    error: Option<(&'static str, String)>,
}

impl super::ShowsError for InvitationPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

async fn invitation_page(office: &Backoffice, token: &str, anonymous: &AnonymousToken, headers: &HeaderMap, client: &str) -> Result<InvitationPage, BackofficeError> {
    let open = office.open_invitation(token).await?;
    let signed_in = match cookie_value(headers, office.cookie_names().session) {
        Some(session) => office.session(&session, client).await?,
        None => None,
    };
    let signed_in_as_invited = signed_in.as_ref().is_some_and(|s| s.staff.email == open.invitation.email);
    Ok(InvitationPage {
        shell: crate::i18n::Shell::current(),
        csrf: signed_in.map_or_else(|| anonymous.token.clone(), |s| s.csrf_token),
        token: token.to_owned(),
        merchant_name: open.merchant_name,
        email: open.invitation.email,
        role: open.invitation.role.as_str(),
        role_label: crate::i18n::label(crate::i18n::Shell::current().lang(), open.invitation.role.as_str()),
        has_account: open.has_account,
        signed_in_as_invited,
        error: None,
    })
}

fn with_cookie(mut response: Response, token: &AnonymousToken) -> Response {
    if let Some(cookie) = &token.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    response
}

pub async fn invitation(State(office): State<Arc<Backoffice>>, Path(token): Path<String>, anonymous: AnonymousToken, Client(client): Client, headers: HeaderMap) -> Response {
    match invitation_page(&office, &token, &anonymous, &headers, &client).await {
        Ok(page) => with_cookie(render(&page, StatusCode::OK), &anonymous),
        Err(e) => error_page(&e),
    }
}

#[derive(Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    password: String,
}

pub async fn accept(
    State(office): State<Arc<Backoffice>>,
    Path(token): Path<String>,
    anonymous: AnonymousToken,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(form): PageForm<AcceptForm>,
) -> Response {
    let signed_in = match cookie_value(&headers, office.cookie_names().session) {
        Some(session) => office.session(&session, &client).await,
        None => Ok(None),
    };
    let accepted = match signed_in {
        Ok(Some(who)) => office.accept_as_signed_in(&who, &token).await.map(|()| None),
        Ok(None) => office.accept_with_new_account(&token, &Secret::new(form.password), &client).await.map(Some),
        Err(e) => Err(e),
    };
    match accepted {
        Ok(session) => {
            let mut response = Redirect::to("/dashboard/transactions").into_response();
            if let Some(session) = session {
                response.headers_mut().append(header::SET_COOKIE, office.cookie(office.cookie_names().session, Some(session.expose())));
            }
            response
        }
        Err(e @ BackofficeError::InvitationClosed) => error_page(&e),
        Err(e) => match invitation_page(&office, &token, &anonymous, &headers, &client).await {
            Ok(page) => shown_on(page, e).unwrap_or_else(IntoResponse::into_response),
            Err(other) => error_page(&other),
        },
    }
}
