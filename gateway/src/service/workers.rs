//! The background workers every replica runs: the sweep (expiry, recovery, settlement, purges)
//! and webhook delivery. They share work through the database (compare-and-set, leases), so
//! any number of replicas can run them at once.

use super::Services;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Sweeps every `every` until `stop` turns true.
pub async fn sweep_loop(services: Arc<Services>, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => continue,
        }
        match services.sweep().await {
            Ok(report) if report != Default::default() => tracing::info!(?report, "sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sweep failed"),
        }
    }
}

/// Webhook delivery passes: polls every second, and at once again after a full batch. Passes
/// stop starting when `stop` turns true; one in flight finishes and records its attempts.
pub async fn delivery_loop(services: Arc<Services>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let full = match services.deliver_due().await {
            Ok(report) => {
                if report.claimed > 0 {
                    tracing::debug!(?report, "webhook deliveries");
                }
                report.claimed >= services.webhooks.settings.batch as usize
            }
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery pass failed");
                false
            }
        };
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
