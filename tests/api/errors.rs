//! The framework's own rejections answer with the contract's JSON error body.

use reqwest::Method;

use crate::backend_tests;
use crate::helpers::{TestApp, movie_body, read};

backend_tests! {
    async fn an_unknown_route_is_a_json_404(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("/api/nothing-here", None).await.assert_error(404, "not_found");
        // Outside /api/ a program (no `Accept: text/html`) gets the JSON 404 too; `/` itself is
        // the web app now (tests/api/web.rs).
        app.get("/nothing-here", None).await.assert_error(404, "not_found");
    }

    async fn missing_or_unknown_fields_get_the_tutorials_message_and_name_the_field(backend) {
        // The tutorial's own tests (Part 6) pin this message.
        let app = TestApp::spawn(backend).await;
        let missing = app.post("/api/auth/signup", serde_json::json!({"email": "ann@example.com"}), None).await;
        missing.assert_error(400, "validation_failed");
        assert_eq!(missing.body["message"], "Request is missing required fields");
        assert_eq!(missing.body["errors"]["password"][0], "is required");
        let unknown = app.post("/api/auth/signup",
            serde_json::json!({"email": "ann@example.com", "password": "long enough pass", "admin": true}), None).await;
        assert_eq!(unknown.body["message"], "Request is missing required fields");
        assert_eq!(unknown.body["errors"]["admin"][0], "is not allowed");
        app.login("ann@example.com", "long enough pass").await.assert_error(401, "unauthorized");
        let mistyped = app.post("/api/auth/signup", serde_json::json!({"email": 1, "password": "long enough pass"}), None).await;
        mistyped.assert_error(400, "validation_failed");
        assert_eq!(mistyped.body["message"], "Request has a field of the wrong type");
    }

    async fn a_wrong_method_is_a_json_405(backend) {
        let app = TestApp::spawn(backend).await;
        app.send(Method::DELETE, "/api/movies", None, None).await.assert_error(405, "method_not_allowed");
        app.send(Method::GET, "/api/auth/login", None, None).await.assert_error(405, "method_not_allowed");
    }

    async fn a_body_that_is_not_json_is_415_and_creates_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let body = movie_body("Heat").to_string();
        for content_type in [None, Some("text/plain"), Some("application/x-www-form-urlencoded")] {
            let mut request = app.client.post(app.url("/api/movies")).bearer_auth(&user.token).body(body.clone());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            read(request.send().await.unwrap()).await.assert_error(415, "unsupported_media_type");
        }
        assert!(app.all_movies().await.is_empty());
    }

    async fn malformed_json_and_non_objects_are_400(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for body in ["{", "{\"name\": }", "[]", "\"Heat\"", "null", "42", ""] {
            let reply = read(
                app.client.post(app.url("/api/movies")).bearer_auth(&user.token)
                    .header("content-type", "application/json").body(body).send().await.unwrap(),
            ).await;
            reply.assert_error(400, "bad_request");
        }
        assert!(app.all_movies().await.is_empty());
    }

    async fn a_body_over_64_kib_is_413_and_creates_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut body = movie_body("Heat");
        body["casts"] = serde_json::json!(["x".repeat(70 * 1024)]);
        let reply = app.post("/api/movies", body, Some(&user.token)).await;
        reply.assert_error(413, "payload_too_large");
        let huge_signup = app.post("/api/auth/signup", serde_json::json!({"email": "a@example.com", "password": "p".repeat(100 * 1024)}), None).await;
        huge_signup.assert_error(413, "payload_too_large");
        assert!(app.all_movies().await.is_empty());
    }

    async fn every_response_says_nosniff_and_carries_a_request_id(backend) {
        let app = TestApp::spawn(backend).await;
        for reply in [app.get("/health", None).await, app.get("/nope", None).await] {
            assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
            assert!(reply.header("x-request-id").is_some_and(|id| !id.is_empty()));
        }
        let echoed = read(app.client.get(app.url("/health")).header("x-request-id", "abc-123").send().await.unwrap()).await;
        assert_eq!(echoed.header("x-request-id"), Some("abc-123"));
    }
}

backend_tests! {
    async fn nul_and_control_characters_never_reach_the_database(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut body = movie_body("He\u{0}at");
        app.post("/api/movies", body.clone(), Some(&user.token)).await.assert_error(400, "validation_failed");
        body["name"] = serde_json::json!("Heat");
        body["casts"] = serde_json::json!(["Al\u{0}"]);
        app.post("/api/movies", body, Some(&user.token)).await.assert_error(400, "validation_failed");
        app.get("/api/movies/%00", None).await.assert_error(404, "not_found");
        app.send(Method::DELETE, "/api/movies/%00", None, Some(&user.token)).await.assert_error(404, "not_found");
        for query in ["genre=%00", "cast=a%00", "q=%00", "added_by=%00"] {
            app.get(&format!("/api/movies?{query}"), None).await.assert_error(400, "validation_failed");
        }
        app.login("a\u{0}@example.com", "whatever password").await.assert_error(401, "unauthorized");
        assert!(app.all_movies().await.is_empty());
    }
}
