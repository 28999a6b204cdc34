//! AUTH_RATE_LIMIT_PER_MINUTE on signup, login, refresh, forgot and reset.

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};

/// A failed login claiming to come from `client_ip` through a proxy; returns the status.
async fn login_via(app: &TestApp, client_ip: &str) -> u16 {
    let request = app
        .client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", client_ip)
        .json(&json!({"email": "a@example.com", "password": PASSWORD}));
    request.send().await.unwrap().status().as_u16()
}

backend_tests! {
    async fn the_request_after_the_limit_is_429_with_retry_after(backend) {
        let app = TestApp::builder(backend).flag("--auth-rate-limit-per-minute", "3").spawn().await;
        app.signup("a@example.com", PASSWORD).await.assert_status(200);
        app.login("a@example.com", "wrong password").await.assert_error(401, "unauthorized");
        let login = app.login("a@example.com", PASSWORD).await;
        login.assert_status(200);
        let limited = app.login("a@example.com", PASSWORD).await;
        limited.assert_error(429, "rate_limited");
        let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        // Every limited endpoint shares the client's budget.
        app.signup("b@example.com", PASSWORD).await.assert_error(429, "rate_limited");
        app.post("/api/auth/forgot", json!({"email": "a@example.com"}), None).await.assert_error(429, "rate_limited");
        app.post("/api/auth/reset", json!({"reset_token": "x", "password": PASSWORD}), None).await.assert_error(429, "rate_limited");
        app.post("/api/auth/refresh", json!({"refresh_token": "x"}), None).await.assert_error(429, "rate_limited");
        assert!(app.state.store.user_by_email(&movie_bag::domain::Email::parse("b@example.com").unwrap()).await.unwrap().is_none());
        // Reads and authenticated requests are not limited by it.
        let token = login.body["token"].as_str().unwrap();
        for _ in 0..10 {
            app.get("/api/movies", None).await.assert_status(200);
            app.get("/api/users/me", Some(token)).await.assert_status(200);
        }
    }

    async fn a_forwarded_address_counts_only_behind_a_trusted_proxy(backend) {
        let app = TestApp::builder(backend)
            .flag("--auth-rate-limit-per-minute", "1")
            .flag("--trusted-proxies", "127.0.0.1")
            .spawn()
            .await;
        assert_eq!(login_via(&app, "203.0.113.1").await, 401);
        assert_eq!(login_via(&app, "203.0.113.1").await, 429);
        assert_eq!(login_via(&app, "203.0.113.2").await, 401, "another client behind the proxy has its own budget");
    }

    async fn a_forwarded_address_from_an_untrusted_peer_is_ignored(backend) {
        let app = TestApp::builder(backend).flag("--auth-rate-limit-per-minute", "1").spawn().await;
        assert_eq!(login_via(&app, "203.0.113.1").await, 401);
        assert_eq!(login_via(&app, "203.0.113.2").await, 429, "spoofed headers do not buy a new budget");
    }
}
