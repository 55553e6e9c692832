//! Delivery passes: claim due deliveries under a lease, send each signed (Standard Webhooks) with
//! a timeout and no redirects, record the attempt while the lease is still ours, schedule the
//! retry with backoff and jitter, and disable endpoints that are gone or never answer.

use super::guard;
use crate::clock::Millis;
use crate::domain::webhook::{disabled_reason, secret_key_bytes, signature_header, DeliveryStatus, WebhookAttempt};
use crate::ids::{random_bytes, IdKind};
use crate::service::{ServiceError, Services};
use crate::store::{ClaimedDelivery, DeliveryUpdate};
use std::time::{Duration, Instant};

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Deliveries claimed.
    pub claimed: usize,
    pub succeeded: usize,
    /// Attempts that failed (the delivery may be retried later).
    pub failed: usize,
    /// Attempts whose lease had passed to someone else before they were recorded.
    pub lost_leases: usize,
    /// Deliveries that could not be attempted (logged; retried when their lease ends).
    pub errors: usize,
}

impl DeliveryReport {
    fn add(&mut self, result: Result<(bool, bool), ServiceError>) {
        match result {
            Ok((true, true)) => self.succeeded += 1,
            Ok((true, false)) => self.failed += 1,
            Ok((false, _)) => self.lost_leases += 1,
            Err(e) => {
                tracing::warn!(error = %e, "webhook delivery could not be attempted");
                self.errors += 1;
            }
        }
    }
}

/// How one HTTP attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    response_status: Option<u16>,
    /// `None` on a 2xx answer.
    error: Option<&'static str>,
}

impl Services {
    /// Delivers everything due now, each endpoint's deliveries one at a time in event order, the
    /// endpoints side by side; returns when nothing due is left (a delivery that failed waits for
    /// its retry). The background worker does the same without waiting for the slowest
    /// endpoint ([`Services::claim_deliveries`], [`Services::attempt_claimed`]).
    pub async fn deliver_due(&self) -> Result<DeliveryReport, ServiceError> {
        let mut report = DeliveryReport::default();
        // Bounded, in case a retry schedule of zero keeps making the same delivery due.
        for _ in 0..1000 {
            let claimed = self.claim_deliveries(self.webhooks.settings.batch).await?;
            if claimed.is_empty() {
                break;
            }
            report.claimed += claimed.len();
            let client = self.webhooks.client()?;
            let results = futures::future::join_all(claimed.into_iter().map(|c| self.attempt_delivery(client, c))).await;
            for result in results {
                report.add(result);
            }
        }
        Ok(report)
    }

    /// Leases the next delivery of up to `endpoints` endpoints that have none in flight.
    pub async fn claim_deliveries(&self, endpoints: u32) -> Result<Vec<ClaimedDelivery>, ServiceError> {
        let now = self.clock.now();
        let lease_until = now.saturating_add(millis(self.webhooks.settings.lease));
        Ok(self.store.webhooks.claim_webhook_deliveries(now, lease_until, endpoints).await?)
    }

    /// Makes one claimed delivery's attempt and records it; its endpoint's next delivery is
    /// claimable once this returns.
    pub async fn attempt_claimed(&self, claimed: ClaimedDelivery) -> DeliveryReport {
        let mut report = DeliveryReport { claimed: 1, ..Default::default() };
        match self.webhooks.client() {
            Ok(client) => report.add(self.attempt_delivery(client, claimed).await),
            Err(e) => report.add(Err(e)),
        }
        report
    }

    /// Returns (recorded, succeeded).
    async fn attempt_delivery(&self, client: &reqwest::Client, c: ClaimedDelivery) -> Result<(bool, bool), ServiceError> {
        let body = serde_json::to_string(&c.event).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let sent_at = self.clock.now();
        let timestamp = sent_at.div_euclid(1000);
        let keys = self
            .signing_secrets(&c.endpoint, sent_at)?
            .iter()
            .map(|s| secret_key_bytes(s).ok_or_else(|| ServiceError::Internal(format!("the secret of {} is malformed", c.endpoint.id))))
            .collect::<Result<Vec<_>, _>>()?;
        let signature = signature_header(&keys, &c.event.id, timestamp, &body);
        let started = Instant::now();
        let outcome = self.send(client, c.endpoint.url.as_str(), &c.event.id, timestamp, &signature, body).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);

        let attempt = c.attempts + 1;
        let settings = &self.webhooks.settings;
        let after = self.clock.now();
        let update = match (outcome.error, outcome.response_status) {
            (None, _) => DeliveryUpdate { status: DeliveryStatus::Succeeded, next_attempt_at: after, disable_endpoint: None },
            (Some(_), Some(410)) => DeliveryUpdate { status: DeliveryStatus::Failed, next_attempt_at: after, disable_endpoint: Some(disabled_reason::GONE) },
            (Some(_), _) => match settings.retry_schedule.get(usize::try_from(c.attempts).unwrap_or(usize::MAX)) {
                Some(wait) => DeliveryUpdate {
                    status: DeliveryStatus::Pending,
                    next_attempt_at: after.saturating_add(jittered(millis(*wait), settings.jitter)),
                    disable_endpoint: None,
                },
                None => DeliveryUpdate {
                    status: DeliveryStatus::Failed,
                    next_attempt_at: after,
                    disable_endpoint: Some(disabled_reason::RETRIES_EXHAUSTED),
                },
            },
        };
        let record = WebhookAttempt {
            id: IdKind::WebhookAttempt.generate(),
            object: "webhook_attempt".into(),
            livemode: c.endpoint.scope.livemode,
            endpoint: c.endpoint.id.clone(),
            event: c.event.id.clone(),
            event_type: c.event.kind.clone(),
            attempt,
            attempted_at: sent_at,
            response_status: outcome.response_status.map(i64::from),
            latency_ms,
            error: outcome.error.map(str::to_owned),
            succeeded: outcome.error.is_none(),
        };
        let recorded = self.store.webhooks.record_webhook_attempt(&c.endpoint.scope, &c.lease_token, &record, &update).await?;
        if let Some(reason) = update.disable_endpoint.filter(|_| recorded) {
            tracing::warn!(endpoint = %c.endpoint.id, reason, "webhook endpoint disabled");
        }
        Ok((recorded, outcome.error.is_none()))
    }

    async fn send(&self, client: &reqwest::Client, url: &str, msg_id: &str, timestamp: i64, signature: &str, body: String) -> Outcome {
        let failed = |error| Outcome { response_status: None, error: Some(error) };
        let Ok(parsed) = reqwest::Url::parse(url) else { return failed("invalid_url") };
        let trusted = guard::is_trusted(&parsed, &self.webhooks.settings.trusted_local);
        if let Err(refused) = guard::check_literal(&parsed, self.webhooks.settings.allow_private || trusted) {
            tracing::warn!(%refused, "webhook delivery refused by the SSRF guard");
            return failed("destination_not_allowed");
        }
        let request = client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", msg_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body);
        // The client's own timeout covers the attempt; this one also bounds name resolution.
        let limit = self.webhooks.settings.timeout + Duration::from_secs(1);
        let response = match tokio::time::timeout(limit, request.send()).await {
            Err(_) => return failed("timeout"),
            Ok(Err(e)) => return failed(classify(&e)),
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        let error = if status.is_success() {
            None
        } else if status.is_redirection() {
            Some("redirect_not_followed")
        } else {
            Some("unexpected_status")
        };
        Outcome { response_status: Some(status.as_u16()), error }
    }
}

fn classify(e: &reqwest::Error) -> &'static str {
    if let Some(refused) = guard::refused_in(e) {
        tracing::warn!(%refused, "webhook delivery refused by the SSRF guard");
        return "destination_not_allowed";
    }
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection_failed"
    } else if e.is_builder() {
        "invalid_url"
    } else {
        "request_failed"
    }
}

fn millis(d: Duration) -> Millis {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// `base` spread uniformly by up to `jitter` either way, so that retries of many deliveries
/// that failed together do not come back together.
fn jittered(base: Millis, jitter: f64) -> Millis {
    if base <= 0 || jitter <= 0.0 {
        return base.max(0);
    }
    let unit = f64::from(u32::from_le_bytes(random_bytes::<4>())) / f64::from(u32::MAX);
    let factor = 1.0 - jitter + 2.0 * jitter * unit;
    (base as f64 * factor).round() as Millis
}

#[cfg(test)]
mod tests {
    use super::jittered;

    #[test]
    fn jitter_stays_within_twenty_percent_and_spreads_retries() {
        let samples: Vec<i64> = (0..200).map(|_| jittered(60_000, 0.2)).collect();
        assert!(samples.iter().all(|&s| (48_000..=72_000).contains(&s)));
        assert!(samples.iter().any(|&s| s != samples[0]), "not all the same");
        assert_eq!(jittered(0, 0.2), 0);
        assert_eq!(jittered(5_000, 0.0), 5_000);
    }
}
