//! The development mailbox (embedded default only): the mail the back office sent, newest first.

use super::render;
use crate::Backoffice;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;

pub struct MailView {
    pub sent: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "mailbox.html")]
struct MailboxPage {
    shell: crate::i18n::Shell,
    mails: Vec<MailView>,
}

pub async fn mailbox(State(office): State<Arc<Backoffice>>) -> Response {
    let mails = office.mailbox.as_ref().map(|m| m.mails()).unwrap_or_default();
    let tz = crate::domain::TimeZone::default_zone();
    let mails = mails.into_iter().map(|(at, m)| MailView { sent: tz.format(at), to: m.to, subject: m.subject, body: m.body }).collect();
    render(&MailboxPage { shell: crate::i18n::Shell::current(), mails }, StatusCode::OK)
}
