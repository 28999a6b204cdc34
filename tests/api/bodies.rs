//! Request bodies a proxy and the server could read two ways (issue 20, item 11): a content
//! coding the server does not decode, and a JSON key given twice. Both are refused before any
//! rule runs, and nothing is written.

use std::io::Write as _;

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{PASSWORD, Reply, TestApp, movie_body, read};

/// Sends `body` as it is, as `application/json`, with `Content-Encoding: encoding` when given.
async fn send_raw(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Vec<u8>,
    token: Option<&str>,
    encoding: Option<&str>,
) -> Reply {
    let mut request = app.client.request(method, app.url(path)).header("content-type", "application/json").body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.send().await.unwrap()).await
}

fn gzip(body: &Value) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(body.to_string().as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// The bodies, each with a coding the server does not decode: a plain body only labelled gzip
/// (what the server used to read as if unlabelled), a really gzipped one, and other codings.
fn encoded(body: &Value) -> Vec<(&'static str, Vec<u8>)> {
    let plain = body.to_string().into_bytes();
    vec![
        ("gzip", plain.clone()),
        ("gzip", gzip(body)),
        ("br", plain.clone()),
        ("deflate", plain.clone()),
        ("identity, gzip", plain.clone()),
        ("x-made-up", plain),
    ]
}

#[track_caller]
fn assert_encoding_refused(reply: &Reply, encoding: &str) {
    assert_eq!(reply.status.as_u16(), 415, "{encoding}: {}", reply.body);
    reply.assert_error(415, "unsupported_media_type");
    assert_eq!(reply.header("accept-encoding"), Some("identity"), "{encoding}");
}

#[track_caller]
fn assert_named_twice(reply: &Reply, field: &str) {
    reply.assert_error(400, "validation_failed");
    assert_eq!(reply.body["errors"][field], json!(["is given more than once"]), "{}", reply.body);
}

async fn session_count(app: &TestApp) -> i64 {
    app.database.select_count("SELECT COUNT(*) FROM sessions").await
}

backend_tests! {
    async fn a_signup_body_with_a_content_encoding_is_415_and_creates_no_account(backend) {
        let app = TestApp::spawn(backend).await;
        let body = json!({"email": "ann@example.com", "password": PASSWORD});
        for (encoding, bytes) in encoded(&body) {
            let reply = send_raw(&app, Method::POST, "/api/auth/signup", bytes, None, Some(encoding)).await;
            assert_encoding_refused(&reply, encoding);
        }
        assert!(app.state.store.list_users().await.unwrap().is_empty());
        // `identity` is no coding at all: the same body is read.
        let identity = send_raw(&app, Method::POST, "/api/auth/signup", body.to_string().into_bytes(), None, Some("identity")).await;
        identity.assert_status(200);
    }

    async fn a_login_body_with_a_content_encoding_is_415_and_starts_no_session(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let sessions = session_count(&app).await;
        let body = json!({"email": user.email, "password": PASSWORD});
        for (encoding, bytes) in encoded(&body) {
            let reply = send_raw(&app, Method::POST, "/api/auth/login", bytes, None, Some(encoding)).await;
            assert_encoding_refused(&reply, encoding);
        }
        assert_eq!(session_count(&app).await, sessions);
    }

    async fn a_movie_body_with_a_content_encoding_is_415_on_create_and_patch_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for (encoding, bytes) in encoded(&movie_body("Heat")) {
            let reply = send_raw(&app, Method::POST, "/api/movies", bytes, Some(&user.token), Some(encoding)).await;
            assert_encoding_refused(&reply, encoding);
        }
        assert!(app.all_movies().await.is_empty());
        let id = app.create_movie(&user.token, "Ronin").await;
        let before = app.movie(&id).await;
        let path = format!("/api/movies/{id}");
        for (encoding, bytes) in encoded(&json!({"name": "Heat"})) {
            let reply = send_raw(&app, Method::PATCH, &path, bytes.clone(), Some(&user.token), Some(encoding)).await;
            assert_encoding_refused(&reply, encoding);
            let reply = send_raw(&app, Method::PUT, &path, bytes, Some(&user.token), Some(encoding)).await;
            assert_encoding_refused(&reply, encoding);
        }
        let after = app.movie(&id).await;
        assert_eq!(after.body, before.body);
        assert_eq!(after.header("etag"), before.header("etag"));
    }

    async fn a_signup_naming_a_field_twice_is_400_naming_it_and_creates_no_account(backend) {
        let app = TestApp::spawn(backend).await;
        let email_twice = format!(r#"{{"email":"ann@example.com","email":"bob@example.com","password":"{PASSWORD}"}}"#);
        let reply = send_raw(&app, Method::POST, "/api/auth/signup", email_twice.into_bytes(), None, None).await;
        assert_named_twice(&reply, "email");
        let password_twice = r#"{"email":"ann@example.com","password":"first passphrase","password":"second passphrase"}"#;
        let reply = send_raw(&app, Method::POST, "/api/auth/signup", password_twice.into(), None, None).await;
        assert_named_twice(&reply, "password");
        assert!(app.state.store.list_users().await.unwrap().is_empty());
    }

    async fn a_login_naming_a_field_twice_is_400_naming_it_and_starts_no_session(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let sessions = session_count(&app).await;
        // A proxy keeping the first password would see a wrong one; the server would have taken
        // the last, the right one.
        let body = format!(r#"{{"email":"{}","password":"not the password","password":"{PASSWORD}"}}"#, user.email);
        let reply = send_raw(&app, Method::POST, "/api/auth/login", body.into_bytes(), None, None).await;
        assert_named_twice(&reply, "password");
        assert!(reply.body.get("token").is_none());
        assert_eq!(session_count(&app).await, sessions);
    }

    async fn a_movie_body_naming_a_field_twice_at_any_depth_is_400_naming_it_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let create = r#"{"name":"Heat","name":"Ronin","casts":["Al Pacino"],"genres":["Crime"]}"#;
        let reply = send_raw(&app, Method::POST, "/api/movies", create.into(), Some(&user.token), None).await;
        assert_named_twice(&reply, "name");
        let nested = r#"{"name":"Heat","casts":["Al Pacino"],"genres":["Crime"],"extra":[{"k":1,"k":2}]}"#;
        let reply = send_raw(&app, Method::POST, "/api/movies", nested.into(), Some(&user.token), None).await;
        assert_named_twice(&reply, "extra[0].k");
        assert!(app.all_movies().await.is_empty());

        let id = app.create_movie(&user.token, "Thief").await;
        let before = app.movie(&id).await;
        let path = format!("/api/movies/{id}");
        let patch = r#"{"genres":["Crime"],"genres":["Drama"]}"#;
        let reply = send_raw(&app, Method::PATCH, &path, patch.into(), Some(&user.token), None).await;
        assert_named_twice(&reply, "genres");
        let put = r#"{"name":"Heat","casts":["Al Pacino"],"genres":["Crime"],"casts":["James Caan"]}"#;
        let reply = send_raw(&app, Method::PUT, &path, put.into(), Some(&user.token), None).await;
        assert_named_twice(&reply, "casts");
        let after = app.movie(&id).await;
        assert_eq!(after.body, before.body);
        assert_eq!(after.header("etag"), before.header("etag"));
    }
}
