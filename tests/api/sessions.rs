//! Sessions: refresh rotation and reuse detection, logout, logout-all, password change.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp, TestUser};

async fn refresh(app: &TestApp, refresh_token: &str) -> crate::helpers::Reply {
    app.post("/api/auth/refresh", json!({"refresh_token": refresh_token}), None).await
}

async fn second_session(app: &TestApp, user: &TestUser) -> (String, String) {
    let login = app.login(&user.email, &user.password).await;
    (login.body["token"].as_str().unwrap().to_owned(), login.body["refresh_token"].as_str().unwrap().to_owned())
}

backend_tests! {
    async fn refresh_returns_a_new_pair_and_the_old_refresh_token_stops_working(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let reply = refresh(&app, &user.refresh_token).await;
        reply.assert_status(200);
        assert_eq!(reply.body["token_type"], "Bearer");
        assert!(reply.body["expires_in"].as_u64().is_some());
        let new_token = reply.body["token"].as_str().unwrap();
        let new_refresh = reply.body["refresh_token"].as_str().unwrap();
        assert_ne!(new_refresh, user.refresh_token);
        app.get("/api/users/me", Some(new_token)).await.assert_status(200);
        refresh(&app, new_refresh).await.assert_status(200);
    }

    async fn a_rotated_refresh_token_presented_again_revokes_its_session(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let rotated = refresh(&app, &user.refresh_token).await;
        let (new_token, new_refresh) = (rotated.body["token"].as_str().unwrap(), rotated.body["refresh_token"].as_str().unwrap());
        // The thief (or the victim) replays the old token: the whole session dies.
        refresh(&app, &user.refresh_token).await.assert_error(401, "unauthorized");
        refresh(&app, new_refresh).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(new_token)).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
        // Other sessions of the user are untouched.
        let (other_token, _) = second_session(&app, &user).await;
        app.get("/api/users/me", Some(&other_token)).await.assert_status(200);
    }

    async fn one_refresh_token_presented_many_times_at_once_is_rotated_once_and_its_session_revoked(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let attempts = (0..8).map(|_| refresh(&app, &user.refresh_token));
        let replies = futures_util::future::join_all(attempts).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        // The first presentation to reach the store rotates the token (nothing is revoked before
        // a rotation); every other one finds it rotated, or loses the conditional update: reuse.
        let rotated: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
        assert_eq!(rotated.len(), 1, "one presentation of the token is rotated: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 7, "the others are refused: {statuses:?}");
        for refused in replies.iter().filter(|r| r.status == 401) {
            refused.assert_error(401, "unauthorized");
        }
        // The other presentations were reuse: the whole session is gone, the winner's pair too.
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
        let winner = rotated[0];
        app.get("/api/users/me", Some(winner.body["token"].as_str().unwrap())).await.assert_error(401, "unauthorized");
        refresh(&app, winner.body["refresh_token"].as_str().unwrap()).await.assert_error(401, "unauthorized");
    }

    async fn unknown_or_malformed_refresh_requests_are_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        refresh(&app, "not-a-refresh-token").await.assert_error(401, "unauthorized");
        refresh(&app, &user.token).await.assert_error(401, "unauthorized");
        app.post("/api/auth/refresh", json!({}), None).await.assert_error(400, "validation_failed");
        app.post("/api/auth/refresh", json!({"refresh_token": 5}), None).await.assert_error(400, "validation_failed");
        // None of that harmed the real session.
        refresh(&app, &user.refresh_token).await.assert_status(200);
    }

    async fn an_expired_session_cannot_be_refreshed(backend) {
        let app = TestApp::builder(backend).flag("--refresh-token-ttl", "1s").spawn().await;
        let user = app.new_user().await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        refresh(&app, &user.refresh_token).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
    }

    async fn logout_ends_this_session_at_once_and_only_this_one(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (other_token, other_refresh) = second_session(&app, &user).await;
        app.send(Method::POST, "/api/auth/logout", None, Some(&user.token)).await.assert_status(204);
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
        refresh(&app, &user.refresh_token).await.assert_error(401, "unauthorized");
        app.send(Method::POST, "/api/auth/logout", None, Some(&user.token)).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(&other_token)).await.assert_status(200);
        refresh(&app, &other_refresh).await.assert_status(200);
    }

    async fn logout_all_ends_every_session_of_the_user(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let bystander = app.new_user().await;
        let (other_token, other_refresh) = second_session(&app, &user).await;
        app.send(Method::POST, "/api/auth/logout-all", None, Some(&user.token)).await.assert_status(204);
        for token in [&user.token, &other_token] {
            app.get("/api/users/me", Some(token)).await.assert_error(401, "unauthorized");
        }
        refresh(&app, &other_refresh).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(&bystander.token)).await.assert_status(200);
        app.login(&user.email, &user.password).await.assert_status(200);
    }

    async fn logout_endpoints_need_a_token(backend) {
        let app = TestApp::spawn(backend).await;
        app.send(Method::POST, "/api/auth/logout", None, None).await.assert_error(401, "unauthorized");
        app.send(Method::POST, "/api/auth/logout-all", None, None).await.assert_error(401, "unauthorized");
        let body = json!({"current_password": PASSWORD, "new_password": "a new password"});
        app.send(Method::PUT, "/api/auth/password", Some(body), None).await.assert_error(401, "unauthorized");
    }

    async fn a_password_change_needs_the_current_password_and_ends_every_session(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (other_token, other_refresh) = second_session(&app, &user).await;
        let body = json!({"current_password": user.password, "new_password": "a brand new password"});
        app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await.assert_status(204);
        for token in [&user.token, &other_token] {
            app.get("/api/users/me", Some(token)).await.assert_error(401, "unauthorized");
        }
        refresh(&app, &other_refresh).await.assert_error(401, "unauthorized");
        app.login(&user.email, &user.password).await.assert_error(401, "unauthorized");
        app.login(&user.email, "a brand new password").await.assert_status(200);
    }

    async fn a_wrong_current_password_or_short_new_one_is_400_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let wrong = json!({"current_password": "not my password", "new_password": "a brand new password"});
        let reply = app.send(Method::PUT, "/api/auth/password", Some(wrong), Some(&user.token)).await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(reply.body["errors"]["current_password"][0], "is incorrect");
        let short = json!({"current_password": user.password, "new_password": "short"});
        let reply = app.send(Method::PUT, "/api/auth/password", Some(short), Some(&user.token)).await;
        reply.assert_error(400, "validation_failed");
        assert!(reply.body["errors"]["new_password"].is_array());
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.login(&user.email, &user.password).await.assert_status(200);
    }
}
