//! Mail over SMTP: the back office hands sign-up codes and invitations to a relay through lettre.
//! The relay here is a real SMTP server on a local port speaking the RFC 5321 exchange (greeting,
//! EHLO, MAIL, RCPT, DATA with dot-stuffing, QUIT); simpler than a real relay in that it takes
//! every sender and recipient, offers no TLS or authentication, and delivers nowhere.

use crate::helpers::*;
use axum::http::StatusCode;
use backoffice::mail::{Mailer, SmtpMailer};
use backoffice::BackofficeSettings;
use gateway::secret::Secret;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

paygate_test_support::on_both_engines!(sign_up_codes_and_invitations_go_out_over_smtp, a_relay_that_cannot_be_reached_answers_mail_unavailable_and_creates_nothing,);

/// One message as the relay took it.
#[derive(Debug, Clone)]
struct Taken {
    from: String,
    to: Vec<String>,
    data: String,
}

impl Taken {
    fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}: ");
        self.data.lines().find(|l| l.starts_with(&prefix)).map(|l| l[prefix.len()..].to_owned())
    }
}

struct Relay {
    url: String,
    taken: Arc<Mutex<Vec<Taken>>>,
}

impl Relay {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let taken = Arc::new(Mutex::new(Vec::new()));
        let keep = taken.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let keep = keep.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 relay.test ESMTP\r\n").await.unwrap();
                    let (mut from, mut to) = (String::new(), Vec::new());
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.split([' ', ':']).next().unwrap_or("").to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-relay.test\r\n250 8BITMIME\r\n",
                            "HELO" | "NOOP" => b"250 OK\r\n",
                            "MAIL" => {
                                from = line[10..].trim().to_owned();
                                b"250 OK\r\n"
                            }
                            "RCPT" => {
                                to.push(line[8..].trim().to_owned());
                                b"250 OK\r\n"
                            }
                            "RSET" => {
                                (from, to) = (String::new(), Vec::new());
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n").await.unwrap();
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push_str(l.strip_prefix('.').filter(|_| l.starts_with("..")).unwrap_or(&l));
                                    data.push('\n');
                                }
                                keep.lock().unwrap().push(Taken { from: from.clone(), to: std::mem::take(&mut to), data });
                                b"250 OK queued\r\n"
                            }
                            "QUIT" => {
                                write.write_all(b"221 Bye\r\n").await.unwrap();
                                return;
                            }
                            _ => b"502 Command not implemented\r\n",
                        };
                        write.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        Relay { url, taken }
    }

    fn taken(&self) -> Vec<Taken> {
        self.taken.lock().unwrap().clone()
    }
}

async fn office_over_smtp(app: TestApp, url: &str) -> Office {
    let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::new(&Secret::new(url), "Paygate <no-reply@pay.example.test>").unwrap());
    let settings = BackofficeSettings { dev_mailbox: false, client_ip_header: Some("x-test-client".into()), ..Default::default() };
    let office = backoffice::Backoffice::new(app.services.clone(), app.store.clone(), settings, Some(mailer));
    let router = backoffice::router(office.clone());
    Office { app, office, router }
}

async fn sign_up_codes_and_invitations_go_out_over_smtp(app: TestApp) {
    let relay = Relay::start().await;
    let office = office_over_smtp(app, &relay.url).await;
    assert!(office.office.mailbox.is_none(), "no development mailbox beside SMTP");
    assert_eq!(office.browser().get("/dashboard/dev/mail").await.status, StatusCode::NOT_FOUND);
    let browser = office.browser();
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "owner@bakery.example"), ("password", PASSWORD), ("merchant_name", "서울 베이커리")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let mails = relay.taken();
    assert_eq!(mails.len(), 1);
    assert_eq!((mails[0].from.as_str(), mails[0].to.as_slice()), ("<no-reply@pay.example.test>", ["<owner@bakery.example>".to_owned()].as_slice()));
    assert_eq!(mails[0].header("To").as_deref(), Some("owner@bakery.example"));
    let subject = mails[0].header("Subject").unwrap();
    let code = subject.split(' ').next().unwrap().to_owned();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{subject}");

    let confirm = page.location.unwrap();
    let signup = confirm.split("signup=").nth(1).unwrap().to_owned();
    let welcome = browser.submit(&confirm, "/dashboard/signup/confirm", &[("signup", &signup), ("code", &code)]).await;
    assert_eq!(welcome.status, StatusCode::OK, "the code from the relay's mail signs the merchant up: {}", welcome.body);

    let invited = browser.submit("/dashboard/team", "/dashboard/team/invite", &[("email", "baker@bakery.example"), ("role", "support")]).await;
    assert_eq!(invited.location.as_deref(), Some("/dashboard/team"), "{}", invited.body);
    let invitation = relay.taken().pop().unwrap();
    assert_eq!(invitation.to, ["<baker@bakery.example>"]);
    let unfolded = invitation.data.replace("=\n", "").replace("=3D", "=");
    assert!(unfolded.contains("/dashboard/invitations/"), "the link is in the mail: {}", invitation.data);
}

async fn a_relay_that_cannot_be_reached_answers_mail_unavailable_and_creates_nothing(app: TestApp) {
    // A port nothing listens on.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", closed.local_addr().unwrap());
    drop(closed);
    let office = office_over_smtp(app, &url).await;
    let browser = office.browser();
    let page = browser.submit("/dashboard/signup", "/dashboard/signup", &[("email", "owner@bakery.example"), ("password", PASSWORD), ("merchant_name", "Bakery")]).await;
    assert_eq!((page.status, page.error_code().as_deref()), (StatusCode::SERVICE_UNAVAILABLE, Some("mail_unavailable")));
    assert!(office.office.services.list_merchants().await.unwrap().is_empty());
    let debug = format!("{:?}", SmtpMailer::new(&Secret::new("smtps://user:hunter2-secret@relay.example:465"), "a@b.example").unwrap());
    assert!(!debug.contains("hunter2"), "the relay's password never shows: {debug}");
    assert!(SmtpMailer::new(&Secret::new("smtp://relay.example"), "not an address").is_err());
}
