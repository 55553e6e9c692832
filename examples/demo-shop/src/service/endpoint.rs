//! The shop's webhook endpoint on the gateway, made sure of at start: the one stored in the
//! shop's database if the gateway still has it (pointed at this shop's URL and enabled again if
//! needed), else one the gateway has for this URL (its secret rotated, since the old one is
//! lost), else a new one. The `whsec_` secret is shown by the gateway only once, so it is kept.

use crate::config::Settings;
use crate::gateway::types::WebhookEndpointUpdate;
use crate::gateway::{GatewayClient, GatewayError};
use crate::secret::Secret;
use crate::store::webhooks::{self, StoredEndpoint};
use crate::store::Store;
use anyhow::Context;

const EVENTS: [&str; 1] = ["payment_intent.*"];

pub(crate) async fn ensure(
    store: &Store,
    gateway: &GatewayClient,
    settings: &Settings,
) -> anyhow::Result<Secret> {
    let url = format!("{}/webhooks", settings.public_url);
    let stored = webhooks::endpoint(&mut *store.conn().await?)
        .await?
        .filter(|e| e.gateway_url == settings.gateway_url);
    if let Some(stored) = stored {
        match gateway.get_webhook_endpoint(&stored.endpoint_id).await {
            Ok(found) => {
                repoint(gateway, &found, &url).await?;
                tracing::info!(endpoint = %found.id, %url, "reusing the shop's webhook endpoint");
                return Ok(stored.secret);
            }
            Err(GatewayError::Api { status: 404, .. }) => {}
            Err(e) => {
                return Err(explain(e, &url)).context("looking up the shop's webhook endpoint")
            }
        }
    }
    let existing = gateway
        .list_webhook_endpoints()
        .await
        .map_err(|e| explain(e, &url))?
        .into_iter()
        .find(|e| same_url(&e.url, &url));
    let endpoint = match existing {
        Some(found) => {
            repoint(gateway, &found, &url).await?;
            gateway
                .rotate_webhook_secret(&found.id)
                .await
                .map_err(|e| explain(e, &url))?
        }
        None => gateway
            .create_webhook_endpoint(&url, &EVENTS)
            .await
            .map_err(|e| explain(e, &url))?,
    };
    let secret = endpoint
        .secret
        .ok_or_else(|| anyhow::anyhow!("the gateway's webhook endpoint reply had no secret"))?;
    let saved = StoredEndpoint {
        gateway_url: settings.gateway_url.clone(),
        endpoint_id: endpoint.id.clone(),
        secret: secret.clone(),
    };
    webhooks::save_endpoint(&mut *store.conn().await?, &saved).await?;
    tracing::info!(endpoint = %endpoint.id, %url, "registered the shop's webhook endpoint");
    Ok(secret)
}

/// Points the endpoint at `url` and enables it, when it is not so already.
async fn repoint(
    gateway: &GatewayClient,
    found: &crate::gateway::WebhookEndpoint,
    url: &str,
) -> anyhow::Result<()> {
    let update = WebhookEndpointUpdate {
        url: (!same_url(&found.url, url)).then_some(url),
        status: (found.status != "enabled").then_some("enabled"),
    };
    if update.url.is_some() || update.status.is_some() {
        gateway
            .update_webhook_endpoint(&found.id, &update)
            .await
            .map_err(|e| explain(e, url))?;
    }
    Ok(())
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn explain(e: GatewayError, url: &str) -> anyhow::Error {
    match e.code() {
        Some("url_not_allowed") => anyhow::anyhow!(
            "the gateway refuses to send webhooks to {url}, a loopback or private address: start the gateway with \
             PAYGATE_WEBHOOK_ALLOW_PRIVATE=true (development only), or give the shop a public URL ({e})"
        ),
        Some("webhook_endpoint_limit") => anyhow::anyhow!("the merchant already has 16 webhook endpoints in this mode: delete one ({e})"),
        Some("invalid_api_key" | "api_key_expired" | "authentication_required" | "secret_key_required") => {
            anyhow::anyhow!("the gateway refused the shop's secret key ({e})")
        }
        _ => anyhow::Error::new(e),
    }
}
