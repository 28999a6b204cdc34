//! What an operator relies on: metrics, readiness, headers, CORS, timeouts, and clean logs.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, TestDatabase, read};
use crate::process::{ProcessOptions, ServerProcess};
use crate::smtp::SmtpServer;

async fn metrics_text(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    response.text().await.unwrap()
}

backend_tests! {
    async fn metrics_count_requests_by_matched_route_never_by_raw_path(backend) {
        let app = TestApp::spawn(backend).await;
        app.movie("first-unknown-id").await.assert_status(404);
        app.movie("second-unknown-id").await.assert_status(404);
        app.get("/api/movies", None).await.assert_status(200);
        let text = metrics_text(&app).await;
        assert!(text.contains(r#"moviebag_http_requests_total{method="GET",route="/api/movies/{id}",status="404"} 2"#), "{text}");
        assert!(text.contains(r#"moviebag_http_requests_total{method="GET",route="/api/movies",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"moviebag_http_request_duration_seconds_bucket{method="GET",route="/api/movies/{id}",status="404",le="+Inf"} 2"#));
        assert!(!text.contains("unknown-id"), "raw paths never become labels");
        assert!(text.contains("moviebag_db_pool_connections_in_use"));
        assert!(text.contains("moviebag_db_pool_connections_idle"));
    }

    async fn metrics_count_logins_failed_logins_and_revocations(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.login(&user.email, "not the password").await.assert_status(401);
        app.send(Method::POST, "/api/auth/logout", None, Some(&user.token)).await.assert_status(204);
        let text = metrics_text(&app).await;
        assert!(text.contains("moviebag_logins_total 1\n"), "{text}");
        assert!(text.contains("moviebag_failed_logins_total 1\n"), "{text}");
        assert!(text.contains("moviebag_session_revocations_total 1\n"), "{text}");
    }

    async fn ready_answers_503_when_the_database_does_not(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("/ready", None).await.assert_status(200);
        app.state.store.close().await;
        app.get("/ready", None).await.assert_error(503, "unavailable");
        app.get("/health", None).await.assert_status(200);
    }

    async fn responses_carry_no_server_banner_and_auth_answers_are_not_cached(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for reply in [app.get("/health", None).await, app.get("/api/users/me", Some(&user.token)).await] {
            assert!(reply.header("server").is_none());
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        }
        let login = app.login(&user.email, &user.password).await;
        assert_eq!(login.header("cache-control"), Some("no-store"));
    }

    async fn cors_allows_only_the_configured_origins(backend) {
        let app = TestApp::builder(backend).flag("--cors-origins", "https://app.example.com,https://admin.example.com").spawn().await;
        let preflight = |origin: &'static str| {
            app.client
                .request(Method::OPTIONS, app.url("/api/movies"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization,content-type")
                .send()
        };
        let allowed = preflight("https://app.example.com").await.unwrap();
        assert_eq!(allowed.headers().get("access-control-allow-origin").unwrap(), "https://app.example.com");
        let denied = preflight("https://evil.example.com").await.unwrap();
        assert!(denied.headers().get("access-control-allow-origin").is_none());
        let plain = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
        let reply = read(plain.client.get(plain.url("/health")).header("origin", "https://app.example.com").send().await.unwrap()).await;
        assert!(reply.header("access-control-allow-origin").is_none(), "no CORS unless configured");
    }

    async fn cors_origins_star_answers_any_origin(backend) {
        let app = TestApp::builder(backend).flag("--cors-origins", "*").spawn().await;
        let user = app.new_user().await;
        for origin in ["https://anywhere.example.com", "http://localhost:3000", "null"] {
            let preflight = app
                .client
                .request(Method::OPTIONS, app.url("/api/movies"))
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization,content-type")
                .send()
                .await
                .unwrap();
            assert!(preflight.status().is_success(), "preflight from {origin}: {}", preflight.status());
            let headers = preflight.headers();
            assert_eq!(headers.get("access-control-allow-origin").unwrap(), "*", "preflight from {origin}");
            let methods = headers.get("access-control-allow-methods").unwrap().to_str().unwrap().to_ascii_uppercase();
            assert!(methods.contains("POST"), "{methods}");
            let allowed = headers.get("access-control-allow-headers").unwrap().to_str().unwrap().to_ascii_lowercase();
            assert!(allowed.contains("authorization") && allowed.contains("content-type"), "{allowed}");

            let simple = read(app.client.get(app.url("/api/movies")).header("origin", origin).send().await.unwrap()).await;
            simple.assert_status(200);
            assert_eq!(simple.header("access-control-allow-origin"), Some("*"), "simple request from {origin}");
            let exposed = simple.header("access-control-expose-headers").unwrap_or_default().to_ascii_lowercase();
            assert!(exposed.contains("link"), "the next-page header is readable: {exposed}");
        }
        // A request with a bearer token, from any origin, is answered the same way.
        let me = read(app.client.get(app.url("/api/users/me")).header("origin", "https://other.example.net")
            .bearer_auth(&user.token).send().await.unwrap()).await;
        me.assert_status(200);
        assert_eq!(me.header("access-control-allow-origin"), Some("*"));
    }

    async fn a_request_stuck_on_a_locked_database_times_out_with_503_and_the_server_recovers(backend) {
        let app = TestApp::builder(backend.clone()).flag("--request-timeout", "2s").flag("--body-read-timeout", "1s").spawn().await;
        let user = app.new_user().await;
        // Another client holds the movies table locked past the request timeout.
        let _lock = crate::durability::lock_movies(&backend, &app.database.url).await;
        let started = std::time::Instant::now();
        let reply = app.post("/api/movies", crate::helpers::movie_body("Stuck"), Some(&user.token)).await;
        reply.assert_error(503, "timeout");
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(_lock);
        // The outcome of a timed-out write is unknown to the client (it may still commit once
        // the lock goes); what matters is that the server answers normally again.
        app.post("/api/movies", crate::helpers::movie_body("After the lock"), Some(&user.token)).await.assert_status(200);
        app.get("/ready", None).await.assert_status(200);
    }
}

/// Runs the whole account flow against a process whose log is captured, then searches the log.
async fn full_flow_log(database: &TestDatabase, log_format: &str) -> (String, Vec<String>) {
    let mut smtp = SmtpServer::start().await.every_mail();
    let log = std::env::temp_dir().join(format!("movie-bag-log-{}.txt", uuid::Uuid::new_v4().simple()));
    let server = ServerProcess::start_with(
        database,
        ProcessOptions {
            env: vec![
                ("RUST_LOG".into(), "debug".into()),
                ("LOG_FORMAT".into(), log_format.into()),
                ("MAIL_SERVER".into(), "127.0.0.1".into()),
                ("MAIL_PORT".into(), smtp.port.to_string()),
            ],
            log_file: Some(log.clone()),
            ..Default::default()
        },
    )
    .await;
    let client = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.address);
    let post = |path: &str, body: serde_json::Value, token: Option<&str>| {
        let mut request = client.post(url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let email = "logged@example.com";
    let (first, second, third) = ("first secret password", "second secret password", "third secret password");
    let mut secrets: Vec<String> = vec![first.into(), second.into(), third.into(), crate::helpers::TEST_JWT_KEY.into()];

    assert_eq!(post("/api/auth/signup", json!({"email": email, "password": first}), None).await.unwrap().status(), 200);
    // The signup's link verifies the address (a mail server is set: writes need it).
    let verify_token = smtp.next_mail(Duration::from_secs(10)).await.unwrap().verify_token().unwrap();
    assert_eq!(post("/api/auth/verify", json!({"token": verify_token}), None).await.unwrap().status(), 200);
    secrets.push(verify_token);
    let login = read(post("/api/auth/login", json!({"email": email, "password": first}), None).await.unwrap()).await;
    let token = login.body["token"].as_str().unwrap().to_owned();
    let refresh_token = login.body["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = read(post("/api/auth/refresh", json!({"refresh_token": refresh_token}), None).await.unwrap()).await;
    let token2 = refreshed.body["token"].as_str().unwrap().to_owned();
    secrets.extend([
        token.clone(),
        refresh_token,
        token2.clone(),
        refreshed.body["refresh_token"].as_str().unwrap().to_owned(),
    ]);
    let movie = crate::helpers::movie_body("Logged Movie");
    assert_eq!(post("/api/movies", movie, Some(&token2)).await.unwrap().status(), 200);
    assert_eq!(
        post("/api/auth/login", json!({"email": email, "password": "wrong guess"}), None).await.unwrap().status(),
        401
    );
    assert_eq!(post("/api/auth/forgot", json!({"email": email}), None).await.unwrap().status(), 202);
    let reset_token = smtp.next_mail(Duration::from_secs(10)).await.unwrap().reset_token().unwrap();
    secrets.push(reset_token.clone());
    assert_eq!(
        post("/api/auth/reset", json!({"reset_token": reset_token, "password": second}), None).await.unwrap().status(),
        200
    );
    let login = read(post("/api/auth/login", json!({"email": email, "password": second}), None).await.unwrap()).await;
    let token3 = login.body["token"].as_str().unwrap().to_owned();
    secrets.push(token3.clone());
    let change = client
        .put(url("/api/auth/password"))
        .bearer_auth(&token3)
        .json(&json!({"current_password": second, "new_password": third}))
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), 204);
    let login = read(post("/api/auth/login", json!({"email": email, "password": third}), None).await.unwrap()).await;
    let token4 = login.body["token"].as_str().unwrap().to_owned();
    secrets.push(token4.clone());
    let delete = client
        .delete(url("/api/users/me"))
        .bearer_auth(&token4)
        .json(&json!({"password": third}))
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 204);
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(log);
    (text, secrets)
}

/// No password, token or key of the run, and no password hash, is in `log`.
#[track_caller]
fn assert_no_secret(log: &str, secrets: &[String]) {
    assert!(secrets.len() >= 10, "the run's secrets were collected: {secrets:?}");
    for secret in secrets {
        assert!(!log.contains(secret.as_str()), "the log leaks {secret:?}");
    }
    assert!(!log.contains("$argon2"), "the log leaks a password hash");
}

backend_tests! {
    async fn no_password_token_key_or_hash_appears_in_the_log_of_a_full_run(backend) {
        let database = TestDatabase::create(&backend).await;
        let (log, secrets) = full_flow_log(&database, "text").await;
        assert!(log.contains("request"), "the log was captured: {log}");
        assert_no_secret(&log, &secrets);
    }

    async fn json_logs_have_one_object_per_line_with_route_status_latency_and_request_id_and_no_secret(backend) {
        let database = TestDatabase::create(&backend).await;
        let (log, secrets) = full_flow_log(&database, "json").await;
        assert_no_secret(&log, &secrets);
        let mut request_lines = 0;
        for line in log.lines().filter(|l| !l.trim().is_empty()) {
            let value: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if value["message"] == "request" {
                request_lines += 1;
                for field in ["method", "route", "status", "latency_ms"] {
                    assert!(!value[field].is_null(), "{field} missing: {line}");
                }
                assert!(value["span"]["id"].as_str().is_some_and(|id| !id.is_empty()), "request id missing: {line}");
                assert!(!value["route"].as_str().unwrap().contains("logged"), "{line}");
            }
        }
        assert!(request_lines >= 10, "one line per request: {request_lines}");
    }
}
