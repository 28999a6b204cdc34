//! /api/genres, /api/casts, /api/directors: entries with the number of movies listing them,
//! most used first, found by a prefix of the entry or of any of its words.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::TestApp;

async fn add(app: &TestApp, token: &str, name: &str, casts: Value, genres: Value, directors: Value) -> String {
    let body = json!({"name": name, "casts": casts, "genres": genres, "directors": directors});
    let reply = app.post("/api/movies", body, Some(token)).await;
    reply.assert_status(200);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn entries(app: &TestApp, path: &str) -> Vec<(String, u64)> {
    let reply = app.get(path, None).await;
    reply.assert_status(200);
    reply
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e["count"].as_u64().unwrap()))
        .collect()
}

fn pairs(expected: &[(&str, u64)]) -> Vec<(String, u64)> {
    expected.iter().map(|(name, count)| ((*name).to_owned(), *count)).collect()
}

backend_tests! {
    async fn genres_are_listed_with_their_counts_most_used_first_and_ties_by_name(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        add(&app, &user.token, "Heat", json!(["Al Pacino"]), json!(["Crime", "Drama"]), json!([])).await;
        add(&app, &user.token, "Fargo", json!(["Frances McDormand"]), json!(["Crime", "Comedy"]), json!([])).await;
        add(&app, &user.token, "Ronin", json!(["Robert De Niro"]), json!(["Action", "crime"]), json!([])).await;
        assert_eq!(
            entries(&app, "/api/genres").await,
            pairs(&[("Crime", 3), ("Action", 1), ("Comedy", 1), ("Drama", 1)]),
            "\"Crime\" and \"crime\" are one entry"
        );
        assert_eq!(entries(&app, "/api/genres?limit=2").await, pairs(&[("Crime", 3), ("Action", 1)]));
    }

    async fn a_prefix_finds_entries_that_start_with_it_or_have_a_word_that_does(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        add(&app, &user.token, "Heat", json!(["Al Pacino", "Robert De Niro"]), json!(["Crime"]), json!(["Michael Mann"])).await;
        add(&app, &user.token, "Serpico", json!(["Al Pacino"]), json!(["Crime"]), json!(["Sidney Lumet"])).await;
        add(&app, &user.token, "Pacific Rim", json!(["Idris Elba"]), json!(["Action"]), json!(["Guillermo del Toro"])).await;
        assert_eq!(entries(&app, "/api/casts?q=pac").await, pairs(&[("Al Pacino", 2)]));
        assert_eq!(entries(&app, "/api/casts?q=PAC").await, pairs(&[("Al Pacino", 2)]), "ignoring case");
        assert_eq!(entries(&app, "/api/casts?q=al%20pa").await, pairs(&[("Al Pacino", 2)]), "a prefix of the whole entry");
        assert_eq!(entries(&app, "/api/casts?q=cino").await, pairs(&[]), "not inside a word");
        assert_eq!(entries(&app, "/api/casts?q=niro").await, pairs(&[("Robert De Niro", 1)]));
        assert_eq!(entries(&app, "/api/directors?q=m").await, pairs(&[("Michael Mann", 1)]), "both words match: listed once");
        assert_eq!(entries(&app, "/api/directors").await.len(), 3);
        assert_eq!(entries(&app, "/api/genres?q=c").await, pairs(&[("Crime", 2)]));
        assert_eq!(entries(&app, "/api/casts?q=100%25").await, pairs(&[]), "a wildcard is taken literally");
    }

    async fn counts_follow_edits_deletes_and_a_deleted_account(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let leaving = app.new_user().await;
        let heat = add(&app, &user.token, "Heat", json!(["Al Pacino"]), json!(["Crime"]), json!(["Michael Mann"])).await;
        add(&app, &leaving.token, "Serpico", json!(["Al Pacino"]), json!(["Crime"]), json!([])).await;
        assert_eq!(entries(&app, "/api/casts").await, pairs(&[("Al Pacino", 2)]));
        let patched = app.send(Method::PATCH, &format!("/api/movies/{heat}"),
            Some(json!({"casts": ["Robert De Niro"], "directors": []})), Some(&user.token)).await;
        patched.assert_status(200);
        assert_eq!(entries(&app, "/api/casts").await, pairs(&[("Al Pacino", 1), ("Robert De Niro", 1)]));
        assert_eq!(entries(&app, "/api/directors").await, pairs(&[]), "an entry no movie lists is gone");
        assert_eq!(entries(&app, "/api/casts?q=robert").await, pairs(&[("Robert De Niro", 1)]));
        app.send(Method::DELETE, "/api/users/me", Some(json!({"password": leaving.password})), Some(&leaving.token)).await.assert_status(204);
        assert_eq!(entries(&app, "/api/casts").await, pairs(&[("Robert De Niro", 1)]));
        app.send(Method::DELETE, &format!("/api/movies/{heat}"), None, Some(&user.token)).await.assert_status(204);
        assert_eq!(entries(&app, "/api/casts").await, pairs(&[]));
        assert_eq!(entries(&app, "/api/genres").await, pairs(&[]));
        assert_eq!(entries(&app, "/api/casts?q=robert").await, pairs(&[]));
    }

    async fn the_limit_defaults_to_20_is_clamped_to_100_and_must_be_positive(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let casts: Vec<String> = (0..100).map(|i| format!("Actor {i:03}")).collect();
        let more: Vec<String> = (100..110).map(|i| format!("Actor {i:03}")).collect();
        add(&app, &user.token, "Crowded", json!(casts), json!(["Drama"]), json!([])).await;
        add(&app, &user.token, "Crowded Too", json!(more), json!(["Drama"]), json!([])).await;
        let first = entries(&app, "/api/casts").await;
        assert_eq!(first.len(), 20);
        assert_eq!(first[0], ("Actor 000".to_owned(), 1), "ties by name");
        assert_eq!(entries(&app, "/api/casts?limit=1000").await.len(), 100);
        // A short prefix that many entries share: the most used come first all the same.
        assert_eq!(entries(&app, "/api/casts?q=act&limit=3").await, pairs(&[("Actor 000", 1), ("Actor 001", 1), ("Actor 002", 1)]));
        assert_eq!(entries(&app, "/api/casts?q=10&limit=3").await, pairs(&[("Actor 100", 1), ("Actor 101", 1), ("Actor 102", 1)]));
        for bad in ["limit=0", "limit=-1", "limit=abc", "q=", "q=%20%20"] {
            app.get(&format!("/api/casts?{bad}"), None).await.assert_error(400, "validation_failed");
        }
    }
}
