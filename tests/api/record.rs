//! The record people keep: year, runtime, directors, overview (and the poster and rating every
//! movie reads with); PUT keeps what a tutorial client does not send, PATCH `null` clears;
//! a movie is unique by name and year.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp};

/// A movie with every field of the record.
fn full_body(name: &str) -> Value {
    json!({
        "name": name, "year": 1995, "runtime": 170,
        "casts": ["Al Pacino", "Robert De Niro"], "directors": ["Michael Mann"], "genres": ["Crime", "Drama"],
        "overview": "A group of professional bank robbers start to feel the heat from police."
    })
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let reply = app.post("/api/movies", body, Some(token)).await;
    reply.assert_status(200);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn put(app: &TestApp, token: &str, id: &str, body: Value) -> Reply {
    app.send(Method::PUT, &format!("/api/movies/{id}"), Some(body), Some(token)).await
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> Reply {
    app.send(Method::PATCH, &format!("/api/movies/{id}"), Some(body), Some(token)).await
}

backend_tests! {
    async fn a_tutorial_three_field_movie_reads_with_the_new_fields_empty(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Heat").await;
        let movie = app.movie(&id).await.body;
        assert_eq!(movie["year"], Value::Null);
        assert_eq!(movie["runtime"], Value::Null);
        assert_eq!(movie["directors"], json!([]));
        assert_eq!(movie["overview"], Value::Null);
        assert_eq!(movie["poster"], Value::Null);
        assert_eq!(movie["rating"], json!({"average": null, "count": 0}));
    }

    async fn every_field_of_the_record_reads_back_by_id_in_the_listing_and_after_a_patch(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let body = full_body("Heat");
        let id = create(&app, &user.token, body.clone()).await;
        let by_id = app.movie(&id).await.body;
        let listed = app.get("/api/movies", None).await.body[0].clone();
        assert_eq!(by_id, listed);
        for field in ["name", "year", "runtime", "casts", "directors", "genres", "overview"] {
            assert_eq!(by_id[field], body[field], "{field}");
        }
        let patched = patch(&app, &user.token, &id, json!({"runtime": 171})).await;
        patched.assert_status(200);
        assert_eq!(patched.body["runtime"], 171);
        for field in ["name", "year", "casts", "directors", "genres", "overview"] {
            assert_eq!(patched.body[field], body[field], "{field} kept by the patch");
        }
        assert_eq!(app.movie(&id).await.body, patched.body);
    }

    async fn a_put_of_the_tutorials_three_fields_keeps_the_fields_it_does_not_know(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, full_body("Heat")).await;
        let replaced = put(&app, &user.token, &id,
            json!({"name": "Heat", "casts": ["Val Kilmer"], "genres": ["Thriller"]})).await;
        replaced.assert_status(200);
        assert_eq!(replaced.body["casts"], json!(["Val Kilmer"]));
        assert_eq!(replaced.body["year"], 1995);
        assert_eq!(replaced.body["runtime"], 170);
        assert_eq!(replaced.body["directors"], json!(["Michael Mann"]));
        assert_eq!(replaced.body["overview"], full_body("Heat")["overview"]);
        assert_eq!(app.movie(&id).await.body, replaced.body);
    }

    async fn a_put_that_sends_null_or_an_empty_list_clears_those_fields(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, full_body("Heat")).await;
        let replaced = put(&app, &user.token, &id, json!({
            "name": "Heat", "casts": ["Al Pacino"], "genres": ["Crime"],
            "year": null, "runtime": null, "directors": [], "overview": null
        })).await;
        replaced.assert_status(200);
        for field in ["year", "runtime", "overview"] {
            assert_eq!(replaced.body[field], Value::Null, "{field}");
        }
        assert_eq!(replaced.body["directors"], json!([]));
    }

    async fn a_put_still_needs_the_tutorials_three_fields(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, full_body("Heat")).await;
        let before = app.movie(&id).await.body;
        put(&app, &user.token, &id, json!({"name": "Heat", "year": 1996})).await.assert_error(400, "validation_failed");
        assert_eq!(app.movie(&id).await.body, before);
    }

    async fn a_patch_null_clears_year_runtime_and_overview_and_an_empty_list_clears_directors(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, full_body("Heat")).await;
        let patched = patch(&app, &user.token, &id,
            json!({"year": null, "runtime": null, "overview": null, "directors": []})).await;
        patched.assert_status(200);
        assert_eq!(patched.body["year"], Value::Null);
        assert_eq!(patched.body["runtime"], Value::Null);
        assert_eq!(patched.body["overview"], Value::Null);
        assert_eq!(patched.body["directors"], json!([]));
        assert_eq!(patched.body["casts"], full_body("Heat")["casts"]);
        assert_eq!(app.movie(&id).await.body, patched.body);
    }

    async fn a_patch_null_for_name_casts_genres_or_directors_is_400_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, full_body("Heat")).await;
        let before = app.movie(&id).await.body;
        for field in ["name", "casts", "genres", "directors"] {
            let reply = patch(&app, &user.token, &id, json!({ field: null })).await;
            reply.assert_status(400);
            assert_eq!(app.movie(&id).await.body, before, "{field}: null changed the movie");
        }
    }

    async fn fields_outside_their_rules_are_400_naming_the_field_and_change_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, full_body("Heat")).await;
        let before = app.movie(&id).await.body;
        let long_overview = "x".repeat(2001);
        let cases = [
            ("year", json!(1869)),
            ("year", json!(2101)),
            ("runtime", json!(0)),
            ("runtime", json!(1441)),
            ("directors", json!(["  "])),
            ("directors", json!(vec!["Someone"; 101])),
            ("overview", json!(long_overview)),
            ("overview", json!("Bad \u{202E} direction")),
        ];
        for (field, value) in cases {
            let mut body = full_body("Another");
            body[field] = value.clone();
            let created = app.post("/api/movies", body.clone(), Some(&user.token)).await;
            created.assert_error(400, "validation_failed");
            assert!(created.body["errors"][field].is_array(), "{field}={value}: {}", created.body);
            let mut whole = full_body("Heat");
            whole[field] = value.clone();
            put(&app, &user.token, &id, whole).await.assert_error(400, "validation_failed");
            let patched = patch(&app, &user.token, &id, json!({ field: value })).await;
            patched.assert_error(400, "validation_failed");
            assert!(patched.body["errors"][field].is_array(), "{field}: {}", patched.body);
            assert_eq!(app.movie(&id).await.body, before, "{field}={value} changed the movie");
        }
        // Mistyped: a year as text or a fraction, a runtime as a float.
        for (field, value) in [("year", json!("1995")), ("year", json!(1995.5)), ("runtime", json!(90.0))] {
            let mut body = full_body("Another");
            body[field] = value.clone();
            app.post("/api/movies", body, Some(&user.token)).await.assert_status(400);
            patch(&app, &user.token, &id, json!({ field: value })).await.assert_status(400);
        }
        assert_eq!(app.movie(&id).await.body, before);
        assert_eq!(app.all_movies().await.len(), 1, "no rejected create was stored");
    }

    async fn the_bounds_of_each_range_are_accepted(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for (name, year, runtime) in [("Oldest", 1870, 1), ("Latest", 2100, 1440)] {
            let mut body = full_body(name);
            body["year"] = json!(year);
            body["runtime"] = json!(runtime);
            body["overview"] = json!("y".repeat(2000));
            let id = create(&app, &user.token, body).await;
            let movie = app.movie(&id).await.body;
            assert_eq!((movie["year"].as_i64(), movie["runtime"].as_i64()), (Some(year), Some(runtime)));
        }
    }

    async fn a_blank_overview_is_stored_as_none_and_an_overview_keeps_its_line_breaks(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut body = full_body("Heat");
        body["overview"] = json!("   \n ");
        let id = create(&app, &user.token, body).await;
        assert_eq!(app.movie(&id).await.body["overview"], Value::Null);
        let patched = patch(&app, &user.token, &id, json!({"overview": " First line.\r\nSecond line. "})).await;
        assert_eq!(patched.body["overview"], "First line.\nSecond line.");
    }

    async fn the_same_name_in_two_years_is_two_movies_but_twice_in_one_year_is_409(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let dune = |year: Value| json!({"name": "Dune", "year": year, "casts": ["Someone"], "genres": ["Sci-fi"]});
        let first = create(&app, &user.token, dune(json!(1984))).await;
        create(&app, &user.token, dune(json!(2021))).await;
        app.post("/api/movies", dune(json!(2021)), Some(&user.token)).await.assert_error(409, "conflict");
        // A missing year counts as one value: a second "Heat" without one is a conflict.
        app.create_movie(&user.token, "Heat").await;
        let again = app.post("/api/movies", json!({"name": "Heat", "casts": ["A"], "genres": ["B"]}), Some(&user.token)).await;
        again.assert_error(409, "conflict");
        assert_eq!(again.body["message"], "Movie with given name already exists");
        // Moving the 1984 film to 2021 collides too, and changes nothing.
        let before = app.movie(&first).await.body;
        patch(&app, &user.token, &first, json!({"year": 2021})).await.assert_error(409, "conflict");
        assert_eq!(app.movie(&first).await.body, before);
        assert_eq!(app.all_movies().await.len(), 3);
    }

    async fn directors_are_trimmed_and_kept_in_their_order(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut body = full_body("Fargo");
        body["directors"] = json!([" Joel Coen ", "Ethan Coen"]);
        let id = create(&app, &user.token, body).await;
        assert_eq!(app.movie(&id).await.body["directors"], json!(["Joel Coen", "Ethan Coen"]));
    }
}
