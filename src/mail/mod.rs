//! Outgoing email: SMTP through lettre when `MAIL_SERVER` is set, otherwise the log.
//!
//! Requests never send email themselves: the write that calls for one queues it in the outbox
//! table, in the same transaction, and the [`outbox`] sender delivers it with retries. The log
//! fallback exists for development, so it includes the message body (and thus reset tokens);
//! start-up warns that it is active.

pub mod outbox;

use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;

/// One email to one recipient, as it is sent (an account's address is [`crate::domain::Email`]).
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

#[derive(Clone)]
pub enum Mailer {
    // Boxed: the transport is large and the enum is cloned per message.
    Smtp { transport: Box<AsyncSmtpTransport<Tokio1Executor>>, sender: Mailbox },
    Log,
}

impl Mailer {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let Some(server) = settings.mail.configured_server() else {
            tracing::warn!("MAIL_SERVER is not set: emails (with their reset tokens) are written to the log, not sent");
            return Ok(Self::Log);
        };
        let sender: Mailbox = settings
            .mail
            .sender
            .parse()
            .with_context(|| format!("MAIL_SENDER {:?} is not an email address", settings.mail.sender))?;
        let tls_parameters = || TlsParameters::new(server.to_owned()).context("MAIL_SERVER is not a valid TLS name");
        let tls = if settings.mail.use_ssl {
            Tls::Wrapper(tls_parameters()?)
        } else if settings.mail.use_tls {
            Tls::Required(tls_parameters()?)
        } else {
            Tls::None
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server)
            .port(settings.mail.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(20)));
        if let (Some(user), Some(password)) = (&settings.mail.username, &settings.mail.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
        }
        tracing::info!(server, port = settings.mail.port, "emails are sent through SMTP");
        Ok(Self::Smtp { transport: Box::new(builder.build()), sender })
    }

    /// Delivers one email; an error says why it was not accepted.
    pub async fn send(&self, email: &OutgoingMail) -> anyhow::Result<()> {
        match self {
            Self::Log => {
                tracing::info!(to = %email.to, subject = %email.subject, body = %email.body, "email (MAIL_SERVER unset, not sent)");
                Ok(())
            }
            Self::Smtp { transport, sender } => {
                let message = Message::builder()
                    .from(sender.clone())
                    .to(email.to.parse().context("recipient is not a valid address")?)
                    .subject(&email.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.body.clone())
                    .context("cannot build the email")?;
                transport.send(message).await.context("SMTP delivery failed")?;
                tracing::info!(subject = %email.subject, "email sent");
                Ok(())
            }
        }
    }
}
