//! Personal access tokens: `POST/GET /api/auth/tokens`, `DELETE /api/auth/tokens/{id}`, and a
//! token's reach as `Authorization: Bearer mbp_...`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, TestUser, movie_body, read};
use crate::password_reset::{MAIL_WAIT, app_with_mail, forgot, reset};
use crate::process::{ProcessOptions, ServerProcess};
use crate::smtp::SmtpServer;

async fn create(app: &TestApp, jwt: &str, body: Value) -> Reply {
    app.post("/api/auth/tokens", body, Some(jwt)).await
}

/// A new token of `user` with `scopes`: (id, token).
async fn token(app: &TestApp, user: &TestUser, scopes: &[&str]) -> (String, String) {
    let reply = create(app, &user.token, json!({"name": "script", "scopes": scopes})).await;
    reply.assert_status(201);
    (reply.body["id"].as_str().unwrap().to_owned(), reply.body["token"].as_str().unwrap().to_owned())
}

async fn tokens(app: &TestApp, jwt: &str) -> Vec<Value> {
    let reply = app.get("/api/auth/tokens", Some(jwt)).await;
    reply.assert_status(200);
    reply.body.as_array().unwrap().clone()
}

#[track_caller]
fn assert_insufficient_scope(reply: &Reply) {
    reply.assert_error(403, "insufficient_scope");
    assert_eq!(reply.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope""#), "{:?}", reply.body);
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

backend_tests! {
    async fn a_created_token_starts_with_mbp_is_shown_once_and_stored_only_as_its_hash(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let reply = create(&app, &user.token, json!({"name": "ci", "scopes": ["movies:write"], "expires_in": 3600})).await;
        reply.assert_status(201);
        let body = &reply.body;
        let token = body["token"].as_str().unwrap();
        assert!(token.starts_with("mbp_") && token.len() > 40, "{token}");
        assert_eq!(body["name"], "ci");
        assert_eq!(body["scopes"], json!(["movies:write"]));
        let (created, expires) = (body["created_at"].as_str().unwrap(), body["expires_at"].as_str().unwrap());
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
        assert_eq!((parse(expires) - parse(created)).num_seconds(), 3600);
        let listed = tokens(&app, &user.token).await;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0]["id"], body["id"]);
        assert!(listed[0].get("token").is_none(), "{}", listed[0]);
        assert!(listed[0]["last_used_at"].is_null(), "never used yet");
        let stored: String = app.database.select_one("SELECT token_hash FROM access_tokens", &[]).await;
        assert_eq!(stored, sha256_hex(token));
        let text = format!("{} {}", reply.body, serde_json::to_string(&listed).unwrap());
        assert!(!text.contains(&stored), "the hash is in no answer");
        let plain = app.database.select_one::<i64>(
            "SELECT count(*) FROM access_tokens WHERE token_hash = $1 OR name = $1 OR scopes = $1", &[token]).await;
        assert_eq!(plain, 0, "the token itself is not stored");
    }

    async fn a_token_without_an_expiry_has_none_and_a_token_works_where_a_session_does(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let reply = create(&app, &user.token, json!({"name": "reader", "scopes": []})).await;
        reply.assert_status(201);
        assert!(reply.body["expires_at"].is_null());
        let token = reply.body["token"].as_str().unwrap();
        let me = app.get("/api/users/me", Some(token)).await;
        me.assert_status(200);
        assert_eq!(me.body["id"], user.id.as_str());
        app.get("/api/users/me/library", Some(token)).await.assert_status(200);
        app.get("/api/users/me/security-events", Some(token)).await.assert_status(200);
        let listed = tokens(&app, &user.token).await;
        assert!(listed[0]["last_used_at"].is_string(), "used now: {}", listed[0]);
    }

    async fn a_token_writes_only_within_its_scopes_and_a_refused_write_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (_, movies) = token(&app, &user, &["movies:write"]).await;
        let (_, library) = token(&app, &user, &["library:write"]).await;
        let id = app.create_movie(&movies, "Heat").await;
        let entry = json!({"status": "watchlist"});
        let path = format!("/api/users/me/library/{id}");
        assert_insufficient_scope(&app.send(Method::PUT, &path, Some(entry.clone()), Some(&movies)).await);
        app.get(&path, Some(&user.token)).await.assert_error(404, "not_found");
        app.send(Method::PUT, &path, Some(entry), Some(&library)).await.assert_status(200);
        assert_insufficient_scope(&app.post("/api/movies", movie_body("Ronin"), Some(&library)).await);
        let patch = json!({"name": "Renamed"});
        assert_insufficient_scope(&app.send(Method::PATCH, &format!("/api/movies/{id}"), Some(patch), Some(&library)).await);
        assert_insufficient_scope(&app.send(Method::DELETE, &format!("/api/movies/{id}"), None, Some(&library)).await);
        let names: Vec<Value> = app.all_movies().await.iter().map(|m| m["name"].clone()).collect();
        assert_eq!(names, [json!("Heat")], "the refused writes changed nothing");
        app.send(Method::DELETE, &format!("/api/movies/{id}"), None, Some(&movies)).await.assert_status(204);
    }

    async fn an_admins_token_has_no_admin_powers(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let theirs = app.create_movie(&user.token, "Theirs").await;
        let (_, token) = token(&app, &admin, &["movies:write", "library:write"]).await;
        app.send(Method::DELETE, &format!("/api/movies/{theirs}"), None, Some(&token)).await.assert_error(403, "forbidden");
        assert_insufficient_scope(&app.get("/api/users", Some(&token)).await);
        let role = json!({"role": "admin"});
        assert_insufficient_scope(&app.send(Method::PATCH, &format!("/api/users/{}", user.id), Some(role), Some(&token)).await);
        assert_insufficient_scope(&app.get(&format!("/api/users/{}/security-events", user.id), Some(&token)).await);
        assert_insufficient_scope(&app.send(Method::DELETE, &format!("/api/users/{}", user.id), None, Some(&token)).await);
        app.movie(&theirs).await.assert_status(200);
        let me = app.get("/api/users/me", Some(&user.token)).await;
        assert_eq!(me.body["role"], "user", "nothing changed");
        // With a session, the same admin may.
        app.send(Method::DELETE, &format!("/api/movies/{theirs}"), None, Some(&admin.token)).await.assert_status(204);
    }

    async fn a_token_never_manages_the_account_whatever_its_scopes(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (id, token) = token(&app, &user, &["movies:write", "library:write"]).await;
        let password = json!({"current_password": user.password, "new_password": "a brand new passphrase"});
        let refused = [
            app.post("/api/auth/tokens", json!({"name": "more", "scopes": []}), Some(&token)).await,
            app.get("/api/auth/tokens", Some(&token)).await,
            app.send(Method::DELETE, &format!("/api/auth/tokens/{id}"), None, Some(&token)).await,
            app.get("/api/auth/sessions", Some(&token)).await,
            app.send(Method::PUT, "/api/auth/password", Some(password), Some(&token)).await,
            app.send(Method::POST, "/api/auth/logout", None, Some(&token)).await,
            app.send(Method::POST, "/api/auth/logout-all", None, Some(&token)).await,
            app.send(Method::DELETE, "/api/users/me", Some(json!({"password": user.password})), Some(&token)).await,
        ];
        for reply in &refused {
            assert_insufficient_scope(reply);
        }
        // Nothing changed: one token, the session alive, the password the same.
        assert_eq!(tokens(&app, &user.token).await.len(), 1);
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.get("/api/users/me", Some(&token)).await.assert_status(200);
        app.login(&user.email, &user.password).await.assert_status(200);
    }

    async fn every_write_operation_of_the_openapi_document_refuses_a_token_without_scopes(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let movie = app.create_movie(&user.token, "Heat").await;
        let (token_id, token) = token(&app, &user, &[]).await;
        let document = app.get("/api/openapi.json", None).await.body;
        let mut checked = 0;
        for (path, item) in document["paths"].as_object().unwrap() {
            for method in ["post", "put", "patch", "delete"] {
                let Some(operation) = item.get(method) else { continue };
                if operation["security"].as_array().is_none_or(Vec::is_empty) {
                    continue;
                }
                let concrete = path
                    .replace("{id}", if path.starts_with("/api/auth/tokens") { &token_id } else if path.starts_with("/api/users/{id}") { &user.id } else { &movie })
                    .replace("{movie_id}", &movie);
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let reply = app.send(method.clone(), &concrete, Some(json!({})), Some(&token)).await;
                assert_eq!(reply.status.as_u16(), 403, "{method} {concrete}: {}", reply.body);
                assert_eq!(reply.header("www-authenticate"), Some(r#"Bearer error="insufficient_scope""#), "{method} {concrete}");
                checked += 1;
            }
        }
        assert!(checked >= 15, "only {checked} write operations found");
        app.movie(&movie).await.assert_status(200);
        assert_eq!(tokens(&app, &user.token).await.len(), 1);
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
    }

    async fn a_revoked_token_is_refused_at_once_by_every_process(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let (id, token) = token(&app, &user, &[]).await;
        let me = |token: String| app.client.get(format!("{}/api/users/me", other.address)).bearer_auth(token).send();
        assert_eq!(me(token.clone()).await.unwrap().status(), 200);
        app.send(Method::DELETE, &format!("/api/auth/tokens/{id}"), None, Some(&user.token)).await.assert_status(204);
        read(me(token.clone()).await.unwrap()).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(&token)).await.assert_error(401, "unauthorized");
        assert!(tokens(&app, &user.token).await.is_empty());
        app.send(Method::DELETE, &format!("/api/auth/tokens/{id}"), None, Some(&user.token)).await.assert_error(404, "not_found");
    }

    async fn another_users_token_cannot_be_revoked_and_keeps_working(backend) {
        let app = TestApp::spawn(backend).await;
        let (ann, bob) = (app.new_user().await, app.new_user().await);
        let (bobs_id, bobs) = token(&app, &bob, &[]).await;
        app.send(Method::DELETE, &format!("/api/auth/tokens/{bobs_id}"), None, Some(&ann.token)).await.assert_error(404, "not_found");
        app.get("/api/users/me", Some(&bobs)).await.assert_status(200);
        assert!(tokens(&app, &ann.token).await.is_empty(), "ann sees none of bob's");
    }

    async fn bad_names_scopes_and_lifetimes_are_400_and_create_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for body in [
            json!({"name": "", "scopes": []}),
            json!({"name": "x".repeat(101), "scopes": []}),
            json!({"name": "a", "scopes": ["admin"]}),
            json!({"name": "a", "scopes": ["movies:write", "movies:write"]}),
            json!({"name": "a", "scopes": [], "expires_in": 0}),
            json!({"name": "a", "scopes": [], "expires_in": 59}),
            json!({"name": "a", "scopes": [], "expires_in": 40_000_000}),
            json!({"name": "a", "scopes": [], "expires_in": -5}),
            json!({"name": "a"}),
            json!({"name": "a", "scopes": [], "extra": 1}),
        ] {
            create(&app, &user.token, body.clone()).await.assert_error(400, "validation_failed");
        }
        assert!(tokens(&app, &user.token).await.is_empty());
    }

    async fn an_account_holds_at_most_fifty_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for _ in 0..50 {
            token(&app, &user, &[]).await;
        }
        create(&app, &user.token, json!({"name": "one more", "scopes": []})).await.assert_error(409, "conflict");
        assert_eq!(tokens(&app, &user.token).await.len(), 50);
    }

    async fn an_expired_token_is_refused(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let reply = create(&app, &user.token, json!({"name": "short", "scopes": [], "expires_in": 60})).await;
        let token = reply.body["token"].as_str().unwrap();
        app.get("/api/users/me", Some(token)).await.assert_status(200);
        let past = if app.database.is_sqlite() {
            "UPDATE access_tokens SET expires_at = expires_at - 120000000"
        } else {
            "UPDATE access_tokens SET expires_at = expires_at - interval '2 minutes'"
        };
        app.database.execute(past).await;
        app.get("/api/users/me", Some(token)).await.assert_error(401, "unauthorized");
    }

    async fn last_used_is_kept_to_the_minute_without_a_write_per_request(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (_, token) = token(&app, &user, &[]).await;
        app.get("/api/users/me", Some(&token)).await.assert_status(200);
        let (thirty_seconds_ago, two_minutes_ago) = if app.database.is_sqlite() {
            ("UPDATE access_tokens SET last_used_at = last_used_at - 30000000",
             "UPDATE access_tokens SET last_used_at = last_used_at - 120000000")
        } else {
            ("UPDATE access_tokens SET last_used_at = last_used_at - interval '30 seconds'",
             "UPDATE access_tokens SET last_used_at = last_used_at - interval '2 minutes'")
        };
        app.database.execute(thirty_seconds_ago).await;
        let before = tokens(&app, &user.token).await[0]["last_used_at"].clone();
        for _ in 0..3 {
            app.get("/api/users/me", Some(&token)).await.assert_status(200);
        }
        assert_eq!(tokens(&app, &user.token).await[0]["last_used_at"], before, "used within the minute: not written");
        app.database.execute(two_minutes_ago).await;
        let stale = tokens(&app, &user.token).await[0]["last_used_at"].clone();
        app.get("/api/users/me", Some(&token)).await.assert_status(200);
        let after = tokens(&app, &user.token).await[0]["last_used_at"].clone();
        let parse = |t: &Value| chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap();
        assert!(parse(&after) > parse(&stale), "a minute old: moved ({stale} then {after})");
        let metrics = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("moviebag_access_tokens_used_total 5\n"), "{metrics}");
    }

    async fn creating_and_revoking_tokens_are_security_events(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (id, _) = token(&app, &user, &[]).await;
        app.send(Method::DELETE, &format!("/api/auth/tokens/{id}"), None, Some(&user.token)).await.assert_status(204);
        let events = app.get("/api/users/me/security-events", Some(&user.token)).await;
        let types: Vec<&str> = events.body.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["token_revoked", "token_created", "login", "signup"]);
    }

    async fn account_deletion_revokes_every_token(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (_, token) = token(&app, &user, &[]).await;
        let body = json!({"password": user.password});
        app.send(Method::DELETE, "/api/users/me", Some(body), Some(&user.token)).await.assert_status(204);
        app.get("/api/users/me", Some(&token)).await.assert_error(401, "unauthorized");
        assert_eq!(app.database.select_count("SELECT count(*) FROM access_tokens").await, 0);
    }

    async fn a_password_reset_revokes_every_token(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        let (_, token) = token(&app, &user, &["movies:write"]).await;
        forgot(&app, &user.email).await.assert_status(202);
        let reset_token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        reset(&app, &reset_token, "my new password").await.assert_status(200);
        app.get("/api/users/me", Some(&token)).await.assert_error(401, "unauthorized");
        let login = app.login(&user.email, "my new password").await;
        assert!(tokens(&app, login.body["token"].as_str().unwrap()).await.is_empty());
    }

    async fn neither_a_token_nor_its_hash_is_in_any_log_line(backend) {
        let app = TestApp::spawn(backend).await;
        let log = std::env::temp_dir().join(format!("movie-bag-token-log-{}.txt", uuid::Uuid::new_v4().simple()));
        let options = ProcessOptions {
            env: vec![("RUST_LOG".into(), "debug".into())],
            log_file: Some(log.clone()),
            ..Default::default()
        };
        let server = ServerProcess::start_with(&app.database, options).await;
        let client = reqwest::Client::new();
        let (_, jwt) = crate::helpers::user_on(&client, &server.address, "logged@example.com").await;
        let url = |path: &str| format!("{}{path}", server.address);
        let body = json!({"name": "logged", "scopes": ["movies:write"]});
        let created = read(client.post(url("/api/auth/tokens")).bearer_auth(&jwt).json(&body).send().await.unwrap()).await;
        created.assert_status(201);
        let token = created.body["token"].as_str().unwrap().to_owned();
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert_eq!(client.get(url("/api/users/me")).bearer_auth(&token).send().await.unwrap().status(), 200);
        let refused = client.get(url("/api/auth/tokens")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(refused.status(), 403);
        let revoked = client.delete(url(&format!("/api/auth/tokens/{id}"))).bearer_auth(&jwt).send().await.unwrap();
        assert_eq!(revoked.status(), 204);
        assert_eq!(client.get(url("/api/users/me")).bearer_auth(&token).send().await.unwrap().status(), 401);
        drop(server);
        let text = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_file(&log);
        assert!(text.contains(&id), "the log names the token by its id");
        let secret = token.strip_prefix("mbp_").unwrap();
        assert!(!text.contains(secret), "the token is in the log");
        assert!(!text.contains(&sha256_hex(&token)), "the token's hash is in the log");
    }
}
