//! POST /api/auth/signup (the tutorial's Part 6 signup tests, and more).

use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};

backend_tests! {
    async fn a_new_account_gets_an_id_and_can_log_in(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.signup("paurakh011@gmail.com", "mycoolpassword").await;
        reply.assert_status(200);
        let id = reply.body["id"].as_str().expect("id is a string");
        assert!(!id.is_empty());
        assert_eq!(reply.body.as_object().unwrap().len(), 1, "only the id: {}", reply.body);
        app.login("paurakh011@gmail.com", "mycoolpassword").await.assert_status(200);
    }

    async fn signup_with_an_unknown_field_is_400_and_creates_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app
            .post("/api/auth/signup", json!({"username": "x", "email": "a@example.com", "password": PASSWORD}), None)
            .await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(reply.body["errors"]["username"][0], "is not allowed");
        app.login("a@example.com", PASSWORD).await.assert_error(401, "unauthorized");
    }

    async fn signup_cannot_assign_itself_a_role(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app
            .post("/api/auth/signup", json!({"email": "a@example.com", "password": PASSWORD, "role": "admin"}), None)
            .await;
        reply.assert_error(400, "validation_failed");
        assert!(app.state.store.user_by_email(&movie_bag::domain::Email::parse("a@example.com").unwrap()).await.unwrap().is_none());
    }

    async fn signup_without_email_is_400_naming_the_field(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.post("/api/auth/signup", json!({"password": PASSWORD}), None).await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(reply.body["errors"]["email"][0], "is required");
    }

    async fn signup_without_password_is_400_naming_the_field(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.post("/api/auth/signup", json!({"email": "a@example.com"}), None).await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(reply.body["errors"]["password"][0], "is required");
        assert!(app.state.store.user_by_email(&movie_bag::domain::Email::parse("a@example.com").unwrap()).await.unwrap().is_none());
    }

    async fn signup_with_a_taken_email_is_409_whatever_its_case(backend) {
        let app = TestApp::spawn(backend).await;
        app.signup("Ann@Example.com", PASSWORD).await.assert_status(200);
        for again in ["Ann@Example.com", "ann@example.com", "ANN@EXAMPLE.COM"] {
            let reply = app.signup(again, "another password").await;
            reply.assert_error(409, "conflict");
            assert_eq!(reply.body["message"], "User with given email address already exists");
        }
        // The first account keeps its password.
        app.login("ann@example.com", PASSWORD).await.assert_status(200);
        app.login("ann@example.com", "another password").await.assert_error(401, "unauthorized");
    }

    async fn signup_keeps_the_email_as_typed(backend) {
        let app = TestApp::spawn(backend).await;
        app.signup("Ann.Lee@Example.com", PASSWORD).await.assert_status(200);
        let login = app.login("ann.lee@example.com", PASSWORD).await;
        let me = app.get("/api/users/me", login.body["token"].as_str()).await;
        assert_eq!(me.body["email"], "Ann.Lee@Example.com");
    }

    async fn signup_with_an_invalid_email_or_short_password_lists_both_problems(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.signup("not-an-email", "short").await;
        reply.assert_error(400, "validation_failed");
        assert!(reply.body["errors"]["email"].is_array());
        assert!(reply.body["errors"]["password"].is_array());
        assert!(app.state.store.list_users().await.unwrap().is_empty());
    }

    async fn signup_rejects_passwords_over_256_characters_and_emails_over_254(backend) {
        let app = TestApp::spawn(backend).await;
        app.signup("a@example.com", &"x".repeat(257)).await.assert_error(400, "validation_failed");
        let long_email = format!("{}@{}.com", "a".repeat(60), "b".repeat(200));
        app.signup(&long_email, PASSWORD).await.assert_error(400, "validation_failed");
        assert!(app.state.store.list_users().await.unwrap().is_empty());
    }

    async fn signup_with_mistyped_fields_is_400(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.post("/api/auth/signup", json!({"email": 42, "password": PASSWORD}), None).await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(reply.body["errors"]["email"][0], "must be a string");
    }

    async fn password_min_length_is_configurable(backend) {
        let app = TestApp::builder(backend).flag("--password-min-length", "12").spawn().await;
        app.signup("a@example.com", "elevenchars").await.assert_error(400, "validation_failed");
        app.signup("a@example.com", "twelve chars").await.assert_status(200);
    }
}
