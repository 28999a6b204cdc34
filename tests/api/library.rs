//! Each person's library: entries created, replaced, read, listed and removed; private to their
//! owner; the movie's public rating following every change, an account deletion and a movie
//! deletion, at once, in the movie, its ETag and the catalogue's `rating` sort; the export.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, TestUser, next_path, read};

fn entry_path(movie_id: &str) -> String {
    format!("/api/users/me/library/{movie_id}")
}

async fn put(app: &TestApp, user: &TestUser, movie_id: &str, body: Value) -> Reply {
    app.send(Method::PUT, &entry_path(movie_id), Some(body), Some(&user.token)).await
}

async fn rate(app: &TestApp, user: &TestUser, movie_id: &str, stars: f64) {
    put(app, user, movie_id, json!({"status": "watched", "rating": stars})).await.assert_status(200);
}

async fn rating_of(app: &TestApp, movie_id: &str) -> Value {
    let reply = app.movie(movie_id).await;
    reply.assert_status(200);
    reply.body["rating"].clone()
}

async fn with_header(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    header: (&str, &str),
    body: Option<Value>,
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

fn names(page: &Value) -> Vec<String> {
    page.as_array().unwrap().iter().map(|entry| entry["movie"]["name"].as_str().unwrap().to_owned()).collect()
}

/// Every entry of `path`'s listing (its movies' names), following `Link` from page to page,
/// and the pages' number.
async fn every_page(app: &TestApp, user: &TestUser, path: &str) -> (Vec<String>, usize) {
    let pages = app.pages(path, Some(&user.token)).await;
    let names =
        pages.iter().flat_map(|page| page.iter().map(|entry| entry["movie"]["name"].as_str().unwrap().to_owned()));
    (names.collect(), pages.len())
}

backend_tests! {
    async fn an_entry_is_created_then_replaced_whole_and_read_back(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let movie = app.create_movie(&user.token, "Heat").await;
        let created = put(&app, &user, &movie, json!({"status": "watched", "rating": 4.5, "watched_on": "2024-05-17"})).await;
        created.assert_status(200);
        assert_eq!(created.body["movie_id"], movie.as_str());
        assert_eq!(created.body["status"], "watched");
        assert_eq!(created.body["rating"], 4.5);
        assert_eq!(created.body["watched_on"], "2024-05-17");
        assert_eq!(created.body["movie"]["name"], "Heat");
        assert_eq!(created.body["movie"]["rating"], json!({"average": 4.5, "count": 1}));
        let read_back = app.get(&entry_path(&movie), Some(&user.token)).await;
        read_back.assert_status(200);
        assert_eq!(read_back.body, created.body);

        // PUT replaces the whole entry: what it leaves out is gone.
        let replaced = put(&app, &user, &movie, json!({"status": "watchlist"})).await;
        replaced.assert_status(200);
        assert_eq!(replaced.body["status"], "watchlist");
        assert_eq!(replaced.body["rating"], Value::Null);
        assert_eq!(replaced.body["watched_on"], Value::Null);
        assert_eq!(replaced.body["created_at"], created.body["created_at"], "a replaced entry keeps when it was added");
        assert!(replaced.body["updated_at"].as_str() >= created.body["updated_at"].as_str());
        assert_eq!(replaced.body["movie"]["rating"], json!({"average": null, "count": 0}));
        assert_eq!(app.get(&entry_path(&movie), Some(&user.token)).await.body, replaced.body);

        app.send(Method::DELETE, &entry_path(&movie), None, Some(&user.token)).await.assert_status(204);
        app.get(&entry_path(&movie), Some(&user.token)).await.assert_error(404, "not_found");
        app.send(Method::DELETE, &entry_path(&movie), None, Some(&user.token)).await.assert_error(404, "not_found");
    }

    async fn the_movies_average_and_the_rating_sort_follow_every_rating_change_at_once(backend) {
        let app = TestApp::spawn(backend).await;
        let (owner, ana, bo) = (app.new_user().await, app.new_user().await, app.new_user().await);
        let heat = app.create_movie(&owner.token, "Heat").await;
        let alien = app.create_movie(&owner.token, "Alien").await;
        let by_rating = || async { app.all_movies().await; names_of(&app.get("/api/movies?sort=rating", None).await.body) };
        assert_eq!(by_rating().await, ["Alien", "Heat"], "nobody rated: newest first");

        rate(&app, &ana, &heat, 4.5).await;
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 4.5, "count": 1}));
        assert_eq!(by_rating().await, ["Heat", "Alien"], "the cached page is not served after the write");
        rate(&app, &bo, &heat, 3.0).await;
        // (9 + 6) half stars over 2 = 3.75 stars: rounded half up.
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 3.8, "count": 2}));
        rate(&app, &ana, &alien, 5.0).await;
        assert_eq!(by_rating().await, ["Alien", "Heat"]);
        // Ana changes her mind, then takes Heat back to her watchlist: her rating leaves it.
        rate(&app, &ana, &heat, 1.0).await;
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 2.0, "count": 2}));
        put(&app, &ana, &heat, json!({"status": "watchlist"})).await.assert_status(200);
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 3.0, "count": 1}));
        // A watched entry without a rating counts for nothing.
        put(&app, &ana, &heat, json!({"status": "watched", "watched_on": "2024-01-02"})).await.assert_status(200);
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 3.0, "count": 1}));
        app.send(Method::DELETE, &entry_path(&heat), None, Some(&bo.token)).await.assert_status(204);
        assert_eq!(rating_of(&app, &heat).await, json!({"average": null, "count": 0}));
        assert_eq!(by_rating().await, ["Alien", "Heat"]);
        let row = app.database.select_count(&format!("SELECT CAST(rating_sum * 100 + rating_count AS BIGINT) FROM movies WHERE id = '{heat}'")).await;
        assert_eq!(row, 0);
    }

    async fn concurrent_ratings_of_one_movie_are_each_counted_once(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let movie = app.create_movie(&owner.token, "Heat").await;
        let mut users = Vec::new();
        for _ in 0..12 {
            users.push(app.new_user().await);
        }
        // Everyone rates at once, then half of them change their rating at once, while the
        // other half remove theirs: no update is lost, and no two writers deadlock.
        let rated = futures_util::future::join_all(users.iter().map(|user| {
            put(&app, user, &movie, json!({"status": "watched", "rating": 5.0}))
        }))
        .await;
        rated.iter().for_each(|reply| reply.assert_status(200));
        assert_eq!(rating_of(&app, &movie).await, json!({"average": 5.0, "count": 12}));
        let changes = futures_util::future::join_all(users.iter().enumerate().map(|(i, user)| {
            let app = &app;
            let movie = &movie;
            async move {
                match i % 2 {
                    0 => put(app, user, movie, json!({"status": "watched", "rating": 1.0})).await.status.as_u16(),
                    _ => app.send(Method::DELETE, &entry_path(movie), None, Some(&user.token)).await.status.as_u16(),
                }
            }
        }))
        .await;
        assert!(changes.iter().all(|status| *status == 200 || *status == 204), "{changes:?}");
        assert_eq!(rating_of(&app, &movie).await, json!({"average": 1.0, "count": 6}));
    }

    async fn a_rating_change_gives_the_movie_a_new_etag_and_if_match_still_guards_every_write(backend) {
        let app = TestApp::spawn(backend).await;
        let (owner, fan) = (app.new_user().await, app.new_user().await);
        let movie = app.create_movie(&owner.token, "Heat").await;
        let path = format!("/api/movies/{movie}");
        let first = app.movie(&movie).await;
        let first_tag = first.header("etag").unwrap().to_owned();
        with_header(&app, Method::GET, &path, None, ("if-none-match", &first_tag), None).await.assert_status(304);

        rate(&app, &fan, &movie, 4.0).await;
        let rated = with_header(&app, Method::GET, &path, None, ("if-none-match", &first_tag), None).await;
        rated.assert_status(200);
        assert_eq!(rated.body["rating"], json!({"average": 4.0, "count": 1}), "no 304 hides the new average");
        let rated_tag = rated.header("etag").unwrap().to_owned();
        assert_ne!(rated_tag, first_tag);
        assert_eq!(rated.body["updated_at"], first.body["updated_at"], "the owner's version is untouched");

        // The tag from before the rating names a representation that is gone: 412, nothing changed.
        let body = json!({"name": "Lost", "casts": ["A"], "genres": ["B"]});
        with_header(&app, Method::PUT, &path, Some(&owner.token), ("if-match", &first_tag), Some(body.clone())).await
            .assert_error(412, "precondition_failed");
        with_header(&app, Method::PATCH, &path, Some(&owner.token), ("if-match", &first_tag), Some(json!({"name": "Lost"}))).await
            .assert_error(412, "precondition_failed");
        with_header(&app, Method::DELETE, &path, Some(&owner.token), ("if-match", &first_tag), None).await
            .assert_error(412, "precondition_failed");
        assert_eq!(app.movie(&movie).await.body, rated.body);

        // The current tag, alone or among others, lets each write through.
        let list = format!("{first_tag}, {rated_tag}");
        let patched = with_header(&app, Method::PATCH, &path, Some(&owner.token), ("if-match", &list), Some(json!({"name": "Heat (1995)"}))).await;
        patched.assert_status(200);
        assert_eq!(patched.body["rating"], json!({"average": 4.0, "count": 1}));
        let patched_tag = patched.header("etag").unwrap().to_owned();
        let replaced = with_header(&app, Method::PUT, &path, Some(&owner.token), ("if-match", &patched_tag), Some(body)).await;
        replaced.assert_status(200);
        let replaced_tag = replaced.header("etag").unwrap().to_owned();
        with_header(&app, Method::DELETE, &path, Some(&owner.token), ("if-match", &replaced_tag), None).await.assert_status(204);
        app.movie(&movie).await.assert_error(404, "not_found");
    }

    async fn deleting_an_account_removes_its_entries_and_its_ratings_from_every_average(backend) {
        let app = TestApp::spawn(backend).await;
        let (owner, leaver, stayer) = (app.new_user().await, app.new_user().await, app.new_user().await);
        let heat = app.create_movie(&owner.token, "Heat").await;
        let own = app.create_movie(&leaver.token, "Leaver's movie").await;
        rate(&app, &leaver, &heat, 1.0).await;
        rate(&app, &stayer, &heat, 5.0).await;
        rate(&app, &stayer, &own, 4.0).await;
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 3.0, "count": 2}));
        app.all_movies().await;

        let gone = app.send(Method::DELETE, "/api/users/me", Some(json!({"password": leaver.password})), Some(&leaver.token)).await;
        gone.assert_status(204);
        assert_eq!(rating_of(&app, &heat).await, json!({"average": 5.0, "count": 1}));
        assert_eq!(names_of(&app.get("/api/movies?sort=rating", None).await.body), ["Heat"]);
        // The leaver's movie went with them, and with it the stayer's entry for it.
        app.get(&entry_path(&own), Some(&stayer.token)).await.assert_error(404, "not_found");
        let (library, _) = every_page(&app, &stayer, "/api/users/me/library").await;
        assert_eq!(library, ["Heat"]);
        assert_eq!(app.database.select_count("SELECT count(*) FROM library_entries").await, 1);
    }

    async fn deleting_a_movie_removes_it_from_every_library(backend) {
        let app = TestApp::spawn(backend).await;
        let (owner, ana, bo) = (app.new_user().await, app.new_user().await, app.new_user().await);
        let heat = app.create_movie(&owner.token, "Heat").await;
        let alien = app.create_movie(&owner.token, "Alien").await;
        for user in [&ana, &bo] {
            rate(&app, user, &heat, 4.0).await;
            put(&app, user, &alien, json!({"status": "watchlist"})).await.assert_status(200);
        }
        app.send(Method::DELETE, &format!("/api/movies/{heat}"), None, Some(&owner.token)).await.assert_status(204);
        for user in [&ana, &bo] {
            app.get(&entry_path(&heat), Some(&user.token)).await.assert_error(404, "not_found");
            assert_eq!(every_page(&app, user, "/api/users/me/library").await.0, ["Alien"]);
        }
        assert_eq!(app.database.select_count("SELECT count(*) FROM library_entries").await, 2);
    }

    async fn an_invalid_entry_is_refused_with_field_errors_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let movie = app.create_movie(&user.token, "Heat").await;
        let before = put(&app, &user, &movie, json!({"status": "watched", "rating": 3.5, "watched_on": "2024-05-17"})).await;
        before.assert_status(200);
        let movie_before = app.movie(&movie).await.body;
        for (body, field) in [
            (json!({"status": "watchlist", "rating": 4.0}), Some("rating")),
            (json!({"status": "watchlist", "watched_on": "2024-05-17"}), Some("watched_on")),
            (json!({"status": "watched", "rating": 4.2}), Some("rating")),
            (json!({"status": "watched", "rating": 0}), Some("rating")),
            (json!({"status": "watched", "rating": 5.5}), Some("rating")),
            (json!({"status": "watched", "watched_on": "2023-02-29"}), Some("watched_on")),
            (json!({"status": "watched", "watched_on": "17/05/2024"}), Some("watched_on")),
            (json!({"status": "seen"}), Some("status")),
            (json!({"rating": 4.0}), None),
            (json!({"status": "watched", "rating": "4"}), None),
            (json!({"status": "watched", "stars": 4}), None),
            (json!(["watched"]), None),
        ] {
            let refused = put(&app, &user, &movie, body.clone()).await;
            assert_eq!(refused.status, 400, "{body}: {}", refused.body);
            if let Some(field) = field {
                refused.assert_error(400, "validation_failed");
                assert!(refused.body["errors"][field].is_array(), "{body}: {}", refused.body);
            }
            assert_eq!(app.get(&entry_path(&movie), Some(&user.token)).await.body, before.body, "{body}");
            assert_eq!(app.movie(&movie).await.body, movie_before, "{body}");
        }
        let refused = app.client.put(app.url(&entry_path(&movie))).bearer_auth(&user.token).body("status=watched").send().await.unwrap();
        assert_eq!(refused.status(), 415);
        assert_eq!(app.get(&entry_path(&movie), Some(&user.token)).await.body, before.body);
    }

    async fn an_unknown_movie_is_404_and_nothing_is_written(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let unknown = uuid::Uuid::now_v7().to_string();
        for id in [unknown.as_str(), "not-an-id"] {
            put(&app, &user, id, json!({"status": "watchlist"})).await.assert_error(404, "not_found");
            app.get(&entry_path(id), Some(&user.token)).await.assert_error(404, "not_found");
            app.send(Method::DELETE, &entry_path(id), None, Some(&user.token)).await.assert_error(404, "not_found");
        }
        assert_eq!(app.database.select_count("SELECT count(*) FROM library_entries").await, 0);
    }

    async fn a_library_is_private_to_its_owner(backend) {
        let app = TestApp::spawn(backend).await;
        let (me, other) = (app.new_user().await, app.new_user().await);
        let movie = app.create_movie(&me.token, "Heat").await;
        let mine = put(&app, &me, &movie, json!({"status": "watched", "rating": 4.0})).await;
        mine.assert_status(200);
        // Another user's token sees and changes nothing of mine.
        app.get(&entry_path(&movie), Some(&other.token)).await.assert_error(404, "not_found");
        app.send(Method::DELETE, &entry_path(&movie), None, Some(&other.token)).await.assert_error(404, "not_found");
        let theirs = app.get("/api/users/me/library", Some(&other.token)).await;
        theirs.assert_status(200);
        assert_eq!(theirs.body, json!([]));
        assert_eq!(app.get("/api/users/me/export", Some(&other.token)).await.body["library"], json!([]));
        assert_eq!(app.get(&entry_path(&movie), Some(&me.token)).await.body, mine.body);
        // Without a valid token: 401 everywhere, nothing written.
        for token in [None, Some("not-a-token")] {
            app.get("/api/users/me/library", token).await.assert_error(401, "unauthorized");
            app.get(&entry_path(&movie), token).await.assert_error(401, "unauthorized");
            app.send(Method::PUT, &entry_path(&movie), Some(json!({"status": "watchlist"})), token).await.assert_error(401, "unauthorized");
            app.send(Method::DELETE, &entry_path(&movie), None, token).await.assert_error(401, "unauthorized");
            app.get("/api/users/me/export", token).await.assert_error(401, "unauthorized");
        }
        assert_eq!(app.get(&entry_path(&movie), Some(&me.token)).await.body, mine.body);
    }

    async fn each_sort_orders_the_library_and_pages_by_link_through_every_entry_once(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let entries = [
            ("bravo", json!({"status": "watched", "rating": 3.0, "watched_on": "2024-03-01"})),
            ("Alpha", json!({"status": "watchlist"})),
            ("charlie", json!({"status": "watched", "rating": 5.0})),
            ("Delta", json!({"status": "watched", "watched_on": "2023-12-31"})),
            ("echo", json!({"status": "watched", "rating": 3.0, "watched_on": "2024-10-01"})),
            ("Foxtrot", json!({"status": "watchlist"})),
            ("golf", json!({"status": "watched", "rating": 0.5, "watched_on": "2024-03-01"})),
        ];
        for (name, body) in &entries {
            let movie = app.create_movie(&user.token, name).await;
            put(&app, &user, &movie, body.clone()).await.assert_status(200);
        }
        let sorted = |query: &'static str| {
            let (app, user) = (&app, &user);
            async move { names(&app.get(&format!("/api/users/me/library{query}"), Some(&user.token)).await.body) }
        };
        let added = ["golf", "Foxtrot", "echo", "Delta", "charlie", "Alpha", "bravo"];
        assert_eq!(sorted("").await, added);
        assert_eq!(sorted("?sort=added").await, added);
        assert_eq!(sorted("?sort=watched_on").await, ["echo", "golf", "bravo", "Delta", "Foxtrot", "charlie", "Alpha"],
            "latest first (ties latest added first), entries without a day last");
        assert_eq!(sorted("?sort=rating").await, ["charlie", "echo", "bravo", "golf", "Foxtrot", "Delta", "Alpha"],
            "highest first, unrated last");
        assert_eq!(sorted("?sort=title").await, ["Alpha", "bravo", "charlie", "Delta", "echo", "Foxtrot", "golf"]);
        assert_eq!(sorted("?status=watchlist").await, ["Foxtrot", "Alpha"]);
        assert_eq!(sorted("?status=watched&sort=title").await, ["bravo", "charlie", "Delta", "echo", "golf"]);

        for sort in ["added", "watched_on", "rating", "title"] {
            for status in ["", "&status=watched", "&status=watchlist"] {
                let whole = names(&app.get(&format!("/api/users/me/library?sort={sort}{status}"), Some(&user.token)).await.body);
                let (paged, pages) = every_page(&app, &user, &format!("/api/users/me/library?sort={sort}{status}&limit=2")).await;
                assert_eq!(paged, whole, "{sort}{status}: every entry once, in order");
                assert!(pages >= whole.len().div_ceil(2), "{sort}{status}: {pages} pages");
            }
        }
        let first = app.get("/api/users/me/library?sort=rating&limit=2", Some(&user.token)).await;
        let link = first.header("link").unwrap().to_owned();
        assert!(link.contains("sort=rating") && link.contains("limit=2"), "{link}");
        let after = next_path(&link).unwrap();
        let cursor = after.split("after=").nth(1).unwrap().to_owned();
        for bad in [
            "?sort=newest".to_owned(), "?status=seen".to_owned(), "?limit=0".to_owned(), "?limit=x".to_owned(),
            format!("?sort=title&after={cursor}"), "?after=garbage".to_owned(), "?sort=added&sort=title".to_owned(),
        ] {
            let refused = app.get(&format!("/api/users/me/library{bad}"), Some(&user.token)).await;
            assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        }
        let clamped = app.get("/api/users/me/library?limit=5000", Some(&user.token)).await;
        clamped.assert_status(200);
        assert_eq!(names(&clamped.body), added);
    }

    async fn the_export_holds_the_account_its_movies_and_its_library_as_an_attachment(backend) {
        let app = TestApp::spawn(backend).await;
        let (me, other) = (app.new_user().await, app.new_user().await);
        let mine = app.create_movie(&me.token, "Heat").await;
        let theirs = app.create_movie(&other.token, "Alien").await;
        put(&app, &me, &theirs, json!({"status": "watched", "rating": 4.5, "watched_on": "2024-05-17"})).await.assert_status(200);
        put(&app, &me, &mine, json!({"status": "watchlist"})).await.assert_status(200);
        let export = app.get("/api/users/me/export", Some(&me.token)).await;
        export.assert_status(200);
        assert!(export.header("content-disposition").unwrap().starts_with("attachment"));
        assert_eq!(export.body["account"]["id"], me.id.as_str());
        assert_eq!(export.body["account"]["email"], me.email.as_str());
        assert!(export.body["account"].get("password_hash").is_none());
        let movies: Vec<&str> = export.body["movies"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(movies, [mine.as_str()]);
        let library = export.body["library"].as_array().unwrap();
        assert_eq!(library.len(), 2);
        assert_eq!(library[0]["movie_id"], mine.as_str());
        assert_eq!(library[1]["movie_id"], theirs.as_str());
        assert_eq!(library[1]["rating"], 4.5);
        assert_eq!(library[1]["watched_on"], "2024-05-17");
        assert_eq!(library[1]["movie"]["name"], "Alien");
    }
}

fn names_of(page: &Value) -> Vec<String> {
    page.as_array().unwrap().iter().map(|movie| movie["name"].as_str().unwrap().to_owned()).collect()
}
