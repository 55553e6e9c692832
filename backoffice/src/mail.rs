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
