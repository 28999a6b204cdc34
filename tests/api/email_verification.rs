//! Verified email addresses: the link a signup emails, `POST /api/auth/verify`, `POST
//! /api/auth/verify/resend`, `PUT /api/auth/email`, and `REQUIRE_VERIFIED_EMAIL`; through a
//! real SMTP server on loopback, as a person would get the links.

use std::io::Cursor;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{PASSWORD, Reply, TEST_JWT_KEY, TestApp, TestUser, movie_body, read};
use crate::password_reset::{MAIL_WAIT, app_with_mail};
use crate::process::ServerProcess;
use crate::smtp::{ReceivedMail, SmtpServer, VERIFICATION_SUBJECT};

const VERIFY: &str = "/api/auth/verify";
const RESEND: &str = "/api/auth/verify/resend";
const CHANGE: &str = "/api/auth/email";
const LINK: &str = "https://movies.example.com/verify?token=";

async fn verify(app: &TestApp, token: &str) -> Reply {
    app.post(VERIFY, json!({ "token": token }), None).await
}

async fn resend(app: &TestApp, jwt: &str) -> Reply {
    app.send(Method::POST, RESEND, None, Some(jwt)).await
}

async fn change_email(app: &TestApp, jwt: &str, new_email: &str, password: &str) -> Reply {
    app.send(Method::PUT, CHANGE, Some(json!({"new_email": new_email, "password": password})), Some(jwt)).await
}

async fn me(app: &TestApp, jwt: &str) -> Value {
    let reply = app.get("/api/users/me", Some(jwt)).await;
    reply.assert_status(200);
    reply.body
}

/// The types of the caller's security events, newest first.
async fn event_types(app: &TestApp, jwt: &str) -> Vec<String> {
    let reply = app.get("/api/users/me/security-events", Some(jwt)).await;
    reply.assert_status(200);
    reply.body.as_array().unwrap().iter().map(|event| event["type"].as_str().unwrap().to_owned()).collect()
}

/// The next email, which must come.
async fn mail(smtp: &mut SmtpServer) -> ReceivedMail {
    smtp.next_mail(MAIL_WAIT).await.expect("an email arrives")
}

/// A user signed up and logged in, and the token of the link their signup emailed.
async fn signed_up(app: &TestApp, smtp: &mut SmtpServer) -> (TestUser, String) {
    let user = app.new_user().await;
    let link = mail(smtp).await;
    assert_eq!(link.recipients, vec![user.email.clone()]);
    assert_eq!(link.subject(), Some(VERIFICATION_SUBJECT));
    (user, link.verify_token().expect("a link in the email"))
}

async fn metrics(app: &TestApp) -> String {
    app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

async fn movie_count(app: &TestApp) -> i64 {
    app.database.select_count("SELECT count(*) FROM movies").await
}

fn png() -> Vec<u8> {
    let picture = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 96, |x, y| {
        image::Rgb([(x * 3) as u8, (y * 2) as u8, 90])
    }));
    let mut out = Vec::new();
    picture.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

async fn put_bytes(app: &TestApp, path: &str, content_type: &str, body: Vec<u8>, jwt: &str) -> Reply {
    let request = app.client.put(app.url(path)).header("content-type", content_type).bearer_auth(jwt).body(body);
    read(request.send().await.unwrap()).await
}

async fn post_bytes(app: &TestApp, path: &str, content_type: &str, body: &str, jwt: &str) -> Reply {
    let request =
        app.client.post(app.url(path)).header("content-type", content_type).bearer_auth(jwt).body(body.to_owned());
    read(request.send().await.unwrap()).await
}

backend_tests! {
    async fn signup_emails_a_link_that_verifies_the_address_once(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        assert_eq!(me(&app, &user.token).await["email_verified"], false);

        let link = mail(&mut smtp).await;
        assert_eq!(link.recipients, vec![user.email.clone()]);
        assert_eq!(link.subject(), Some(VERIFICATION_SUBJECT));
        let text = link.text();
        assert!(text.contains(LINK), "{text}");
        let token = link.verify_token().expect("the link's token");
        assert!(text.matches(token.as_str()).count() >= 2, "the link and the bare token: {text}");
        assert!(text.contains("open this link"), "{text}");
        for jargon in ["/api/", "POST", "token="] {
            let outside_link = text.replace(&format!("{LINK}{token}"), "");
            assert!(!outside_link.contains(jargon), "no {jargon:?} for people to read: {text}");
        }
        // Stored as its hash only.
        let stored: String = app.database.select_one("SELECT token_hash FROM email_tokens", &[]).await;
        assert_ne!(stored, token);
        assert_eq!(stored.len(), 64);

        let reply = verify(&app, &token).await;
        reply.assert_status(200);
        assert!(reply.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply.body);
        assert_eq!(me(&app, &user.token).await["email_verified"], true);
        // Single use.
        verify(&app, &token).await.assert_error(400, "bad_request");
        assert_eq!(me(&app, &user.token).await["email_verified"], true);

        let events = event_types(&app, &user.token).await;
        assert_eq!(events.iter().filter(|kind| *kind == "email_verified").count(), 1, "{events:?}");
        let metrics = metrics(&app).await;
        assert!(metrics.contains("moviebag_verification_emails_total{kind=\"signup\"} 1\n"), "{metrics}");
        assert!(metrics.contains("moviebag_email_verifications_total{kind=\"address\"} 1\n"), "{metrics}");
    }

    async fn garbage_missing_and_expired_verification_tokens_are_400_and_verify_nothing(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[("--verify-token-ttl", "1s")]).await;
        let (user, token) = signed_up(&app, &mut smtp).await;
        verify(&app, "forged-token").await.assert_error(400, "bad_request");
        verify(&app, "").await.assert_error(400, "bad_request");
        verify(&app, &"x".repeat(10_000)).await.assert_error(400, "bad_request");
        app.post(VERIFY, json!({}), None).await.assert_error(400, "validation_failed");
        app.post(VERIFY, json!({"token": 7}), None).await.assert_error(400, "validation_failed");
        tokio::time::sleep(Duration::from_millis(1300)).await;
        verify(&app, &token).await.assert_error(400, "bad_request");
        assert_eq!(me(&app, &user.token).await["email_verified"], false);
        assert!(!event_types(&app, &user.token).await.contains(&"email_verified".to_owned()));
    }

    async fn resend_mails_a_new_link_three_times_an_hour_and_answers_the_fourth_429(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let (user, first) = signed_up(&app, &mut smtp).await;
        app.send(Method::POST, RESEND, None, None).await.assert_error(401, "unauthorized");

        let mut tokens = vec![first];
        for _ in 0..3 {
            resend(&app, &user.token).await.assert_status(202);
            let link = mail(&mut smtp).await;
            assert_eq!(link.recipients, vec![user.email.clone()]);
            tokens.push(link.verify_token().unwrap());
        }
        let limited = resend(&app, &user.token).await;
        limited.assert_error(429, "rate_limited");
        let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=3600).contains(&retry_after), "{retry_after}");
        assert!(smtp.next_mail(Duration::from_millis(700)).await.is_none(), "nothing sent past the limit");

        // The newest link supersedes the earlier ones.
        verify(&app, &tokens[0]).await.assert_error(400, "bad_request");
        verify(&app, &tokens[2]).await.assert_error(400, "bad_request");
        verify(&app, &tokens[3]).await.assert_status(200);
        assert_eq!(me(&app, &user.token).await["email_verified"], true);
        // Verified already: 409, nothing sent.
        app.database.execute("DELETE FROM auth_limits WHERE key LIKE 'verify:%'").await;
        resend(&app, &user.token).await.assert_error(409, "conflict");
        assert!(smtp.next_mail(Duration::from_millis(500)).await.is_none(), "nothing sent to a verified address");
        let metrics = metrics(&app).await;
        assert!(metrics.contains("moviebag_verification_emails_total{kind=\"resend\"} 3\n"), "{metrics}");
    }

    async fn two_processes_on_one_database_share_the_resend_limit(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let bases = [app.address.clone(), other.address.clone()];
        let mut statuses = Vec::new();
        for i in 0..6 {
            let request = app.client.post(format!("{}{RESEND}", bases[i % 2])).bearer_auth(&user.token);
            statuses.push(read(request.send().await.unwrap()).await.status.as_u16());
        }
        assert_eq!(statuses, [202, 202, 202, 429, 429, 429], "three in all, not three per process");
        let links = format!("SELECT count(*) FROM outbox WHERE subject = '{VERIFICATION_SUBJECT}'");
        assert_eq!(app.database.select_count(&links).await, 4, "the signup's link and three resends");
    }

    async fn an_email_change_needs_the_password_and_a_free_address_and_applies_only_once_its_link_is_used(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let (user, _) = signed_up(&app, &mut smtp).await;
        let (taken, _) = signed_up(&app, &mut smtp).await;
        let new_email = format!("new-{}", user.email);

        // Refused, and nothing sent or changed.
        change_email(&app, &user.token, &new_email, "a wrong password").await.assert_error(400, "validation_failed");
        change_email(&app, &user.token, "not an address", PASSWORD).await.assert_error(400, "validation_failed");
        change_email(&app, &user.token, &user.email.to_uppercase(), PASSWORD).await.assert_error(400, "validation_failed");
        change_email(&app, &user.token, &taken.email.to_uppercase(), PASSWORD).await.assert_error(409, "conflict");
        app.send(Method::PUT, CHANGE, Some(json!({"new_email": new_email})), Some(&user.token)).await.assert_error(400, "validation_failed");
        app.send(Method::PUT, CHANGE, Some(json!({"new_email": new_email, "password": PASSWORD})), None).await.assert_error(401, "unauthorized");
        assert!(smtp.next_mail(Duration::from_millis(700)).await.is_none(), "no email for a refused change");
        assert_eq!(me(&app, &user.token).await["email"], user.email.as_str());

        change_email(&app, &user.token, &new_email, PASSWORD).await.assert_status(202);
        let mut mails = [mail(&mut smtp).await, mail(&mut smtp).await];
        mails.sort_by_key(|mail| mail.recipients != vec![new_email.clone()]);
        let (link, notice) = (&mails[0], &mails[1]);
        assert_eq!(link.recipients, vec![new_email.clone()]);
        assert!(link.text().contains(LINK), "{}", link.text());
        let token = link.verify_token().unwrap();
        assert_eq!(notice.recipients, vec![user.email.clone()], "the old address is told");
        assert!(notice.text().contains(&new_email), "{}", notice.text());
        assert!(notice.verify_token().is_none(), "the old address gets no link: {}", notice.text());

        // Nothing changes until the link is used.
        let before = me(&app, &user.token).await;
        assert_eq!(before["email"], user.email.as_str());
        app.login(&new_email, PASSWORD).await.assert_error(401, "unauthorized");

        verify(&app, &token).await.assert_status(200);
        let after = me(&app, &user.token).await;
        assert_eq!(after["email"], new_email.as_str());
        assert_eq!(after["email_verified"], true);
        app.login(&new_email, PASSWORD).await.assert_status(200);
        app.login(&user.email, PASSWORD).await.assert_error(401, "unauthorized");
        verify(&app, &token).await.assert_error(400, "bad_request");

        let events = event_types(&app, &user.token).await;
        assert_eq!(events[..2], ["login", "email_changed"], "{events:?}");
        assert!(events.contains(&"email_change_requested".to_owned()), "{events:?}");
        let metrics = metrics(&app).await;
        assert!(metrics.contains("moviebag_verification_emails_total{kind=\"email_change\"} 1\n"), "{metrics}");
        assert!(metrics.contains("moviebag_email_verifications_total{kind=\"email_change\"} 1\n"), "{metrics}");
    }

    async fn an_address_taken_before_the_link_is_used_is_409_and_changes_nothing(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let (user, _) = signed_up(&app, &mut smtp).await;
        change_email(&app, &user.token, "wanted@example.com", PASSWORD).await.assert_status(202);
        let mut token = None;
        for _ in 0..2 {
            let mail = mail(&mut smtp).await;
            if mail.recipients == ["wanted@example.com"] {
                token = mail.verify_token();
            }
        }
        app.signup("Wanted@example.com", PASSWORD).await.assert_status(200);
        verify(&app, &token.expect("the link to the new address")).await.assert_error(409, "conflict");
        let after = me(&app, &user.token).await;
        assert_eq!(after["email"], user.email.as_str());
        app.login(&user.email, PASSWORD).await.assert_status(200);
        assert!(!event_types(&app, &user.token).await.contains(&"email_changed".to_owned()));
    }

    async fn a_password_change_stops_a_pending_email_change(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let (user, _) = signed_up(&app, &mut smtp).await;
        change_email(&app, &user.token, "thief@example.com", PASSWORD).await.assert_status(202);
        let mut token = None;
        for _ in 0..2 {
            let mail = mail(&mut smtp).await;
            if mail.recipients == ["thief@example.com"] {
                token = mail.verify_token();
            }
        }
        let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
        app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await.assert_status(204);
        verify(&app, &token.unwrap()).await.assert_error(400, "bad_request");
        app.login(&user.email, "a brand new passphrase").await.assert_status(200);
    }

    async fn with_verification_required_an_unverified_account_reads_and_manages_itself_but_writes_nothing_else(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        // On by default with a mail server.
        let app = app_with_mail(backend, &smtp, &[]).await;
        let (owner, owner_token) = signed_up(&app, &mut smtp).await;
        verify(&app, &owner_token).await.assert_status(200);
        let movie = app.create_movie(&owner.token, "Heat").await;
        let (user, token) = signed_up(&app, &mut smtp).await;

        // Writes beyond the account: 403 email_unverified, nothing written.
        let refused = app.post("/api/movies", movie_body("Ronin"), Some(&user.token)).await;
        refused.assert_error(403, "email_unverified");
        assert_eq!(movie_count(&app).await, 1);
        let library = format!("/api/users/me/library/{movie}");
        app.send(Method::PUT, &library, Some(json!({"status": "watchlist"})), Some(&user.token)).await.assert_error(403, "email_unverified");
        let csv = "Date,Name,Year,Letterboxd URI\n2024-01-02,Heat,1995,https://boxd.it/x\n";
        post_bytes(&app, "/api/users/me/library/import", "text/csv", csv, &user.token).await.assert_error(403, "email_unverified");
        let poster = format!("/api/movies/{movie}/poster");
        put_bytes(&app, &poster, "image/png", png(), &user.token).await.assert_error(403, "email_unverified");
        assert!(app.movie(&movie).await.body["poster"].is_null(), "no poster was set");
        put_bytes(&app, &poster, "image/png", png(), &owner.token).await.assert_status(200);
        app.send(Method::DELETE, &poster, None, Some(&user.token)).await.assert_error(403, "email_unverified");
        app.send(Method::DELETE, &format!("/api/movies/{movie}"), None, Some(&user.token)).await.assert_error(403, "email_unverified");
        assert_eq!(app.database.select_count("SELECT count(*) FROM library_entries").await, 0);
        assert_eq!(movie_count(&app).await, 1);
        // An access token of the account is held to the same rule.
        let created = app.post("/api/auth/tokens", json!({"name": "script", "scopes": ["movies:write"]}), Some(&user.token)).await;
        created.assert_status(201);
        let pat = created.body["token"].as_str().unwrap().to_owned();
        app.post("/api/movies", movie_body("Ronin"), Some(&pat)).await.assert_error(403, "email_unverified");

        // Reads work.
        app.get("/api/movies", Some(&user.token)).await.assert_status(200);
        app.get(&format!("/api/movies/{movie}"), Some(&user.token)).await.assert_status(200);
        app.get("/api/users/me/library", Some(&user.token)).await.assert_status(200);
        assert_eq!(me(&app, &user.token).await["email_verified"], false);
        // Its own account's writes work: a new link, a new password.
        resend(&app, &user.token).await.assert_status(202);
        let token = {
            let link = mail(&mut smtp).await;
            assert_ne!(link.verify_token().unwrap(), token);
            link.verify_token().unwrap()
        };
        let body = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
        app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await.assert_status(204);
        let login = app.login(&user.email, "a brand new passphrase").await;
        login.assert_status(200);
        let jwt = login.body["token"].as_str().unwrap().to_owned();

        // Verified: writes work.
        verify(&app, &token).await.assert_status(200);
        app.post("/api/movies", movie_body("Ronin"), Some(&jwt)).await.assert_status(200);
        app.send(Method::PUT, &library, Some(json!({"status": "watchlist"})), Some(&jwt)).await.assert_status(200);
        app.post("/api/movies", movie_body("Ronin 2"), Some(&pat)).await.assert_status(200);
        assert_eq!(movie_count(&app).await, 3);
    }

    async fn an_unverified_account_may_still_delete_itself(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let (user, _) = signed_up(&app, &mut smtp).await;
        app.send(Method::DELETE, "/api/users/me", Some(json!({"password": PASSWORD})), Some(&user.token)).await.assert_status(204);
        app.login(&user.email, PASSWORD).await.assert_error(401, "unauthorized");
    }

    async fn without_a_mail_server_verification_is_off_by_default_and_the_link_is_still_queued(backend) {
        let app = TestApp::spawn(backend.clone()).await;
        let user = app.new_user().await;
        assert_eq!(me(&app, &user.token).await["email_verified"], false);
        app.post("/api/movies", movie_body("Heat"), Some(&user.token)).await.assert_status(200);
        let links = format!("SELECT count(*) FROM outbox WHERE subject = '{VERIFICATION_SUBJECT}'");
        assert_eq!(app.database.select_count(&links).await, 1);

        // Asked for without a mail server, it holds all the same.
        let strict = TestApp::builder(backend).flag("--require-verified-email", "1").spawn().await;
        let user = strict.new_user().await;
        strict.post("/api/movies", movie_body("Heat"), Some(&user.token)).await.assert_error(403, "email_unverified");
    }

    async fn verification_can_be_turned_off_with_a_mail_server(backend) {
        let mut smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[("--require-verified-email", "false")]).await;
        let (user, _) = signed_up(&app, &mut smtp).await;
        app.post("/api/movies", movie_body("Heat"), Some(&user.token)).await.assert_status(200);
    }

    async fn an_account_moved_from_the_tutorial_counts_as_verified(backend) {
        let smtp = SmtpServer::start().await.every_mail();
        let app = app_with_mail(backend, &smtp, &[]).await;
        let dir = std::env::temp_dir().join(format!("movie-bag-import-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let hash = bcrypt::hash("secret", 4).unwrap();
        let users = dir.join("user.json");
        std::fs::write(&users, format!("{}\n", json!({"_id": {"$oid": "5ed4b5b40000000000000001"}, "email": "ann@example.com", "password": hash}))).unwrap();
        let movies = dir.join("movie.json");
        std::fs::write(&movies, "").unwrap();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_movie-bag"))
            .env_clear()
            .env("RUST_LOG", "warn")
            .env("DATABASE_URL", &app.database.url)
            .env("JWT_SECRET_KEY", TEST_JWT_KEY)
            .current_dir(std::env::temp_dir())
            .args(["import", "--users"])
            .arg(&users)
            .arg("--movies")
            .arg(&movies)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

        let login = app.login("ann@example.com", "secret").await;
        login.assert_status(200);
        let jwt = login.body["token"].as_str().unwrap();
        assert_eq!(me(&app, jwt).await["email_verified"], true);
        app.post("/api/movies", movie_body("Heat"), Some(jwt)).await.assert_status(200);
    }
}
