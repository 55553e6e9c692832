//! Writes the crash harness's sections of docs/reliability.md, one per engine.

use crate::chaos::{Options, Report};
use crate::report::{one_line, splice_into, utc_now, GENERATED_END};
use std::fmt::Write as _;

pub fn write(options: &Options, report: &Report) -> anyhow::Result<()> {
    let mut md = String::new();
    let engine = report.engine.label();
    let setup = if report.replicas > 1 { format!("{} replicas on one database, killed in turn", report.replicas) } else { "one process".into() };
    let _ = writeln!(md, "### {engine} ({setup})\n");
    let _ = writeln!(
        md,
        "Run of {} (revision `{}`): {} payments from {} clients, {} SIGKILLs ({} while payments were in flight), \
         Idempotency-Key lease {} s. The payments took {:.1} s; the rest settled in {:.1} s.\n",
        utc_now(),
        if options.revision.is_empty() { "unknown" } else { &options.revision },
        report.payments,
        report.clients,
        report.kills,
        report.kills_during_payments,
        report.idempotency_lease_secs,
        report.workload.as_secs_f64(),
        report.settle.as_secs_f64(),
    );
    md.push_str("| check | result |\n| --- | ---: |\n");
    let row = |md: &mut String, name: &str, value: String| {
        let _ = writeln!(md, "| {name} | {value} |");
    };
    row(&mut md, "payments completed (create, approve, refund all acknowledged)", format!("{} of {}", report.completed, report.payments));
    row(&mut md, "**lost** (acknowledged, then missing or not in the acknowledged state)", report.lost.len().to_string());
    row(&mut md, "**duplicated** (two intents for one order, two refunds of one intent, a wrong refunded sum)", report.duplicated.len().to_string());
    row(&mut md, "**stuck** (an intent not in a final state, a refund still pending)", report.stuck.len().to_string());
    row(&mut md, "**unexpected answers** (a definitive answer other than the first one's)", report.unexpected.len().to_string());
    row(&mut md, "events", report.events.to_string());
    row(&mut md, "**events that never reached the webhook receiver**", report.events_missing.len().to_string());
    row(&mut md, "deliveries received (events received more than once)", format!("{} ({})", report.deliveries, report.redelivered));
    row(&mut md, "`paygate ledger check`", if report.ledger_check.is_ok() { "passed".into() } else { "**failed**".into() });
    row(&mut md, "requests sent, retries included", report.requests.to_string());
    row(&mut md, "retried after a transport error (connection refused or cut, timeout)", report.transport_errors.to_string());
    row(&mut md, "retried after `503 database_unavailable` / another `5xx`", format!("{} / {}", report.unavailable, report.server_errors));
    row(&mut md, "retried after `409 idempotency_key_in_use`", report.key_in_use.to_string());
    let problems: Vec<&String> =
        report.lost.iter().chain(&report.duplicated).chain(&report.stuck).chain(&report.unexpected).chain(&report.events_missing).take(20).collect();
    if !problems.is_empty() || report.ledger_check.is_err() {
        md.push_str("\nWhat went wrong (the first 20):\n\n");
        for p in problems {
            let _ = writeln!(md, "- {}", one_line(p));
        }
        if let Err(e) = &report.ledger_check {
            let _ = writeln!(md, "- ledger check: {}", one_line(e));
        }
    }
    md.push_str(if report.passed() { "\n**Passed.**\n" } else { "\n**Failed.**\n" });
    splice_into(&options.output, &format!("chaos-{}", engine.to_ascii_lowercase()), &md, skeleton)
}

fn skeleton() -> String {
    format!(
        "# Reliability\n\n\
The crash harness (`scripts/chaos`, `paygate-loadgen chaos`) proves that nothing that moves money happens twice, \
and nothing acknowledged is lost, when the gateway dies at any moment. Its last run's figures are below; the \
sections between the `begin`/`end` markers are written by `crates/loadgen/src/chaos_report.rs`.\n\n\
## What it does\n\n\
- It starts `paygate serve` on a fresh database: a new SQLite file (one process), or a new PostgreSQL database \
with two replicas sharing it and Redis. A webhook receiver (an HTTP server inside the harness) is registered for \
every event.\n\
- 16 clients make 1,000 whole payments: `POST /v1/payment_intents`, then \
`POST /v1/test_helpers/payment_intents/{{id}}/approve` (the test card, captured on approval), then a partial \
`POST /v1/refunds` of half the amount. Every request carries an `Idempotency-Key` of its own step. A client \
sends it again, same key and body, until it gets a definitive answer: a transport error (connection refused \
or cut, a timeout), a `5xx` or `409 idempotency_key_in_use` is retried, on the other replica after a \
transport error.\n\
- Meanwhile the process is killed with SIGKILL 50 times, after a random up-time (100 to 900 ms), and started \
again on the same port; on PostgreSQL the two replicas are killed in turn. The sweep runs every second. The \
Idempotency-Key lease is 2 s (60 s in production) so that a retry takes over the key of a request that died \
without waiting a minute each time.\n\
- When the payments are done it waits (up to 5 minutes) for every intent to be final, every refund settled \
and every event delivered, then compares what the clients were told with what the API lists: **lost** \
(an acknowledged intent or refund missing, an acknowledged approval not captured), **duplicated** (two intents \
for one order id, two refunds of one intent, a refunded sum other than the one refund), **stuck** (not final), \
**unexpected answers** (a definitive answer other than the expected one, such as a retried approval told \
`409 intent_unexpected_state`), and events that the receiver never got (it counts deliveries by `webhook-id`, \
so duplicates are harmless). Then it runs `paygate ledger check`. The run passes only with all of them 0 \
and the ledger check passing.\n\n\
## Last run\n\n{GENERATED_END}\n"
    )
}
