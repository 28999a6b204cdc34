//! /api/movies: create, read, list, replace, patch, delete by the owner.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{TestApp, movie_body};

backend_tests! {
    async fn a_movie_reads_back_every_field_it_was_given(backend) {
        // Every field of a movie, through every read: a column left out of a column list, an
        // insert or a row mapper on either backend shows here.
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let body = json!({"name": "Every Field", "casts": ["A", "B", "C"], "genres": ["One", "Two"]});
        let id = app.post("/api/movies", body.clone(), Some(&user.token)).await.body["id"].as_str().unwrap().to_owned();
        let expected_keys = [
            "added_by", "casts", "created_at", "directors", "genres", "id", "name", "overview", "poster", "rating",
            "runtime", "updated_at", "year",
        ];
        let by_id = app.movie(&id).await.body;
        let listed = app.get("/api/movies", None).await.body[0].clone();
        let patched =
            app.send(Method::PATCH, &format!("/api/movies/{id}"), Some(json!({"casts": ["D"]})), Some(&user.token)).await.body;
        for (read, movie) in [("by id", &by_id), ("listed", &listed), ("patched", &patched)] {
            let mut keys: Vec<&str> = movie.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort();
            assert_eq!(keys, expected_keys, "{read}: {movie}");
            assert_eq!(movie["id"], id.as_str());
            assert_eq!(movie["name"], body["name"]);
            assert_eq!(movie["genres"], body["genres"]);
            assert_eq!(movie["added_by"], user.id.as_str());
            assert_eq!(movie["created_at"], by_id["created_at"]);
        }
        assert_eq!(by_id, listed);
        assert_eq!(by_id["casts"], body["casts"]);
        assert_eq!(patched["casts"], json!(["D"]));
        assert_eq!(app.movie(&id).await.body, patched);
    }

    async fn a_created_movie_is_listed_with_equal_fields(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let body = json!({"name": "Star Wars: The Rise of Skywalker", "casts": ["Daisy Ridley", "Adam Driver"], "genres": ["Fantasy", "Sci-fi"]});
        let created = app.post("/api/movies", body.clone(), Some(&user.token)).await;
        created.assert_status(200);
        let id = created.body["id"].as_str().unwrap();

        let list = app.get("/api/movies", None).await;
        list.assert_status(200);
        let movies = list.body.as_array().unwrap();
        assert_eq!(movies.len(), 1);
        let movie = &movies[0];
        assert_eq!(movie["id"], id);
        assert_eq!(movie["name"], body["name"]);
        assert_eq!(movie["casts"], body["casts"]);
        assert_eq!(movie["genres"], body["genres"]);
        assert_eq!(movie["added_by"], user.id.as_str());
        assert!(chrono::DateTime::parse_from_rfc3339(movie["created_at"].as_str().unwrap()).is_ok());
        assert_eq!(movie["created_at"], movie["updated_at"]);
    }

    async fn a_movie_is_read_by_its_id_without_a_token(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let reply = app.movie(&id).await;
        reply.assert_status(200);
        assert_eq!(reply.body["name"], "Heat");
    }

    async fn an_unknown_movie_id_is_404(backend) {
        let app = TestApp::spawn(backend).await;
        app.movie("no-such-id").await.assert_error(404, "not_found");
        app.movie(&uuid::Uuid::now_v7().to_string()).await.assert_error(404, "not_found");
    }

    async fn the_list_is_newest_first(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let first = app.create_movie(&user.token, "First").await;
        let second = app.create_movie(&user.token, "Second").await;
        let third = app.create_movie(&user.token, "Third").await;
        let ids: Vec<_> = app.all_movies().await.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, [third, second, first]);
    }

    async fn creating_without_a_token_is_401_and_creates_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        app.post("/api/movies", movie_body("Heat"), None).await.assert_error(401, "unauthorized");
        assert!(app.all_movies().await.is_empty());
    }

    async fn creating_a_movie_with_a_taken_name_is_409(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.create_movie(&user.token, "Heat").await;
        let reply = app.post("/api/movies", movie_body("  Heat "), Some(&user.token)).await;
        reply.assert_error(409, "conflict");
        assert_eq!(reply.body["message"], "Movie with given name already exists");
        assert_eq!(app.all_movies().await.len(), 1);
    }

    async fn invalid_movie_fields_are_400_and_create_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let cases = [
            (json!({"name": "  ", "casts": ["a"], "genres": ["b"]}), "name"),
            (json!({"name": "x".repeat(201), "casts": ["a"], "genres": ["b"]}), "name"),
            (json!({"name": "Heat", "casts": [], "genres": ["b"]}), "casts"),
            (json!({"name": "Heat", "casts": ["a", " "], "genres": ["b"]}), "casts"),
            (json!({"name": "Heat", "casts": ["a"], "genres": vec!["g"; 101]}), "genres"),
            (json!({"name": "Heat", "casts": ["a"]}), "genres"),
            (json!({"name": "Heat", "casts": "Al Pacino", "genres": ["b"]}), "casts"),
            (json!({"name": "Heat", "casts": ["a"], "genres": ["b"], "added_by": "someone-else"}), "added_by"),
            (json!({"name": "Heat", "casts": ["a"], "genres": ["b"], "id": "chosen-id"}), "id"),
        ];
        for (body, field) in cases {
            let reply = app.post("/api/movies", body.clone(), Some(&user.token)).await;
            reply.assert_error(400, "validation_failed");
            assert!(reply.body["errors"][field].is_array(), "{body} should name {field}: {}", reply.body);
        }
        assert!(app.all_movies().await.is_empty());
    }

    async fn put_replaces_every_field_and_bumps_updated_at(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let before = app.movie(&id).await.body;
        let body = json!({"name": "Heat (1995)", "casts": ["Val Kilmer"], "genres": ["Thriller"]});
        let reply = app.send(Method::PUT, &format!("/api/movies/{id}"), Some(body.clone()), Some(&user.token)).await;
        reply.assert_status(200);
        assert_eq!(reply.body["name"], "Heat (1995)");
        assert_eq!(reply.body["casts"], body["casts"]);
        assert_eq!(reply.body["genres"], body["genres"]);
        assert_eq!(reply.body["created_at"], before["created_at"]);
        assert_ne!(reply.body["updated_at"], before["updated_at"]);
        assert_eq!(app.movie(&id).await.body, reply.body);
    }

    async fn put_without_every_field_is_400_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let before = app.movie(&id).await.body;
        let reply = app.send(Method::PUT, &format!("/api/movies/{id}"), Some(json!({"name": "Other"})), Some(&user.token)).await;
        reply.assert_error(400, "validation_failed");
        assert_eq!(app.movie(&id).await.body, before);
    }

    async fn patch_changes_only_the_given_fields(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let before = app.movie(&id).await.body;
        let reply = app.send(Method::PATCH, &format!("/api/movies/{id}"), Some(json!({"genres": ["Heist"]})), Some(&user.token)).await;
        reply.assert_status(200);
        assert_eq!(reply.body["genres"], json!(["Heist"]));
        assert_eq!(reply.body["name"], before["name"]);
        assert_eq!(reply.body["casts"], before["casts"]);
        assert_eq!(app.movie(&id).await.body, reply.body);
    }

    async fn patch_with_nothing_null_or_unknown_fields_is_400_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let before = app.movie(&id).await.body;
        for body in [json!({}), json!({"name": null}), json!({"added_by": "x"}), json!({"casts": []}), json!({"name": ""})] {
            let reply = app.send(Method::PATCH, &format!("/api/movies/{id}"), Some(body.clone()), Some(&user.token)).await;
            assert_eq!(reply.status.as_u16(), 400, "{body}: {}", reply.body);
        }
        assert_eq!(app.movie(&id).await.body, before);
    }

    async fn renaming_to_a_taken_name_is_409_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.create_movie(&user.token, "Heat").await;
        let id = app.create_movie(&user.token, "Ronin").await;
        let before = app.movie(&id).await.body;
        for method in [Method::PATCH, Method::PUT] {
            let reply = app.send(method, &format!("/api/movies/{id}"), Some(movie_body("Heat")), Some(&user.token)).await;
            reply.assert_error(409, "conflict");
        }
        assert_eq!(app.movie(&id).await.body, before);
    }

    async fn updating_or_deleting_an_unknown_movie_is_404(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for (method, body) in [(Method::PUT, Some(movie_body("X"))), (Method::PATCH, Some(json!({"name": "X"}))), (Method::DELETE, None)] {
            app.send(method, "/api/movies/unknown", body, Some(&user.token)).await.assert_error(404, "not_found");
        }
        assert!(app.all_movies().await.is_empty());
    }

    async fn delete_removes_the_movie_and_its_id_from_the_owner(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let kept = app.create_movie(&user.token, "Ronin").await;
        let id = app.create_movie(&user.token, "Heat").await;
        let reply = app.send(Method::DELETE, &format!("/api/movies/{id}"), None, Some(&user.token)).await;
        reply.assert_status(204);
        assert!(reply.body.is_null());
        app.movie(&id).await.assert_error(404, "not_found");
        let me = app.get("/api/users/me", Some(&user.token)).await;
        assert_eq!(me.body["movies"], json!([kept]));
        app.send(Method::DELETE, &format!("/api/movies/{id}"), None, Some(&user.token)).await.assert_error(404, "not_found");
    }

    async fn writes_without_a_token_are_401_and_change_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let before = app.movie(&id).await.body;
        let path = format!("/api/movies/{id}");
        app.send(Method::PUT, &path, Some(movie_body("X")), None).await.assert_error(401, "unauthorized");
        app.send(Method::PATCH, &path, Some(json!({"name": "X"})), None).await.assert_error(401, "unauthorized");
        app.send(Method::DELETE, &path, None, None).await.assert_error(401, "unauthorized");
        assert_eq!(app.movie(&id).await.body, before);
    }
}
