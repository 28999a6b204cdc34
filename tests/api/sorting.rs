//! Sorting, the new filters and counts of GET /api/movies: every order pages by `Link`,
//! `director` and the year range filter, `count=true` adds `X-Total-Count`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{TestApp, next_path};

/// Creates a movie with a year (or none) and a director; returns its id.
async fn add(app: &TestApp, token: &str, name: &str, year: Option<i64>, genre: &str) -> String {
    let body = json!({
        "name": name, "year": year, "casts": ["Someone"], "directors": [format!("Director of {genre}")],
        "genres": [genre]
    });
    let reply = app.post("/api/movies", body, Some(token)).await;
    reply.assert_status(200);
    reply.body["id"].as_str().unwrap().to_owned()
}

fn names(page: &Value) -> Vec<String> {
    page.as_array().unwrap().iter().map(|movie| movie["name"].as_str().unwrap().to_owned()).collect()
}

/// Every movie of `path`'s listing, following `Link` from page to page, and the pages' number.
async fn every_page(app: &TestApp, path: &str) -> (Vec<String>, usize) {
    let pages = app.pages(path, None).await;
    (
        pages.iter().flat_map(|page| page.iter().map(|movie| movie["name"].as_str().unwrap().to_owned())).collect(),
        pages.len(),
    )
}

backend_tests! {
    async fn each_sort_orders_the_catalogue_as_the_contract_says(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        add(&app, &user.token, "bravo", Some(1999), "Drama").await;
        add(&app, &user.token, "Alpha", None, "Drama").await;
        add(&app, &user.token, "charlie", Some(2005), "Crime").await;
        add(&app, &user.token, "Delta", Some(1960), "Crime").await;
        let sorted = |sort: &'static str| {
            let app = &app;
            async move { names(&app.get(&format!("/api/movies?sort={sort}"), None).await.body) }
        };
        assert_eq!(sorted("newest").await, ["Delta", "charlie", "Alpha", "bravo"]);
        assert_eq!(sorted("oldest").await, ["bravo", "Alpha", "charlie", "Delta"]);
        assert_eq!(sorted("title").await, ["Alpha", "bravo", "charlie", "Delta"], "A to Z, ignoring case");
        assert_eq!(sorted("year").await, ["charlie", "bravo", "Delta", "Alpha"], "latest first, no year last");
        // Nobody rated anything yet: all unrated, ties newest first.
        assert_eq!(sorted("rating").await, ["Delta", "charlie", "Alpha", "bravo"]);
        assert_eq!(names(&app.get("/api/movies", None).await.body), sorted("newest").await);
    }

    async fn every_sort_pages_by_link_through_every_movie_once_in_its_order(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for i in 0..23 {
            // Repeating years and names that differ only in case: ties must still page stably.
            let year = if i % 5 == 0 { None } else { Some(1990 + (i % 4)) };
            let name = if i % 2 == 0 { format!("movie {i:02}") } else { format!("Movie {i:02}") };
            add(&app, &user.token, &name, year, if i % 3 == 0 { "Drama" } else { "Crime" }).await;
        }
        for sort in ["newest", "oldest", "title", "year", "rating"] {
            for filter in ["", "&genre=drama", "&director=director%20of%20crime", "&year_from=1991&year_to=1992"] {
                let whole = names(&app.get(&format!("/api/movies?limit=1000&sort={sort}{filter}"), None).await.body);
                let (paged, pages) = every_page(&app, &format!("/api/movies?limit=4&sort={sort}{filter}")).await;
                assert_eq!(paged, whole, "sort={sort}{filter}: pages differ from the one-page listing");
                assert_eq!(pages, whole.len().div_ceil(4).max(1), "sort={sort}{filter}");
                let mut unique = paged.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), paged.len(), "sort={sort}{filter}: a movie came twice");
            }
        }
        let (all, _) = every_page(&app, "/api/movies?limit=5&sort=title").await;
        assert_eq!(all.len(), 23);
    }

    async fn the_next_link_keeps_the_sort_the_filters_and_count(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for i in 0..3 {
            add(&app, &user.token, &format!("Film {i}"), Some(2000 + i), "Drama").await;
        }
        let reply = app.get("/api/movies?limit=1&sort=year&genre=Drama&year_from=2000&count=true", None).await;
        let link = reply.header("link").expect("a next page");
        for part in ["sort=year", "genre=Drama", "year_from=2000", "count=true", "after="] {
            assert!(link.contains(part), "{part} missing from {link}");
        }
        let next = app.get(&next_path(link).unwrap(), None).await;
        assert_eq!(names(&next.body), ["Film 1"]);
        assert_eq!(next.header("x-total-count"), Some("3"));
    }

    async fn an_unknown_sort_or_a_cursor_of_another_sort_is_400(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for i in 0..3 {
            add(&app, &user.token, &format!("Film {i}"), Some(2000 + i), "Drama").await;
        }
        for bad in ["best", "", "Title", "title,year"] {
            let reply = app.get(&format!("/api/movies?sort={bad}"), None).await;
            reply.assert_error(400, "validation_failed");
            assert!(reply.body["errors"]["sort"].is_array(), "{bad}: {}", reply.body);
        }
        let by_year = app.get("/api/movies?limit=1&sort=year", None).await;
        let after = next_path(by_year.header("link").unwrap()).unwrap();
        let cursor = after.split("after=").nth(1).unwrap();
        for other in ["newest", "oldest", "title", "rating"] {
            let reply = app.get(&format!("/api/movies?sort={other}&after={cursor}"), None).await;
            reply.assert_error(400, "validation_failed");
        }
    }

    async fn the_director_filter_matches_one_entry_ignoring_case(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let body = |name: &str, directors: Value| json!({"name": name, "casts": ["A"], "directors": directors, "genres": ["B"]});
        app.post("/api/movies", body("Fargo", json!(["Joel Coen", "Ethan Coen"])), Some(&user.token)).await.assert_status(200);
        app.post("/api/movies", body("Heat", json!(["Michael Mann"])), Some(&user.token)).await.assert_status(200);
        app.post("/api/movies", body("Nameless", json!([])), Some(&user.token)).await.assert_status(200);
        assert_eq!(names(&app.get("/api/movies?director=ETHAN%20COEN", None).await.body), ["Fargo"]);
        assert_eq!(names(&app.get("/api/movies?director=Coen", None).await.body), Vec::<String>::new(), "whole entries only");
        assert_eq!(names(&app.get("/api/movies?director=michael%20mann&sort=title", None).await.body), ["Heat"]);
        app.get("/api/movies?director=", None).await.assert_error(400, "validation_failed");
    }

    async fn the_year_range_is_inclusive_and_leaves_out_movies_without_a_year(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for (name, year) in [("A", Some(1990)), ("B", Some(1995)), ("C", Some(2000)), ("D", None)] {
            add(&app, &user.token, name, year, "Drama").await;
        }
        let listed = |query: &'static str| {
            let app = &app;
            async move {
                let mut found = names(&app.get(&format!("/api/movies?{query}"), None).await.body);
                found.sort();
                found
            }
        };
        assert_eq!(listed("year_from=1995").await, ["B", "C"]);
        assert_eq!(listed("year_to=1995").await, ["A", "B"]);
        assert_eq!(listed("year_from=1990&year_to=2000").await, ["A", "B", "C"]);
        assert_eq!(listed("year_from=1995&year_to=1995").await, ["B"]);
        assert_eq!(listed("year_from=1996&year_to=1999").await, Vec::<String>::new());
        for bad in ["year_from=abc", "year_to=1869", "year_from=2101", "year_from=2000&year_to=1990", "year_from=1995.5"] {
            app.get(&format!("/api/movies?{bad}"), None).await.assert_error(400, "validation_failed");
        }
    }

    async fn count_true_adds_the_number_of_matches_whatever_the_page(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let other = app.new_user().await;
        for i in 0..7 {
            let genre = if i < 3 { "Drama" } else { "Crime" };
            add(&app, &user.token, &format!("Heat {i}"), Some(1990 + i), genre).await;
        }
        add(&app, &other.token, "Other", None, "drama").await;
        let total = |query: String| {
            let app = &app;
            async move {
                let reply = app.get(&format!("/api/movies?{query}"), None).await;
                reply.assert_status(200);
                reply.header("x-total-count").map(str::to_owned)
            }
        };
        assert_eq!(total("limit=2".into()).await, None, "only when asked");
        assert_eq!(total("count=false".into()).await, None);
        assert_eq!(total("count=true&limit=2".into()).await.as_deref(), Some("8"));
        assert_eq!(total("count=true&genre=DRAMA".into()).await.as_deref(), Some("4"));
        assert_eq!(total("count=true&cast=someone".into()).await.as_deref(), Some("8"));
        assert_eq!(total("count=true&director=director%20of%20crime".into()).await.as_deref(), Some("4"));
        assert_eq!(total(format!("count=true&added_by={}", other.id)).await.as_deref(), Some("1"));
        assert_eq!(total("count=true&q=heat".into()).await.as_deref(), Some("7"));
        assert_eq!(total("count=true&q=he".into()).await.as_deref(), Some("8"), "\"Other\" holds \"he\" too");
        assert_eq!(total("count=true&year_from=1993".into()).await.as_deref(), Some("4"));
        assert_eq!(total(format!("count=true&genre=drama&added_by={}", user.id)).await.as_deref(), Some("3"));
        assert_eq!(total("count=true&genre=drama&sort=title&limit=1".into()).await.as_deref(), Some("4"));
        assert_eq!(total("count=true&genre=nothing".into()).await.as_deref(), Some("0"));
        let first = app.get("/api/movies?count=true&limit=3", None).await;
        let second = app.get(&next_path(first.header("link").unwrap()).unwrap(), None).await;
        assert_eq!(second.header("x-total-count"), Some("8"), "the same total on a later page");
        for bad in ["count=yes", "count=1", "count="] {
            app.get(&format!("/api/movies?{bad}"), None).await.assert_error(400, "validation_failed");
        }
    }

    async fn kept_counts_follow_every_create_edit_and_delete(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let leaving = app.new_user().await;
        let heat = add(&app, &user.token, "Heat", Some(1995), "Drama").await;
        add(&app, &user.token, "Fargo", Some(1996), "Drama").await;
        add(&app, &leaving.token, "Ronin", Some(1998), "Drama").await;
        let total = |query: String| {
            let app = &app;
            async move { app.get(&format!("/api/movies?count=true&{query}"), None).await.header("x-total-count").map(str::to_owned) }
        };
        assert_eq!(total("genre=drama".into()).await.as_deref(), Some("3"));
        let patched = app.send(Method::PATCH, &format!("/api/movies/{heat}"), Some(json!({"genres": ["Crime", "crime"]})), Some(&user.token)).await;
        patched.assert_status(200);
        assert_eq!(total("genre=drama".into()).await.as_deref(), Some("2"));
        assert_eq!(total("genre=crime".into()).await.as_deref(), Some("1"), "an entry given twice counts once");
        app.send(Method::DELETE, &format!("/api/movies/{heat}"), None, Some(&user.token)).await.assert_status(204);
        assert_eq!(total("genre=crime".into()).await.as_deref(), Some("0"));
        assert_eq!(total("".into()).await.as_deref(), Some("2"));
        assert_eq!(total(format!("added_by={}", user.id)).await.as_deref(), Some("1"));
        app.send(Method::DELETE, "/api/users/me", Some(json!({"password": leaving.password})), Some(&leaving.token)).await.assert_status(204);
        assert_eq!(total("".into()).await.as_deref(), Some("1"), "a deleted account's movies leave the count");
        assert_eq!(total("genre=drama".into()).await.as_deref(), Some("1"));
        assert_eq!(total(format!("added_by={}", leaving.id)).await.as_deref(), Some("0"));
    }

    async fn a_tag_filter_under_each_order_holds_only_its_movies(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for (name, year, genre) in [("c", Some(2001), "Drama"), ("a", Some(1999), "Crime"), ("b", None, "Drama"), ("d", Some(1980), "Drama")] {
            add(&app, &user.token, name, year, genre).await;
        }
        let listed = |query: &'static str| {
            let app = &app;
            async move { names(&app.get(&format!("/api/movies?genre=drama&{query}"), None).await.body) }
        };
        assert_eq!(listed("sort=title").await, ["b", "c", "d"]);
        assert_eq!(listed("sort=year").await, ["c", "d", "b"]);
        assert_eq!(listed("sort=oldest").await, ["c", "b", "d"]);
        assert_eq!(listed("sort=newest&cast=someone&director=director%20of%20drama").await, ["d", "b", "c"]);
        assert_eq!(listed("sort=title&q=b").await, ["b"]);
    }
}

backend_tests! {
    async fn kept_counts_stay_exact_under_concurrent_creates_edits_and_deletes_of_shared_entries(backend) {
        // Writers that share entries lock the same count rows: none may be lost, none may
        // deadlock (PostgreSQL takes them in one order), and every request is answered.
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut ids = Vec::new();
        for i in 0..12 {
            ids.push(add(&app, &user.token, &format!("Seed {i}"), Some(2000), if i % 2 == 0 { "Drama" } else { "Crime" }).await);
        }
        let (app, token) = (&app, user.token.as_str());
        let patches = ids.iter().enumerate().map(|(i, id)| {
            let genres = if i % 2 == 0 { json!(["Crime", "Drama"]) } else { json!(["Drama", "Crime", "Noir"]) };
            let path = format!("/api/movies/{id}");
            async move { app.send(Method::PATCH, &path, Some(json!({"genres": genres})), Some(token)).await }
        });
        let creates = (0..6).map(|i| {
            let body = json!({"name": format!("New {i}"), "casts": ["A"], "genres": ["Noir", "Drama"]});
            app.post("/api/movies", body, Some(token))
        });
        let (patched, created) =
            futures_util::future::join(futures_util::future::join_all(patches), futures_util::future::join_all(creates)).await;
        assert!(patched.iter().chain(&created).all(|reply| reply.status.is_success()), "every concurrent write is answered 200");
        let deletes = ids[..4].iter().map(|id| {
            let path = format!("/api/movies/{id}");
            async move { app.send(Method::DELETE, &path, None, Some(token)).await }
        });
        assert!(futures_util::future::join_all(deletes).await.iter().all(|r| r.status.as_u16() == 204));
        let movies = app.all_movies().await;
        let listing = |genre: &str| movies.iter().filter(|m| m["genres"].as_array().unwrap().iter().any(|g| g.as_str().unwrap().eq_ignore_ascii_case(genre))).count();
        for genre in ["drama", "crime", "noir"] {
            let counted = app.get(&format!("/api/movies?count=true&limit=1&genre={genre}"), None).await;
            assert_eq!(counted.header("x-total-count"), Some(listing(genre).to_string().as_str()), "{genre}");
        }
        let total = app.get("/api/movies?count=true&limit=1", None).await;
        assert_eq!(total.header("x-total-count"), Some(movies.len().to_string().as_str()));
        assert_eq!(movies.len(), 14);
    }
}
