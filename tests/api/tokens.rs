//! Attacks on the access token: each is 401 with `WWW-Authenticate: Bearer` and changes nothing.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{TEST_JWT_KEY, TestApp, movie_body};

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}

fn sign(claims: &Value, key: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Tries the token on a write and a read; both must be 401 and no movie may appear.
async fn assert_rejected(app: &TestApp, token: &str) {
    app.post("/api/movies", movie_body("Forged"), Some(token)).await.assert_error(401, "unauthorized");
    app.get("/api/users/me", Some(token)).await.assert_error(401, "unauthorized");
    assert!(app.all_movies().await.iter().all(|m| m["name"] != "Forged"));
}

backend_tests! {
    async fn a_token_with_alg_none_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims_of(&user.token).to_string());
        assert_rejected(&app, &format!("{header}.{payload}.")).await;
        assert_rejected(&app, &format!("{header}.{payload}")).await;
    }

    async fn a_token_signed_with_another_key_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let forged = sign(&claims_of(&user.token), "another-key-of-at-least-32-bytes-long!!");
        assert_rejected(&app, &forged).await;
    }

    async fn an_expired_token_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut claims = claims_of(&user.token);
        let now = chrono::Utc::now().timestamp();
        claims["iat"] = json!(now - 7200);
        claims["exp"] = json!(now - 10);
        assert_rejected(&app, &sign(&claims, TEST_JWT_KEY)).await;
    }

    async fn a_token_without_exp_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut claims = claims_of(&user.token);
        claims.as_object_mut().unwrap().remove("exp");
        assert_rejected(&app, &sign(&claims, TEST_JWT_KEY)).await;
    }

    async fn a_tampered_sub_with_the_original_signature_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let attacker = app.new_user().await;
        let victim = app.new_user().await;
        let victim_movie = app.create_movie(&victim.token, "Heat").await;
        let mut claims = claims_of(&attacker.token);
        claims["sub"] = json!(victim.id);
        let parts: Vec<&str> = attacker.token.split('.').collect();
        let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims.to_string()), parts[2]);
        assert_rejected(&app, &tampered).await;
        app.send(Method::DELETE, &format!("/api/movies/{victim_movie}"), None, Some(&tampered)).await.assert_error(401, "unauthorized");
        app.movie(&victim_movie).await.assert_status(200);
    }

    async fn a_correctly_signed_token_naming_another_user_than_its_session_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let attacker = app.new_user().await;
        let victim = app.new_user().await;
        let mut claims = claims_of(&attacker.token);
        claims["sub"] = json!(victim.id);
        assert_rejected(&app, &sign(&claims, TEST_JWT_KEY)).await;
    }

    async fn the_token_of_a_deleted_user_is_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        app.send(Method::DELETE, &format!("/api/users/{}", user.id), None, Some(&admin.token)).await.assert_status(204);
        assert_rejected(&app, &user.token).await;
    }

    async fn a_refresh_token_is_not_an_access_token(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        assert_rejected(&app, &user.refresh_token).await;
    }

    async fn a_reset_token_is_not_an_access_token(backend) {
        let mut smtp = crate::smtp::SmtpServer::start().await;
        let app = TestApp::builder(backend)
            .flag("--mail-server", "127.0.0.1")
            .flag("--mail-port", &smtp.port.to_string())
            .spawn()
            .await;
        let user = app.new_user().await;
        app.post("/api/auth/forgot", json!({"email": user.email}), None).await.assert_status(202);
        let mail = smtp.next_mail(std::time::Duration::from_secs(30)).await.expect("the reset email");
        let reset_token = mail.reset_token().expect("its token");
        assert_rejected(&app, &reset_token).await;
        // Refusing it changed nothing: the session goes on, and the token still resets, once.
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.post("/api/auth/reset", json!({"reset_token": reset_token, "password": "a brand new passphrase"}), None)
            .await
            .assert_status(200);
    }

    async fn garbage_and_other_schemes_are_rejected(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        assert_rejected(&app, "garbage").await;
        assert_rejected(&app, "a.b.c").await;
        for header in [format!("Basic {}", user.token), user.token.clone(), "Bearer".to_owned(), "Bearer ".to_owned()] {
            let reply = crate::helpers::read(
                app.client.get(app.url("/api/users/me")).header("authorization", header).send().await.unwrap(),
            ).await;
            reply.assert_error(401, "unauthorized");
        }
    }
}
