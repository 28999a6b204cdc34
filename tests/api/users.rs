//! /api/users/me: the caller's own account.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests! {
    async fn me_shows_the_account_and_its_movie_ids_but_no_hash(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let older = app.create_movie(&user.token, "Heat").await;
        let newer = app.create_movie(&user.token, "Ronin").await;
        let reply = app.get("/api/users/me", Some(&user.token)).await;
        reply.assert_status(200);
        assert_eq!(reply.body["id"], user.id.as_str());
        assert_eq!(reply.body["email"], user.email.as_str());
        assert_eq!(reply.body["role"], "user");
        assert!(reply.body["created_at"].is_string());
        assert_eq!(reply.body["movies"], json!([newer, older]));
        let text = reply.body.to_string();
        assert!(!text.contains("argon2") && !text.contains("password"), "{text}");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }

    async fn me_without_a_token_is_401(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("/api/users/me", None).await.assert_error(401, "unauthorized");
    }

    async fn deleting_my_account_takes_my_movies_and_my_tokens_with_it(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let other = app.new_user().await;
        let mine = app.create_movie(&user.token, "Heat").await;
        let theirs = app.create_movie(&other.token, "Ronin").await;
        let reply = app.send(Method::DELETE, "/api/users/me", Some(json!({"password": user.password})), Some(&user.token)).await;
        reply.assert_status(204);
        app.movie(&mine).await.assert_error(404, "not_found");
        app.movie(&theirs).await.assert_status(200);
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
        app.login(&user.email, &user.password).await.assert_error(401, "unauthorized");
        // The email is free again.
        app.signup(&user.email, &user.password).await.assert_status(200);
    }

    async fn deleting_my_account_with_a_wrong_or_missing_password_is_400_and_deletes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let movie = app.create_movie(&user.token, "Heat").await;
        let wrong = app.send(Method::DELETE, "/api/users/me", Some(json!({"password": "not it at all"})), Some(&user.token)).await;
        wrong.assert_error(400, "validation_failed");
        assert_eq!(wrong.body["errors"]["password"][0], "is incorrect");
        app.send(Method::DELETE, "/api/users/me", Some(json!({})), Some(&user.token)).await.assert_error(400, "validation_failed");
        app.send(Method::DELETE, "/api/users/me", None, Some(&user.token)).await.assert_error(415, "unsupported_media_type");
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.movie(&movie).await.assert_status(200);
    }

    async fn deleting_my_account_without_a_token_is_401(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.send(Method::DELETE, "/api/users/me", Some(json!({"password": user.password})), None).await.assert_error(401, "unauthorized");
        app.login(&user.email, &user.password).await.assert_status(200);
    }
}
