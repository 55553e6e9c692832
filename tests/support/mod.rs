//! What the binary's tests share: running `paygate`, one HTTP request over a real socket, and
//! reading what the binary printed.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;

pub fn paygate(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygate"));
    cmd.current_dir(dir)
        .env_remove("DATABASE_URL")
        .env_remove("PAYGATE_KEY_HASH_SECRET")
        .env_remove("PAYGATE_PUBLIC_URL")
        .env_remove("PAYGATE_CONFIG")
        .env_remove("REDIS_URL")
        .env("PAYGATE_BIND", "127.0.0.1:0")
        .env("PAYGATE_DEMO_SHOP", "off")
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0");
    cmd
}

pub fn run(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = paygate(dir).args(args).output().expect("paygate runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// One HTTP/1.1 request over a real socket; returns the status code and body.
pub fn http(addr: &str, method: &str, path: &str, key: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

/// The first word starting with `prefix`, up to the first character that is not a letter, digit or `_`
/// (or, for URLs, up to whitespace).
pub fn field<'a>(text: &'a str, prefix: &str) -> &'a str {
    let start = text.find(prefix).unwrap_or_else(|| panic!("`{prefix}` in:\n{text}"));
    let rest = &text[start..];
    let url = prefix.starts_with("http");
    let end = rest.find(|c: char| if url { c.is_whitespace() } else { !(c.is_ascii_alphanumeric() || c == '_') });
    &rest[..end.unwrap_or(rest.len())]
}

/// Kills the server if the test panics before stopping it.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

