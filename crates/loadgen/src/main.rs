//! `paygate-loadgen`: the benchmarks. `lifecycle` measures payments per second through the money
//! path against a one-row-transaction baseline; `backoffice-search` the back office's list and
//! export at a million transactions; the live-event benchmark: `baseline-server` is the bare broadcast SSE
//! endpoint every figure is compared with; `sse` drives the baseline and the gateway in one run
//! and writes the report. Performance claims come from here, never from timed tests.

mod baseline;
mod bench;
mod chaos;
mod chaos_report;
mod client;
mod gateway;
mod http;
mod lifecycle;
mod lifecycle_report;
mod report;
mod search;
mod server;
mod sse;
mod stats;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(name = "paygate-loadgen", about = "Load generator for paygate: payment lifecycle and live events (SSE)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// A minimal axum SSE endpoint on a tokio broadcast channel: `GET /events` streams,
    /// `POST /publish` sends the request body to every open stream. Prints its URL on stdout.
    BaselineServer {
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: SocketAddr,
    },
    /// Run the SSE benchmark: baseline and gateway scenarios at each connection count.
    Sse(bench::Options),
    /// Run the payment lifecycle benchmark: payments per second against a one-row-transaction
    /// baseline, per engine and concurrency.
    Lifecycle(lifecycle::Options),
    /// The crash harness: whole payments with retries while the gateway is killed and restarted;
    /// reports lost, duplicated and stuck objects and checks the ledger.
    Chaos(chaos::Options),
    /// The back office's transaction search at a million rows: the list page per filter beside
    /// its bare indexed query, and the CSV export's throughput and peak memory.
    BackofficeSearch(search::Options),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Both sides hold one socket per connection: lift the soft descriptor limit to the hard one
    // (children inherit it).
    let nofile = raise_nofile_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::BaselineServer { bind } => runtime.block_on(baseline::serve(bind)),
        Command::Sse(options) => runtime.block_on(bench::run(options, nofile)),
        Command::Lifecycle(options) => runtime.block_on(lifecycle::run(options)),
        Command::Chaos(options) => runtime.block_on(chaos::run(options)),
        Command::BackofficeSearch(options) => runtime.block_on(search::run(options)),
    }
}

/// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the soft limit now in force.
fn raise_nofile_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}
