//! Concurrent edits and conditional requests: PATCH changes only what it names, atomically;
//! ETag, If-None-Match (304) and If-Match (412) per RFC 9110.

use futures_util::future::join;
use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, read};

async fn send_with(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    header: (&str, &str),
    body: Option<serde_json::Value>,
) -> Reply {
    let mut request = app.client.request(method, app.url(path)).header(header.0, header.1);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

backend_tests! {
    async fn two_clients_patching_different_fields_at_once_both_keep_their_change(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for round in 0..30 {
            let id = app.create_movie(&user.token, &format!("Race {round}")).await;
            let path = format!("/api/movies/{id}");
            let rename = app.send(Method::PATCH, &path, Some(json!({"name": format!("Renamed {round}")})), Some(&user.token));
            let regenre = app.send(Method::PATCH, &path, Some(json!({"genres": ["Western"]})), Some(&user.token));
            let (renamed, regenred) = join(rename, regenre).await;
            renamed.assert_status(200);
            regenred.assert_status(200);
            let movie = app.movie(&id).await.body;
            assert_eq!(movie["name"], format!("Renamed {round}"), "round {round} lost the rename: {movie}");
            assert_eq!(movie["genres"], json!(["Western"]), "round {round} lost the genres: {movie}");
            assert_eq!(movie["casts"], json!(["Al Pacino", "Robert De Niro"]));
        }
    }

    async fn edits_of_many_movies_at_once_each_get_their_own_answer_and_only_the_accepted_ones_land(backend) {
        // On PostgreSQL edits sent together are applied together: a taken name or a stale
        // If-Match among them must refuse that edit alone, and the rest still land.
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let stranger = app.new_user().await;
        app.create_movie(&user.token, "Taken").await;
        let mut ids = Vec::new();
        for i in 0..24 {
            ids.push(app.create_movie(&user.token, &format!("Edit {i}")).await);
        }
        let stale = app.get(&format!("/api/movies/{}", ids[1]), None).await.header("etag").unwrap().to_owned();
        app.send(Method::PATCH, &format!("/api/movies/{}", ids[1]), Some(json!({"runtime": 99})), Some(&user.token))
            .await
            .assert_status(200);
        let before: Vec<serde_json::Value> = futures_util::future::join_all(ids.iter().map(|id| app.movie(id))).await
            .into_iter().map(|reply| reply.body).collect();
        let edits = ids.iter().enumerate().map(|(i, id)| {
            let (app, path) = (&app, format!("/api/movies/{id}"));
            let (user, stranger, stale) = (&user.token, &stranger.token, stale.as_str());
            async move {
                match i {
                    0 => app.send(Method::PATCH, &path, Some(json!({"name": "Taken"})), Some(user)).await,
                    1 => send_with(app, Method::PATCH, &path, Some(user), ("if-match", stale), Some(json!({"genres": ["Lost"]}))).await,
                    2 => app.send(Method::PATCH, &path, Some(json!({"genres": ["Lost"]})), Some(stranger)).await,
                    _ => app.send(Method::PATCH, &path, Some(json!({"genres": ["Noir", format!("Batch {}", i % 3)]})), Some(user)).await,
                }
            }
        });
        let answers = futures_util::future::join_all(edits).await;
        answers[0].assert_error(409, "conflict");
        answers[1].assert_error(412, "precondition_failed");
        answers[2].assert_error(403, "forbidden");
        for (i, answer) in answers.iter().enumerate().skip(3) {
            answer.assert_status(200);
            assert_eq!(answer.body["genres"], json!(["Noir", format!("Batch {}", i % 3)]), "edit {i}");
            assert_eq!(app.movie(&ids[i]).await.body["genres"], answer.body["genres"], "edit {i} did not land");
        }
        for i in 0..3 {
            assert_eq!(app.movie(&ids[i]).await.body, before[i], "refused edit {i} changed the movie");
        }
        let counted = |genre: &'static str| {
            let app = &app;
            async move { app.get(&format!("/api/movies?count=true&limit=1&genre={genre}"), None).await }
        };
        assert_eq!(counted("noir").await.header("x-total-count"), Some("21"));
        assert_eq!(counted("batch%200").await.header("x-total-count"), Some("7"));
        assert_eq!(counted("drama").await.header("x-total-count"), Some("4"), "the refused three and Taken keep Drama");
        assert_eq!(counted("lost").await.header("x-total-count"), Some("0"));
    }

    async fn a_movie_carries_a_strong_etag_and_a_matching_if_none_match_answers_304_without_a_body(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let path = format!("/api/movies/{id}");
        let first = app.get(&path, None).await;
        let etag = first.header("etag").expect("an ETag").to_owned();
        assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
        let cached = send_with(&app, Method::GET, &path, None, ("if-none-match", &etag), None).await;
        cached.assert_status(304);
        assert_eq!(cached.body, serde_json::Value::Null);
        assert_eq!(cached.header("etag"), Some(etag.as_str()));
        // After a change the old tag no longer matches and the new one is sent.
        let patched = app.send(Method::PATCH, &path, Some(json!({"name": "Heat (1995)"})), Some(&user.token)).await;
        let new_etag = patched.header("etag").expect("PATCH sends the new ETag").to_owned();
        assert_ne!(new_etag, etag);
        let fresh = send_with(&app, Method::GET, &path, None, ("if-none-match", &etag), None).await;
        fresh.assert_status(200);
        assert_eq!(fresh.body["name"], "Heat (1995)");
        assert_eq!(fresh.header("etag"), Some(new_etag.as_str()));
    }

    async fn a_stale_if_match_answers_412_and_changes_nothing_and_a_current_one_proceeds(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let path = format!("/api/movies/{id}");
        let stale = app.get(&path, None).await.header("etag").unwrap().to_owned();
        let replaced = send_with(&app, Method::PUT, &path, Some(&user.token), ("if-match", &stale),
            Some(json!({"name": "Ronin", "casts": ["Jean Reno"], "genres": ["Action"]}))).await;
        replaced.assert_status(200);
        let current = replaced.header("etag").unwrap().to_owned();
        assert_eq!(app.get(&path, None).await.header("etag"), Some(current.as_str()));
        // Everyone still holding the old version is refused, whatever the method.
        let before = app.movie(&id).await.body;
        send_with(&app, Method::PATCH, &path, Some(&user.token), ("if-match", &stale), Some(json!({"name": "Lost"})))
            .await.assert_error(412, "precondition_failed");
        send_with(&app, Method::PUT, &path, Some(&user.token), ("if-match", &stale),
            Some(json!({"name": "Lost", "casts": ["x"], "genres": ["y"]}))).await.assert_error(412, "precondition_failed");
        send_with(&app, Method::DELETE, &path, Some(&user.token), ("if-match", &stale), None)
            .await.assert_error(412, "precondition_failed");
        send_with(&app, Method::PATCH, &path, Some(&user.token), ("if-match", "W/\"1\""), Some(json!({"name": "Weak"})))
            .await.assert_error(412, "precondition_failed");
        assert_eq!(app.movie(&id).await.body, before, "a refused request changed the movie");
        // A list naming the current version, and `*`, proceed.
        let list = format!("{stale}, {current}");
        send_with(&app, Method::PATCH, &path, Some(&user.token), ("if-match", &list), Some(json!({"genres": ["Crime"]})))
            .await.assert_status(200);
        send_with(&app, Method::DELETE, &path, Some(&user.token), ("if-match", "*"), None).await.assert_status(204);
        app.movie(&id).await.assert_error(404, "not_found");
    }

    async fn if_match_does_not_let_a_stranger_past_ownership_or_an_absent_movie_appear(backend) {
        let app = TestApp::spawn(backend).await;
        let (owner, stranger) = (app.new_user().await, app.new_user().await);
        let id = app.create_movie(&owner.token, "Heat").await;
        let path = format!("/api/movies/{id}");
        let etag = app.get(&path, None).await.header("etag").unwrap().to_owned();
        send_with(&app, Method::PATCH, &path, Some(&stranger.token), ("if-match", &etag), Some(json!({"name": "Mine"})))
            .await.assert_error(403, "forbidden");
        send_with(&app, Method::DELETE, "/api/movies/0193a1f0-7b5c-7cc2-9d1e-2f4b5a6c7d8e", Some(&owner.token), ("if-match", &etag), None)
            .await.assert_error(404, "not_found");
        assert_eq!(app.movie(&id).await.body["name"], "Heat");
    }

    async fn the_listing_answers_304_while_unchanged_and_the_new_page_after_a_change(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.create_movie(&user.token, "Heat").await;
        let first = app.get("/api/movies", None).await;
        let etag = first.header("etag").expect("the listing sends a validator").to_owned();
        let unchanged = send_with(&app, Method::GET, "/api/movies", None, ("if-none-match", &etag), None).await;
        unchanged.assert_status(304);
        assert_eq!(unchanged.body, serde_json::Value::Null);
        app.create_movie(&user.token, "Ronin").await;
        let changed = send_with(&app, Method::GET, "/api/movies", None, ("if-none-match", &etag), None).await;
        changed.assert_status(200);
        assert_eq!(changed.body.as_array().unwrap().len(), 2);
        assert_ne!(changed.header("etag"), Some(etag.as_str()));
    }
}
