//! The binary as an operator and a newcomer use it: the first run prints working keys and URLs,
//! keys are managed from the CLI, the ledger check runs, SIGTERM stops the server cleanly.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::{field, http, paygate, run, Server};

#[test]
fn the_first_run_prints_urls_and_keys_that_work_and_sigterm_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server(paygate(dir.path()).arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("serve starts"));
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while !printed.contains("Keep the secret key") {
        let line = lines.next().expect("serve keeps printing").unwrap();
        printed.push_str(&line);
        printed.push('\n');
    }
    assert!(printed.contains("/docs"), "{printed}");
    let base = field(&printed, "http://");
    let addr = base.trim_start_matches("http://").trim_end_matches("/v1").to_owned();
    let sk = field(&printed, "sk_test_").to_owned();
    let pk = field(&printed, "pk_test_").to_owned();
    assert_eq!(sk.len(), "sk_test_".len() + 64);

    let (status, body) = http(&addr, "POST", "/v1/payment_intents", &sk, r#"{"amount":12000,"currency":"KRW","merchant_order_id":"o-1","order_name":"Coffee","customer_name":"Kim"}"#);
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, body) = http(&addr, "POST", &format!("/v1/test_helpers/payment_intents/{id}/approve"), &sk, "");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"succeeded\""), "{body}");
    assert_eq!(http(&addr, "GET", "/v1/payment_intents", &pk, "").0, 403, "a publishable key cannot use the secret API");

    // The keys were shown once: only hashes are in the database file.
    let mut db = Vec::new();
    for entry in std::fs::read_dir(dir.path().join("data")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "db" && e != "db-wal") {
            continue;
        }
        db.extend(std::fs::read(path).unwrap());
    }
    let db = String::from_utf8_lossy(&db);
    assert!(db.contains("key_"), "the database was read");
    assert!(!db.contains(&sk[8..]) && !db.contains(&pk[8..]), "no plaintext key is stored");

    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = server.0.wait().unwrap();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");

    // A second run does not print keys again.
    let (ok, listed) = run(dir.path(), &["merchant", "list"]);
    assert!(ok && listed.contains("Demo Shop"), "{listed}");
}

#[test]
fn keys_are_created_rolled_and_revoked_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(dir.path(), &["merchant", "create", "--name", "Corner Shop"]);
    assert!(ok, "{out}");
    let merchant = field(&out, "mer_").to_owned();
    assert!(out.contains("sk_test_") && out.contains("pk_test_"));

    let (ok, out) = run(dir.path(), &["key", "create", "--merchant", &merchant, "--kind", "secret", "--mode", "live"]);
    assert!(ok, "{out}");
    let live = field(&out, "sk_live_").to_owned();
    let live_id = field(&out, "key_").to_owned();

    let (ok, out) = run(dir.path(), &["key", "roll", "--key", &live_id, "--expires-in", "2h"]);
    assert!(ok, "{out}");
    assert!(out.contains("sk_live_") && !out.contains(&live), "a new key, and never the old plaintext: {out}");
    assert!(out.contains("expires"), "{out}");

    let (ok, out) = run(dir.path(), &["key", "revoke", "--key", &live_id]);
    assert!(ok && out.contains("revoked"), "{out}");
    let (ok, out) = run(dir.path(), &["key", "list", "--merchant", &merchant]);
    assert!(ok, "{out}");
    assert_eq!(out.lines().count(), 4, "pk_test, sk_test, the revoked sk_live and its replacement: {out}");
    assert!(!out.contains(&live[8..]), "lists show display prefixes only");

    let (ok, out) = run(dir.path(), &["key", "roll", "--key", "key_000000000000000000000000"]);
    assert!(!ok && out.contains("no such api_key"), "{out}");
    let (ok, out) = run(dir.path(), &["key", "roll", "--key", &live_id, "--expires-in", "soon"]);
    assert!(!ok && out.contains("duration"), "{out}");

    let (ok, out) = run(dir.path(), &["ledger", "check"]);
    assert!(ok && out.contains("ledger ok"), "{out}");
    let (ok, out) = run(dir.path(), &["migrate"]);
    assert!(ok && out.contains("sqlite"), "{out}");
}

#[test]
fn a_config_file_is_read_and_the_environment_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("paygate.toml"), "database_url = \"sqlite://from-file/x.db\"\n").unwrap();
    let (ok, out) = run(dir.path(), &["migrate"]);
    assert!(ok, "{out}");
    assert!(dir.path().join("from-file/x.db").exists());
    let out = paygate(dir.path()).env("DATABASE_URL", "sqlite://from-env/y.db").arg("migrate").output().unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("from-env/y.db").exists());
    std::fs::write(dir.path().join("paygate.toml"), "databse_url = 1\n").unwrap();
    let (ok, out) = run(dir.path(), &["migrate"]);
    assert!(!ok && out.contains("paygate.toml"), "a bad config file is refused with its name: {out}");
}

#[test]
fn webhook_endpoints_are_created_listed_and_rotated_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(dir.path(), &["merchant", "create", "--name", "Hook Shop"]);
    assert!(ok, "{out}");
    let merchant = field(&out, "mer_").to_owned();
    let secret_in = |text: &str| text.split_whitespace().find(|w| w.starts_with("whsec_")).map(str::to_owned);

    let (ok, out) = run(dir.path(), &["webhook", "create", "--merchant", &merchant, "--url", "https://shop.example.com/hooks", "--events", "payment_intent.succeeded, refund.*"]);
    assert!(ok, "{out}");
    let id = field(&out, "we_").to_owned();
    let secret = secret_in(&out).unwrap_or_else(|| panic!("the secret is printed once: {out}"));

    let (ok, out) = run(dir.path(), &["webhook", "list", "--merchant", &merchant]);
    assert!(ok, "{out}");
    assert!(out.contains(&id) && out.contains("https://shop.example.com/hooks") && out.contains("payment_intent.succeeded,refund.*"), "{out}");
    assert!(out.contains("enabled") && secret_in(&out).is_none(), "lists never show secrets: {out}");

    let (ok, out) = run(dir.path(), &["webhook", "rotate", &id, "--overlap", "1h"]);
    assert!(ok, "{out}");
    let rotated = secret_in(&out).unwrap_or_else(|| panic!("{out}"));
    assert_ne!(rotated, secret);
    assert!(out.contains("also signs deliveries until"), "{out}");

    let (ok, out) = run(dir.path(), &["webhook", "create", "--merchant", &merchant, "--url", "http://shop.example.com/", "--mode", "live"]);
    assert!(!ok && out.contains("https://"), "live endpoints need HTTPS: {out}");
    let (ok, out) = run(dir.path(), &["webhook", "create", "--merchant", &merchant, "--url", "http://127.0.0.1:3000/hooks"]);
    assert!(!ok && out.contains("public addresses"), "{out}");
    let out = paygate(dir.path())
        .env("PAYGATE_WEBHOOK_ALLOW_PRIVATE", "true")
        .args(["webhook", "create", "--merchant", &merchant, "--url", "http://127.0.0.1:3000/hooks"])
        .output()
        .unwrap();
    assert!(out.status.success(), "allowed for development: {}", String::from_utf8_lossy(&out.stderr));
    let (ok, out) = run(dir.path(), &["webhook", "rotate", "we_000000000000000000000000"]);
    assert!(!ok && out.contains("no such webhook_endpoint"), "{out}");
}

/// One HTTP request read off a socket (headers, then `content-length` bytes of body), answered 200.
fn receive_one(mut stream: std::net::TcpStream) -> String {
    use std::io::{Read, Write};
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap_or(0)))
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    String::from_utf8_lossy(&buf).into_owned()
}

#[test]
fn the_server_delivers_signed_webhooks_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/hooks", receiver.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in receiver.incoming() {
            let Ok(stream) = stream else { break };
            if tx.send(receive_one(stream)).is_err() {
                break;
            }
        }
    });
    // The receiver is on loopback: allowed only with the development setting.
    let mut server = Server(
        paygate(dir.path())
            .env("PAYGATE_WEBHOOK_ALLOW_PRIVATE", "true")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts"),
    );
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    // The keys, then the warning that the development setting is on.
    while !(printed.contains("Keep the secret key") && printed.contains("PAYGATE_WEBHOOK_ALLOW_PRIVATE")) {
        printed.push_str(&lines.next().expect("serve keeps printing").unwrap());
        printed.push('\n');
    }
    let addr = field(&printed, "http://").trim_start_matches("http://").trim_end_matches("/v1").to_owned();
    let sk = field(&printed, "sk_test_").to_owned();

    let endpoint = format!(r#"{{"url":"{hook_url}","enabled_events":["payment_intent.created"]}}"#);
    let (status, body) = http(&addr, "POST", "/v1/webhook_endpoints", &sk, &endpoint);
    assert_eq!(status, 201, "{body}");
    let (status, body) = http(&addr, "POST", "/v1/payment_intents", &sk, r#"{"amount":12000,"currency":"KRW","merchant_order_id":"o-1","order_name":"Coffee","customer_name":"Kim"}"#);
    assert_eq!(status, 201, "{body}");
    let intent: serde_json::Value = serde_json::from_str(&body).unwrap();

    let request = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the background loop delivers the event");
    let lower = request.to_ascii_lowercase();
    assert!(request.starts_with("POST /hooks "), "{request}");
    assert!(lower.contains("webhook-id: evt_") && lower.contains("webhook-signature: v1,") && lower.contains("webhook-timestamp: "), "{request}");
    assert!(request.contains(intent["id"].as_str().unwrap()) && request.contains("payment_intent.created"), "{request}");

    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(server.0.wait().unwrap().success(), "graceful exit with the delivery loop running");
}

#[test]
fn the_database_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = run(dir.path(), &["migrate"]);
    assert!(ok, "{out}");
    for name in ["paygate.db", "key-hash-secret"] {
        let mode = std::fs::metadata(dir.path().join("data").join(name)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
    }
}

#[test]
fn logs_carry_no_colour_codes_off_a_terminal_and_are_json_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    // A short run that logs: started, then stopped by SIGTERM ("shutting down ...").
    let logs = |format: Option<&str>| {
        let mut command = paygate(dir.path());
        command.env("RUST_LOG", "info").arg("serve").stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(format) = format {
            command.env("PAYGATE_LOG_FORMAT", format);
        }
        let mut server = Server(command.spawn().expect("serve starts"));
        let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("serve prints").unwrap();
            if line.contains("API base URL") {
                break field(&line, "http://").trim_start_matches("http://").trim_end_matches("/v1").to_owned();
            }
        };
        // Serving (and so listening for SIGTERM) once it answers.
        while http(&base, "GET", "/healthz", "", "").0 != 200 {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap().success());
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut server.0.stderr.take().unwrap(), &mut stderr).unwrap();
        stderr
    };
    let text = logs(None);
    assert!(text.contains("shutting down"), "{text}");
    assert!(!text.contains('\u{1b}'), "no ANSI escape codes when stderr is a pipe:\n{text}");
    let json = logs(Some("json"));
    let lines: Vec<&str> = json.lines().collect();
    assert!(lines.iter().any(|l| l.contains("shutting down")), "{json}");
    for line in &lines {
        let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(parsed["level"].is_string() && parsed["timestamp"].is_string(), "{line}");
    }
    let bad = paygate(dir.path()).env("PAYGATE_LOG_FORMAT", "yaml").args(["merchant", "list"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("log_format"), "an unknown format is refused");
}

/// Reads what `serve` prints until a line containing `until`.
fn printed_until(server: &mut Server, until: &str) -> (String, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut lines = BufReader::new(server.0.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    while !printed.contains(until) {
        let line = lines.next().unwrap_or_else(|| panic!("serve stopped printing before {until}:\n{printed}")).unwrap();
        printed.push_str(&line);
        printed.push('\n');
    }
    (printed, lines)
}

#[test]
fn the_embedded_default_starts_the_demo_shop_with_the_demo_merchants_keys_and_reuses_them_on_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let shop_of = |printed: &str| field(printed.lines().find(|l| l.contains("Demo shop")).unwrap(), "http://").to_owned();
    let mut first = Server(paygate(dir.path()).env("PAYGATE_DEMO_SHOP", "on").arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let (printed, _lines) = printed_until(&mut first, "Demo shop");
    let sk = field(&printed, "sk_test_").to_owned();
    let base = field(&printed, "http://").trim_end_matches("/v1").to_owned();
    let shop = shop_of(&printed);
    let shop_addr = shop.trim_start_matches("http://");
    let (status, page) = http(shop_addr, "GET", "/", "", "");
    assert_eq!(status, 200);
    assert!(page.contains("Coffee beans"), "{page}");
    // The shop registered its webhook endpoint with the Demo Shop merchant's key.
    let addr = base.trim_start_matches("http://");
    let (_, endpoints) = http(addr, "GET", "/v1/webhook_endpoints", &sk, "");
    assert!(endpoints.contains(&format!("{shop}/webhooks")), "{endpoints}");
    let keys = std::fs::read_to_string(dir.path().join("data/demo-shop.keys")).unwrap();
    assert!(keys.starts_with(&sk), "the shop uses the first run's keys");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("data/demo-shop.keys")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the keys file is the owner's only");
    }
    assert!(Command::new("kill").args(["-TERM", &first.0.id().to_string()]).status().unwrap().success());
    assert!(first.0.wait().unwrap().success());

    let mut second = Server(paygate(dir.path()).env("PAYGATE_DEMO_SHOP", "on").arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let (again, _lines) = printed_until(&mut second, "Demo shop");
    assert!(!again.contains("sk_test_"), "no keys printed again");
    assert_eq!(std::fs::read_to_string(dir.path().join("data/demo-shop.keys")).unwrap(), keys, "the same keys");
    assert_eq!(http(shop_of(&again).trim_start_matches("http://"), "GET", "/", "", "").0, 200);
    assert!(Command::new("kill").args(["-TERM", &second.0.id().to_string()]).status().unwrap().success());
    assert!(second.0.wait().unwrap().success());

    let mut off = Server(paygate(dir.path()).env("PAYGATE_DEMO_SHOP", "off").arg("serve").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let (without, _lines) = printed_until(&mut off, "Test keys were printed");
    assert!(!without.contains("Demo shop"), "{without}");
    // Serving (and so listening for SIGTERM) once it answers.
    let gateway = field(&without, "http://").trim_end_matches("/v1").trim_start_matches("http://").to_owned();
    assert_eq!(http(&gateway, "GET", "/healthz", "", "").0, 200);
    assert!(Command::new("kill").args(["-TERM", &off.0.id().to_string()]).status().unwrap().success());
    assert!(off.0.wait().unwrap().success());
}
