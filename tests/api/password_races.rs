//! Logins racing a password change or reset: once the change has answered, no session of a
//! login that verified the old password works, however the two interleaved.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp, TestUser};
use crate::password_reset::{MAIL_WAIT, app_with_mail, forgot, reset};
use crate::smtp::SmtpServer;

/// Logins with the old password, one started every few milliseconds until `stop` is set, so
/// that whenever the change lands some of them have read the old hash and are still verifying.
/// Returns every token pair a login was given.
fn keep_logging_in(
    app: &Arc<TestApp>,
    user: &TestUser,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(String, String)>> {
    let (app, email) = (Arc::clone(app), user.email.clone());
    tokio::spawn(async move {
        let mut logins = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let (app, email) = (Arc::clone(&app), email.clone());
            logins.push(tokio::spawn(async move { app.login(&email, PASSWORD).await }));
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
        let mut pairs = Vec::new();
        for login in logins {
            let reply = login.await.unwrap();
            if reply.status == 200 {
                let token = reply.body["token"].as_str().unwrap().to_owned();
                pairs.push((token, reply.body["refresh_token"].as_str().unwrap().to_owned()));
            }
        }
        pairs
    })
}

/// Every pair the logins were given is dead: neither the access nor the refresh token works.
async fn assert_all_dead(app: &TestApp, pairs: &[(String, String)]) {
    for (token, refresh_token) in pairs {
        app.get("/api/users/me", Some(token)).await.assert_error(401, "unauthorized");
        app.post("/api/auth/refresh", json!({"refresh_token": refresh_token}), None)
            .await
            .assert_error(401, "unauthorized");
    }
}

backend_tests! {
    async fn no_login_that_verified_the_old_password_keeps_a_session_after_a_password_change(backend) {
        let app = Arc::new(TestApp::spawn(backend).await);
        let user = app.new_user().await;
        let stop = Arc::new(AtomicBool::new(false));
        let logins = keep_logging_in(&app, &user, Arc::clone(&stop));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let body = json!({"current_password": PASSWORD, "new_password": "a changed passphrase"});
        app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await.assert_status(204);
        // Logins already under way go on verifying the old password for a while.
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.store(true, Ordering::SeqCst);
        let pairs = logins.await.unwrap();
        assert_all_dead(&app, &pairs).await;
        app.login(&user.email, PASSWORD).await.assert_error(401, "unauthorized");
        app.login(&user.email, "a changed passphrase").await.assert_status(200);
    }

    async fn no_login_that_verified_the_old_password_keeps_a_session_after_a_password_reset(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = Arc::new(app_with_mail(backend, &smtp, &[]).await);
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let logins = keep_logging_in(&app, &user, Arc::clone(&stop));
        tokio::time::sleep(Duration::from_millis(100)).await;
        reset(&app, &token, "a reset passphrase").await.assert_status(200);
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.store(true, Ordering::SeqCst);
        let pairs = logins.await.unwrap();
        assert_all_dead(&app, &pairs).await;
        app.login(&user.email, "a reset passphrase").await.assert_status(200);
    }
}
