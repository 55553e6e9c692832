//! The audit log page: the merchant's entries, newest first, filtered by action, actor and date.

use super::{render, Layout, Staff};
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::store::{audit_cursor, AuditFilter};
use crate::transactions::{cursor_param, DateRange, TransactionQuery};
use crate::Backoffice;
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use gateway::domain::query::Page;
use std::sync::Arc;

const AUDIT_PAGE: u32 = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    action: String,
    actor: String,
    range: &'static str,
    ranges: Vec<(&'static str, &'static str)>,
    time_zone: &'static str,
    /// time, actor, action, target, client, outcome
    entries: Vec<[String; 6]>,
    next: Option<String>,
}

pub async fn page(State(office): State<Arc<Backoffice>>, staff: Staff, RawQuery(raw): RawQuery) -> Result<Response, BackofficeError> {
    let who = &staff.0;
    office.permitted(who, Action::ReadAudit, "audit.read", &who.merchant_id).await?;
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_bytes()).into_owned().collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty());
    // The date range reads like the transaction list's (today, 7d, 30d, custom from/to, all).
    let dates = TransactionQuery::parse(&raw)?;
    let (created_gte, created_lt) = dates.range.bounds(who.time_zone, office.services.clock.now());
    let filter = AuditFilter { action: get("action"), actor: get("actor").map(|a| a.to_lowercase()), created_gte, created_lt };
    let after = match get("after") {
        Some(text) => {
            let (at, id) = text.split_once('_').ok_or(BackofficeError::NotFound)?;
            Some(gateway::domain::query::Cursor { created_at: at.parse().map_err(|_| BackofficeError::NotFound)?, id: id.to_owned() })
        }
        None => None,
    };
    let mut entries = office.stores.audit.list_audit(&who.merchant_id, &filter, &Page { limit: AUDIT_PAGE + 1, after }).await?;
    let next = (entries.len() > AUDIT_PAGE as usize).then(|| {
        entries.truncate(AUDIT_PAGE as usize);
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(k, _)| k != "after") {
            link.append_pair(k, v);
        }
        link.append_pair("after", &entries.last().map(|e| cursor_param(&audit_cursor(e))).unwrap_or_default());
        format!("?{}", link.finish())
    });
    let tz = who.time_zone;
    let page = AuditPage {
        layout: Layout::new(who, "audit", false),
        action: filter.action.clone().unwrap_or_default(),
        actor: filter.actor.clone().unwrap_or_default(),
        range: if matches!(dates.range, DateRange::Last30Days) && get("range").is_none() { "30d" } else { dates.range.code() },
        ranges: super::transactions::date_ranges(false),
        time_zone: tz.name(),
        entries: entries
            .into_iter()
            .map(|e| [tz.format(e.created_at), e.actor, e.action, e.target.unwrap_or_default(), e.client_ip, e.outcome.as_str().to_owned()])
            .collect(),
        next,
    };
    Ok(render(&page, StatusCode::OK))
}
