//! The storefront: products, the cart, checkout.

use super::cookie::{self, Visitor};
use super::error::WebError;
use super::form::{self, FormData};
use super::render;
use super::views::{CartView, ProductView};
use crate::domain::{CartId, CustomerName, ProductId, Quantity};
use crate::service::{Shop, ShopError};
use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage {
    products: Vec<ProductView>,
}

#[derive(Template)]
#[template(path = "cart.html")]
struct CartPage {
    cart: CartView,
}

pub async fn index(State(shop): State<Arc<Shop>>) -> Result<Response, WebError> {
    let locale = shop.settings().locale;
    let products = shop
        .products()
        .await?
        .iter()
        .map(|p| ProductView::of(p, locale))
        .collect();
    Ok(render(&IndexPage { products }, StatusCode::OK))
}

pub async fn cart(
    State(shop): State<Arc<Shop>>,
    Visitor(cart): Visitor,
) -> Result<Response, WebError> {
    let lines = match &cart {
        Some(cart) => shop.cart(cart).await?,
        None => Vec::new(),
    };
    Ok(render(
        &CartPage {
            cart: CartView::of(&lines, shop.settings().locale),
        },
        StatusCode::OK,
    ))
}

pub async fn add_to_cart(
    State(shop): State<Arc<Shop>>,
    Visitor(cart): Visitor,
    FormData(f): FormData<form::AddToCart>,
) -> Result<Response, WebError> {
    let product = ProductId::parse(&f.product_id).map_err(ShopError::from)?;
    let quantity =
        Quantity::parse(f.quantity.as_deref().unwrap_or("1")).map_err(ShopError::from)?;
    let (cart, new) = match cart {
        Some(cart) => (cart, false),
        None => (CartId::generate().map_err(ShopError::from)?, true),
    };
    shop.add_to_cart(&cart, product, quantity).await?;
    let mut response = Redirect::to("/cart").into_response();
    if new {
        if let Some(value) =
            cookie::set_cart(&cart, shop.settings().public_url.starts_with("https://"))
        {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

pub async fn remove_from_cart(
    State(shop): State<Arc<Shop>>,
    Visitor(cart): Visitor,
    FormData(f): FormData<form::RemoveFromCart>,
) -> Result<Response, WebError> {
    let product = ProductId::parse(&f.product_id).map_err(ShopError::from)?;
    if let Some(cart) = cart {
        shop.remove_from_cart(&cart, product).await?;
    }
    Ok(Redirect::to("/cart").into_response())
}

pub async fn checkout(
    State(shop): State<Arc<Shop>>,
    Visitor(cart): Visitor,
    FormData(f): FormData<form::Checkout>,
) -> Result<Response, WebError> {
    let cart = cart.ok_or(ShopError::CartEmpty)?;
    let customer = CustomerName::parse(&f.customer_name).map_err(ShopError::from)?;
    let order = shop.checkout(&cart, &customer).await?;
    Ok(Redirect::to(&format!("/orders/{order}/pay")).into_response())
}
