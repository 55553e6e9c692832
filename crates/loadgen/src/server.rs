//! Servers under test run as child processes, so their memory can be read from
//! `/proc/<pid>/status` apart from the subscribers'.

use anyhow::Context;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    pub name: String,
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `command` with its stderr in `log`, learns its address from the first
    /// `http://host:port` on stdout, and waits until `/healthz` answers.
    pub async fn start(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        let log_file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(log_file).kill_on_drop(true);
        let mut child = command.spawn().with_context(|| format!("starting {name}"))?;
        let pid = child.id().context("the child has no pid")?;
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let pipe = child.stdout.take().context("no stdout pipe")?;
        let lines_sink = stdout.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                lines_sink.lock().map(|mut l| l.push(line)).ok();
            }
        });
        let mut server = ServerProcess { name: name.into(), addr: SocketAddr::from(([127, 0, 0, 1], 0)), pid, child, stdout };
        let lines = server
            .wait_for_output(Duration::from_secs(120), |lines| lines.iter().any(|l| url_in(l).is_some()))
            .await
            .with_context(|| format!("{name} printed no URL (stderr: {})", log.display()))?;
        server.addr = lines.iter().find_map(|l| url_in(l)).context("no URL")?;
        crate::http::wait_healthy(server.addr, Duration::from_secs(60)).await?;
        Ok(server)
    }

    /// Waits until the stdout seen so far satisfies `done`; returns those lines.
    pub async fn wait_for_output(&mut self, limit: Duration, done: impl Fn(&[String]) -> bool) -> anyhow::Result<Vec<String>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let lines = self.stdout.lock().map(|l| l.clone()).unwrap_or_default();
            if done(&lines) {
                return Ok(lines);
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("{} exited ({status}) before printing what was expected", self.name);
            }
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!("{} did not print what was expected within {limit:?}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.pid)
    }

    /// CPU time (user + system) the process has used so far, in seconds.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name (which may hold spaces) start at field 3, `state`;
        // utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').context("malformed stat")? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("malformed stat");
        // SAFETY: sysconf only reads a system constant.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        Ok((ticks(11)? + ticks(12)?) as f64 / per_second)
    }

    /// SIGKILL at once (no chance to finish anything), and waits until the process is gone.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then SIGKILL if it has not exited after a few seconds; returns every line the
    /// process printed on stdout.
    pub async fn stop(mut self) -> Vec<String> {
        if let Ok(pid) = i32::try_from(self.pid) {
            // SAFETY: signalling our own child, whose pid we hold and have not reaped.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
        // The reader task drains the pipe to its end once the process has gone.
        for _ in 0..50 {
            if Arc::strong_count(&self.stdout) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.stdout.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line")
}

/// The kernel's count of connections dropped because a listen queue was full (system-wide,
/// `TcpExt: ListenOverflows` in /proc/net/netstat).
pub fn listen_overflows() -> u64 {
    let netstat = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut tcp_ext = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (tcp_ext.next(), tcp_ext.next()) else { return 0 };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "ListenOverflows")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

/// The `host:port` of the first `http://` URL in a line.
fn url_in(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("http://")? + "http://".len()..];
    let end = rest.find(|c: char| c == '/' || c.is_whitespace()).unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::url_in;

    #[test]
    fn the_address_comes_from_the_printed_url() {
        assert_eq!(url_in("  API base URL  http://127.0.0.1:41234/v1"), Some(([127, 0, 0, 1], 41234).into()));
        assert_eq!(url_in("baseline listening on http://127.0.0.1:9"), Some(([127, 0, 0, 1], 9).into()));
        assert_eq!(url_in("no url here"), None);
    }
}
