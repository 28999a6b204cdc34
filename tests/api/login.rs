//! POST /api/auth/login.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};

/// `moviebag_password_hashes_total` from `/metrics`: argon2 (or bcrypt) computations run.
pub async fn hashes_computed(app: &TestApp) -> u64 {
    let text = app.get("/metrics", None).await.body.as_str().unwrap().to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix("moviebag_password_hashes_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no moviebag_password_hashes_total in {text}"))
}

backend_tests! {
    async fn login_returns_the_token_pair_with_type_and_lifetime(backend) {
        let app = TestApp::spawn(backend).await;
        app.signup("paurakh011@gmail.com", "mycoolpassword").await.assert_status(200);
        let reply = app.login("paurakh011@gmail.com", "mycoolpassword").await;
        reply.assert_status(200);
        assert!(reply.body["token"].as_str().is_some_and(|t| t.split('.').count() == 3));
        assert!(reply.body["refresh_token"].as_str().is_some_and(|t| t.len() >= 32));
        assert_eq!(reply.body["token_type"], "Bearer");
        assert_eq!(reply.body["expires_in"], 7 * 24 * 3600);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }

    async fn the_access_token_lifetime_follows_the_setting(backend) {
        let app = TestApp::builder(backend).flag("--access-token-ttl", "15m").spawn().await;
        app.signup("a@example.com", PASSWORD).await.assert_status(200);
        assert_eq!(app.login("a@example.com", PASSWORD).await.body["expires_in"], 900);
    }

    async fn an_unknown_email_and_a_wrong_password_get_the_same_401(backend) {
        let app = TestApp::spawn(backend).await;
        app.signup("paurakh011@gmail.com", "mycoolpassword").await.assert_status(200);
        let unknown = app.login("nobody@gmail.com", "mycoolpassword").await;
        let wrong = app.login("paurakh011@gmail.com", "wrongpassword").await;
        unknown.assert_error(401, "unauthorized");
        wrong.assert_error(401, "unauthorized");
        assert_eq!(unknown.body, wrong.body);
        assert_eq!(unknown.body["message"], "Invalid username or password");
    }

    async fn an_unknown_email_costs_one_password_verification_as_a_wrong_password_does(backend) {
        // Both failures run one argon2 verification: the unknown email's against a dummy hash of
        // the parameters real hashes have (see the hasher's unit tests). How long each takes is
        // measured by scripts/bench-timing.sh, not here.
        let app = TestApp::spawn(backend).await;
        app.signup("a@example.com", PASSWORD).await.assert_status(200);
        let before = hashes_computed(&app).await;
        app.login("nobody@example.com", PASSWORD).await.assert_error(401, "unauthorized");
        let after_unknown = hashes_computed(&app).await;
        assert_eq!(after_unknown - before, 1, "an unknown email verified no password");
        app.login("a@example.com", "not the password").await.assert_error(401, "unauthorized");
        assert_eq!(hashes_computed(&app).await - after_unknown, 1, "a wrong password is verified once");
    }

    async fn login_without_a_password_is_400(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.post("/api/auth/login", json!({"email": "a@example.com"}), None).await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(reply.body["errors"]["password"][0], "is required");
    }

    async fn each_login_starts_its_own_session(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let second = app.login(&user.email, &user.password).await;
        assert_ne!(second.body["token"], user.token.as_str());
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.get("/api/users/me", second.body["token"].as_str()).await.assert_status(200);
    }
}
