//! `GET /p/{code}`: what the customer's phone opens. While the intent awaits the customer it is
//! the approval page (and the merchant's checkout learns it was scanned); afterwards it is the
//! final page of the payment, never an error.

use crate::i18n::Localized as _;
use super::{render, Shell};
use crate::approvals::{self, ApprovalError};
use crate::i18n::{Lang, ScriptTexts};
use crate::Bridge;
use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use gateway::clock::Millis;
use gateway::domain::intent::{IntentStatus, PaymentIntent, ReturnUrl};
use gateway::domain::approval::CodedIntent;
use paygate_wire::time::mm_ss;
use serde::Serialize;
use std::sync::Arc;

/// What the page shows of the payment. Merchant-supplied text: escaped like everything else.
pub struct Summary {
    pub merchant_name: String,
    pub order_name: String,
    pub amount: String,
}

#[derive(Template)]
#[template(path = "approval.html")]
struct ApprovalPage {
    shell: Shell,
    summary: Summary,
    /// `mm:ss` left, as the server counts it.
    remaining: String,
    remaining_ms: i64,
    deadline_ms: Millis,
    /// The script's settings and strings, as JSON (in a data attribute, escaped).
    config: String,
}

#[derive(Template)]
#[template(path = "outcome.html")]
pub struct OutcomePage {
    pub shell: Shell,
    pub title: &'static str,
    pub message: &'static str,
    /// `paid`, `ended`, `processing`, `invalid`: the page's look.
    pub tone: &'static str,
    pub summary: Option<Summary>,
    /// Reload every 2 s (while the payment is processing).
    pub refresh: bool,
    /// After the outcome: the merchant's `return_url`, naming the intent, which the page opens
    /// after a moment (and links to).
    pub return_to: Option<String>,
}

/// The page's script settings.
#[derive(Serialize)]
pub struct ScriptConfig<'a> {
    /// The approval code (`null` on the wallet home).
    pub code: Option<&'a str>,
    pub currency: Option<&'a str>,
    /// The payment's mode: only funding sources of that mode can pay it.
    pub livemode: Option<bool>,
    pub api: &'static str,
    pub t: &'static ScriptTexts,
}

/// Where an intent stands, as the customer sees it. Exhaustive on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Approve,
    Processing,
    Paid,
    Declined,
    Failed,
    Canceled,
    Expired,
}

fn view_of(intent: &PaymentIntent, now: Millis) -> View {
    match intent.status {
        // Past its deadline but not yet swept: expired all the same.
        IntentStatus::RequiresAction if intent.expires_at <= now => View::Expired,
        IntentStatus::RequiresAction => View::Approve,
        IntentStatus::Processing | IntentStatus::RequiresConfirmation => View::Processing,
        IntentStatus::Succeeded | IntentStatus::PartiallyRefunded | IntentStatus::Refunded => View::Paid,
        IntentStatus::Failed if intent.failure_code == Some(gateway::domain::intent::FailureReason::CustomerDeclined) => View::Declined,
        IntentStatus::Failed => View::Failed,
        IntentStatus::Canceled => View::Canceled,
        IntentStatus::Expired => View::Expired,
    }
}

pub async fn page(State(bridge): State<Arc<Bridge>>, Path(code): Path<String>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let choice = crate::i18n::choose(query.as_deref(), &headers);
    let secure = bridge.services.public_url.starts_with("https://");
    let CodedIntent { intent, merchant_name, .. } = match approvals::open_coded(&bridge.services, &code).await {
        Ok(coded) => coded,
        Err(ApprovalError::LinkInvalid) => return render(&invalid_link(choice.lang), StatusCode::NOT_FOUND, choice, secure),
        Err(e) => {
            tracing::error!(error = %e, "looking up an approval code failed");
            return render(&unavailable(choice.lang), StatusCode::SERVICE_UNAVAILABLE, choice, secure);
        }
    };
    let now = bridge.services.clock.now();
    let summary = Summary {
        merchant_name,
        order_name: intent.order_name.clone(),
        amount: intent.currency.format(intent.amount.minor_units(), choice.lang.locale()),
    };
    let shell = Shell::new(choice.lang);
    let t = shell.t;
    let outcome = |title, message, tone, refresh| OutcomePage { shell: Shell::new(choice.lang), title, message, tone, summary: None, refresh, return_to: None };
    let mut page = match view_of(&intent, now) {
        View::Approve => {
            let remaining_ms = intent.expires_at - now;
            let config = ScriptConfig {
                code: Some(&code),
                currency: Some(intent.currency.code()),
                livemode: Some(intent.livemode),
                api: "/wallet/v1",
                t: &t.script,
            };
            let page = ApprovalPage {
                shell,
                summary,
                remaining: mm_ss(remaining_ms),
                remaining_ms,
                deadline_ms: intent.expires_at,
                config: serde_json::to_string(&config).unwrap_or_default(),
            };
            return render(&page, StatusCode::OK, choice, secure);
        }
        View::Processing => outcome(t.processing_title, t.processing_body, "processing", true),
        View::Paid => outcome(t.paid_title, t.paid_body, "paid", false),
        View::Declined => outcome(t.declined_title, t.declined_body, "ended", false),
        View::Failed => outcome(t.failed_title, t.failed_body, "ended", false),
        View::Canceled => outcome(t.canceled_title, t.canceled_body, "ended", false),
        View::Expired => outcome(t.expired_title, t.expired_body, "ended", false),
    };
    page.summary = Some(summary);
    if !page.refresh {
        page.return_to = intent
            .return_url
            .map(|url| ReturnUrl::from_stored(url).for_intent(&intent.id, bridge.services.client_secret_for(&intent.id).expose()));
    }
    render(&page, StatusCode::OK, choice, secure)
}

/// The answer for an unknown and a malformed code alike.
pub fn invalid_link(lang: Lang) -> OutcomePage {
    let t = lang.texts();
    OutcomePage { shell: Shell::new(lang), title: t.invalid_title, message: t.invalid_body, tone: "invalid", summary: None, refresh: false, return_to: None }
}

fn unavailable(lang: Lang) -> OutcomePage {
    let t = lang.texts();
    OutcomePage { shell: Shell::new(lang), title: t.unavailable_title, message: t.unavailable_body, tone: "invalid", summary: None, refresh: false, return_to: None }
}

/// For the script's own pages (the wallet home): the same settings without an intent.
pub fn wallet_config(lang: Lang) -> String {
    let config = ScriptConfig { code: None, currency: None, livemode: None, api: "/wallet/v1", t: &lang.texts().script };
    serde_json::to_string(&config).unwrap_or_default()
}
