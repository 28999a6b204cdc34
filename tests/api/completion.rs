//! A request received whole is carried out whole: security actions whose client hangs up before
//! reading the answer still take effect.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;
use tokio::io::AsyncWriteExt as _;

use crate::backend_tests;
use crate::helpers::TestApp;

/// Sends a complete request and closes the connection without reading a byte of the answer.
async fn send_and_hang_up(app: &TestApp, method: &str, path: &str, token: &str, body: Option<serde_json::Value>) {
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    stream.flush().await.expect("flush");
    drop(stream);
}

/// Waits (at most 10 s) until `check` holds; false if it never did.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn token_is_refused(app: &TestApp, token: &str) -> bool {
    app.get("/api/users/me", Some(token)).await.status == 401
}

backend_tests! {
    async fn a_logout_whose_client_hangs_up_still_revokes_the_token(backend) {
        let app = TestApp::spawn(backend).await;
        let mut users = Vec::new();
        for _ in 0..40 {
            users.push(app.new_user().await);
        }
        for user in &users {
            send_and_hang_up(&app, "POST", "/api/auth/logout", &user.token, None).await;
        }
        for user in &users {
            assert!(eventually(|| token_is_refused(&app, &user.token)).await, "a logout was lost");
        }
    }

    async fn a_logout_all_whose_client_hangs_up_still_revokes_every_session(backend) {
        let app = TestApp::spawn(backend).await;
        let mut sessions = Vec::new();
        for _ in 0..10 {
            let user = app.new_user().await;
            let other = app.login(&user.email, &user.password).await.body["token"].as_str().unwrap().to_owned();
            sessions.push((user, other));
        }
        for (user, _) in &sessions {
            send_and_hang_up(&app, "POST", "/api/auth/logout-all", &user.token, None).await;
        }
        for (user, other) in &sessions {
            assert!(eventually(|| token_is_refused(&app, &user.token)).await, "logout-all was lost");
            assert!(eventually(|| token_is_refused(&app, other)).await, "the other session survived");
        }
    }

    async fn a_movie_create_and_patch_whose_client_hangs_up_are_still_stored(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let kept = app.create_movie(&user.token, "Kept").await;
        for i in 0..10 {
            let body = json!({"name": format!("Abandoned {i}"), "casts": ["A"], "genres": ["B"]});
            send_and_hang_up(&app, "POST", "/api/movies", &user.token, Some(body)).await;
        }
        send_and_hang_up(&app, "PATCH", &format!("/api/movies/{kept}"), &user.token, Some(json!({"genres": ["Late"]}))).await;
        let all_there = eventually(|| async {
            let names: Vec<String> =
                app.all_movies().await.iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
            (0..10).all(|i| names.contains(&format!("Abandoned {i}")))
        })
        .await;
        assert!(all_there, "a create was lost");
        assert!(eventually(|| async { app.movie(&kept).await.body["genres"] == json!(["Late"]) }).await, "the patch was lost");
    }

    async fn a_password_change_whose_client_hangs_up_still_takes_effect(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let body = json!({"current_password": user.password, "new_password": "a brand new passphrase"});
        send_and_hang_up(&app, "PUT", "/api/auth/password", &user.token, Some(body)).await;
        assert!(eventually(|| token_is_refused(&app, &user.token)).await, "the change did not end the session");
        assert!(eventually(|| async { app.login(&user.email, "a brand new passphrase").await.status == 200 }).await);
        app.login(&user.email, &user.password).await.assert_error(401, "unauthorized");
    }

    async fn a_demotion_whose_admin_hangs_up_still_takes_effect(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let mut others = Vec::new();
        for _ in 0..10 {
            others.push(app.new_admin().await);
        }
        for other in &others {
            let path = format!("/api/users/{}", other.id);
            send_and_hang_up(&app, "PATCH", &path, &admin.token, Some(json!({"role": "user"}))).await;
        }
        for other in &others {
            let demoted = eventually(|| async { app.get("/api/users", Some(&other.token)).await.status == 403 }).await;
            assert!(demoted, "a demotion was lost");
        }
    }

    async fn a_user_deletion_whose_admin_hangs_up_still_deletes_the_user(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let mut victims = Vec::new();
        for _ in 0..10 {
            victims.push(app.new_user().await);
        }
        for victim in &victims {
            send_and_hang_up(&app, "DELETE", &format!("/api/users/{}", victim.id), &admin.token, None).await;
        }
        for victim in &victims {
            assert!(eventually(|| token_is_refused(&app, &victim.token)).await, "a deletion was lost");
        }
        let users = app.send(Method::GET, "/api/users", None, Some(&admin.token)).await;
        assert_eq!(users.body.as_array().unwrap().len(), 1, "only the admin is left: {}", users.body);
    }
}

/// A counter from `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics", None).await.body.as_str().unwrap_or_default().to_owned();
    let prefix = format!("{name} ");
    text.lines().find_map(|line| line.strip_prefix(&prefix)).and_then(|n| n.parse().ok()).unwrap_or(0)
}

backend_tests! {
    async fn logins_whose_clients_hang_up_before_their_turn_are_not_hashed(backend) {
        let app = TestApp::builder(backend).flag("--hash-queue-limit", "500").spawn().await;
        let user = app.new_user().await;
        let before = counter(&app, "moviebag_password_hashes_total").await;
        let body = json!({"email": user.email, "password": user.password});
        for _ in 0..60 {
            send_and_hang_up(&app, "POST", "/api/auth/login", "none", Some(body.clone())).await;
        }
        let settled = eventually(|| async {
            counter(&app, "moviebag_password_hashes_total").await
                + counter(&app, "moviebag_password_hashes_skipped_total").await
                >= before + 60
        })
        .await;
        assert!(settled, "not every login reached the hasher");
        let computed = counter(&app, "moviebag_password_hashes_total").await - before;
        let skipped = counter(&app, "moviebag_password_hashes_skipped_total").await;
        eprintln!("abandoned logins: {computed} hashed, {skipped} skipped");
        assert!(skipped > 0, "every abandoned login was hashed");
        assert_eq!(computed + skipped, 60);
    }
}
