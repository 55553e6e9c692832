//! The transaction list (filters in the URL, keyset pages, totals) and its CSV export.

use super::{render, Layout, Staff};
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::store::Outcome;
use crate::transactions::{cursor_param, DateRange, TransactionQuery};
use crate::audit::Audited;
use crate::Backoffice;
use askama::Template;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use gateway::domain::money::Currency;
use gateway::domain::transaction::{TransactionStatus, TransactionType};
use std::sync::Arc;

pub struct RowView {
    pub id: String,
    pub created: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub status: &'static str,
    pub amount: String,
    pub customer_name: String,
    pub order_name: String,
    pub order_id: String,
    pub payment_intent: String,
}

/// The filter form's current values.
pub struct FilterView {
    pub q: String,
    pub range: &'static str,
    pub from: String,
    pub to: String,
    pub types: Vec<(&'static str, &'static str, bool)>,
    pub status: &'static str,
    pub statuses: Vec<&'static str>,
    pub live: bool,
    pub currency: &'static str,
    pub currencies: Vec<&'static str>,
    pub min: String,
    pub max: String,
    pub order: String,
    pub intent: String,
}

#[derive(Template)]
#[template(path = "transactions.html")]
struct ListPage {
    layout: Layout,
    filter: FilterView,
    time_zone: &'static str,
    /// (code, label) of each date range.
    ranges: Vec<(&'static str, &'static str)>,
    rows: Vec<RowView>,
    count: i64,
    /// More than the count match: no sums shown.
    capped: bool,
    totals: Vec<String>,
    next: Option<String>,
    export: Option<String>,
    /// The team's saved views: (id, name, link).
    views: Vec<(String, String, String)>,
    /// This filter's query string, for "save this view".
    query_string: String,
    error: Option<(&'static str, String)>,
}

impl super::ShowsError for ListPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

/// (code, label) of the date ranges a filter offers, `custom` among them or not.
pub fn date_ranges(with_custom: bool) -> Vec<(&'static str, &'static str)> {
    let t = crate::i18n::Shell::current().t;
    let mut ranges = vec![("today", t.today), ("7d", t.last_7_days), ("30d", t.last_30_days), ("custom", t.custom), ("all", t.all_time)];
    if !with_custom {
        ranges.retain(|(code, _)| *code != "custom");
    }
    ranges
}

/// A transaction type in the page's language.
fn kind_label(kind: TransactionType) -> &'static str {
    let t = crate::i18n::Shell::current().t;
    match kind {
        TransactionType::Payment => t.kind_payment,
        TransactionType::Cancel => t.kind_cancel,
        TransactionType::Refund => t.kind_refund,
    }
}

fn filter_view(q: &TransactionQuery) -> FilterView {
    let (from, to) = match q.range {
        DateRange::Custom { from, to } => (from.map(|d| d.to_string()).unwrap_or_default(), to.map(|d| d.to_string()).unwrap_or_default()),
        _ => (String::new(), String::new()),
    };
    FilterView {
        q: q.customer_name.clone().unwrap_or_default(),
        range: q.range.code(),
        from,
        to,
        types: [TransactionType::Payment, TransactionType::Cancel, TransactionType::Refund].into_iter().map(|t| (t.as_str(), kind_label(t), q.types.contains(&t))).collect(),
        status: q.status.map_or("", |s| s.as_str()),
        statuses: [TransactionStatus::Pending, TransactionStatus::Succeeded, TransactionStatus::Failed].into_iter().map(|s| s.as_str()).collect(),
        live: q.livemode,
        currency: q.currency.map_or("", |c| c.code()),
        currencies: Currency::ALL.iter().map(|c| c.code()).collect(),
        min: q.amount_min.clone().unwrap_or_default(),
        max: q.amount_max.clone().unwrap_or_default(),
        order: q.order_id.clone().unwrap_or_default(),
        intent: q.payment_intent.clone().unwrap_or_default(),
    }
}

pub async fn list(State(office): State<Arc<Backoffice>>, staff: Staff, RawQuery(raw): RawQuery) -> Result<Response, BackofficeError> {
    staff.may(Action::ReadTransactions)?;
    match list_page(&office, &staff.0, raw.as_deref().unwrap_or("")).await? {
        (page, None) => Ok(render(&page, StatusCode::OK)),
        (page, Some(e)) => super::shown_on(page, e),
    }
}

/// The list for the query string `raw`, and what was wrong with it, if anything.
async fn list_page(office: &Backoffice, who: &crate::accounts::SignedIn, raw: &str) -> Result<(ListPage, Option<BackofficeError>), BackofficeError> {
    let parsed = TransactionQuery::parse(raw);
    let query = parsed.clone().unwrap_or_default();
    let mut page = ListPage {
        layout: Layout::new(who, "transactions", !query.livemode),
        filter: filter_view(&query),
        time_zone: who.time_zone.name(),
        ranges: date_ranges(true),
        rows: Vec::new(),
        count: 0,
        capped: false,
        totals: Vec::new(),
        next: None,
        export: None,
        views: office
            .saved_views(who)
            .await?
            .into_iter()
            .map(|v| (v.id, v.name, format!("/dashboard/transactions?{}", v.query)))
            .collect(),
        query_string: query.to_query_string(),
        error: None,
    };
    let listed = match parsed {
        Ok(query) => office.list_transactions(&who.merchant_id, &query, who.time_zone).await,
        Err(e) => Err(e.into()),
    };
    let locale = page.layout.shell.locale;
    match listed {
        Ok(list) => {
            let base = query.to_query_string();
            page.next = list.next.as_ref().map(|c| format!("?{base}&after={}", cursor_param(c)));
            page.export = who.role.may(Action::ExportTransactions).then(|| format!("/dashboard/transactions.csv?{base}"));
            page.count = list.totals.count;
            page.capped = list.totals.capped;
            page.totals = list.totals.per_currency.iter().map(|t| format!("{} {}", t.count, t.currency.format(t.net, locale))).collect();
            page.rows = list
                .rows
                .into_iter()
                .map(|r| RowView {
                    created: who.time_zone.format(r.transaction.created_at),
                    kind: r.transaction.kind.as_str(),
                    kind_label: kind_label(r.transaction.kind),
                    status: r.transaction.status.as_str(),
                    amount: r.transaction.currency.format(r.transaction.amount.minor_units(), locale),
                    customer_name: r.transaction.customer_name,
                    order_name: r.order_name,
                    order_id: r.order_id,
                    payment_intent: r.transaction.payment_intent,
                    id: r.transaction.id,
                })
                .collect();
            Ok((page, None))
        }
        Err(e) if e.is_internal() => Err(e),
        Err(e) => Ok((page, Some(e))),
    }
}

pub async fn export(State(office): State<Arc<Backoffice>>, staff: Staff, RawQuery(raw): RawQuery) -> Result<Response, BackofficeError> {
    let who = &staff.0;
    if let Err(e) = staff.may(Action::ExportTransactions) {
        office.audit(Audited::of(who), "transactions.export", None, Outcome::Refused).await;
        return Err(e);
    }
    let query = TransactionQuery::parse(raw.as_deref().unwrap_or(""))?;
    let filter = query.resolve(who.time_zone, office.services.clock.now())?;
    office.audit(Audited::of(who), "transactions.export", Some(&query.to_query_string()), Outcome::Success).await;
    let rows = office.export_transactions(who.merchant_id.clone(), filter, who.time_zone);
    let mut response = Body::from_stream(rows).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    headers.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"transactions.csv\""));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(response)
}

#[derive(serde::Deserialize)]
pub struct ViewForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

/// Saves the filter as a view for the team, then opens it; or the list with what went wrong.
pub async fn save_view(State(office): State<Arc<Backoffice>>, staff: Staff, super::PageForm(form): super::PageForm<ViewForm>) -> Result<Response, BackofficeError> {
    match office.save_view(&staff.0, &form.name, &form.query).await {
        Ok(view) => Ok(axum::response::Redirect::to(&format!("/dashboard/transactions?{}", view.query)).into_response()),
        Err(e @ BackofficeError::Forbidden) => Err(e),
        Err(e) => shown_on_list(&office, &staff.0, form.query.trim_start_matches('?'), e).await,
    }
}

/// The list the form was on, with what went wrong.
async fn shown_on_list(office: &Backoffice, who: &crate::accounts::SignedIn, raw: &str, e: BackofficeError) -> Result<Response, BackofficeError> {
    let (page, _) = list_page(office, who, raw).await?;
    super::shown_on(page, e)
}

pub async fn delete_view(State(office): State<Arc<Backoffice>>, staff: Staff, axum::extract::Path(id): axum::extract::Path<String>) -> Result<Response, BackofficeError> {
    office.delete_view(&staff.0, &id).await?;
    Ok(axum::response::Redirect::to("/dashboard/transactions").into_response())
}
