//! The list of a user's sessions and ending one of them: `GET /api/auth/sessions`,
//! `DELETE /api/auth/sessions/{id}`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, TestUser, read};
use crate::process::ServerProcess;

/// Logs the user in again with `user_agent`; the new session's access token.
async fn login_with_agent(app: &TestApp, user: &TestUser, user_agent: &str) -> (String, String) {
    let body = json!({"email": user.email, "password": user.password});
    let request = app.client.post(app.url("/api/auth/login")).header("user-agent", user_agent).json(&body);
    let reply = read(request.send().await.unwrap()).await;
    reply.assert_status(200);
    (reply.body["token"].as_str().unwrap().to_owned(), reply.body["refresh_token"].as_str().unwrap().to_owned())
}

async fn sessions(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/api/auth/sessions", Some(token)).await;
    reply.assert_status(200);
    reply.body.as_array().expect("an array").clone()
}

async fn end(app: &TestApp, token: &str, id: &str) -> Reply {
    app.send(Method::DELETE, &format!("/api/auth/sessions/{id}"), None, Some(token)).await
}

backend_tests! {
    async fn the_list_shows_each_live_session_with_its_sign_in_address_and_agent_and_marks_the_current_one(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (phone, _) = login_with_agent(&app, &user, "Phone/1.0").await;
        let listed = sessions(&app, &phone).await;
        assert_eq!(listed.len(), 2, "{listed:?}");
        let newest = &listed[0];
        assert_eq!(newest["user_agent"], "Phone/1.0", "newest first: {listed:?}");
        assert_eq!(newest["ip"], "127.0.0.1");
        assert_eq!(newest["current"], true);
        assert_eq!(listed[1]["current"], false);
        for session in &listed {
            let keys: Vec<&str> = session.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys.len(), 6, "{session}");
            for key in ["id", "created_at", "last_used_at", "ip", "user_agent", "current"] {
                assert!(keys.contains(&key), "{key} in {session}");
            }
            assert!(session["created_at"].as_str().is_some() && session["last_used_at"].as_str().is_some());
        }
        // Seen from the other session, the other one is current.
        let from_first = sessions(&app, &user.token).await;
        assert_eq!(from_first.iter().filter(|s| s["current"] == true).count(), 1);
        assert_eq!(from_first[1]["current"], true);
    }

    async fn a_refresh_moves_the_sessions_last_used_time(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let listed = sessions(&app, &user.token).await;
        let (before, created) = (listed[0]["last_used_at"].as_str().unwrap().to_owned(), listed[0]["created_at"].clone());
        assert_eq!(listed[0]["last_used_at"], created, "last used at sign-in");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let refreshed = app.post("/api/auth/refresh", json!({"refresh_token": user.refresh_token}), None).await;
        refreshed.assert_status(200);
        let listed = sessions(&app, refreshed.body["token"].as_str().unwrap()).await;
        let after = listed[0]["last_used_at"].as_str().unwrap();
        let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).unwrap();
        assert!(parse(after) > parse(&before), "{before} then {after}");
        assert_eq!(listed[0]["created_at"], created, "the sign-in's time stays");
    }

    async fn ending_a_session_stops_its_tokens_at_once_and_leaves_the_others(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let (other, other_refresh) = login_with_agent(&app, &user, "Laptop").await;
        let other_id = sessions(&app, &user.token).await[0]["id"].as_str().unwrap().to_owned();
        end(&app, &user.token, &other_id).await.assert_status(204);
        app.get("/api/users/me", Some(&other)).await.assert_error(401, "unauthorized");
        app.post("/api/auth/refresh", json!({"refresh_token": other_refresh}), None).await.assert_error(401, "unauthorized");
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        let left = sessions(&app, &user.token).await;
        assert_eq!(left.len(), 1);
        assert_eq!(left[0]["current"], true);
        // Ended already: there is no such live session any more.
        end(&app, &user.token, &other_id).await.assert_error(404, "not_found");
    }

    async fn another_users_session_is_not_found_and_keeps_working(backend) {
        let app = TestApp::spawn(backend).await;
        let (ann, bob) = (app.new_user().await, app.new_user().await);
        let bobs = sessions(&app, &bob.token).await[0]["id"].as_str().unwrap().to_owned();
        end(&app, &ann.token, &bobs).await.assert_error(404, "not_found");
        end(&app, &ann.token, "no-such-session").await.assert_error(404, "not_found");
        app.get("/api/users/me", Some(&bob.token)).await.assert_status(200);
        assert_eq!(sessions(&app, &bob.token).await.len(), 1);
        assert_eq!(sessions(&app, &ann.token).await.len(), 1, "ann sees only her own");
    }

    async fn the_session_endpoints_need_a_signed_in_user(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("/api/auth/sessions", None).await.assert_error(401, "unauthorized");
        app.send(Method::DELETE, "/api/auth/sessions/x", None, None).await.assert_error(401, "unauthorized");
    }

    async fn a_session_ended_through_one_process_is_refused_by_the_other_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let (laptop, _) = login_with_agent(&app, &user, "Laptop").await;
        let me = |token: String| app.client.get(format!("{}/api/users/me", other.address)).bearer_auth(token).send();
        assert_eq!(me(laptop.clone()).await.unwrap().status(), 200);
        let laptop_id = sessions(&app, &user.token).await[0]["id"].as_str().unwrap().to_owned();
        end(&app, &user.token, &laptop_id).await.assert_status(204);
        read(me(laptop).await.unwrap()).await.assert_error(401, "unauthorized");
        assert_eq!(me(user.token.clone()).await.unwrap().status(), 200);
    }

    async fn the_sign_in_address_is_the_one_a_trusted_proxy_forwarded(backend) {
        let app = TestApp::builder(backend).flag("--trusted-proxies", "127.0.0.1").spawn().await;
        let user = app.new_user().await;
        let body = json!({"email": user.email, "password": user.password});
        let request = app.client.post(app.url("/api/auth/login")).header("x-forwarded-for", "203.0.113.9").json(&body);
        let login = read(request.send().await.unwrap()).await;
        login.assert_status(200);
        let listed = sessions(&app, login.body["token"].as_str().unwrap()).await;
        assert_eq!(listed[0]["ip"], "203.0.113.9");
    }
}
