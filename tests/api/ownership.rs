//! Only the owner or an admin may change a movie (the tutorial's authorization rules).

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, movie_body};

backend_tests! {
    async fn another_users_put_and_patch_are_403_with_the_tutorials_message(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let other = app.new_user().await;
        let id = app.create_movie(&owner.token, "Heat").await;
        let before = app.movie(&id).await.body;
        let path = format!("/api/movies/{id}");
        for (method, body) in [(Method::PUT, movie_body("Stolen")), (Method::PATCH, json!({"name": "Stolen"}))] {
            let reply = app.send(method, &path, Some(body), Some(&other.token)).await;
            reply.assert_error(403, "forbidden");
            assert_eq!(reply.body["message"], "Updating movie added by other is forbidden");
        }
        assert_eq!(app.movie(&id).await.body, before);
    }

    async fn another_users_delete_is_403_with_the_tutorials_message(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let other = app.new_user().await;
        let id = app.create_movie(&owner.token, "Heat").await;
        let reply = app.send(Method::DELETE, &format!("/api/movies/{id}"), None, Some(&other.token)).await;
        reply.assert_error(403, "forbidden");
        assert_eq!(reply.body["message"], "Deleting movie added by other is forbidden");
        app.movie(&id).await.assert_status(200);
    }

    async fn an_unknown_movie_is_404_before_ownership_is_checked(backend) {
        let app = TestApp::spawn(backend).await;
        let other = app.new_user().await;
        app.send(Method::DELETE, "/api/movies/nope", None, Some(&other.token)).await.assert_error(404, "not_found");
    }

    async fn an_admin_may_update_and_delete_any_movie(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let admin = app.new_admin().await;
        let id = app.create_movie(&owner.token, "Heat").await;
        let path = format!("/api/movies/{id}");
        let patched = app.send(Method::PATCH, &path, Some(json!({"name": "Heat (admin)"})), Some(&admin.token)).await;
        patched.assert_status(200);
        assert_eq!(patched.body["name"], "Heat (admin)");
        assert_eq!(patched.body["added_by"], owner.id.as_str(), "ownership does not move to the admin");
        app.send(Method::PUT, &path, Some(movie_body("Heat (put)")), Some(&admin.token)).await.assert_status(200);
        app.send(Method::DELETE, &path, None, Some(&admin.token)).await.assert_status(204);
        app.movie(&id).await.assert_error(404, "not_found");
    }
}
