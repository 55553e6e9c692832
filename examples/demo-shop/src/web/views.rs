//! What the pages show: domain values turned into display text (amounts as people read them,
//! `₩12,000`; statuses with labels; times in UTC). Askama escapes all of it.

use crate::domain::OrderStatus;
use crate::service::OrderDetails;
use crate::store::carts::CartLine;
use crate::store::catalog::Product;
use crate::store::orders::Order;
use paygate_wire::money::{Currency, Locale};

pub fn money(currency: Currency, minor_units: i64, locale: Locale) -> String {
    currency.format(minor_units, locale)
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

pub struct ProductView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price: String,
    pub stock: i64,
}

impl ProductView {
    pub fn of(p: &Product, locale: Locale) -> Self {
        ProductView {
            id: p.id.0,
            name: p.name.clone(),
            description: p.description.clone(),
            price: money(p.currency, p.price, locale),
            stock: p.stock,
        }
    }
}

pub struct CartLineView {
    pub product_id: i64,
    pub name: String,
    pub quantity: i64,
    pub unit_price: String,
    pub subtotal: String,
    /// Fewer in stock now than the line asks for.
    pub short: bool,
}

pub struct CartView {
    pub lines: Vec<CartLineView>,
    pub total: String,
}

impl CartView {
    pub fn of(lines: &[CartLine], locale: Locale) -> Self {
        let currency = lines
            .first()
            .map(|l| l.product.currency)
            .unwrap_or(Currency::KRW);
        let total = lines
            .iter()
            .map(|l| l.product.price.saturating_mul(l.quantity.get()))
            .fold(0i64, i64::saturating_add);
        CartView {
            lines: lines
                .iter()
                .map(|l| CartLineView {
                    product_id: l.product.id.0,
                    name: l.product.name.clone(),
                    quantity: l.quantity.get(),
                    unit_price: money(l.product.currency, l.product.price, locale),
                    subtotal: money(
                        l.product.currency,
                        l.product.price.saturating_mul(l.quantity.get()),
                        locale,
                    ),
                    short: l.product.stock < l.quantity.get(),
                })
                .collect(),
            total: money(currency, total, locale),
        }
    }
}

pub struct OrderSummaryView {
    pub id: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub total: String,
    pub created: String,
}

impl OrderSummaryView {
    pub fn of(o: &Order, locale: Locale) -> Self {
        OrderSummaryView {
            id: o.id.to_string(),
            status: o.status.as_str(),
            status_label: o.status.label(),
            total: money(o.currency, o.total, locale),
            created: time(o.created_at),
        }
    }
}

pub struct LineView {
    pub name: String,
    pub quantity: i64,
    pub unit_price: String,
    pub subtotal: String,
}

pub struct OrderView {
    pub summary: OrderSummaryView,
    pub customer_name: String,
    pub lines: Vec<LineView>,
    pub intent_id: Option<String>,
    pub intent_status: Option<String>,
    pub can_pay: bool,
    pub can_cancel: bool,
    pub can_refund: bool,
    /// The shop is waiting on the gateway (approved, being captured): reload shortly.
    pub refresh: bool,
}

impl OrderView {
    pub fn of(d: &OrderDetails, locale: Locale) -> Self {
        let o = &d.order;
        let pending = o.status == OrderStatus::Pending;
        let waiting = matches!(
            o.intent_status.as_deref(),
            Some("processing" | "requires_confirmation")
        );
        OrderView {
            summary: OrderSummaryView::of(o, locale),
            customer_name: o.customer_name.clone(),
            lines: d
                .lines
                .iter()
                .map(|l| LineView {
                    name: l.name.clone(),
                    quantity: l.quantity,
                    unit_price: money(o.currency, l.unit_price, locale),
                    subtotal: money(o.currency, l.unit_price.saturating_mul(l.quantity), locale),
                })
                .collect(),
            intent_id: o.intent_id.clone(),
            intent_status: o.intent_status.clone(),
            can_pay: pending && !waiting,
            can_cancel: pending,
            can_refund: matches!(o.status, OrderStatus::Paid | OrderStatus::PartiallyRefunded),
            refresh: pending && waiting,
        }
    }
}
