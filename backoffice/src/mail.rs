//! Mail the back office sends (sign-up codes): through a [`Mailer`]. The embedded default keeps
//! it in a [`DevMailbox`] shown at `/dashboard/dev/mail`, so a newcomer finishes sign-up without
//! a mail server; production configures SMTP.

use async_trait::async_trait;
use gateway::clock::Millis;
use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
#[error("mail not sent: {0}")]
pub struct MailError(pub String);

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, mail: Mail, now: Millis) -> Result<(), MailError>;
}

/// The newest mails, in memory (this process only): for development, never in production.
#[derive(Debug, Default)]
pub struct DevMailbox {
    mails: Mutex<VecDeque<(Millis, Mail)>>,
}

/// Mails the development mailbox keeps.
const KEPT: usize = 100;

impl DevMailbox {
    /// Newest first.
    pub fn mails(&self) -> Vec<(Millis, Mail)> {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).iter().rev().cloned().collect()
    }
}

#[async_trait]
impl Mailer for DevMailbox {
    async fn send(&self, mail: Mail, now: Millis) -> Result<(), MailError> {
        let mut mails = self.mails.lock().unwrap_or_else(|p| p.into_inner());
        if mails.len() == KEPT {
            mails.pop_front();
        }
        mails.push_back((now, mail));
        Ok(())
    }
}

/// No mail transport configured (and no development mailbox): every send fails.
#[derive(Debug, Default)]
pub struct NoMail;

#[async_trait]
impl Mailer for NoMail {
    async fn send(&self, _mail: Mail, _now: Millis) -> Result<(), MailError> {
        Err(MailError("no mail transport is configured".into()))
    }
}

/// Mail over SMTP (lettre): `smtps://` (TLS), `smtp://...?tls=required` (STARTTLS) or plain
/// `smtp://` (a local relay only). Each send has a 10-second limit; a failure is the caller's
/// `mail_unavailable`, never a half-done sign-up.
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL carries the relay's password: never shown.
        f.debug_struct("SmtpMailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

/// The longest a send may take, connection included.
const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl SmtpMailer {
    pub fn new(url: &gateway::secret::Secret, from: &str) -> Result<Self, MailError> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url.expose())
            // Its message could quote the URL, password and all.
            .map_err(|_| MailError("the SMTP URL is not one lettre reads (smtp:// or smtps://, user:password@host:port)".into()))?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = from.parse().map_err(|_| MailError(format!("the mail sender `{from}` is not an address")))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, mail: Mail, _now: Millis) -> Result<(), MailError> {
        use lettre::AsyncTransport;
        let to = mail.to.parse().map_err(|_| MailError("the recipient is not an address".into()))?;
        let message = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .header(lettre::message::header::ContentType::TEXT_PLAIN)
            .body(mail.body)
            .map_err(|e| MailError(format!("the message could not be built: {e}")))?;
        self.transport.send(message).await.map_err(|e| {
            tracing::warn!(error = %e, "SMTP refused or could not be reached");
            MailError("the SMTP relay did not take the message".into())
        })?;
        Ok(())
    }
}
