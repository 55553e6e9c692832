//! The staff member's own security page (two-factor set-up and turning it off) and the owner's
//! settings page (time zone, two-factor required of the team).

use super::{render, shown_on, Layout, PageForm, Staff};
use crate::domain::Action;
use crate::error::BackofficeError;
use crate::Backoffice;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    layout: Layout,
    two_factor: bool,
    required: bool,
    recovery_left: i64,
    /// Set-up in progress: the key as text, its URI and its QR code (shown once).
    setup: Option<(String, String, String)>,
    /// Just turned on: the recovery codes, shown once.
    recovery_codes: Vec<String>,
    notice: Option<&'static str>,
    error: Option<(&'static str, String)>,
}

impl super::ShowsError for AccountPage {
    fn error_slot(&mut self) -> &mut Option<(&'static str, String)> {
        &mut self.error
    }
}

async fn account_page(office: &Backoffice, who: &crate::accounts::SignedIn) -> Result<AccountPage, BackofficeError> {
    let staff = office.stores.staff.get_staff(&who.staff.id).await?;
    Ok(AccountPage {
        layout: Layout::new(who, "account", false),
        two_factor: staff.two_factor,
        required: office.stores.settings.requires_two_factor(&who.merchant_id).await?,
        recovery_left: if staff.two_factor { office.recovery_codes_left(who).await? } else { 0 },
        setup: None,
        recovery_codes: Vec::new(),
        notice: None,
        error: None,
    })
}

pub async fn account(State(office): State<Arc<Backoffice>>, staff: Staff) -> Result<Response, BackofficeError> {
    Ok(render(&account_page(&office, &staff.0).await?, StatusCode::OK))
}

pub async fn begin_two_factor(State(office): State<Arc<Backoffice>>, staff: Staff) -> Result<Response, BackofficeError> {
    let mut page = account_page(&office, &staff.0).await?;
    match office.begin_two_factor(&staff.0).await {
        Ok(setup) => {
            page.setup = Some((setup.key.expose().to_owned(), setup.uri.expose().to_owned(), setup.qr_svg));
            Ok(render(&page, StatusCode::OK))
        }
        Err(e) => shown_on(page, e),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

pub async fn enable_two_factor(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<CodeForm>) -> Result<Response, BackofficeError> {
    let enabled = office.enable_two_factor(&staff.0, &form.code).await;
    let mut page = account_page(&office, &staff.0).await?;
    match enabled {
        Ok(codes) => {
            page.recovery_codes = codes.iter().map(|c| c.expose().to_owned()).collect();
            page.notice = Some(page.layout.t.two_factor_now_on);
            page.layout.must_set_up_two_factor = false;
            Ok(render(&page, StatusCode::OK))
        }
        Err(e) => shown_on(page, e),
    }
}

pub async fn disable_two_factor(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<CodeForm>) -> Result<Response, BackofficeError> {
    let disabled = office.disable_two_factor(&staff.0, &form.code).await;
    let mut page = account_page(&office, &staff.0).await?;
    match disabled {
        Ok(()) => {
            page.notice = Some(page.layout.t.two_factor_now_off);
            Ok(render(&page, StatusCode::OK))
        }
        Err(e) => shown_on(page, e),
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    time_zone: &'static str,
    zones: Vec<&'static str>,
    required: bool,
}

/// The time zones offered first; any IANA name may be typed.
const ZONES: [&str; 8] = ["Asia/Seoul", "Asia/Tokyo", "Asia/Singapore", "Asia/Shanghai", "Europe/London", "Europe/Berlin", "America/New_York", "UTC"];

pub async fn settings(State(office): State<Arc<Backoffice>>, staff: Staff) -> Result<Response, BackofficeError> {
    staff.may(Action::ManageSettings)?;
    let page = SettingsPage {
        layout: Layout::new(&staff.0, "settings", false),
        time_zone: staff.0.time_zone.name(),
        zones: ZONES.to_vec(),
        required: office.stores.settings.requires_two_factor(&staff.0.merchant_id).await?,
    };
    Ok(render(&page, StatusCode::OK))
}

#[derive(Deserialize)]
pub struct TimeZoneForm {
    #[serde(default)]
    time_zone: String,
}

pub async fn set_time_zone(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<TimeZoneForm>) -> Result<Response, BackofficeError> {
    office.set_time_zone(&staff.0, &form.time_zone).await?;
    Ok(Redirect::to("/dashboard/settings").into_response())
}

#[derive(Deserialize)]
pub struct RequireForm {
    #[serde(default)]
    required: String,
}

pub async fn set_two_factor_required(State(office): State<Arc<Backoffice>>, staff: Staff, PageForm(form): PageForm<RequireForm>) -> Result<Response, BackofficeError> {
    office.set_two_factor_required(&staff.0, form.required == "on").await?;
    Ok(Redirect::to("/dashboard/settings").into_response())
}
