//! Two server processes on one database: nothing that matters lives in process memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
        let names = vec!["The One Name".to_owned(); 64];
        let statuses: Vec<u16> =
            create_concurrently(&app, &other, &user.token, &names).await.into_iter().map(|(_, s)| s).collect();
        let created = statuses.iter().filter(|s| **s == 200).count();
        let conflicts = statuses.iter().filter(|s| **s == 409).count();
        assert_eq!((created, conflicts), (1, 63), "statuses: {statuses:?}");
        assert_eq!(app.all_movies().await.len(), 1);
    }

    async fn concurrent_creates_of_ten_names_four_times_each_create_each_name_once(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let names: Vec<String> = (0..40).map(|i| format!("Name {}", i % 10)).collect();
        let answers = create_concurrently(&app, &other, &user.token, &names).await;
        for name in (0..10).map(|n| format!("Name {n}")) {
            let statuses: Vec<u16> = answers.iter().filter(|(n, _)| *n == name).map(|(_, s)| *s).collect();
            assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{name}: {statuses:?}");
            assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 3, "{name}: {statuses:?}");
        }
        let mut names: Vec<String> =
            app.all_movies().await.iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
        names.sort();
        assert_eq!(names, (0..10).map(|n| format!("Name {n}")).collect::<Vec<_>>());
    }
}

backend_tests! {
    async fn four_processes_starting_together_on_a_fresh_database_all_come_up(backend) {
        let database = crate::helpers::TestDatabase::create(&backend).await;
        let servers = join_all((0..4).map(|_| ServerProcess::start(&database))).await;
        let client = reqwest::Client::new();
        for server in &servers {
            let reply = read(client.get(format!("{}/ready", server.address)).send().await.unwrap()).await;
            reply.assert_status(200);
        }
        // And they serve one and the same data: an account made through one logs in through another.
        let (_, token) = crate::helpers::user_on(&client, &servers[0].address, "a@example.com").await;
        let body = serde_json::json!({"email": "a@example.com", "password": crate::helpers::PASSWORD});
        let login = read(client.post(format!("{}/api/auth/login", servers[3].address)).json(&body).send().await.unwrap()).await;
        login.assert_status(200);
        let me = read(client.get(format!("{}/api/users/me", servers[3].address)).bearer_auth(&token).send().await.unwrap()).await;
        me.assert_status(200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_processes_starting_together_without_a_key_agree_on_one_generated_key() {
    let database = crate::helpers::TestDatabase::create(&crate::helpers::Backend::Sqlite).await;
    let servers = join_all((0..3).map(|_| {
        ServerProcess::start_with(&database, crate::process::ProcessOptions { jwt_key: None, ..Default::default() })
    }))
    .await;
    let client = reqwest::Client::new();
    // Signed up through one process, logged in through another.
    crate::helpers::user_on(&client, &servers[0].address, "a@example.com").await;
    let body = serde_json::json!({"email": "a@example.com", "password": crate::helpers::PASSWORD});
    let login =
        read(client.post(format!("{}/api/auth/login", servers[1].address)).json(&body).send().await.unwrap()).await;
    login.assert_status(200);
    let token = login.body["token"].as_str().unwrap();
    // A token signed by one process verifies on every other: they share the key.
    for server in &servers {
        let me = client.get(format!("{}/api/users/me", server.address)).bearer_auth(token).send().await.unwrap();
        assert_eq!(me.status(), 200);
    }
}

backend_tests! {
    async fn a_listing_served_by_one_process_follows_writes_made_through_the_other(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let first = app.create_movie(&user.token, "First").await;
        let list_on_other = || async {
            let reply = read(app.client.get(format!("{}/api/movies?genre=crime", other.address)).send().await.unwrap()).await;
            reply.body.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        };
        // Read twice: the second answer may come from the other process's page cache.
        assert_eq!(list_on_other().await, vec![first.clone()]);
        assert_eq!(list_on_other().await, vec![first.clone()]);
        let second = app.create_movie(&user.token, "Second").await;
        assert_eq!(list_on_other().await, vec![second.clone(), first.clone()], "a create elsewhere shows at once");
        app.send(Method::DELETE, &format!("/api/movies/{first}"), None, Some(&user.token)).await.assert_status(204);
        assert_eq!(list_on_other().await, vec![second.clone()], "a delete elsewhere shows at once");
        let patch = serde_json::json!({"genres": ["Drama"]});
        app.send(Method::PATCH, &format!("/api/movies/{second}"), Some(patch), Some(&user.token)).await.assert_status(200);
        assert!(list_on_other().await.is_empty(), "an update elsewhere shows at once");
    }

    async fn a_listing_served_by_one_process_follows_a_user_deletion_made_through_the_other(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let (admin, user) = (app.new_admin().await, app.new_user().await);
        app.create_movie(&user.token, "Doomed").await;
        let count_on_other = || async {
            let reply = read(app.client.get(format!("{}/api/movies", other.address)).send().await.unwrap()).await;
            reply.body.as_array().unwrap().len()
        };
        assert_eq!(count_on_other().await, 1);
        assert_eq!(count_on_other().await, 1);
        // The movies go by cascade, not by a statement on the movies table of the request's own.
        app.send(Method::DELETE, &format!("/api/users/{}", user.id), None, Some(&admin.token)).await.assert_status(204);
        assert_eq!(count_on_other().await, 0, "a cascaded delete elsewhere shows at once");
    }

    async fn a_busy_process_never_answers_from_before_a_write_acknowledged_elsewhere(backend) {
        let app = TestApp::spawn(backend).await;
        let other = ServerProcess::start(&app.database).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Version 0").await;
        // Readers keep the other process's queries for this movie, the first page and the
        // session in flight, so the checks below arrive while identical reads are running.
        let load = ReadLoad::start(&app.client, &other.address, &[
            (format!("/api/movies/{id}"), None),
            ("/api/movies".to_owned(), None),
            ("/api/users/me".to_owned(), Some(user.token.clone())),
        ]);
        let on_other = |path: String| read_on(&app.client, &other.address, path, None);
        for version in 1..=15 {
            let name = format!("Version {version}");
            let patch = serde_json::json!({"name": name});
            app.send(Method::PATCH, &format!("/api/movies/{id}"), Some(patch), Some(&user.token)).await.assert_status(200);
            assert_eq!(on_other(format!("/api/movies/{id}")).await.body["name"], name.as_str());
            assert_eq!(on_other("/api/movies".to_owned()).await.body[0]["name"], name.as_str());
        }
        app.send(Method::POST, "/api/auth/logout", None, Some(&user.token)).await.assert_status(204);
        read_on(&app.client, &other.address, "/api/users/me".to_owned(), Some(&user.token))
            .await
            .assert_error(401, "unauthorized");
        load.stop().await;
    }
}

/// Sends one create per name at once, alternating between the two processes; each name with
/// the status it got.
async fn create_concurrently(
    app: &TestApp,
    other: &ServerProcess,
    token: &str,
    names: &[String],
) -> Vec<(String, u16)> {
    let addresses = [app.address.as_str(), other.address.as_str()];
    let requests = names.iter().enumerate().map(|(i, name)| {
        let request =
            app.client.post(format!("{}/api/movies", addresses[i % 2])).bearer_auth(token).json(&movie_body(name));
        async move { (name.clone(), request.send().await.expect("request answered").status().as_u16()) }
    });
    join_all(requests).await
}

/// Background GETs, repeated until stopped; their answers are not checked.
struct ReadLoad {
    stop: Arc<AtomicBool>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl ReadLoad {
    fn start(client: &reqwest::Client, base: &str, targets: &[(String, Option<String>)]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let readers = targets
            .iter()
            .cycle()
            .take(targets.len() * 4)
            .map(|(path, token)| {
                let (client, url, token, stop) = (client.clone(), format!("{base}{path}"), token.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let mut request = client.get(&url);
                        if let Some(token) = &token {
                            request = request.bearer_auth(token);
                        }
                        if let Ok(response) = request.send().await {
                            let _ = response.bytes().await;
                        }
                    }
                })
            })
            .collect();
        Self { stop, readers }
    }

    async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        join_all(self.readers).await;
    }
}

async fn read_on(client: &reqwest::Client, base: &str, path: String, token: Option<&str>) -> crate::helpers::Reply {
    let mut request = client.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.send().await.unwrap()).await
}
