//! Writes the lifecycle benchmark's section of docs/performance.md: payments per second beside
//! the same run's one-row-transaction baseline, commits per payment and create latency.

use crate::lifecycle::{HalfLoad, Options, Row};
use crate::report::{format_duration as duration, machine, one_line, splice, utc_now};
use std::fmt::Write as _;
use std::time::Duration;

pub fn write(options: &Options, rows: &[Row], half_loads: &[HalfLoad], elapsed: Duration) -> anyhow::Result<()> {
    let mut md = String::new();
    let _ = writeln!(md, "### {}\n", options.title);
    let _ = writeln!(
        md,
        "Run of {} (revision `{}`), {} s measured per scenario after {} s of warm-up; took {:.0} s.\n",
        utc_now(),
        if options.revision.is_empty() { "unknown" } else { &options.revision },
        options.seconds,
        options.warmup_seconds,
        elapsed.as_secs_f64()
    );
    md.push_str("| engine | merchants | flow | clients | payments/s (measured) | baseline transactions/s | payments per baseline transaction | commits per payment | create p50 | create p99 | errors |\n");
    md.push_str("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    let mut failures = Vec::new();
    for row in rows {
        let baseline = row.baseline.as_ref().ok().copied();
        if let Err(e) = &row.baseline {
            failures.push(format!("{} baseline at {} clients: {}", row.engine.label(), row.concurrency, one_line(e)));
        }
        for (flow, figures) in &row.flows {
            let _ = write!(md, "| {} | {} | {} | {} ", row.engine.label(), row.merchants, flow.label(), row.concurrency);
            match figures {
                Ok(f) => {
                    let ratio = baseline.filter(|b| *b > 0.0).map(|b| f.payments_per_second / b);
                    let _ = writeln!(
                        md,
                        "| {:.0} ({}) | {} | {} | {} | {} | {} | {} |",
                        f.payments_per_second,
                        f.measured_payments,
                        baseline.map_or("not measured".into(), |b| format!("{b:.0}")),
                        ratio.map_or("".into(), |r| format!("×{r:.3}")),
                        f.commits_per_payment.map_or("not counted".into(), |c| format!("{c:.1}")),
                        f.create.map_or("".into(), |s| duration(s.p50)),
                        f.create.map_or("".into(), |s| duration(s.p99)),
                        f.errors,
                    );
                    if let Some(e) = &f.first_error {
                        failures.push(format!("{} {} at {} clients, first error: {}", row.engine.label(), flow.label(), row.concurrency, one_line(e)));
                    }
                }
                Err(e) => {
                    let _ = writeln!(md, "| not run | | | | | | |");
                    failures.push(format!("{} {} at {} clients: {}", row.engine.label(), flow.label(), row.concurrency, one_line(e)));
                }
            }
        }
    }
    if !half_loads.is_empty() {
        md.push_str("\nCreate latency at half the highest concurrency's payment rate (create → approve, every request on a fixed schedule, latency from its scheduled start):\n\n");
        md.push_str("| engine | merchants | clients | payments started/s | create p50 | create p99 | one-row insert p99 | `GET /healthz` p99 | goal: 2 × (insert + healthz) | met | errors |\n");
        md.push_str("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n");
        for h in half_loads {
            let p99 = |r: &Result<crate::stats::Summary, String>| r.as_ref().map_or("failed".into(), |s| duration(s.p99));
            let met = match (&h.create, h.bound()) {
                (Ok(create), Some(bound)) => if create.p99 <= bound { "yes" } else { "no" },
                _ => "",
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {met} | {} |",
                h.engine.label(),
                h.merchants,
                h.concurrency,
                h.rate,
                h.create.as_ref().map_or("failed".into(), |s| duration(s.p50)),
                p99(&h.create),
                p99(&h.insert),
                p99(&h.healthz),
                h.bound().map_or("".into(), duration),
                h.errors,
            );
            for (what, result) in [("create", &h.create), ("insert", &h.insert), ("/healthz", &h.healthz)] {
                if let Err(e) = result {
                    failures.push(format!("{} half load, {what}: {}", h.engine.label(), one_line(e)));
                }
            }
        }
    }
    if !failures.is_empty() {
        md.push_str("\nWhat went wrong:\n\n");
        for f in failures {
            let _ = writeln!(md, "- {f}");
        }
    }
    // The machine, one heading down inside this run's section.
    md.push_str(&machine().replace("\n### Machine\n\n", "\nMachine: "));
    splice(&options.output, &format!("lifecycle-{}", options.section), &md)
}

/// What the lifecycle figures mean; written once, above the runs.
pub const EXPLANATION: &str = "\
## Payment lifecycle (throughput of the money path)

`scripts/bench-lifecycle` (`paygate-loadgen lifecycle`) drives one `paygate serve` process with N concurrent \
clients, each on its own keep-alive connection, looping over whole payments for a fixed time after a warm-up: \
`POST /v1/payment_intents` then `POST /v1/test_helpers/payment_intents/{id}/approve` (test card 4242…, \
captured on approval), and for manual confirmation `POST /v1/payment_intents/{id}/confirm` with the amount. \
A payment counts when its last answer (`succeeded`) arrives inside the measured window. Every scenario runs on \
a fresh process and a fresh database: a new SQLite file (the embedded default), or a new PostgreSQL database \
`bench_<random>` (dropped afterwards) with one process and no Redis. The payments belong to one merchant, or \
are spread over 16 (client `i` pays for merchant `i mod 16`; the merchants are made with `paygate merchant \
create` before the load).

- **Baseline**: one-row insert transactions per second at the same number of concurrent clients, measured in \
the same run on the same engine: on SQLite a new file with the gateway's own durability (WAL, `synchronous = \
FULL`, one writer connection, `BEGIN IMMEDIATE`: one disk flush per commit); on PostgreSQL `BEGIN; INSERT; \
COMMIT` over N connections. (Runs before the money-path issue used `synchronous = NORMAL` for both.) \
It is the least any write costs there, so **payments per baseline transaction** (payments/s ÷ baseline \
transactions/s) is the figure to compare between runs; absolute rates depend on the machine.
- **Commits per payment**: write transactions the database committed while the scenario ran (warm-up and the \
gateway's background passes included), divided by the payments completed. SQLite: the gateway's writer \
connection counts its commits (SQLite's commit hook) and prints the total when it stops; write transactions \
that share a group commit count once, so under concurrency this falls below 1. PostgreSQL: the transaction ids \
assigned between the start and the end of the load (`pg_current_snapshot()`; read-only transactions get none, \
the short transactions that number events after a commit do), so the server must be otherwise quiet.
- **Create p50 / p99**: latency of `POST /v1/payment_intents` as the client saw it, nearest rank over the \
measured payments.
- **Errors**: payments whose answers were not the expected status (`201`, then `200` with the expected state).
- **Half load**: after the highest concurrency, payments (create → approve) start at half the rate it reached, \
on a fixed schedule spread over the same number of clients, and create latency counts from each request's \
scheduled start (a stall shows as latency, not as fewer requests). One-row insert transactions and `GET \
/healthz` (no database, the cheapest endpoint) run on the same schedule, each on its own, for the goal: create \
p99 at most 2 × (insert p99 + healthz p99).
";
