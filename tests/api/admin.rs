//! Admin endpoints: GET /api/users, PATCH and DELETE /api/users/{id}.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests! {
    async fn an_admin_lists_every_user_without_password_hashes(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let reply = app.get("/api/users", Some(&admin.token)).await;
        reply.assert_status(200);
        let users = reply.body.as_array().unwrap();
        assert_eq!(users.len(), 2);
        let ids: Vec<_> = users.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert!(ids.contains(&admin.id.as_str()) && ids.contains(&user.id.as_str()));
        let text = reply.body.to_string();
        assert!(!text.contains("argon2") && !text.contains("password"), "{text}");
    }

    async fn ordinary_users_get_403_from_admin_endpoints_and_change_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let victim = app.new_user().await;
        app.get("/api/users", Some(&user.token)).await.assert_error(403, "forbidden");
        let path = format!("/api/users/{}", victim.id);
        app.send(Method::PATCH, &path, Some(json!({"role": "admin"})), Some(&user.token)).await.assert_error(403, "forbidden");
        app.send(Method::PATCH, &format!("/api/users/{}", user.id), Some(json!({"role": "admin"})), Some(&user.token)).await.assert_error(403, "forbidden");
        app.send(Method::DELETE, &path, None, Some(&user.token)).await.assert_error(403, "forbidden");
        assert_eq!(app.get("/api/users/me", Some(&user.token)).await.body["role"], "user");
        app.get("/api/users/me", Some(&victim.token)).await.assert_status(200);
    }

    async fn admin_endpoints_without_a_token_are_401(backend) {
        let app = TestApp::spawn(backend).await;
        app.get("/api/users", None).await.assert_error(401, "unauthorized");
        app.send(Method::PATCH, "/api/users/x", Some(json!({"role": "admin"})), None).await.assert_error(401, "unauthorized");
        app.send(Method::DELETE, "/api/users/x", None, None).await.assert_error(401, "unauthorized");
    }

    async fn an_admin_promotes_and_demotes_a_user(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let path = format!("/api/users/{}", user.id);
        let promoted = app.send(Method::PATCH, &path, Some(json!({"role": "admin"})), Some(&admin.token)).await;
        promoted.assert_status(200);
        assert_eq!(promoted.body["role"], "admin");
        assert_eq!(promoted.body["id"], user.id.as_str());
        // The new role applies to the user's existing token at once.
        app.get("/api/users", Some(&user.token)).await.assert_status(200);
        app.send(Method::PATCH, &path, Some(json!({"role": "user"})), Some(&admin.token)).await.assert_status(200);
        app.get("/api/users", Some(&user.token)).await.assert_error(403, "forbidden");
    }

    async fn an_invalid_role_is_400_and_an_unknown_user_404(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let path = format!("/api/users/{}", user.id);
        for body in [json!({"role": "root"}), json!({"role": "Admin"}), json!({}), json!({"role": "admin", "email": "x@y.io"})] {
            let reply = app.send(Method::PATCH, &path, Some(body.clone()), Some(&admin.token)).await;
            reply.assert_error(400, "validation_failed");
        }
        assert_eq!(app.get("/api/users/me", Some(&user.token)).await.body["role"], "user");
        app.send(Method::PATCH, "/api/users/nobody", Some(json!({"role": "admin"})), Some(&admin.token)).await.assert_error(404, "not_found");
        app.send(Method::DELETE, "/api/users/nobody", None, Some(&admin.token)).await.assert_error(404, "not_found");
    }

    async fn an_admin_deleting_a_user_deletes_their_movies_and_tokens(backend) {
        let app = TestApp::spawn(backend).await;
        let admin = app.new_admin().await;
        let user = app.new_user().await;
        let movie = app.create_movie(&user.token, "Heat").await;
        let kept = app.create_movie(&admin.token, "Ronin").await;
        app.send(Method::DELETE, &format!("/api/users/{}", user.id), None, Some(&admin.token)).await.assert_status(204);
        app.movie(&movie).await.assert_error(404, "not_found");
        app.movie(&kept).await.assert_status(200);
        app.get("/api/users/me", Some(&user.token)).await.assert_error(401, "unauthorized");
        assert_eq!(app.get("/api/users", Some(&admin.token)).await.body.as_array().unwrap().len(), 1);
    }
}
