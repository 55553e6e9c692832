//! The transaction list as staff ask for it: a filter that lives in the URL (so it can be shared
//! and bookmarked), read into dates of the merchant's time zone and amounts in minor units; one
//! page of the list with its totals; and the CSV export of exactly the filtered set, streamed
//! page by page (keyset), so memory stays flat whatever its size.

use crate::domain::TimeZone;
use crate::error::BackofficeError;
use crate::store::{SearchFilter, Totals, TransactionRow};
use crate::Backoffice;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::Stream;
use gateway::clock::Millis;
use gateway::domain::money::Currency;
use gateway::domain::query::{Cursor, Page};
use gateway::domain::transaction::{TransactionStatus, TransactionType};
use gateway::domain::ValidationError;
use std::sync::Arc;

/// Rows per page of the list.
pub const PAGE_SIZE: u32 = 50;
/// The list counts (and sums) at most this many rows of the filtered set; past it, the page says
/// "10000 or more" and shows no sums, so a page stays fast at a million rows.
pub const TOTALS_CAP: i64 = 10_000;
/// Rows per read of the export.
const EXPORT_BATCH: u32 = 1_000;

/// Which days a list covers, in the merchant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRange {
    Today,
    Last7Days,
    Last30Days,
    /// `from` to `to`, both days included; either end may be open.
    Custom { from: Option<NaiveDate>, to: Option<NaiveDate> },
    All,
}

impl DateRange {
    pub fn code(self) -> &'static str {
        match self {
            DateRange::Today => "today",
            DateRange::Last7Days => "7d",
            DateRange::Last30Days => "30d",
            DateRange::Custom { .. } => "custom",
            DateRange::All => "all",
        }
    }

    /// `[start, end)` in instants.
    pub fn bounds(self, tz: TimeZone, now: Millis) -> (Option<Millis>, Option<Millis>) {
        let today = tz.date_of(now);
        let tomorrow = today.succ_opt().map(|d| tz.start_of(d));
        let days_back = |n: u64| today.checked_sub_days(chrono::Days::new(n)).map(|d| tz.start_of(d));
        match self {
            DateRange::Today => (Some(tz.start_of(today)), tomorrow),
            DateRange::Last7Days => (days_back(6), tomorrow),
            DateRange::Last30Days => (days_back(29), tomorrow),
            DateRange::Custom { from, to } => (from.map(|d| tz.start_of(d)), to.and_then(|d| d.succ_opt()).map(|d| tz.start_of(d))),
            DateRange::All => (None, None),
        }
    }
}

/// A list request as the URL says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    pub customer_name: Option<String>,
    pub range: DateRange,
    pub types: Vec<TransactionType>,
    pub status: Option<TransactionStatus>,
    pub livemode: bool,
    pub currency: Option<Currency>,
    /// As typed, in the currency's major units (`12.50`).
    pub amount_min: Option<String>,
    pub amount_max: Option<String>,
    pub order_id: Option<String>,
    pub payment_intent: Option<String>,
    pub after: Option<Cursor>,
}

impl Default for TransactionQuery {
    fn default() -> Self {
        Self {
            customer_name: None,
            range: DateRange::Last30Days,
            types: Vec::new(),
            status: None,
            livemode: false,
            currency: None,
            amount_min: None,
            amount_max: None,
            order_id: None,
            payment_intent: None,
            after: None,
        }
    }
}

fn invalid(code: &'static str, param: &'static str, message: &str) -> ValidationError {
    ValidationError::new(code, param, message)
}

fn date(text: &str, param: &'static str) -> Result<NaiveDate, ValidationError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| invalid("date_invalid", param, "Write dates as YYYY-MM-DD."))
}

/// `text` in `currency`'s major units (`12.50`, `12,000`) as minor units.
pub fn parse_major_units(text: &str, currency: Currency, param: &'static str) -> Result<i64, ValidationError> {
    let bad = || invalid("amount_invalid", param, "Write the amount as a plain number, for example 12000 or 12.50.");
    let cleaned: String = text.trim().chars().filter(|c| *c != ',').collect();
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let digits = currency.exponent() as usize;
    if whole.is_empty() || whole.len() > 13 || !whole.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > digits || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<digits$}").parse().map_err(|_| bad())? };
    whole.checked_mul(10i64.pow(digits as u32)).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)
}

/// Minor units as a plain number in major units (`12000`, `12.50`), for CSV.
pub fn plain_major_units(minor: i64, currency: Currency) -> String {
    let digits = currency.exponent();
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(digits);
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:0width$}", (minor / scale).abs(), (minor % scale).abs(), width = digits as usize)
}

impl TransactionQuery {
    /// Reads the URL's query string; an unknown value is refused with the parameter named.
    pub fn parse(query: &str) -> Result<Self, ValidationError> {
        let mut q = TransactionQuery::default();
        let (mut from, mut to, mut range) = (None, None, None);
        let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        for (key, value) in form_pairs(query) {
            let value = value.as_str();
            match key.as_str() {
                "q" => q.customer_name = text(value).map(|v| v.chars().take(100).collect()),
                "range" => range = text(value),
                "from" => from = text(value).map(|v| date(&v, "from")).transpose()?,
                "to" => to = text(value).map(|v| date(&v, "to")).transpose()?,
                "type" => {
                    let kind = TransactionType::parse(value).ok_or_else(|| invalid("type_invalid", "type", "The type is payment, cancel or refund."))?;
                    if !q.types.contains(&kind) {
                        q.types.push(kind);
                    }
                }
                "status" if !value.is_empty() => {
                    q.status = Some(TransactionStatus::parse(value).ok_or_else(|| invalid("status_invalid", "status", "The status is pending, succeeded or failed."))?)
                }
                "mode" => {
                    q.livemode = match value {
                        "live" => true,
                        "test" | "" => false,
                        _ => return Err(invalid("mode_invalid", "mode", "The mode is test or live.")),
                    }
                }
                "currency" if !value.is_empty() => {
                    q.currency = Some(value.parse().map_err(|()| invalid("currency_invalid", "currency", "Choose one of the listed currencies."))?)
                }
                "min" => q.amount_min = text(value),
                "max" => q.amount_max = text(value),
                "order" => q.order_id = text(value),
                "intent" => q.payment_intent = text(value),
                "after" if !value.is_empty() => q.after = Some(parse_cursor(value).ok_or_else(|| invalid("after_invalid", "after", "This page link is not valid."))?),
                // Unknown parameters (and empty optional ones) are ignored, as a form sends them.
                _ => {}
            }
        }
        q.range = match range.as_deref() {
            None if from.is_some() || to.is_some() => DateRange::Custom { from, to },
            None => DateRange::Last30Days,
            Some("today") => DateRange::Today,
            Some("7d") => DateRange::Last7Days,
            Some("30d") => DateRange::Last30Days,
            Some("all") => DateRange::All,
            Some("custom") => DateRange::Custom { from, to },
            Some(_) => return Err(invalid("range_invalid", "range", "The range is today, 7d, 30d, custom or all.")),
        };
        if let DateRange::Custom { from: Some(f), to: Some(t) } = q.range {
            if t < f {
                return Err(invalid("range_invalid", "to", "The end date is before the start date."));
            }
        }
        Ok(q)
    }

    /// What the store runs, with dates read in `tz` at `now`.
    pub fn resolve(&self, tz: TimeZone, now: Millis) -> Result<SearchFilter, ValidationError> {
        let (created_gte, created_lt) = self.range.bounds(tz, now);
        let amount = |text: &Option<String>, param| -> Result<Option<i64>, ValidationError> {
            match (text, self.currency) {
                (None, _) => Ok(None),
                (Some(_), None) => Err(invalid("currency_required", "currency", "Choose the currency the amount range is in.")),
                (Some(t), Some(c)) => parse_major_units(t, c, param).map(Some),
            }
        };
        let amount_min = amount(&self.amount_min, "min")?;
        let amount_max = amount(&self.amount_max, "max")?;
        if let (Some(lo), Some(hi)) = (amount_min, amount_max) {
            if hi < lo {
                return Err(invalid("amount_range_invalid", "max", "The largest amount is below the smallest."));
            }
        }
        Ok(SearchFilter {
            livemode: self.livemode,
            customer_name: self.customer_name.clone(),
            created_gte,
            created_lt,
            types: self.types.clone(),
            status: self.status,
            amount_currency: self.currency.filter(|_| amount_min.is_some() || amount_max.is_some()),
            amount_min,
            amount_max,
            order_id: self.order_id.clone(),
            payment_intent: self.payment_intent.clone(),
        })
    }

    /// The query string of this filter (without the page position), for links and the export.
    pub fn to_query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if let Some(name) = &self.customer_name {
            out.append_pair("q", name);
        }
        out.append_pair("range", self.range.code());
        if let DateRange::Custom { from, to } = self.range {
            if let Some(from) = from {
                out.append_pair("from", &from.to_string());
            }
            if let Some(to) = to {
                out.append_pair("to", &to.to_string());
            }
        }
        for kind in &self.types {
            out.append_pair("type", kind.as_str());
        }
        if let Some(status) = self.status {
            out.append_pair("status", status.as_str());
        }
        out.append_pair("mode", if self.livemode { "live" } else { "test" });
        if let Some(currency) = self.currency {
            out.append_pair("currency", currency.code());
        }
        for (key, value) in [("min", &self.amount_min), ("max", &self.amount_max), ("order", &self.order_id), ("intent", &self.payment_intent)] {
            if let Some(value) = value {
                out.append_pair(key, value);
            }
        }
        out.finish()
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

/// A page position as links carry it: `{created_at}_{id}`.
pub fn cursor_param(c: &Cursor) -> String {
    format!("{}_{}", c.created_at, c.id)
}

fn parse_cursor(text: &str) -> Option<Cursor> {
    let (at, id) = text.split_once('_')?;
    let valid_id = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid_id.then(|| Some(Cursor { created_at: at.parse().ok()?, id: id.to_owned() })).flatten()
}

/// One page of the list and the totals of the filtered set (up to [`TOTALS_CAP`] rows).
#[derive(Debug, Clone)]
pub struct TransactionPage {
    pub rows: Vec<TransactionRow>,
    pub next: Option<Cursor>,
    pub totals: Totals,
}

impl Backoffice {
    pub async fn list_transactions(&self, merchant_id: &str, query: &TransactionQuery, tz: TimeZone) -> Result<TransactionPage, BackofficeError> {
        let filter = query.resolve(tz, self.services.clock.now())?;
        let page = Page { limit: PAGE_SIZE + 1, after: query.after.clone() };
        let mut rows = self.stores.search.search_transactions(merchant_id, &filter, &page).await?;
        let next = if rows.len() > PAGE_SIZE as usize {
            rows.truncate(PAGE_SIZE as usize);
            rows.last().map(|r| Cursor { created_at: r.transaction.created_at, id: r.transaction.id.clone() })
        } else {
            None
        };
        let totals = self.stores.search.transaction_totals(merchant_id, &filter, TOTALS_CAP).await?;
        Ok(TransactionPage { rows, next, totals })
    }

    /// The CSV of every row `filter` matches, newest first, as a stream of chunks: UTF-8 with a
    /// byte-order mark (Excel then reads Korean right), times in `tz`, amounts as plain numbers,
    /// text cells escaped against formula injection.
    pub fn export_transactions(self: &Arc<Self>, merchant_id: String, filter: SearchFilter, tz: TimeZone) -> impl Stream<Item = Result<Bytes, BackofficeError>> + Send + 'static {
        let header = format!(
            "\u{feff}created_at ({}),type,status,amount,currency,customer_name,order_name,order_id,payment_intent,refund,transaction\r\n",
            tz.name()
        );
        let state = (self.clone(), Some(Page::first(EXPORT_BATCH)), Some(header));
        futures::stream::try_unfold(state, move |(office, page, header)| {
            let merchant_id = merchant_id.clone();
            let filter = filter.clone();
            async move {
                if let Some(header) = header {
                    return Ok(Some((Bytes::from(header), (office, page, None))));
                }
                let Some(page) = page else {
                    return Ok(None);
                };
                let rows = office.stores.search.search_transactions(&merchant_id, &filter, &page).await?;
                let next = (rows.len() == EXPORT_BATCH as usize)
                    .then(|| rows.last().map(|r| Page { limit: EXPORT_BATCH, after: Some(Cursor { created_at: r.transaction.created_at, id: r.transaction.id.clone() }) }))
                    .flatten();
                if rows.is_empty() {
                    return Ok(None);
                }
                let mut chunk = String::with_capacity(rows.len() * 160);
                for row in &rows {
                    csv_row(&mut chunk, row, tz);
                }
                Ok(Some((Bytes::from(chunk), (office, next, None))))
            }
        })
    }
}

fn csv_row(out: &mut String, row: &TransactionRow, tz: TimeZone) {
    let t = &row.transaction;
    let cells = [
        tz.format(t.created_at),
        t.kind.as_str().to_owned(),
        t.status.as_str().to_owned(),
        plain_major_units(t.amount.minor_units(), t.currency),
        t.currency.code().to_owned(),
        csv_text(&t.customer_name),
        csv_text(&row.order_name),
        csv_text(&row.order_id),
        t.payment_intent.clone(),
        t.refund.clone().unwrap_or_default(),
        t.id.clone(),
    ];
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_quote(cell));
    }
    out.push_str("\r\n");
}

/// A text cell a spreadsheet will not run: one starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading apostrophe (OWASP's advice for CSV injection).
pub fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_quote(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_in_the_currency_major_units() {
        assert_eq!(parse_major_units("12,000", Currency::KRW, "min").unwrap(), 12_000);
        assert_eq!(parse_major_units("12.5", Currency::USD, "min").unwrap(), 1_250);
        assert_eq!(parse_major_units("0.05", Currency::USD, "min").unwrap(), 5);
        assert!(parse_major_units("12.5", Currency::KRW, "min").is_err());
        assert!(parse_major_units("-3", Currency::KRW, "min").is_err());
        assert!(parse_major_units("1e9", Currency::KRW, "min").is_err());
        assert_eq!(plain_major_units(1_250, Currency::USD), "12.50");
        assert_eq!(plain_major_units(12_000, Currency::KRW), "12000");
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused() {
        for risky in ["=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\rx"] {
            assert!(csv_text(risky).starts_with('\''), "{risky}");
        }
        assert_eq!(csv_text("김민수"), "김민수");
        assert_eq!(csv_quote("a,b"), "\"a,b\"");
        assert_eq!(csv_quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn a_filter_survives_its_own_url() {
        let q = TransactionQuery::parse("q=%EA%B9%80&range=custom&from=2026-11-01&to=2026-11-30&type=payment&type=refund&status=succeeded&mode=live&currency=KRW&min=1000&max=50000&order=o-1&intent=pi_1").unwrap();
        assert_eq!(q.customer_name.as_deref(), Some("김"));
        assert_eq!(q.types, vec![TransactionType::Payment, TransactionType::Refund]);
        assert!(q.livemode);
        assert_eq!(TransactionQuery::parse(&q.to_query_string()).unwrap(), q);
    }

    #[test]
    fn unknown_filter_values_are_refused_with_their_parameter() {
        assert_eq!(TransactionQuery::parse("type=chargeback").unwrap_err().param, "type");
        assert_eq!(TransactionQuery::parse("range=year").unwrap_err().param, "range");
        assert_eq!(TransactionQuery::parse("from=2026-13-01").unwrap_err().param, "from");
        assert_eq!(TransactionQuery::parse("range=custom&from=2026-11-02&to=2026-11-01").unwrap_err().param, "to");
        let no_currency = TransactionQuery::parse("min=10").unwrap();
        assert_eq!(no_currency.resolve(TimeZone::default_zone(), 0).unwrap_err().code, "currency_required");
    }

    #[test]
    fn today_in_seoul_is_its_own_midnight_to_the_next() {
        let seoul = TimeZone::default_zone();
        // 2026-12-01T03:00:00Z is noon in Seoul.
        let now = 1_796_094_000_000;
        let (start, end) = DateRange::Today.bounds(seoul, now);
        assert_eq!(start, Some(1_796_050_800_000));
        assert_eq!(end, Some(1_796_050_800_000 + 86_400_000));
        let (start, _) = DateRange::Last7Days.bounds(seoul, now);
        assert_eq!(start, Some(1_796_050_800_000 - 6 * 86_400_000));
    }
}
