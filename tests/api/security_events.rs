//! Security events: `GET /api/users/me/security-events` and an admin's
//! `GET /api/users/{id}/security-events`; what is recorded, folded, paged and kept.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{TestApp, TestUser};

const MINE: &str = "/api/users/me/security-events";

async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    app.pages(MINE, Some(token)).await.concat()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn wrong_login(app: &TestApp, user: &TestUser) {
    app.login(&user.email, "not the password at all").await.assert_error(401, "unauthorized");
}

async fn event_rows(app: &TestApp, user: &TestUser) -> i64 {
    app.database.select_one::<i64>("SELECT count(*) FROM security_events WHERE user_id = $1", &[&user.id]).await
}

backend_tests! {
    async fn signing_up_in_and_out_each_leave_an_event_newest_first_with_the_clients_address(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let again = app.login(&user.email, &user.password).await;
        let token = again.body["token"].as_str().unwrap();
        app.send(Method::POST, "/api/auth/logout", None, Some(&user.token)).await.assert_status(204);
        let listed = events(&app, token).await;
        assert_eq!(types(&listed), ["logout", "login", "login", "signup"]);
        for event in &listed {
            assert_eq!(event["ip"], "127.0.0.1", "{event}");
            assert_eq!(event["count"], 1, "{event}");
            assert!(event["id"].as_str().is_some() && event["at"].as_str().is_some(), "{event}");
        }
    }

    async fn failed_logins_of_one_hour_fold_into_one_event_with_their_count(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let rows_before = event_rows(&app, &user).await;
        for _ in 0..6 {
            wrong_login(&app, &user).await;
        }
        let listed = events(&app, &user.token).await;
        assert_eq!(types(&listed), ["login_failed", "login", "signup"]);
        assert_eq!(listed[0]["count"], 6);
        assert_eq!(event_rows(&app, &user).await, rows_before + 1, "six failures, one row");
        // Failures for an address no account has leave nothing anywhere.
        app.login("nobody@example.com", "whatever it is").await.assert_error(401, "unauthorized");
        assert_eq!(app.database.select_count("SELECT count(*) FROM security_events").await, rows_before + 1);
    }

    async fn password_changes_resets_and_role_changes_are_recorded(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let patch = json!({"role": "admin"});
        app.send(Method::PATCH, &format!("/api/users/{}", user.id), Some(patch), Some(&admin.token)).await.assert_status(200);
        let body = json!({"current_password": user.password, "new_password": "another fine passphrase"});
        app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await.assert_status(204);
        app.post("/api/auth/forgot", json!({"email": user.email}), None).await.assert_status(202);
        let login = app.login(&user.email, "another fine passphrase").await;
        let listed = events(&app, login.body["token"].as_str().unwrap()).await;
        assert_eq!(types(&listed), ["login", "password_reset_requested", "password_changed", "role_changed", "login", "signup"]);
    }

    async fn the_events_come_in_pages_linked_by_next_and_each_event_is_on_one_page(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for _ in 0..4 {
            app.login(&user.email, &user.password).await.assert_status(200);
        }
        let pages = app.pages(&format!("{MINE}?limit=2"), Some(&user.token)).await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 2, 0], "six events, two a page, the last page empty");
        let all: Vec<Value> = pages.concat();
        let whole = events(&app, &user.token).await;
        assert_eq!(all, whole, "the pages, in order, are the whole list");
        let mut ids: Vec<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 6);
        let times: Vec<&str> = all.iter().map(|e| e["at"].as_str().unwrap()).collect();
        let parse = |t: &&str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
        assert!(times.windows(2).all(|w| parse(&w[0]) >= parse(&w[1])), "newest first: {times:?}");
    }

    async fn a_bad_cursor_or_page_size_is_a_400(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.get(&format!("{MINE}?after=bm9wZQ"), Some(&user.token)).await.assert_error(400, "validation_failed");
        app.get(&format!("{MINE}?after=%00"), Some(&user.token)).await.assert_error(400, "validation_failed");
        app.get(&format!("{MINE}?limit=0"), Some(&user.token)).await.assert_status(400);
        app.get(&format!("{MINE}?limit=x"), Some(&user.token)).await.assert_status(400);
    }

    async fn an_admin_reads_a_users_events_and_nobody_else_does(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let path = format!("/api/users/{}/security-events", user.id);
        let reply = app.get(&path, Some(&admin.token)).await;
        reply.assert_status(200);
        assert_eq!(types(reply.body.as_array().unwrap()), ["login", "signup"]);
        app.get(&path, None).await.assert_error(401, "unauthorized");
        app.get(&path, Some(&user.token)).await.assert_error(403, "forbidden");
        app.get("/api/users/no-such-user/security-events", Some(&admin.token)).await.assert_error(404, "not_found");
        // The refused reads recorded nothing.
        assert_eq!(types(&events(&app, &user.token).await), ["login", "signup"]);
    }

    async fn no_event_holds_a_password_or_a_token(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        wrong_login(&app, &user).await;
        let refreshed = app.post("/api/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await;
        // Replaying the rotated token revokes the session: a `session_revoked` event.
        app.post("/api/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await.assert_status(401);
        let login = app.login(&user.email, &user.password).await;
        let token = login.body["token"].as_str().unwrap();
        let listed = events(&app, token).await;
        assert!(types(&listed).contains(&"session_revoked"), "{listed:?}");
        let text = serde_json::to_string(&listed).unwrap();
        let secrets = [user.password.as_str(), "not the password at all", &user.refresh_token, &user.token, token,
            refreshed.body["refresh_token"].as_str().unwrap()];
        for secret in secrets {
            assert!(!text.contains(secret), "a secret in {text}");
        }
        for secret in secrets {
            let stored = app.database.select_one::<i64>(
                "SELECT count(*) FROM security_events WHERE kind = $1 OR ip = $1 OR user_agent = $1
                 OR fold_key LIKE '%' || $1 || '%'",
                &[secret],
            ).await;
            assert_eq!(stored, 0, "a secret stored");
        }
    }

    async fn events_past_the_retention_are_removed_by_housekeeping_and_newer_ones_stay(backend) {
        let app = TestApp::builder(backend).flag("--security-event-retention", "1h").spawn().await;
        let user = app.new_user().await;
        let two_hours = if app.database.is_sqlite() {
            "UPDATE security_events SET at = at - 7200000000 WHERE kind = 'signup'"
        } else {
            "UPDATE security_events SET at = at - interval '2 hours' WHERE kind = 'signup'"
        };
        app.database.execute(two_hours).await;
        let retention = app.state.settings.tokens.security_event_retention;
        let pruned = movie_bag::service::housekeeping::run_once(&app.state.store, retention).await;
        assert_eq!(pruned.security_events, 1);
        assert_eq!(types(&events(&app, &user.token).await), ["login"]);
    }
}
