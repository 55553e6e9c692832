//! The home page: the last 30 days in the merchant's time zone (succeeded volume of its main
//! currency and counts by type, per day) as server-drawn SVG charts, and the approval success
//! rate of the intents created in that time.

use crate::accounts::SignedIn;
use crate::error::BackofficeError;
use crate::Backoffice;
use chrono::NaiveDate;
use gateway::domain::money::{Currency, Locale};
use gateway::domain::transaction::TransactionType;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub const DAYS: u64 = 30;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub payments: i64,
    pub cancels: i64,
    pub refunds: i64,
    /// Succeeded payments less succeeded refunds, in [`Home::currency`].
    pub volume: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    /// Oldest first, one per day, the last being today.
    pub days: Vec<Day>,
    /// The currency with the most payments in the window (its volume is charted).
    pub currency: Option<Currency>,
    /// Intents that succeeded (refunded ones included) and those that failed.
    pub succeeded: i64,
    pub failed: i64,
    /// Intents that expired or were canceled before an outcome.
    pub abandoned: i64,
}

impl Home {
    /// Succeeded of those with an outcome, in percent; `None` with no outcome yet.
    pub fn success_rate(&self) -> Option<f64> {
        let decided = self.succeeded + self.failed;
        (decided > 0).then(|| self.succeeded as f64 * 100.0 / decided as f64)
    }
}

impl Backoffice {
    pub async fn home(&self, who: &SignedIn, livemode: bool) -> Result<Home, BackofficeError> {
        let tz = who.time_zone;
        let today = tz.date_of(self.services.clock.now());
        let first = today.checked_sub_days(chrono::Days::new(DAYS - 1)).unwrap_or(today);
        let (from, to) = (tz.start_of(first), tz.start_of(today.succ_opt().unwrap_or(today)));
        let buckets = self.stores.activity.activity(&who.merchant_id, livemode, from, to).await?;
        let mut per_currency: BTreeMap<&'static str, (Currency, i64)> = BTreeMap::new();
        for b in buckets.iter().filter(|b| b.kind == TransactionType::Payment) {
            per_currency.entry(b.currency.code()).or_insert((b.currency, 0)).1 += b.count;
        }
        let currency = per_currency.values().max_by_key(|(_, n)| *n).map(|(c, _)| *c);
        let mut days: Vec<Day> = first.iter_days().take_while(|d| *d <= today).map(|date| Day { date, ..Day::default() }).collect();
        for b in &buckets {
            let date = tz.date_of(b.start);
            let Some(day) = days.iter_mut().find(|d| d.date == date) else { continue };
            match b.kind {
                TransactionType::Payment => day.payments += b.count,
                TransactionType::Cancel => day.cancels += b.count,
                TransactionType::Refund => day.refunds += b.count,
            }
            if Some(b.currency) == currency {
                match b.kind {
                    TransactionType::Payment => day.volume += b.amount,
                    TransactionType::Refund => day.volume -= b.amount,
                    TransactionType::Cancel => {}
                }
            }
        }
        let (mut succeeded, mut failed, mut abandoned) = (0, 0, 0);
        for (status, n) in self.stores.activity.intent_outcomes(&who.merchant_id, livemode, from, to).await? {
            match status.as_str() {
                "succeeded" | "partially_refunded" | "refunded" => succeeded += n,
                "failed" => failed += n,
                "expired" | "canceled" => abandoned += n,
                _ => {}
            }
        }
        Ok(Home { days, currency, succeeded, failed, abandoned })
    }
}

const WIDTH: i64 = 900;
const HEIGHT: i64 = 180;
const LEFT: i64 = 8;
const BOTTOM: i64 = 24;

/// A bar chart of each day's volume. Only numbers, dates and formatted amounts go into it.
pub fn volume_svg(home: &Home, locale: Locale, label: &str) -> String {
    let currency = home.currency.unwrap_or(Currency::KRW);
    let max = home.days.iter().map(|d| d.volume.max(0)).max().unwrap_or(0).max(1);
    let mut svg = open_svg(label);
    let slot = (WIDTH - LEFT) / home.days.len().max(1) as i64;
    for (i, day) in home.days.iter().enumerate() {
        let h = day.volume.max(0) * (HEIGHT - BOTTOM - 10) / max;
        let x = LEFT + i as i64 * slot;
        let _ = write!(
            svg,
            r#"<rect class="bar volume" x="{x}" y="{}" width="{}" height="{h}"><title>{}: {}</title></rect>"#,
            HEIGHT - BOTTOM - h,
            slot - 4,
            day.date,
            currency.format(day.volume, locale)
        );
        axis_label(&mut svg, i, x, day.date);
    }
    svg.push_str("</svg>");
    svg
}

/// Stacked bars of each day's payments, cancels and refunds.
pub fn counts_svg(home: &Home, label: &str) -> String {
    let max = home.days.iter().map(|d| d.payments + d.cancels + d.refunds).max().unwrap_or(0).max(1);
    let mut svg = open_svg(label);
    let slot = (WIDTH - LEFT) / home.days.len().max(1) as i64;
    for (i, day) in home.days.iter().enumerate() {
        let x = LEFT + i as i64 * slot;
        let mut top = HEIGHT - BOTTOM;
        for (class, n) in [("payment", day.payments), ("cancel", day.cancels), ("refund", day.refunds)] {
            let h = n * (HEIGHT - BOTTOM - 10) / max;
            if n > 0 {
                top -= h;
                let _ = write!(svg, r#"<rect class="bar {class}" x="{x}" y="{top}" width="{}" height="{h}"><title>{}: {n} {class}</title></rect>"#, slot - 4, day.date);
            }
        }
        axis_label(&mut svg, i, x, day.date);
    }
    svg.push_str("</svg>");
    svg
}

fn open_svg(label: &str) -> String {
    let label: String = label.chars().filter(|c| !matches!(c, '<' | '>' | '&' | '"')).collect();
    format!(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{label}" class="chart">"#)
}

fn axis_label(svg: &mut String, i: usize, x: i64, date: NaiveDate) {
    if i % 5 == 0 {
        let _ = write!(svg, r#"<text x="{x}" y="{}" class="axis">{}</text>"#, HEIGHT - 6, date.format("%m-%d"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(volumes: &[i64]) -> Home {
        let start = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let days = volumes.iter().enumerate().map(|(i, v)| Day { date: start + chrono::Days::new(i as u64), payments: 1, volume: *v, ..Day::default() }).collect();
        Home { days, currency: Some(Currency::KRW), succeeded: 3, failed: 1, abandoned: 2 }
    }

    #[test]
    fn the_tallest_bar_is_the_busiest_day_and_each_bar_names_its_amount() {
        let svg = volume_svg(&home(&[1_000, 4_000, 0]), Locale::En, "Volume <script>");
        assert!(svg.contains(r#"height="146"><title>2026-11-03: ₩4,000</title>"#), "{svg}");
        assert!(svg.contains(r#"height="0"><title>2026-11-04: ₩0</title>"#));
        assert!(!svg.contains("<script>"), "a label cannot open markup");
        assert_eq!(home(&[1]).success_rate(), Some(75.0));
    }
}
