//! GET /api/movies: keyset pages, the Link header, filters, search, bad parameters.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{Value, json};

use movie_bag::domain::UserId;
use movie_bag::store::SeedBatch;

use crate::backend_tests;
use crate::helpers::{TestApp, next_path};

fn ids(movies: &[Value]) -> Vec<String> {
    movies.iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

/// Follows `Link: rel="next"` from `first` to the end, returning every page's ids.
async fn walk(app: &TestApp, first: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut path = Some(first.to_owned());
    while let Some(current) = path {
        let reply = app.get(&current, None).await;
        reply.assert_status(200);
        pages.push(ids(reply.body.as_array().unwrap()));
        path = reply.header("link").and_then(next_path);
        assert!(pages.len() < 1000, "runaway pagination");
    }
    pages
}

/// Adds `count` synthetic movies owned by `owner` straight through the store (as `movie-bag
/// seed` does), a millisecond apart, the newest an hour ago.
async fn seed(app: &TestApp, owner: &str, count: u64) {
    let batch = SeedBatch {
        owner_id: UserId::from_stored(owner.to_owned()),
        first: 1,
        last: count,
        oldest: chrono::Utc::now() - chrono::Duration::hours(1),
    };
    app.state.store.seed_movies(&batch).await.expect("seed movies");
}

async fn create(app: &TestApp, token: &str, name: &str, casts: &[&str], genres: &[&str]) -> String {
    let reply = app.post("/api/movies", json!({"name": name, "casts": casts, "genres": genres}), Some(token)).await;
    reply.assert_status(200);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn list(app: &TestApp, query: &str) -> Vec<String> {
    let reply = app.get(&format!("/api/movies?{query}"), None).await;
    reply.assert_status(200);
    ids(reply.body.as_array().unwrap())
}

backend_tests! {
    async fn walking_every_page_returns_each_movie_once_newest_first(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut created = Vec::new();
        for i in 0..23 {
            created.push(app.create_movie(&user.token, &format!("Movie {i:02}")).await);
        }
        created.reverse();
        let pages = walk(&app, "/api/movies?limit=4").await;
        assert_eq!(pages.len(), 6);
        assert!(pages[..5].iter().all(|p| p.len() == 4) && pages[5].len() == 3);
        assert_eq!(pages.concat(), created);
    }

    async fn the_last_page_has_no_link(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.create_movie(&user.token, "Only").await;
        let reply = app.get("/api/movies", None).await;
        assert!(reply.header("link").is_none());
        assert_eq!(reply.body.as_array().unwrap().len(), 1);
        let exact = app.get("/api/movies?limit=1", None).await;
        assert!(exact.header("link").is_none(), "no next page when the page is exactly full");
    }

    async fn a_walk_stays_correct_while_movies_are_added(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut original = Vec::new();
        for i in 0..12 {
            original.push(app.create_movie(&user.token, &format!("Old {i}")).await);
        }
        let mut seen = Vec::new();
        let mut path = Some("/api/movies?limit=3".to_owned());
        let mut added = 0;
        while let Some(current) = path {
            let reply = app.get(&current, None).await;
            seen.extend(ids(reply.body.as_array().unwrap()));
            path = reply.header("link").and_then(next_path);
            // Writers keep adding while the reader pages.
            app.create_movie(&user.token, &format!("New {added}")).await;
            added += 1;
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "no movie twice: {seen:?}");
        original.reverse();
        assert_eq!(seen, original, "every old movie exactly once, in order");
    }

    async fn a_page_requested_concurrently_with_inserts_never_fails(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for i in 0..10 {
            app.create_movie(&user.token, &format!("Base {i}")).await;
        }
        let writer = async {
            for i in 0..20 {
                app.create_movie(&user.token, &format!("Concurrent {i}")).await;
            }
        };
        let reader = async {
            for _ in 0..20 {
                let pages = walk(&app, "/api/movies?limit=5").await;
                let all = pages.concat();
                let unique: HashSet<_> = all.iter().collect();
                assert_eq!(unique.len(), all.len());
            }
        };
        tokio::join!(writer, reader);
    }

    async fn genre_and_cast_filters_match_one_entry_ignoring_case(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let heat = create(&app, &user.token, "Heat", &["Al Pacino", "Robert De Niro"], &["Crime", "Drama"]).await;
        let godfather = create(&app, &user.token, "The Godfather", &["Al Pacino"], &["Crime"]).await;
        let up = create(&app, &user.token, "Up", &["Ed Asner"], &["Animation", "Drama"]).await;
        assert_eq!(list(&app, "genre=crime").await, [godfather.clone(), heat.clone()]);
        assert_eq!(list(&app, "genre=DRAMA").await, [up.clone(), heat.clone()]);
        assert_eq!(list(&app, "cast=al%20pacino").await, [godfather.clone(), heat.clone()]);
        assert!(list(&app, "cast=Pacino").await.is_empty(), "an entry matches whole, not in part");
        assert!(list(&app, "genre=Crim").await.is_empty());
        assert_eq!(list(&app, "genre=drama&cast=Robert%20De%20Niro").await, vec![heat.clone()]);
        assert_eq!(list(&app, "genre=crime&cast=ed%20asner").await, Vec::<String>::new());
    }

    async fn q_finds_a_case_insensitive_substring_of_the_name(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let godfather = app.create_movie(&user.token, "The Godfather").await;
        let godfather2 = app.create_movie(&user.token, "The Godfather Part II").await;
        let heat = app.create_movie(&user.token, "Heat").await;
        assert_eq!(list(&app, "q=godFATHER").await, [godfather2.clone(), godfather.clone()]);
        assert_eq!(list(&app, "q=part%20ii").await, vec![godfather2.clone()]);
        assert_eq!(list(&app, "q=ea").await, vec![heat.clone()], "short fragments work too");
        assert_eq!(list(&app, "q=t").await.len(), 3);
        assert!(list(&app, "q=godfathers").await.is_empty());
    }

    async fn q_takes_percent_underscore_backslash_and_quotes_literally(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let percent = app.create_movie(&user.token, "100% Love").await;
        let plain = app.create_movie(&user.token, "1000 Love").await;
        let underscore = app.create_movie(&user.token, "snake_case").await;
        let lookalike = app.create_movie(&user.token, "snakeXcase").await;
        let backslash = app.create_movie(&user.token, r"back\slash").await;
        let quoted = app.create_movie(&user.token, r#"The "Quoted" One"#).await;
        assert_eq!(list(&app, "q=%25").await, vec![percent.clone()]);
        assert_eq!(list(&app, "q=0%25%20L").await, vec![percent.clone()]);
        assert_eq!(list(&app, "q=e_c").await, vec![underscore.clone()]);
        assert_eq!(list(&app, "q=snake_case").await, vec![underscore.clone()]);
        assert_eq!(list(&app, "q=%5C").await, vec![backslash.clone()]);
        assert_eq!(list(&app, "q=k%5Cs").await, vec![backslash.clone()]);
        assert_eq!(list(&app, "q=%22quoted%22").await, vec![quoted.clone()]);
        assert_eq!(list(&app, "q=00%20L").await, vec![plain.clone()]);
        let _ = lookalike;
    }

    async fn added_by_lists_one_users_movies_and_combines_with_the_rest(backend) {
        let app = TestApp::spawn(backend).await;
        let ann = app.new_user().await;
        let bob = app.new_user().await;
        let ann_heat = create(&app, &ann.token, "Heat", &["Al Pacino"], &["Crime"]).await;
        let bob_ronin = create(&app, &bob.token, "Ronin", &["Robert De Niro"], &["Crime"]).await;
        let ann_up = create(&app, &ann.token, "Up", &["Ed Asner"], &["Animation"]).await;
        assert_eq!(list(&app, &format!("added_by={}", ann.id)).await, [ann_up.clone(), ann_heat.clone()]);
        assert_eq!(list(&app, &format!("added_by={}", bob.id)).await, vec![bob_ronin.clone()]);
        assert_eq!(list(&app, &format!("added_by={}&genre=crime", ann.id)).await, vec![ann_heat.clone()]);
        assert_eq!(list(&app, &format!("added_by={}&genre=crime&cast=al%20pacino&q=hea", ann.id)).await, vec![ann_heat.clone()]);
        assert!(list(&app, &format!("added_by={}&q=ronin", ann.id)).await.is_empty());
        assert!(list(&app, "added_by=nobody").await.is_empty());
    }

    async fn the_next_link_keeps_every_filter_and_the_page_size(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut expected = Vec::new();
        for i in 0..7 {
            let genre = if i % 2 == 0 { "Drama" } else { "Comedy" };
            let id = create(&app, &user.token, &format!("Film & Co {i}"), &["Same Actor"], &[genre]).await;
            if genre == "Drama" {
                expected.push(id);
            }
        }
        create(&app, &user.token, "Unrelated", &["Same Actor"], &["Drama"]).await;
        expected.reverse();
        let first = format!("/api/movies?limit=2&genre=drama&cast=same%20actor&q=film%20%26%20co&added_by={}", user.id);
        let reply = app.get(&first, None).await;
        let link = reply.header("link").unwrap().to_owned();
        for part in ["limit=2", "genre=drama", "cast=same+actor", "q=film+%26+co", &format!("added_by={}", user.id), "after="] {
            assert!(link.contains(part), "{link} should contain {part}");
        }
        assert!(link.ends_with("; rel=\"next\""));
        assert_eq!(walk(&app, &first).await.concat(), expected);
    }

    async fn the_default_page_is_100_movies_and_a_limit_over_1000_gives_pages_of_1000(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        seed(&app, &user.id, 1005).await;
        let newest_first = ids(app.get("/api/movies?limit=1000", None).await.body.as_array().unwrap());

        let default = app.get("/api/movies", None).await;
        default.assert_status(200);
        assert_eq!(ids(default.body.as_array().unwrap()), newest_first[..100].to_vec());
        let next = next_path(default.header("link").expect("a next page")).unwrap();
        assert!(next.contains("limit=100&") || next.ends_with("limit=100"), "{next}");

        for over in ["1001", "5000", "99999999999999999999999"] {
            let clamped = app.get(&format!("/api/movies?limit={over}"), None).await;
            clamped.assert_status(200);
            assert_eq!(ids(clamped.body.as_array().unwrap()), newest_first, "limit={over}");
            let next = next_path(clamped.header("link").expect("a next page")).unwrap();
            assert!(next.contains("limit=1000"), "the link names the clamped size: {next}");
            let rest = app.get(&next, None).await;
            rest.assert_status(200);
            assert_eq!(rest.body.as_array().unwrap().len(), 5);
            assert!(rest.header("link").is_none());
        }
        // A cursor from a small page followed with a huge limit is clamped the same way.
        let small = app.get("/api/movies?limit=2", None).await;
        let next = next_path(small.header("link").unwrap()).unwrap();
        let clamped = app.get(&next.replace("limit=2", "limit=99999"), None).await;
        clamped.assert_status(200);
        assert_eq!(ids(clamped.body.as_array().unwrap()), app.all_movies().await.iter().skip(2).take(1000)
            .map(|m| m["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>());
    }

    async fn movies_sharing_one_created_at_are_walked_each_once_in_the_same_order_every_time(backend) {
        // An import gives many movies one timestamp; pages must still neither repeat nor skip.
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        seed(&app, &user.id, 250).await;
        app.database.execute("UPDATE movies SET created_at = (SELECT max(created_at) FROM movies)").await;
        assert_eq!(app.database.select_count("SELECT count(DISTINCT created_at) FROM movies").await, 1);

        let expected = ids(app.get("/api/movies?limit=1000", None).await.body.as_array().unwrap());
        assert_eq!(expected.len(), 250);
        let mut by_id = expected.clone();
        by_id.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(expected, by_id, "ties are ordered by id, highest first");
        for first in ["/api/movies?limit=7".to_owned(), format!("/api/movies?limit=7&added_by={}", user.id)] {
            for walk_number in 0..3 {
                let pages = walk(&app, &first).await;
                assert_eq!(pages.len(), 36, "{first}");
                let walked = pages.concat();
                assert_eq!(walked.iter().collect::<HashSet<_>>().len(), 250, "{first}: a movie came twice");
                assert_eq!(walked, expected, "{first}: walk {walk_number} differs");
            }
        }
    }

    async fn bad_query_parameters_are_400(backend) {
        let app = TestApp::spawn(backend).await;
        for query in [
            "limit=0", "limit=-1", "limit=abc", "limit=1.5", "limit=", "after=garbage", "after=%00",
            "after=bm90LWEtY3Vyc29y", "limit=1&limit=2", "genre=", "q=%20",
        ] {
            let reply = app.get(&format!("/api/movies?{query}"), None).await;
            assert_eq!(reply.status.as_u16(), 400, "{query}: {}", reply.body);
            assert!(reply.body["code"].is_string());
        }
    }

    async fn filters_follow_updates_and_deletes(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, "Heat", &["Al Pacino"], &["Crime"]).await;
        let path = format!("/api/movies/{id}");
        app.send(Method::PATCH, &path, Some(json!({"genres": ["Thriller"], "casts": ["Val Kilmer"], "name": "Heat II"})), Some(&user.token)).await.assert_status(200);
        assert!(list(&app, "genre=crime").await.is_empty());
        assert!(list(&app, "cast=al%20pacino").await.is_empty());
        assert!(list(&app, "q=heat%20ii").await == vec![id.clone()]);
        assert_eq!(list(&app, "genre=thriller").await, vec![id.clone()]);
        assert_eq!(list(&app, "cast=val%20kilmer").await, vec![id.clone()]);
        app.send(Method::DELETE, &path, None, Some(&user.token)).await.assert_status(204);
        assert!(list(&app, "genre=thriller").await.is_empty());
        assert!(list(&app, "q=heat").await.is_empty());
    }

    async fn deleting_a_movie_or_its_owner_leaves_no_tag_rows_behind(backend) {
        let app = TestApp::spawn(backend).await;
        let leaving = app.new_user().await;
        let staying = app.new_user().await;
        let with_account = create(&app, &leaving.token, "Heat", &["Al Pacino", "Robert De Niro"], &["Crime", "Drama"]).await;
        let deleted = create(&app, &staying.token, "Ronin", &["Jean Reno"], &["Thriller"]).await;
        let kept = create(&app, &staying.token, "Collateral", &["Tom Cruise", "Jamie Foxx"], &["Crime", "Thriller"]).await;
        let tag_rows = |id: &str| {
            format!(
                "SELECT (SELECT count(*) FROM movie_genres WHERE movie_id = '{id}')
                      + (SELECT count(*) FROM movie_casts WHERE movie_id = '{id}')"
            )
        };
        assert_eq!(app.database.select_count(&tag_rows(&with_account)).await, 4);
        app.send(Method::DELETE, &format!("/api/movies/{deleted}"), None, Some(&staying.token)).await.assert_status(204);
        let reply = app.send(Method::DELETE, "/api/users/me", Some(json!({"password": leaving.password})), Some(&leaving.token)).await;
        reply.assert_status(204);
        assert_eq!(app.database.select_count(&tag_rows(&deleted)).await, 0);
        assert_eq!(app.database.select_count(&tag_rows(&with_account)).await, 0, "a cascaded delete leaves tag rows");
        assert_eq!(app.database.select_count(&tag_rows(&kept)).await, 4);
        assert_eq!(list(&app, "genre=crime").await, vec![kept.clone()]);
        assert_eq!(list(&app, "cast=jamie%20foxx").await, vec![kept]);
    }

    async fn repeated_entries_in_a_list_do_not_break_indexing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = create(&app, &user.token, "Twice", &["Al", "al"], &["Drama", "drama", "DRAMA"]).await;
        assert_eq!(list(&app, "genre=drama").await, vec![id.clone()]);
        assert_eq!(list(&app, "cast=AL").await, vec![id.clone()]);
        assert_eq!(app.movie(&id).await.body["genres"], json!(["Drama", "drama", "DRAMA"]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_name_search_stays_right_after_a_vacuum() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let user = app.new_user().await;
    let mut ids = Vec::new();
    for name in ["Alpha Centauri", "Beta Pictoris", "Gamma Draconis", "Delta Cephei"] {
        ids.push(app.create_movie(&user.token, name).await);
    }
    app.send(Method::DELETE, &format!("/api/movies/{}", ids[1]), None, Some(&user.token)).await.assert_status(204);
    let conn = rusqlite::Connection::open(app.database.url.trim_start_matches("sqlite://")).unwrap();
    conn.execute_batch("VACUUM").unwrap();
    drop(conn);
    assert_eq!(list(&app, "q=draconis").await, vec![ids[2].clone()]);
    assert_eq!(list(&app, "q=cephei").await, vec![ids[3].clone()]);
    assert!(list(&app, "q=pictoris").await.is_empty());
}

mod compression {
    use std::io::Read as _;

    use crate::backend_tests;
    use crate::helpers::TestApp;

    async fn fetch(app: &TestApp, path: &str, accept_encoding: Option<&str>) -> reqwest::Response {
        let mut request = app.client.get(app.url(path));
        if let Some(encoding) = accept_encoding {
            request = request.header("accept-encoding", encoding);
        }
        request.send().await.unwrap()
    }

    backend_tests! {
        async fn a_large_page_is_compressed_with_gzip_or_brotli_as_the_client_asks_and_decodes_to_the_same_json(backend) {
            let app = TestApp::spawn(backend).await;
            let user = app.new_user().await;
            for i in 0..40 {
                app.create_movie(&user.token, &format!("Compressible movie number {i}")).await;
            }
            let plain = fetch(&app, "/api/movies", None).await;
            assert_eq!(plain.headers().get("content-encoding"), None);
            let plain = plain.bytes().await.unwrap();

            let gzip = fetch(&app, "/api/movies", Some("gzip")).await;
            assert_eq!(gzip.headers()["content-encoding"], "gzip");
            assert!(gzip.headers()["vary"].to_str().unwrap().to_ascii_lowercase().contains("accept-encoding"));
            let gzip = gzip.bytes().await.unwrap();
            assert!(gzip.len() * 3 < plain.len(), "gzip {} vs plain {}", gzip.len(), plain.len());
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&gzip[..]).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, plain);

            let brotli = fetch(&app, "/api/movies", Some("br;q=1.0, gzip;q=0.5")).await;
            assert_eq!(brotli.headers()["content-encoding"], "br");
            let brotli = brotli.bytes().await.unwrap();
            assert!(brotli.len() * 3 < plain.len(), "br {} vs plain {}", brotli.len(), plain.len());
            let mut decoded = Vec::new();
            brotli::Decompressor::new(&brotli[..], 4096).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, plain);

            // A movie page (small) and the OpenAPI document (large, not a listing) follow the same rules.
            let document = fetch(&app, "/api/openapi.json", Some("gzip")).await;
            assert_eq!(document.headers()["content-encoding"], "gzip");
        }

        async fn a_small_body_is_sent_as_it_is_even_when_the_client_accepts_compression(backend) {
            let app = TestApp::spawn(backend).await;
            let health = fetch(&app, "/health", Some("gzip, br")).await;
            assert_eq!(health.headers().get("content-encoding"), None);
            assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");
        }
    }
}
