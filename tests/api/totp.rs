//! Two-step sign-in with TOTP: enrolment (`POST /api/auth/mfa/totp`, `.../confirm`), the second
//! step of a login (`POST /api/auth/login/mfa`), recovery codes, turning it off (the owner's
//! `DELETE /api/auth/mfa/totp`, an admin's `DELETE /api/users/{id}/mfa`), and what is never
//! shown or stored. Codes are computed here from the secret the server handed out, with
//! totp-rs configured by the test (SHA-1, 6 digits, 30 s), never by asking the server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, TestUser, read};
use crate::password_reset::{MAIL_WAIT, app_with_mail};
use crate::process::ServerProcess;
use crate::smtp::SmtpServer;

const STEP: u64 = 30;

fn now_unix() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The code of `secret` (base32, as the server gave it) for time step `step`.
fn code_at_step(secret: &str, step: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("a base32 secret");
    let totp = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(STEP)
        .with_secret(bytes)
        .build()
        .expect("RFC 6238 parameters");
    totp.generate(step * STEP).to_string()
}

/// The current time step, once at least 5 seconds of it are left: a test's codes are computed
/// against the step the server is in when it checks them.
async fn fresh_step() -> u64 {
    let left = STEP - now_unix() % STEP;
    if left < 5 {
        tokio::time::sleep(Duration::from_secs(left + 1)).await;
    }
    now_unix() / STEP
}

/// Six digits that are no code of `secret` near `step`.
fn wrong_code(secret: &str, step: u64) -> String {
    let near: Vec<String> = (step - 3..=step + 3).map(|s| code_at_step(secret, s)).collect();
    (0..).map(|n: u32| format!("{:06}", n * 7919 % 1_000_000)).find(|c| !near.contains(c)).unwrap()
}

async fn send(app: &TestApp, method: Method, path: &str, body: Value, token: &str) -> Reply {
    app.send(method, path, Some(body), Some(token)).await
}

async fn enrol(app: &TestApp, user: &TestUser) -> Reply {
    send(app, Method::POST, "/api/auth/mfa/totp", json!({"password": user.password}), &user.token).await
}

async fn confirm(app: &TestApp, user: &TestUser, code: &str) -> Reply {
    send(app, Method::POST, "/api/auth/mfa/totp/confirm", json!({"code": code}), &user.token).await
}

/// Enrols and confirms with the previous step's code (drift allowed), leaving the current step's
/// code unused: (secret, recovery codes, current step).
async fn turn_on(app: &TestApp, user: &TestUser) -> (String, Vec<String>, u64) {
    let step = fresh_step().await;
    let enrolled = enrol(app, user).await;
    enrolled.assert_status(200);
    let secret = enrolled.body["secret"].as_str().unwrap().to_owned();
    let confirmed = confirm(app, user, &code_at_step(&secret, step - 1)).await;
    confirmed.assert_status(200);
    let codes = confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned());
    (secret, codes.collect(), step)
}

async fn mfa_of(app: &TestApp, user: &TestUser) -> Value {
    let me = app.get("/api/users/me", Some(&user.token)).await;
    me.assert_status(200);
    me.body["mfa"].clone()
}

/// The password step of a login on an account with TOTP on: its `mfa_token`.
async fn password_step(app: &TestApp, user: &TestUser) -> String {
    let login = app.login(&user.email, &user.password).await;
    login.assert_status(200);
    assert_eq!(login.body["mfa_required"], true, "{}", login.body);
    assert!(login.body.get("token").is_none() && login.body.get("refresh_token").is_none(), "{}", login.body);
    assert_eq!(login.body["expires_in"], 300);
    login.body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, mfa_token: &str, code: &str) -> Reply {
    app.post("/api/auth/login/mfa", json!({"mfa_token": mfa_token, "code": code}), None).await
}

async fn event_types(app: &TestApp, user: &TestUser) -> Vec<String> {
    let reply = app.get("/api/users/me/security-events?limit=100", Some(&user.token)).await;
    reply.assert_status(200);
    reply.body.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

backend_tests! {
    async fn enrolment_hands_out_an_rfc_6238_secret_that_stays_pending_until_its_code_confirms_it(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let reply = enrol(&app, &user).await;
        reply.assert_status(200);
        let secret = reply.body["secret"].as_str().unwrap();
        assert_eq!(secret.len(), 32, "160 bits in base32: {secret}");
        let uri = reply.body["otpauth_uri"].as_str().unwrap();
        let email = user.email.replace('@', "%40");
        assert!(uri.starts_with(&format!("otpauth://totp/movie-bag:{email}?")), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=movie-bag"), "{uri}");
        // The URI as a QR code's modules, for a page to draw: square, version 1 (21) or larger,
        // only 0 and 1, and a finder pattern's dark top row in the top-left corner.
        let qr = &reply.body["otpauth_qr"];
        let size = qr["size"].as_u64().unwrap() as usize;
        let rows: Vec<&str> = qr["rows"].as_array().unwrap().iter().map(|row| row.as_str().unwrap()).collect();
        assert!(size >= 21 && (size - 17).is_multiple_of(4), "{size}");
        assert_eq!(rows.len(), size);
        assert!(rows.iter().all(|row| row.len() == size && row.chars().all(|c| c == '0' || c == '1')), "{rows:?}");
        assert!(rows[0].starts_with("1111111") && rows[6].starts_with("1111111"), "{rows:?}");
        // Pending: nothing is on, and a login still answers tokens.
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": false, "recovery_codes_left": 0}));
        let login = app.login(&user.email, &user.password).await;
        login.assert_status(200);
        assert!(login.body["token"].is_string());
    }

    async fn a_wrong_code_does_not_confirm_and_the_right_one_turns_totp_on_with_ten_recovery_codes(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let step = fresh_step().await;
        let secret = enrol(&app, &user).await.body["secret"].as_str().unwrap().to_owned();

        let wrong = confirm(&app, &user, &wrong_code(&secret, step)).await;
        wrong.assert_error(400, "validation_failed");
        assert_eq!(wrong.body["errors"]["code"][0], "is incorrect");
        confirm(&app, &user, "not a code").await.assert_error(400, "validation_failed");
        assert_eq!(mfa_of(&app, &user).await["totp"], false, "nothing is on after wrong codes");
        assert!(app.login(&user.email, &user.password).await.body["token"].is_string());

        let right = confirm(&app, &user, &code_at_step(&secret, step)).await;
        right.assert_status(200);
        let codes = right.body["recovery_codes"].as_array().unwrap();
        assert_eq!(codes.len(), 10);
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), 10);
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": true, "recovery_codes_left": 10}));
        // Once on, confirming again or enrolling again is a conflict, and nothing changes.
        confirm(&app, &user, &code_at_step(&secret, step + 1)).await.assert_error(409, "conflict");
        enrol(&app, &user).await.assert_error(409, "conflict");
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": true, "recovery_codes_left": 10}));
    }

    async fn a_second_enrolment_while_pending_replaces_the_first_secret(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let step = fresh_step().await;
        let first = enrol(&app, &user).await.body["secret"].as_str().unwrap().to_owned();
        let second = enrol(&app, &user).await.body["secret"].as_str().unwrap().to_owned();
        assert_ne!(first, second);
        let stale = confirm(&app, &user, &code_at_step(&first, step)).await;
        if code_at_step(&first, step) != code_at_step(&second, step) {
            stale.assert_error(400, "validation_failed");
        }
        confirm(&app, &user, &code_at_step(&second, step)).await.assert_status(200);
    }

    async fn enrolment_needs_the_password_and_a_wrong_one_is_a_400_that_starts_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let wrong = send(&app, Method::POST, "/api/auth/mfa/totp", json!({"password": "not my password"}), &user.token).await;
        wrong.assert_error(400, "validation_failed");
        assert_eq!(wrong.body["errors"]["password"][0], "is incorrect");
        assert!(wrong.body.get("secret").is_none());
        confirm(&app, &user, "123456").await.assert_error(400, "bad_request");
        send(&app, Method::POST, "/api/auth/mfa/totp", json!({}), &user.token).await.assert_error(400, "validation_failed");
        app.post("/api/auth/mfa/totp", json!({"password": user.password}), None).await.assert_error(401, "unauthorized");
        app.post("/api/auth/mfa/totp/confirm", json!({"code": "123456"}), None).await.assert_error(401, "unauthorized");
    }

    async fn with_totp_on_a_login_answers_mfa_required_and_the_right_code_gives_working_tokens_once(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;

        let mfa_token = password_step(&app, &user).await;
        let far = second_step(&app, &mfa_token, &code_at_step(&secret, step + 2)).await;
        if ![step - 1, step, step + 1].iter().any(|s| code_at_step(&secret, *s) == code_at_step(&secret, step + 2)) {
            far.assert_error(401, "unauthorized");
        }
        let tokens = second_step(&app, &mfa_token, &code_at_step(&secret, step)).await;
        tokens.assert_status(200);
        assert_eq!(tokens.body["token_type"], "Bearer");
        let access = tokens.body["token"].as_str().unwrap();
        app.get("/api/users/me", Some(access)).await.assert_status(200);
        let refreshed = app.post("/api/auth/refresh", json!({"refresh_token": tokens.body["refresh_token"]}), None).await;
        refreshed.assert_status(200);

        // The same mfa_token again, and the same code with a new mfa_token: both refused.
        second_step(&app, &mfa_token, &code_at_step(&secret, step)).await.assert_error(401, "unauthorized");
        let again = password_step(&app, &user).await;
        let reused = second_step(&app, &again, &code_at_step(&secret, step)).await;
        reused.assert_error(401, "unauthorized");
        assert_eq!(reused.body["message"], far.body["message"], "one answer for every refusal");
        // The session of the second step is listed with the sign-in's client, as a login's is.
        let sessions = app.get("/api/auth/sessions", Some(access)).await;
        let current: Vec<&Value> = sessions.body.as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["ip"], "127.0.0.1");
    }

    async fn an_unknown_or_malformed_mfa_token_is_401_with_the_answer_of_a_wrong_code(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;
        let mfa_token = password_step(&app, &user).await;
        let wrong = second_step(&app, &mfa_token, &wrong_code(&secret, step)).await;
        wrong.assert_error(401, "unauthorized");
        for token in ["", "x", &"a".repeat(5000), &format!("{mfa_token}x")] {
            let reply = second_step(&app, token, &code_at_step(&secret, step)).await;
            reply.assert_error(401, "unauthorized");
            assert_eq!(reply.body, wrong.body);
        }
        // A refresh token or access token is no mfa_token.
        second_step(&app, &user.refresh_token, &code_at_step(&secret, step)).await.assert_error(401, "unauthorized");
        app.post("/api/auth/login/mfa", json!({"mfa_token": mfa_token}), None).await.assert_error(400, "validation_failed");
        // The code was never spent by those: the real token takes it.
        second_step(&app, &mfa_token, &code_at_step(&secret, step)).await.assert_status(200);
    }

    async fn an_expired_mfa_token_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;
        let mfa_token = password_step(&app, &user).await;
        // Five minutes pass (expiry moved into the past, in the database's own time format).
        let past = if app.database.is_sqlite() { "expires_at - 301000000" } else { "expires_at - interval '301 seconds'" };
        app.database.execute(&format!("UPDATE mfa_challenges SET expires_at = {past}")).await;
        second_step(&app, &mfa_token, &code_at_step(&secret, step)).await.assert_error(401, "unauthorized");
    }

    async fn five_wrong_codes_end_the_mfa_token_and_the_right_code_then_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;
        let mfa_token = password_step(&app, &user).await;
        for _ in 0..5 {
            second_step(&app, &mfa_token, &wrong_code(&secret, step)).await.assert_error(401, "unauthorized");
        }
        second_step(&app, &mfa_token, &code_at_step(&secret, step)).await.assert_error(401, "unauthorized");
        // The code itself was not spent: a new sign-in takes it.
        let fresh = password_step(&app, &user).await;
        second_step(&app, &fresh, &code_at_step(&secret, step)).await.assert_status(200);
        let failed = app
            .get("/api/users/me/security-events?limit=100", Some(&user.token))
            .await
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "mfa_failed")
            .cloned()
            .expect("an mfa_failed event");
        assert_eq!(failed["count"], 5, "the failures of the hour folded into one event: {failed}");
        let metrics = app.get("/metrics", None).await;
        let text = metrics.body.as_str().unwrap_or_default().to_owned();
        assert!(text.contains("moviebag_mfa_failures_total 5\n"), "{text}");
        assert!(text.contains("moviebag_mfa_logins_total 1\n"), "{text}");
    }

    async fn wrong_codes_count_in_the_accounts_failed_login_throttle_until_429(backend) {
        let app = TestApp::builder(backend)
            .flag("--account-failed-login-limit", "4")
            .flag("--trusted-proxies", "127.0.0.1")
            .spawn()
            .await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;
        // From an address the account never signed in from, so it is not exempt.
        let from_afar = |path: &str, body: Value| {
            app.client.post(app.url(path)).header("x-forwarded-for", "203.0.113.7").json(&body).send()
        };
        let login = read(from_afar("/api/auth/login", json!({"email": user.email, "password": user.password})).await.unwrap()).await;
        login.assert_status(200);
        let mfa_token = login.body["mfa_token"].as_str().unwrap().to_owned();
        let mut statuses = Vec::new();
        for _ in 0..5 {
            let body = json!({"mfa_token": mfa_token, "code": wrong_code(&secret, step)});
            let reply = read(from_afar("/api/auth/login/mfa", body).await.unwrap()).await;
            statuses.push(reply.status.as_u16());
            if reply.status == 429 {
                assert!(reply.header("retry-after").is_some());
                break;
            }
        }
        assert_eq!(statuses.last(), Some(&429), "statuses: {statuses:?}");
        assert!(statuses[..statuses.len() - 1].iter().all(|s| *s == 401), "statuses: {statuses:?}");
        // Throttled: even the right code is not checked from there.
        let right = json!({"mfa_token": mfa_token, "code": code_at_step(&secret, step)});
        read(from_afar("/api/auth/login/mfa", right).await.unwrap()).await.assert_error(429, "rate_limited");
    }

    async fn wrong_confirmation_codes_count_in_the_throttle_too(backend) {
        let app = TestApp::builder(backend)
            .flag("--account-failed-login-limit", "3")
            .flag("--trusted-proxies", "127.0.0.1")
            .spawn()
            .await;
        let user = app.new_user().await;
        let step = fresh_step().await;
        let secret = enrol(&app, &user).await.body["secret"].as_str().unwrap().to_owned();
        // A stolen session, used from elsewhere, guessing the owner's pending code.
        let guess = |code: String| {
            let request = app.client.post(app.url("/api/auth/mfa/totp/confirm")).header("x-forwarded-for", "203.0.113.8");
            request.bearer_auth(&user.token).json(&json!({"code": code})).send()
        };
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(read(guess(wrong_code(&secret, step)).await.unwrap()).await.status.as_u16());
        }
        assert_eq!(statuses, [400, 400, 429, 429]);
        read(guess(code_at_step(&secret, step)).await.unwrap()).await.assert_error(429, "rate_limited");
        assert_eq!(mfa_of(&app, &user).await["totp"], false);
    }

    async fn a_recovery_code_signs_in_once_and_the_count_left_drops(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (_, codes, _) = turn_on(&app, &user).await;
        let mfa_token = password_step(&app, &user).await;
        let tokens = second_step(&app, &mfa_token, &codes[3].to_lowercase()).await;
        tokens.assert_status(200);
        app.get("/api/users/me", Some(tokens.body["token"].as_str().unwrap())).await.assert_status(200);
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": true, "recovery_codes_left": 9}));
        let again = password_step(&app, &user).await;
        second_step(&app, &again, &codes[3]).await.assert_error(401, "unauthorized");
        assert_eq!(mfa_of(&app, &user).await["recovery_codes_left"], 9);
        assert!(event_types(&app, &user).await.contains(&"recovery_code_used".to_owned()));
        second_step(&app, &again, &codes[4]).await.assert_status(200);
        assert_eq!(mfa_of(&app, &user).await["recovery_codes_left"], 8);
    }

    async fn turning_totp_off_needs_the_password_and_a_code_and_wrong_ones_change_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;
        let off = |password: &str, code: String| {
            app.send(Method::DELETE, "/api/auth/mfa/totp", Some(json!({"password": password, "code": code})), Some(&user.token))
        };
        let wrong_password = off("not my password", code_at_step(&secret, step)).await;
        wrong_password.assert_error(400, "validation_failed");
        assert_eq!(wrong_password.body["errors"]["password"][0], "is incorrect");
        let wrong = off(&user.password, wrong_code(&secret, step)).await;
        wrong.assert_error(400, "validation_failed");
        assert_eq!(wrong.body["errors"]["code"][0], "is incorrect");
        app.send(Method::DELETE, "/api/auth/mfa/totp", Some(json!({"password": user.password})), Some(&user.token))
            .await
            .assert_error(400, "validation_failed");
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": true, "recovery_codes_left": 10}));
        password_step(&app, &user).await;

        off(&user.password, code_at_step(&secret, step)).await.assert_status(204);
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": false, "recovery_codes_left": 0}));
        assert!(app.login(&user.email, &user.password).await.body["token"].is_string(), "tokens at once again");
        off(&user.password, code_at_step(&secret, step + 1)).await.assert_error(400, "bad_request");
        let events = event_types(&app, &user).await;
        for expected in ["mfa_enabled", "mfa_failed", "mfa_disabled"] {
            assert!(events.contains(&expected.to_owned()), "{expected} in {events:?}");
        }
    }

    async fn a_recovery_code_also_turns_totp_off(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (_, codes, _) = turn_on(&app, &user).await;
        let body = json!({"password": user.password, "code": codes[0]});
        app.send(Method::DELETE, "/api/auth/mfa/totp", Some(body), Some(&user.token)).await.assert_status(204);
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": false, "recovery_codes_left": 0}));
    }

    async fn an_admin_turns_a_users_totp_off_and_the_user_is_told_by_email(backend) {
        let mut smtp = SmtpServer::start().await;
        // The users here never confirm their addresses: the verified-email rule (on with a mail
        // server) would answer the non-admin's attempt before the role check does.
        let app = app_with_mail(backend, &smtp, &[("--require-verified-email", "false")]).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let (secret, _, _) = turn_on(&app, &user).await;
        let on = smtp.next_mail(MAIL_WAIT).await.expect("the email saying it is on");
        assert_eq!(on.recipients, vec![user.email.clone()]);
        assert!(on.text().contains("Two-step sign-in was just turned on"), "{}", on.text());
        assert!(!on.text().contains(&secret));

        let path = format!("/api/users/{}/mfa", user.id);
        app.send(Method::DELETE, &path, None, Some(&user.token)).await.assert_error(403, "forbidden");
        app.send(Method::DELETE, &path, None, None).await.assert_error(401, "unauthorized");
        assert_eq!(mfa_of(&app, &user).await["totp"], true, "refused requests change nothing");
        app.send(Method::DELETE, "/api/users/0190d0c0-0000-7000-8000-000000000000/mfa", None, Some(&admin.token))
            .await
            .assert_error(404, "not_found");
        app.send(Method::DELETE, "/api/users/nope/mfa", None, Some(&admin.token)).await.assert_error(404, "not_found");

        app.send(Method::DELETE, &path, None, Some(&admin.token)).await.assert_status(204);
        assert_eq!(mfa_of(&app, &user).await, json!({"totp": false, "recovery_codes_left": 0}));
        assert!(app.login(&user.email, &user.password).await.body["token"].is_string());
        let told = smtp.next_mail(MAIL_WAIT).await.expect("the email saying an admin turned it off");
        assert_eq!(told.recipients, vec![user.email.clone()]);
        assert!(told.text().contains("An administrator turned off two-step sign-in"), "{}", told.text());
        assert!(event_types(&app, &user).await.contains(&"mfa_disabled".to_owned()));
    }

    async fn a_personal_access_token_cannot_manage_two_step_sign_in(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let admin = app.new_admin().await;
        let created = app.post("/api/auth/tokens", json!({"name": "script", "scopes": ["movies:write", "library:write"]}), Some(&user.token)).await;
        created.assert_status(201);
        let pat = created.body["token"].as_str().unwrap();
        for (method, path, body) in [
            (Method::POST, "/api/auth/mfa/totp", json!({"password": user.password})),
            (Method::POST, "/api/auth/mfa/totp/confirm", json!({"code": "123456"})),
            (Method::DELETE, "/api/auth/mfa/totp", json!({"password": user.password, "code": "123456"})),
        ] {
            let reply = app.send(method, path, Some(body), Some(pat)).await;
            reply.assert_error(403, "insufficient_scope");
            assert_eq!(reply.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope""#));
        }
        let admin_pat = app.post("/api/auth/tokens", json!({"name": "admin script", "scopes": []}), Some(&admin.token)).await;
        let admin_pat = admin_pat.body["token"].as_str().unwrap();
        let reset = app.send(Method::DELETE, &format!("/api/users/{}/mfa", user.id), None, Some(admin_pat)).await;
        reset.assert_error(403, "insufficient_scope");
        assert_eq!(mfa_of(&app, &user).await["totp"], false, "nothing was started");
    }

    async fn the_secret_is_never_shown_again_nor_stored_in_plaintext(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        let (secret, codes, _) = turn_on(&app, &user).await;
        smtp.next_mail(MAIL_WAIT).await.expect("the email saying it is on");
        let me = app.get("/api/users/me", Some(&user.token)).await;
        let events = app.get("/api/users/me/security-events?limit=100", Some(&user.token)).await;
        let sessions = app.get("/api/auth/sessions", Some(&user.token)).await;
        for reply in [&me, &events, &sessions] {
            let text = reply.body.to_string();
            assert!(!text.contains(&secret), "{text}");
            assert!(codes.iter().all(|code| !text.contains(code.as_str())), "{text}");
        }
        let stored: String = app
            .database
            .select_one("SELECT secret_sealed FROM totp_credentials WHERE user_id = $1", &[user.id.as_str()])
            .await;
        assert!(!stored.contains(&secret) && !stored.to_uppercase().contains(&secret), "{stored}");
        assert!(stored.len() > 40, "nonce, ciphertext and tag: {stored}");
        let plain_codes = app
            .database
            .select_count(&format!(
                "SELECT count(*) FROM recovery_codes WHERE code_hash IN ('{}')",
                codes.iter().map(|c| c.replace('-', "")).collect::<Vec<_>>().join("','")
            ))
            .await;
        assert_eq!(plain_codes, 0, "recovery codes are kept as hashes");
        let outbox = app.database.select_count(&format!("SELECT count(*) FROM outbox WHERE body LIKE '%{secret}%'")).await;
        assert_eq!(outbox, 0);
    }

    async fn a_code_accepted_by_one_server_process_is_refused_by_the_other(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let (secret, _, step) = turn_on(&app, &user).await;
        let here = password_step(&app, &user).await;
        let login = json!({"email": user.email, "password": user.password});
        let there = read(app.client.post(format!("{}/api/auth/login", other.address)).json(&login).send().await.unwrap()).await;
        let there = there.body["mfa_token"].as_str().expect("an mfa_token from the other process").to_owned();
        let code = code_at_step(&secret, step);
        let attempts = [(app.address.clone(), here), (other.address.clone(), there)].map(|(base, token)| {
            let body = json!({"mfa_token": token, "code": code});
            let request = app.client.post(format!("{base}/api/auth/login/mfa")).json(&body).send();
            async move { read(request.await.unwrap()).await.status.as_u16() }
        });
        let mut statuses = join_all(attempts).await;
        statuses.sort();
        assert_eq!(statuses, [200, 401], "the code works once across both processes");
    }
}

backend_tests! {
    async fn no_secret_code_or_token_of_two_step_sign_in_reaches_the_log_even_at_debug(backend) {
        let database = crate::helpers::TestDatabase::create(&backend).await;
        let log = std::env::temp_dir().join(format!("movie-bag-log-{}.txt", uuid::Uuid::new_v4().simple()));
        let options = crate::process::ProcessOptions {
            env: vec![("RUST_LOG".into(), "debug".into())],
            log_file: Some(log.clone()),
            ..Default::default()
        };
        let server = ServerProcess::start_with(&database, options).await;
        let client = reqwest::Client::new();
        let call = |method: Method, path: &str, body: Value, token: Option<String>| {
            let mut request = client.request(method, format!("{}{path}", server.address)).json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            async move { read(request.send().await.unwrap()).await }
        };
        let email = "totp-log@example.com";
        let credentials = json!({"email": email, "password": crate::helpers::PASSWORD});
        call(Method::POST, "/api/auth/signup", credentials.clone(), None).await.assert_status(200);
        let token = call(Method::POST, "/api/auth/login", credentials.clone(), None).await.body["token"].as_str().unwrap().to_owned();
        let step = fresh_step().await;
        let enrolled = call(Method::POST, "/api/auth/mfa/totp", json!({"password": crate::helpers::PASSWORD}), Some(token.clone())).await;
        let secret = enrolled.body["secret"].as_str().unwrap().to_owned();
        let first = code_at_step(&secret, step - 1);
        let confirmed = call(Method::POST, "/api/auth/mfa/totp/confirm", json!({"code": first}), Some(token.clone())).await;
        confirmed.assert_status(200);
        let codes: Vec<String> = confirmed.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
        let mfa_token = call(Method::POST, "/api/auth/login", credentials.clone(), None).await.body["mfa_token"].as_str().unwrap().to_owned();
        let wrong = wrong_code(&secret, step);
        call(Method::POST, "/api/auth/login/mfa", json!({"mfa_token": mfa_token, "code": wrong}), None).await.assert_status(401);
        let right = code_at_step(&secret, step);
        call(Method::POST, "/api/auth/login/mfa", json!({"mfa_token": mfa_token, "code": right}), None).await.assert_status(200);
        let other = call(Method::POST, "/api/auth/login", credentials, None).await.body["mfa_token"].as_str().unwrap().to_owned();
        call(Method::POST, "/api/auth/login/mfa", json!({"mfa_token": other, "code": codes[0]}), None).await.assert_status(200);
        let off = json!({"password": crate::helpers::PASSWORD, "code": codes[1]});
        call(Method::DELETE, "/api/auth/mfa/totp", off, Some(token)).await.assert_status(204);
        drop(server);

        let text = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_file(&log);
        assert!(text.contains("second step refused") && text.contains("recovery code used"), "the flow was logged:\n{text}");
        let mut secrets = vec![secret.clone(), mfa_token, other];
        secrets.extend(codes.iter().cloned());
        secrets.extend(codes.iter().map(|code| code.replace('-', "")));
        // Six digits turn up by chance among a debug log's numbers (times, ports): a code is
        // looked for the way a leak would show it, quoted or as a field.
        for code in [first, wrong, right] {
            secrets.extend([format!("\"{code}\""), format!("code={code}"), format!("code: {code}")]);
        }
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret} is in the log:\n{text}");
        }
    }
}
