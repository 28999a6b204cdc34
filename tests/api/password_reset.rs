//! Password reset by email, through a real SMTP server listening on loopback.

use std::time::Duration;

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::smtp::SmtpServer;

pub const MAIL_WAIT: Duration = Duration::from_secs(10);

pub async fn app_with_mail(backend: Backend, smtp: &SmtpServer, extra: &[(&str, &str)]) -> TestApp {
    let mut builder = TestApp::builder(backend)
        .flag("--mail-server", "127.0.0.1")
        .flag("--mail-port", &smtp.port.to_string())
        .flag("--mail-sender", "noreply@movie-bag.test")
        .flag("--public-url", "https://movies.example.com");
    for (name, value) in extra {
        builder = builder.flag(name, value);
    }
    builder.spawn().await
}

pub async fn forgot(app: &TestApp, email: &str) -> crate::helpers::Reply {
    app.post("/api/auth/forgot", json!({"email": email}), None).await
}

pub async fn reset(app: &TestApp, token: &str, password: &str) -> crate::helpers::Reply {
    app.post("/api/auth/reset", json!({"reset_token": token, "password": password}), None).await
}

backend_tests! {
    async fn forgot_answers_the_same_for_known_and_unknown_emails_and_mails_only_the_known(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;

        let unknown = forgot(&app, "nobody@example.com").await;
        unknown.assert_status(202);
        assert!(smtp.next_mail(Duration::from_millis(700)).await.is_none(), "no email for an unknown address");

        let known = forgot(&app, &user.email.to_uppercase()).await;
        known.assert_status(202);
        assert_eq!(known.body, unknown.body);
        assert!(known.body["message"].is_string());

        let mail = smtp.next_mail(MAIL_WAIT).await.expect("reset email arrives");
        assert_eq!(mail.recipients, vec![user.email.clone()]);
        let text = mail.text();
        assert!(text.contains("https://movies.example.com/reset?token="), "{text}");
        let token = mail.reset_token().expect("token in the email");
        assert!(text.matches(token.as_str()).count() >= 2, "the link and the bare token: {text}");
    }

    async fn a_reset_token_from_the_email_sets_the_password_once_and_ends_every_session(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();

        let reply = reset(&app, &token, "my new password").await;
        reply.assert_status(200);
        assert!(reply.body["message"].is_string());
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
        app.post("/api/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await.assert_error(401, "unauthorized");
        app.login(&user.email, &user.password).await.assert_error(401, "unauthorized");
        app.login(&user.email, "my new password").await.assert_status(200);

        let confirmation = smtp.next_mail(MAIL_WAIT).await.expect("confirmation email");
        assert_eq!(confirmation.recipients, vec![user.email.clone()]);
        assert!(confirmation.text().contains("password"), "{}", confirmation.text());

        // Single use.
        reset(&app, &token, "yet another password").await.assert_error(400, "bad_request");
        app.login(&user.email, "my new password").await.assert_status(200);
    }

    async fn an_expired_reset_token_is_400(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[("--reset-token-ttl", "1s")]).await;
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        reset(&app, &token, "my new password").await.assert_error(400, "bad_request");
        app.login(&user.email, &user.password).await.assert_status(200);
    }

    async fn a_newer_reset_request_supersedes_the_older_token(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let first = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        forgot(&app, &user.email).await.assert_status(202);
        let second = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        assert_ne!(first, second);
        reset(&app, &first, "my new password").await.assert_error(400, "bad_request");
        reset(&app, &second, "my new password").await.assert_status(200);
    }

    async fn bad_reset_requests_are_400_and_do_not_use_up_the_token(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        reset(&app, "forged-token", "my new password").await.assert_error(400, "bad_request");
        reset(&app, &token, "short").await.assert_error(400, "validation_failed");
        app.post("/api/auth/reset", json!({"reset_token": token}), None).await.assert_error(400, "validation_failed");
        forgot(&app, "not an email").await.assert_error(400, "validation_failed");
        app.login(&user.email, &user.password).await.assert_status(200);
        reset(&app, &token, "my new password").await.assert_status(200);
    }

    async fn a_failing_mail_server_never_fails_the_answer(backend) {
        // The mail server is down: every delivery fails, in the background.
        let down = crate::smtp::DownSmtp::start().await;
        let app = TestApp::builder(backend).flag("--mail-server", "127.0.0.1").flag("--mail-port", &down.port.to_string()).spawn().await;
        let user = app.new_user().await;
        let unknown = forgot(&app, "nobody@example.com").await;
        unknown.assert_status(202);
        let known = forgot(&app, &user.email).await;
        known.assert_status(202);
        assert_eq!(known.body, unknown.body, "a known address is answered as an unknown one, mail server down or not");

        // The delivery was tried and failed: the 202 did not wait for it, nor depend on it.
        let attempts_and_error = "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox \
             WHERE attempts >= 1 AND last_error IS NOT NULL AND sent_at IS NULL AND failed_at IS NULL";
        let deadline = std::time::Instant::now() + MAIL_WAIT;
        while app.database.select_count(attempts_and_error).await == 0 {
            assert!(std::time::Instant::now() < deadline, "the sender never tried the mail server");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // Asked again while the mail server is known to be failing: the same answer, and the
        // account is untouched (its password still works, no session ended).
        let again = forgot(&app, &user.email).await;
        again.assert_status(202);
        assert_eq!(again.body, unknown.body);
        assert_eq!(app.database.select_count("SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE sent_at IS NOT NULL").await, 0);
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.login(&user.email, &user.password).await.assert_status(200);
    }
}
