//! The demo shop beside the embedded gateway (`paygate serve` on SQLite): a merchant's shop in
//! the same process, on its own port and origin, that reaches the gateway only over HTTP with the
//! Demo Shop merchant's test keys. Those keys live in `demo-shop.keys` beside the database
//! (owner-only), written on the first run; an older data folder without it gets a new key pair.

use anyhow::Context;
use gateway::config::{embedded_dir, write_private, Config};
use gateway::domain::keys::KeyKind;
use gateway::service::{IssuedKey, Services};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The Demo Shop merchant's test keys, as the shop needs them.
pub struct ShopKeys {
    pub secret: String,
    pub publishable: String,
}

impl std::fmt::Debug for ShopKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShopKeys { .. }")
    }
}

fn keys_file(config: &Config) -> PathBuf {
    embedded_dir(&config.database_url).join("demo-shop.keys")
}

/// The address the shop will listen on: `configured`, or a free port when it names port 0 (known
/// now, so the gateway can trust exactly that address for the shop's webhooks).
pub fn address(configured: SocketAddr) -> anyhow::Result<SocketAddr> {
    if configured.port() != 0 {
        return Ok(configured);
    }
    let probe = std::net::TcpListener::bind(configured).context("finding a free port for the demo shop")?;
    Ok(probe.local_addr()?)
}

/// The keys of the first run's merchant (just created), or those saved on an earlier run, or a
/// new pair for the Demo Shop merchant. `None` when there is no Demo Shop merchant.
pub async fn keys(services: &Services, config: &Config, created: Option<&[IssuedKey]>) -> anyhow::Result<Option<ShopKeys>> {
    let path = keys_file(config);
    let issued: Vec<(KeyKind, String)>;
    if let Some(created) = created {
        issued = created.iter().map(|k| (k.record.kind, k.plain.value.expose().to_owned())).collect();
    } else if let Ok(text) = std::fs::read_to_string(&path) {
        let mut lines = text.lines();
        if let (Some(secret), Some(publishable)) = (lines.next(), lines.next()) {
            return Ok(Some(ShopKeys { secret: secret.trim().to_owned(), publishable: publishable.trim().to_owned() }));
        }
        anyhow::bail!("{} is not two lines (secret key, publishable key); delete it to get new keys", path.display());
    } else {
        let merchants = services.list_merchants().await?;
        let Some(merchant) = merchants.iter().find(|m| m.name == "Demo Shop") else { return Ok(None) };
        let secret = services.create_key(&merchant.id, KeyKind::Secret, false).await?;
        let publishable = services.create_key(&merchant.id, KeyKind::Publishable, false).await?;
        issued = [secret, publishable].iter().map(|k| (k.record.kind, k.plain.value.expose().to_owned())).collect();
    }
    let find = |kind| issued.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.clone());
    let (Some(secret), Some(publishable)) = (find(KeyKind::Secret), find(KeyKind::Publishable)) else { return Ok(None) };
    let _ = std::fs::remove_file(&path);
    write_private(&path, &format!("{secret}\n{publishable}\n")).with_context(|| format!("saving the demo shop's keys in {}", path.display()))?;
    Ok(Some(ShopKeys { secret, publishable }))
}

/// Starts the shop at `addr` against the gateway at `gateway_url`, its data beside the gateway's.
pub async fn start(config: &Config, addr: SocketAddr, keys: ShopKeys) -> anyhow::Result<demo_shop::RunningShop> {
    let mut shop = demo_shop::ShopConfig::new(config.public_url.clone(), keys.secret, keys.publishable);
    shop.bind = addr;
    let db = embedded_dir(&config.database_url).join("demo-shop.db");
    shop.database_url = format!("sqlite://{}", db.display());
    demo_shop::start(shop).await
}
