//! Two server processes on one database: nothing that matters lives in process memory.

use std::sync::Arc;

use futures_util::future::join_all;
use reqwest::Method;

use crate::backend_tests;
use crate::helpers::{TestApp, movie_body, read};
use crate::process::ServerProcess;

backend_tests! {
    async fn a_movie_created_through_one_process_is_read_through_the_other(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let reply = read(app.client.get(format!("{}/api/movies/{id}", other.address)).send().await.unwrap()).await;
        reply.assert_status(200);
        assert_eq!(reply.body["name"], "Heat");
    }

    async fn a_logout_through_one_process_is_rejected_by_the_other_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let me = |token: String| app.client.get(format!("{}/api/users/me", other.address)).bearer_auth(token).send();
        assert_eq!(me(user.token.clone()).await.unwrap().status(), 200);
        app.send(Method::POST, "/api/auth/logout", None, Some(&user.token)).await.assert_status(204);
        read(me(user.token.clone()).await.unwrap()).await.assert_error(401, "unauthorized");
    }

    async fn a_user_deleted_through_one_process_is_rejected_by_the_other(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let body = serde_json::json!({"password": user.password});
        app.send(Method::DELETE, "/api/users/me", Some(body), Some(&user.token)).await.assert_status(204);
        let reply = read(app.client.get(format!("{}/api/users/me", other.address)).bearer_auth(&user.token).send().await.unwrap()).await;
        reply.assert_error(401, "unauthorized");
    }

    async fn sixty_four_concurrent_creates_of_one_name_give_one_200_and_the_rest_409(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let addresses = Arc::new([app.address.clone(), other.address.clone()]);
        let requests = (0..64).map(|i| {
            let request = app
                .client
                .post(format!("{}/api/movies", addresses[i % 2]))
                .bearer_auth(&user.token)
                .json(&movie_body("The One Name"));
            async move { request.send().await.map(|r| r.status().as_u16()) }
        });
        let statuses: Vec<u16> = join_all(requests).await.into_iter().map(|s| s.expect("request answered")).collect();
        let created = statuses.iter().filter(|s| **s == 200).count();
        let conflicts = statuses.iter().filter(|s| **s == 409).count();
        assert_eq!((created, conflicts), (1, 63), "statuses: {statuses:?}");
        assert_eq!(app.all_movies().await.len(), 1);
    }
}
