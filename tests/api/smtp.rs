//! A real SMTP server on loopback for tests: it speaks enough of RFC 5321 to receive what
//! lettre sends, and hands each message's text to the test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One received message: envelope recipients and the DATA section.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub recipients: Vec<String>,
    pub data: String,
}

impl ReceivedMail {
    /// The DATA with quoted-printable soft breaks and `=3D` undone, enough to read links.
    pub fn text(&self) -> String {
        self.data.replace("=\r\n", "").replace("=3D", "=")
    }

    /// The reset token the message carries after `token=`.
    pub fn reset_token(&self) -> Option<String> {
        self.token_after("reset?token=")
    }

    /// The verification token of the message's `/verify?token=...` link.
    pub fn verify_token(&self) -> Option<String> {
        self.token_after("/verify?token=")
    }

    fn token_after(&self, marker: &str) -> Option<String> {
        let text = self.text();
        let start = text.find(marker)? + marker.len();
        let token: String =
            text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        (!token.is_empty()).then_some(token)
    }

    /// The `Subject` header's value.
    pub fn subject(&self) -> Option<&str> {
        self.data.lines().take_while(|line| !line.is_empty()).find_map(|line| line.strip_prefix("Subject: "))
    }
}

/// The subject of the link every signup (and resend) emails: tests about other emails skip
/// those messages unless they ask for [`SmtpServer::every_mail`].
pub const VERIFICATION_SUBJECT: &str = "Confirm your movie-bag email address";

/// Deletes the signups' verification emails from the outbox, for a test that counts or races
/// the outbox's other emails (reset links) while the mail server is down: the signups' links
/// would otherwise be counted with them.
pub async fn forget_signup_links(database: &crate::helpers::TestDatabase) {
    database.execute(&format!("DELETE FROM outbox WHERE subject = '{VERIFICATION_SUBJECT}'")).await;
}

pub struct SmtpServer {
    pub port: u16,
    received: mpsc::UnboundedReceiver<ReceivedMail>,
    /// Hand the test the signups' verification emails too (see [`VERIFICATION_SUBJECT`]).
    every_mail: bool,
    /// Every command line received, in every session, in order (not the DATA section).
    commands: Arc<Mutex<Vec<String>>>,
}

/// What the listener does with a connection: close it at once (the mail server is down), or
/// serve it, sending each message to the test and taking `per_message` to accept it.
type Mode = Arc<Mutex<Option<Serving>>>;

/// What a listener that is up does with each session.
#[derive(Clone)]
struct Serving {
    sender: mpsc::UnboundedSender<ReceivedMail>,
    per_message: Duration,
    transcript: Arc<Mutex<Vec<String>>>,
}

/// A loopback port held by a listener that closes every connection at once: a mail server that
/// is down. [`Self::come_up`] turns the same listener into an [`SmtpServer`], so the port is
/// never released for another test (or an outgoing connection) to take meanwhile.
pub struct DownSmtp {
    pub port: u16,
    mode: Mode,
}

impl DownSmtp {
    pub async fn start() -> Self {
        let (port, mode) = listen().await;
        Self { port, mode }
    }

    /// The mail server comes up on the same port.
    pub fn come_up(self) -> SmtpServer {
        self.come_up_slow(Duration::ZERO)
    }

    /// It comes up taking `per_message` to accept each message (a slow relay).
    pub fn come_up_slow(self, per_message: Duration) -> SmtpServer {
        let (sender, received) = mpsc::unbounded_channel();
        let commands = Arc::new(Mutex::new(Vec::new()));
        *self.mode.lock().unwrap() = Some(Serving { sender, per_message, transcript: Arc::clone(&commands) });
        SmtpServer { port: self.port, received, commands, every_mail: false }
    }
}

/// Listens on a free loopback port, down until the mode says otherwise.
async fn listen() -> (u16, Mode) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind smtp");
    let port = listener.local_addr().unwrap().port();
    let mode: Mode = Arc::default();
    let serving = Arc::clone(&mode);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let current = serving.lock().unwrap().clone();
            match current {
                None => drop(stream),
                Some(serving) => {
                    tokio::spawn(async move {
                        let _ = serve_session(stream, serving.sender, serving.transcript, serving.per_message).await;
                    });
                }
            }
        }
    });
    (port, mode)
}

impl SmtpServer {
    pub async fn start() -> Self {
        DownSmtp::start().await.come_up()
    }

    /// The command lines received so far (`EHLO ...`, `MAIL FROM:<...>`, `DATA`, ...).
    pub fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    /// Hands the test every message, the signups' verification emails included.
    pub fn every_mail(mut self) -> Self {
        self.every_mail = true;
        self
    }

    /// The next message, or `None` if none arrives within `wait`.
    pub async fn next_mail(&mut self, wait: Duration) -> Option<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let mail = tokio::time::timeout_at(deadline, self.received.recv()).await.ok().flatten()?;
            if self.every_mail || mail.subject() != Some(VERIFICATION_SUBJECT) {
                return Some(mail);
            }
        }
    }
}

async fn serve_session(
    stream: tokio::net::TcpStream,
    sender: mpsc::UnboundedSender<ReceivedMail>,
    transcript: Arc<Mutex<Vec<String>>>,
    per_message: Duration,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 localhost ESMTP movie-bag-test\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        transcript.lock().unwrap().push(line.trim_end().to_owned());
        if command.starts_with("EHLO") || command.starts_with("HELO") {
            write.write_all(b"250-localhost\r\n250 8BITMIME\r\n").await?;
        } else if command.starts_with("RCPT TO:") {
            recipients.push(line.trim_end()[8..].trim().trim_matches(['<', '>']).to_owned());
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(&line);
            }
            tokio::time::sleep(per_message).await;
            let _ = sender.send(ReceivedMail { recipients: std::mem::take(&mut recipients), data });
            write.write_all(b"250 queued\r\n").await?;
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            // MAIL FROM, RSET, NOOP and anything else.
            write.write_all(b"250 OK\r\n").await?;
        }
    }
}
