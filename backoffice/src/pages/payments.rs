//! The payment detail page and its two actions, refund and cancel.

use super::{render, Layout, PageForm, Staff};
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::payments::{new_submit_token, PaymentDetail};
use crate::Backoffice;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use gateway::domain::intent::IntentStatus;
use serde::Deserialize;
use std::sync::Arc;

pub struct Line {
    pub cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "payment.html")]
struct PaymentPage {
    layout: Layout,
    id: String,
    status: &'static str,
    /// (label, value) of the summary.
    summary: Vec<(&'static str, String)>,
    transactions: Vec<Line>,
    refunds: Vec<Line>,
    events: Vec<Line>,
    deliveries: Vec<Line>,
    /// The refund form, when the payment can be refunded and the role may: what is left.
    refundable: Option<String>,
    currency_digits: u32,
    can_cancel: bool,
    submit_token: String,
    notice: Option<&'static str>,
    error: Option<(&'static str, String)>,
}

impl super::ShowsError for PaymentPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

fn page(who: &crate::accounts::SignedIn, d: PaymentDetail) -> PaymentPage {
    let tz = who.time_zone;
    let i = &d.intent;
    let shell = crate::i18n::Shell::current();
    let t = shell.t;
    let money = |minor: i64| i.currency.format(minor, shell.locale);
    let left = i.amount_captured - i.amount_refunded;
    let mut summary = vec![
        (t.amount, money(i.amount.minor_units())),
        (t.captured, money(i.amount_captured)),
        (t.refunded, money(i.amount_refunded)),
        (t.customer, i.customer_name.clone()),
        (t.order, format!("{} ({})", i.order_name, i.merchant_order_id)),
        (t.created, tz.format(i.created_at)),
        (t.mode, if i.livemode { "live".into() } else { "test".into() }),
    ];
    if let Some(email) = &i.customer_email {
        summary.push((t.customer_email, email.clone()));
    }
    if let Some(connector) = &i.connector {
        summary.push((t.paid_through, connector.clone()));
    }
    if let Some(failure) = i.failure_code {
        summary.push((t.failure, format!("{} ({})", i.failure_message.clone().unwrap_or_default(), failure.code())));
    }
    if let Some(reason) = &i.cancellation_reason {
        summary.push((t.cancellation_reason, reason.clone()));
    }
    let transactions = d
        .transactions
        .iter()
        .map(|t| Line { cells: vec![tz.format(t.created_at), t.kind.as_str().into(), label(t.status.as_str()), money(t.amount.minor_units()), t.id.clone()] })
        .collect();
    let refunds = d
        .refunds
        .iter()
        .map(|r| {
            let status = match &r.failure_code {
                Some(code) => format!("{} ({code})", label(r.status.as_str())),
                None => label(r.status.as_str()),
            };
            Line { cells: vec![tz.format(r.created_at), money(r.amount.minor_units()), status, r.reason.clone().unwrap_or_default(), r.id.clone()] }
        })
        .collect();
    let events = d.events.iter().map(|e| Line { cells: vec![tz.format(e.created_at), e.kind.clone(), e.id.clone()] }).collect();
    let deliveries = d
        .deliveries
        .iter()
        .map(|x| {
            let last = match (x.last_response_status, &x.last_error) {
                (Some(status), _) => format!("HTTP {status}"),
                (None, Some(error)) => error.clone(),
                (None, None) => t.not_tried_yet.into(),
            };
            let latency = x.last_latency_ms.map(|ms| format!("{ms} ms")).unwrap_or_default();
            Line { cells: vec![x.event_id.clone(), x.url.clone(), label(&x.status), x.attempts.to_string(), last, latency] }
        })
        .collect();
    let refundable = (i.status.is_refundable() && left > 0 && who.role.may(Action::Refund)).then(|| gateway::domain::money::Currency::display(i.currency, left));
    PaymentPage {
        layout: Layout::new(who, "transactions", !i.livemode),
        id: i.id.clone(),
        status: i.status.as_str(),
        summary,
        transactions,
        refunds,
        events,
        deliveries,
        refundable,
        currency_digits: i.currency.exponent(),
        can_cancel: i.status == IntentStatus::RequiresAction && who.role.may(Action::Cancel),
        submit_token: new_submit_token(),
        notice: None,
        error: None,
    }
}

#[derive(Deserialize)]
pub struct DetailQuery {
    #[serde(default)]
    done: String,
}

pub async fn detail(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, Query(q): Query<DetailQuery>) -> Result<Response, BackofficeError> {
    staff.may(Action::ReadTransactions)?;
    let detail = office.payment_detail(&staff.0, &id).await?;
    let mut page = page(&staff.0, detail);
    page.notice = match q.done.as_str() {
        "refund" => Some(page.layout.t.refund_done),
        "cancel" => Some(page.layout.t.cancel_done),
        _ => None,
    };
    Ok(render(&page, StatusCode::OK))
}

/// Shows the detail page again with what went wrong.
async fn refused(office: &Backoffice, staff: &Staff, id: &str, e: BackofficeError) -> Response {
    if e.is_internal() || matches!(e, BackofficeError::NotFound | BackofficeError::Forbidden) {
        return e.into_response();
    }
    match office.payment_detail(&staff.0, id).await {
        Ok(detail) => super::shown_on(page(&staff.0, detail), e).unwrap_or_else(IntoResponse::into_response),
        Err(other) => other.into_response(),
    }
}

#[derive(Deserialize)]
pub struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    submit: String,
}

pub async fn refund(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<RefundForm>) -> Response {
    match office.refund_payment(&staff.0, &id, &form.amount, &form.reason, &form.submit).await {
        Ok(_) => Redirect::to(&format!("/dashboard/payments/{id}?done=refund")).into_response(),
        Err(e) => refused(&office, &staff, &id, e).await,
    }
}

#[derive(Deserialize)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
}

pub async fn cancel(State(office): State<Arc<Backoffice>>, staff: Staff, Path(id): Path<String>, PageForm(form): PageForm<CancelForm>) -> Response {
    match office.cancel_payment(&staff.0, &id, &form.reason).await {
        Ok(()) => Redirect::to(&format!("/dashboard/payments/{id}?done=cancel")).into_response(),
        Err(e) => refused(&office, &staff, &id, e).await,
    }
}

/// A status in words, in the page's language.
fn label(code: &str) -> String {
    crate::i18n::label(crate::i18n::Shell::current().lang(), code)
}
