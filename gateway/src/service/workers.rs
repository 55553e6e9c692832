//! The background workers every replica runs: the sweep (expiry, recovery, settlement, purges)
//! and webhook delivery. They share work through the database (compare-and-set, leases), so
//! any number of replicas can run them at once.

use super::Services;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use super::webhooks::DeliveryReport;

/// Sweeps every `every` until `stop` turns true.
pub async fn sweep_loop(services: Arc<Services>, every: Duration, stop: watch::Receiver<bool>) {
    repeat("sweep", every, stop, || services.sweep()).await
}

/// Runs `pass` every `every` until `stop` turns true; logs a pass's report when it did
/// something, and a failure as a warning, both under `what`.
pub async fn repeat<R, E, Fut>(what: &'static str, every: Duration, mut stop: watch::Receiver<bool>, pass: impl Fn() -> Fut)
where
    Fut: std::future::Future<Output = Result<R, E>>,
    R: Default + PartialEq + std::fmt::Debug,
    E: std::fmt::Display,
{
    let mut tick = tokio::time::interval(every);
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => continue,
        }
        match pass().await {
            Ok(report) if report != R::default() => tracing::info!(?report, "{what}"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "{what} failed"),
        }
    }
}

/// Webhook delivery: up to `batch` endpoints at once, each endpoint's deliveries one at a time
/// in event order, so a slow endpoint delays only itself. A finished attempt makes room for the
/// next claim at once; otherwise it polls every second. When `stop` turns true no new attempt
/// starts, and the ones in flight finish and record themselves.
pub async fn delivery_loop(services: Arc<Services>, mut stop: watch::Receiver<bool>) {
    let mut in_flight: JoinSet<DeliveryReport> = JoinSet::new();
    while !*stop.borrow() {
        let free = (services.webhooks.settings.batch as usize).saturating_sub(in_flight.len());
        if free > 0 {
            match services.claim_deliveries(free as u32).await {
                Ok(claimed) => {
                    for c in claimed {
                        let services = services.clone();
                        in_flight.spawn(async move { services.attempt_claimed(c).await });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming webhook deliveries failed"),
            }
        }
        tokio::select! {
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok(report) = done {
                    tracing::debug!(?report, "webhook delivery");
                }
            }
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
    while in_flight.join_next().await.is_some() {}
}
