//! The customer's orders: the list, one order (its status as the shop knows it, brought up to
//! date with the gateway while pending), the pay page with the SDK, and the order's actions.

use super::cookie::Visitor;
use super::error::WebError;
use super::render;
use super::views::{OrderSummaryView, OrderView};
use crate::domain::{OrderId, OrderStatus};
use crate::service::{Shop, ShopError};
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    orders: Vec<OrderSummaryView>,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    order: OrderView,
}

#[derive(Template)]
#[template(path = "pay.html")]
struct PayPage {
    order: OrderView,
    /// What the SDK needs; `None` when there is nothing to pay yet (see `notice`).
    checkout: Option<CheckoutData>,
    /// Why there is no payment form: the pay result's `data-status`, and the message beside
    /// the "New code" button.
    notice: Option<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "return.html")]
struct ReturnPage {
    order: OrderView,
    sdk_url: String,
    publishable_key: String,
    locale: &'static str,
}

/// What checkout.js reads from the `#pay` element's data attributes.
struct CheckoutData {
    sdk_url: String,
    publishable_key: String,
    client_secret: String,
    locale: &'static str,
}

fn order_id(raw: &str) -> Result<OrderId, WebError> {
    OrderId::parse(raw).ok_or(WebError::Shop(ShopError::NotFound))
}

pub async fn list(
    State(shop): State<Arc<Shop>>,
    Visitor(cart): Visitor,
) -> Result<Response, WebError> {
    let orders = match &cart {
        Some(cart) => shop.orders(cart).await?,
        None => Vec::new(),
    };
    let locale = shop.settings().locale;
    Ok(render(
        &OrdersPage {
            orders: orders
                .iter()
                .map(|o| OrderSummaryView::of(o, locale))
                .collect(),
        },
        StatusCode::OK,
    ))
}

pub async fn detail(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let details = shop.refresh_order(&order_id(&id)?).await?;
    Ok(render(
        &OrderPage {
            order: OrderView::of(&details, shop.settings().locale),
        },
        StatusCode::OK,
    ))
}

/// Where the approval page sends a phone back (the intent's `return_url`): the SDK's `resume()`
/// finishes the payment there, from the client secret the gateway put in the URL.
pub async fn returned(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let details = shop.refresh_order(&order_id(&id)?).await?;
    let settings = shop.settings();
    Ok(render(
        &ReturnPage {
            order: OrderView::of(&details, settings.locale),
            sdk_url: format!("{}/sdk/v1/paygate.js", settings.gateway_url),
            publishable_key: settings.publishable_key.clone(),
            locale: settings.locale_tag(),
        },
        StatusCode::OK,
    ))
}

pub async fn pay(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = order_id(&id)?;
    let details = shop.refresh_order(&id).await?;
    if details.order.status != OrderStatus::Pending {
        return Ok(Redirect::to(&format!("/orders/{id}")).into_response());
    }
    let settings = shop.settings();
    let notice = match (
        &details.order.client_secret,
        details.order.intent_status.as_deref(),
    ) {
        (None, _) => Some((
            "unavailable",
            "The payment could not be started. Please try again.",
        )),
        (Some(_), Some("expired")) => {
            Some(("expired", "The code expired. Get a new code to try again."))
        }
        (Some(_), Some("failed")) => Some((
            "failed",
            "The payment did not go through. Get a new code to try again.",
        )),
        (Some(_), Some("canceled")) => {
            Some(("canceled", "This code was canceled. Get a new code to pay."))
        }
        (Some(_), _) => None,
    };
    let checkout = match (&details.order.client_secret, notice) {
        (Some(secret), None) => Some(CheckoutData {
            sdk_url: format!("{}/sdk/v1/paygate.js", settings.gateway_url),
            publishable_key: settings.publishable_key.clone(),
            client_secret: secret.expose().to_owned(),
            locale: settings.locale_tag(),
        }),
        _ => None,
    };
    Ok(render(
        &PayPage {
            order: OrderView::of(&details, settings.locale),
            checkout,
            notice,
        },
        StatusCode::OK,
    ))
}

/// "New code": a fresh intent for the same pending order, then the pay page again.
pub async fn new_intent(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = order_id(&id)?;
    shop.start_payment(&id).await?;
    Ok(Redirect::to(&format!("/orders/{id}/pay")).into_response())
}

pub async fn cancel(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = order_id(&id)?;
    shop.cancel_order(&id).await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

pub async fn refund(
    State(shop): State<Arc<Shop>>,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id = order_id(&id)?;
    shop.refund_order(&id).await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}
