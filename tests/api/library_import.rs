//! `POST /api/users/me/library/import`: a Letterboxd export, built here as Letterboxd writes it
//! (its header rows, fields quoted when they hold commas or quotes, the zip's other files and
//! folders), read into the caller's library: rows matched to the catalogue or created, merged
//! (ratings over the diary, the latest viewing, a watchlist never downgrading), skipped with
//! their line; one transaction, so a refused file writes nothing and a repeat changes nothing.

use std::io::Write as _;

use reqwest::Method;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, TestUser, read};

const IMPORT: &str = "/api/users/me/library/import";
const WATCH_HEADER: &str = "Date,Name,Year,Letterboxd URI";
const RATINGS_HEADER: &str = "Date,Name,Year,Letterboxd URI,Rating";
const DIARY_HEADER: &str = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date";

/// A field as Letterboxd's CSV writer puts it: quoted (quotes doubled) when it holds a comma, a
/// quote or a line break.
fn field(value: &str) -> String {
    match value.contains([',', '"', '\n', '\r']) {
        true => format!("\"{}\"", value.replace('"', "\"\"")),
        false => value.to_owned(),
    }
}

/// A CSV file: the header, then each row's fields, lines ended by `eol`.
fn csv(header: &str, rows: &[&[&str]], eol: &str) -> String {
    let mut text = format!("{header}{eol}");
    for row in rows {
        text.push_str(&row.iter().map(|value| field(value)).collect::<Vec<_>>().join(","));
        text.push_str(eol);
    }
    text
}

/// A Letterboxd export zip: the given movie files beside the ones every export has (profile,
/// reviews, comments) and its folders (lists/, likes/, deleted/), which an import ignores.
fn export_zip(files: &[(&str, String)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut write = |name: &str, text: &str| {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    };
    write(
        "profile.csv",
        "Date Joined,Username,Given Name,Family Name,Email Address,Location,Website,Bio,Pronoun,Favorite Films\n\
         2020-01-01,cinephile,Ann,Lee,ann@example.com,,,\"Films, mostly\",she/her,\n",
    );
    for (name, text) in files {
        write(name, text);
    }
    write("reviews.csv", &format!("{DIARY_HEADER},Review\n"));
    write("comments.csv", "Date,Content,Comment\n");
    write("lists/favourites-of-2023.csv", "Letterboxd list export v7\nDate,Name,Tags,URL,Description\n");
    write("likes/films.csv", &format!("{WATCH_HEADER}\n2023-01-01,Heat,1995,https://boxd.it/2b0k\n"));
    write("deleted/diary.csv", &format!("{DIARY_HEADER}\n"));
    let mut zip = zip.finish().unwrap();
    zip.flush().unwrap();
    zip.into_inner()
}

async fn send_import(app: &TestApp, token: Option<&str>, content_type: &str, query: &str, body: Vec<u8>) -> Reply {
    let mut request =
        app.client.request(Method::POST, app.url(&format!("{IMPORT}{query}"))).header("content-type", content_type);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.body(body).send().await.unwrap()).await
}

async fn import_zip(app: &TestApp, user: &TestUser, zip: Vec<u8>) -> Reply {
    send_import(app, Some(&user.token), "application/zip", "", zip).await
}

async fn import_csv(app: &TestApp, user: &TestUser, query: &str, text: String) -> Reply {
    send_import(app, Some(&user.token), "text/csv; charset=utf-8", query, text.into_bytes()).await
}

async fn create_movie(app: &TestApp, user: &TestUser, name: &str, year: Option<i64>) -> String {
    let body = json!({"name": name, "year": year, "casts": ["Someone"], "genres": ["Drama"]});
    let reply = app.post("/api/movies", body, Some(&user.token)).await;
    reply.assert_status(200);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// The caller's library, every entry, by movie name.
async fn library(app: &TestApp, user: &TestUser) -> Vec<Value> {
    let mut entries: Vec<Value> =
        app.pages("/api/users/me/library?sort=title", Some(&user.token)).await.into_iter().flatten().collect();
    entries.sort_by_key(|entry| entry["movie"]["name"].as_str().unwrap().to_owned());
    entries
}

fn entry<'a>(entries: &'a [Value], name: &str) -> &'a Value {
    entries.iter().find(|e| e["movie"]["name"] == name).unwrap_or_else(|| panic!("{name} not in {entries:?}"))
}

backend_tests! {
    async fn a_zip_export_matches_the_catalogue_creates_the_rest_and_reports_rows_without_a_name(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let heat = create_movie(&app, &owner, "Heat", Some(1995)).await;
        let amelie = create_movie(&app, &owner, "Amélie", Some(2001)).await;
        let untitled_year = create_movie(&app, &owner, "Koyaanisqatsi", None).await;
        let user = app.new_user().await;
        let diary = csv(DIARY_HEADER, &[
            &["2024-01-05", "  HEAT ", "1995", "https://boxd.it/2b0k", "4", "", "", "2024-01-04"],
            &["2024-01-06", "AMÉLIE", "2001", "https://boxd.it/2b4q", "4.5", "Yes", "paris, cafés", "2024-01-06"],
            &["2024-01-07", "", "1999", "https://boxd.it/zzzz", "3", "", "", "2024-01-07"],
            &["2024-01-08", "Crouching Tiger, Hidden Dragon", "2000", "https://boxd.it/1y2k", "5", "", "", "2024-01-08"],
        ], "\n");
        let watchlist = csv(WATCH_HEADER, &[
            &["2024-02-01", "koyaanisqatsi", "", "https://boxd.it/1kzE"],
            &["2024-02-02", "The \"Best\" Movie", "2010", "https://boxd.it/aaaa"],
            &["2024-02-03", "", "", "https://boxd.it/bbbb"],
        ], "\n");
        let zip = export_zip(&[("diary.csv", diary), ("watchlist.csv", watchlist)]);

        let report = import_zip(&app, &user, zip).await;

        report.assert_status(200);
        assert_eq!(report.body["matched"], 3, "{}", report.body);
        assert_eq!(report.body["created"], 2, "{}", report.body);
        assert_eq!(report.body["entries"], 5, "{}", report.body);
        assert_eq!(report.body["skipped"], json!([
            {"file": "diary.csv", "line": 4, "name": "", "reason": "the row has no name"},
            {"file": "watchlist.csv", "line": 4, "name": "", "reason": "the row has no name"},
        ]));
        let entries = library(&app, &user).await;
        assert_eq!(entries.len(), 5);
        assert_eq!(entry(&entries, "Heat")["movie_id"], heat.as_str());
        assert_eq!(entry(&entries, "Heat")["rating"], 4.0);
        assert_eq!(entry(&entries, "Heat")["watched_on"], "2024-01-04");
        assert_eq!(entry(&entries, "Amélie")["movie_id"], amelie.as_str());
        assert_eq!(entry(&entries, "Koyaanisqatsi")["movie_id"], untitled_year.as_str());
        assert_eq!(entry(&entries, "Koyaanisqatsi")["status"], "watchlist");
        let created = entry(&entries, "Crouching Tiger, Hidden Dragon");
        assert_eq!(created["movie"]["year"], 2000);
        assert_eq!(created["movie"]["added_by"], user.id.as_str());
        assert_eq!(created["movie"]["casts"], json!([]));
        assert_eq!(created["movie"]["genres"], json!([]));
        assert_eq!(created["movie"]["directors"], json!([]));
        let best = entry(&entries, "The \"Best\" Movie");
        assert_eq!((&best["status"], &best["rating"], &best["movie"]["year"]), (&json!("watchlist"), &Value::Null, &json!(2010)));
        // The created movies are the catalogue's like any other (and its kept counts know them).
        let catalogue = app.get("/api/movies?count=true", None).await;
        assert_eq!(catalogue.header("x-total-count"), Some("5"));
        let mine = app.get(&format!("/api/movies?added_by={}&count=true", user.id), None).await;
        assert_eq!(mine.header("x-total-count"), Some("2"));
    }

    async fn each_lone_csv_is_told_apart_by_its_header_and_watched_or_watchlist_by_file(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        // As a spreadsheet saves it: a byte-order mark and CRLF line ends.
        let ratings = format!("\u{feff}{}", csv(RATINGS_HEADER, &[&["2024-01-01", "Alien", "1979", "https://boxd.it/2b0q", "3.5"], &["2024-01-01", " ", "1979", "u", "3"]], "\r\n"));
        let diary = format!("\u{feff}{}", csv(DIARY_HEADER, &[&["2024-01-02", "Ran", "1985", "u", "", "", "", "2023-12-31"]], "\r\n"));
        let watched = csv(WATCH_HEADER, &[&["2024-01-03", "Stalker", "1979", "u"]], "\r\n");
        let watchlist = csv(WATCH_HEADER, &[&["2024-01-04", "Solaris", "1972", "u"]], "\r\n");

        let lone_watched = import_csv(&app, &user, "", watched.clone()).await;
        lone_watched.assert_error(400, "bad_request");
        assert!(lone_watched.body["message"].as_str().unwrap().contains("?file="), "{}", lone_watched.body);
        import_csv(&app, &user, "?file=diary", watched.clone()).await.assert_error(400, "bad_request");
        import_csv(&app, &user, "?file=reviews", watched.clone()).await.assert_status(400);
        assert!(library(&app, &user).await.is_empty());

        let mut skipped = Vec::new();
        for (query, text) in [("", ratings), ("", diary), ("?file=watched", watched), ("?file=watchlist", watchlist)] {
            let report = import_csv(&app, &user, query, text).await;
            report.assert_status(200);
            assert_eq!((&report.body["created"], &report.body["entries"]), (&json!(1), &json!(1)), "{query}: {}", report.body);
            skipped.extend(report.body["skipped"].as_array().unwrap().iter().cloned());
        }
        // Lines counted as a reader counts them, CRLF and all.
        assert_eq!(skipped, [json!({"file": "ratings.csv", "line": 3, "name": " ", "reason": "the row has no name"})]);

        let entries = library(&app, &user).await;
        assert_eq!(entries.len(), 4);
        assert_eq!((&entry(&entries, "Alien")["status"], &entry(&entries, "Alien")["rating"]), (&json!("watched"), &json!(3.5)));
        assert_eq!(entry(&entries, "Ran")["watched_on"], "2023-12-31");
        assert_eq!(entry(&entries, "Stalker")["status"], "watched");
        assert_eq!(entry(&entries, "Solaris")["status"], "watchlist");
    }

    async fn the_current_rating_wins_over_the_diary_and_the_latest_viewing_is_watched_on(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let diary = csv(DIARY_HEADER, &[
            &["2020-01-02", "Heat", "1995", "u", "2", "", "", "2020-01-01"],
            &["2023-05-02", "Heat", "1995", "u", "3", "Yes", "", "2023-05-01"],
            &["2021-01-02", "Heat", "1995", "u", "1", "Yes", "", "2021-01-01"],
            &["2022-03-02", "Alien", "1979", "u", "1.5", "", "", "2022-03-01"],
            &["2023-03-02", "Alien", "1979", "u", "0.5", "Yes", "", "2023-03-01"],
        ], "\n");
        let ratings = csv(RATINGS_HEADER, &[&["2023-06-01", "Heat", "1995", "u", "4.5"]], "\n");

        let report = import_zip(&app, &user, export_zip(&[("diary.csv", diary), ("ratings.csv", ratings)])).await;

        report.assert_status(200);
        assert_eq!(report.body["entries"], 2);
        let entries = library(&app, &user).await;
        // ratings.csv holds the current rating, half star kept; the diary's latest day wins.
        assert_eq!(entry(&entries, "Heat")["rating"], 4.5);
        assert_eq!(entry(&entries, "Heat")["watched_on"], "2023-05-01");
        // Without a ratings.csv row, the latest viewing's rating (a half star here).
        assert_eq!(entry(&entries, "Alien")["rating"], 0.5);
        assert_eq!(entry(&entries, "Alien")["watched_on"], "2023-03-01");
    }

    async fn a_watchlist_row_never_downgrades_a_watched_entry(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let heat = create_movie(&app, &user, "Heat", Some(1995)).await;
        let put = app.send(Method::PUT, &format!("/api/users/me/library/{heat}"),
            Some(json!({"status": "watched", "rating": 4.0, "watched_on": "2022-02-02"})), Some(&user.token)).await;
        put.assert_status(200);
        let watchlist = csv(WATCH_HEADER, &[&["2024-01-01", "Heat", "1995", "u"], &["2024-01-01", "Ran", "1985", "u"]], "\n");
        let watched = csv(WATCH_HEADER, &[&["2024-01-02", "Ran", "1985", "u"]], "\n");

        let alone = import_csv(&app, &user, "?file=watchlist", watchlist.clone()).await;
        let together = import_zip(&app, &user, export_zip(&[("watchlist.csv", watchlist), ("watched.csv", watched)])).await;

        alone.assert_status(200);
        together.assert_status(200);
        let entries = library(&app, &user).await;
        let kept = entry(&entries, "Heat");
        assert_eq!((&kept["status"], &kept["rating"], &kept["watched_on"]), (&json!("watched"), &json!(4.0), &json!("2022-02-02")));
        assert_eq!(kept["updated_at"], put.body["updated_at"], "an entry the import does not change is not written");
        assert_eq!(entry(&entries, "Ran")["status"], "watched");
    }

    async fn importing_the_same_export_twice_changes_nothing_the_second_time(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        create_movie(&app, &owner, "Heat", Some(1995)).await;
        let user = app.new_user().await;
        let diary = csv(DIARY_HEADER, &[
            &["2024-01-05", "Heat", "1995", "u", "4", "", "", "2024-01-04"],
            &["2024-01-06", "Straße", "2020", "u", "2.5", "", "", "2024-01-06"],
        ], "\n");
        let ratings = csv(RATINGS_HEADER, &[&["2024-01-07", "STRASSE", "2020", "u", "3"]], "\n");
        let watchlist = csv(WATCH_HEADER, &[&["2024-02-01", "Ran", "", "u"], &["2024-02-01", "", "", "u"]], "\n");
        let zip = export_zip(&[("diary.csv", diary), ("ratings.csv", ratings), ("watchlist.csv", watchlist)]);

        let first = import_zip(&app, &user, zip.clone()).await;
        let library_after_first = library(&app, &user).await;
        let catalogue_after_first = app.all_movies().await;
        let second = import_zip(&app, &user, zip).await;

        first.assert_status(200);
        second.assert_status(200);
        assert_eq!((&first.body["matched"], &first.body["created"]), (&json!(1), &json!(3)), "{}", first.body);
        assert_eq!((&second.body["matched"], &second.body["created"]), (&json!(4), &json!(0)), "{}", second.body);
        assert_eq!(second.body["entries"], first.body["entries"]);
        assert_eq!(second.body["skipped"], first.body["skipped"]);
        assert_eq!(library(&app, &user).await, library_after_first);
        assert_eq!(app.all_movies().await, catalogue_after_first);
    }

    async fn a_file_that_is_not_an_export_is_refused_and_nothing_is_written(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        create_movie(&app, &user, "Heat", Some(1995)).await;
        let catalogue_before = app.all_movies().await;
        let good = csv(WATCH_HEADER, &[&["2024-01-01", "Ran", "1985", "u"]], "\n");
        // A good file first, then one broken past its header: the whole import is refused.
        let mut broken = format!("{DIARY_HEADER}\n2024-01-01,Alien,1979,u,4,,,2024-01-01\n").into_bytes();
        broken.extend_from_slice(b"2024-01-02,\xC3\x28 bad,1980,u,,,,\n");
        let mut broken_zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        broken_zip.start_file("watchlist.csv", options).unwrap();
        broken_zip.write_all(good.as_bytes()).unwrap();
        broken_zip.start_file("diary.csv", options).unwrap();
        broken_zip.write_all(&broken).unwrap();
        let broken_zip = broken_zip.finish().unwrap().into_inner();
        let mut truncated = export_zip(&[("watchlist.csv", good.clone())]);
        truncated.truncate(truncated.len() / 2);
        let bodies: Vec<(&str, Vec<u8>)> = vec![
            ("application/zip", b"this is not a zip at all".to_vec()),
            ("application/zip", truncated),
            ("application/zip", export_zip(&[])),
            ("application/zip", export_zip(&[("diary.csv", "id,title\n1,Heat\n".to_owned())])),
            ("application/zip", broken_zip),
            ("text/csv", b"id,title\n1,Heat\n".to_vec()),
            ("text/csv", Vec::new()),
            ("text/csv", broken),
            ("text/csv", vec![0xFF; 2000]),
        ];

        for (content_type, body) in bodies {
            let reply = send_import(&app, Some(&user.token), content_type, "", body).await;
            reply.assert_error(400, "bad_request");
        }
        let unsupported = send_import(&app, Some(&user.token), "application/json", "", good.into_bytes()).await;

        unsupported.assert_error(415, "unsupported_media_type");
        assert!(library(&app, &user).await.is_empty());
        assert_eq!(app.all_movies().await, catalogue_before);
    }

    async fn a_zip_of_thousands_of_entries_is_refused_before_any_is_unpacked(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        zip.start_file("watchlist.csv", options).unwrap();
        zip.write_all(csv(WATCH_HEADER, &[&["2024-01-01", "Ran", "1985", "u"]], "\n").as_bytes()).unwrap();
        for i in 0..5000 {
            zip.start_file(format!("lists/list-{i}.csv"), options).unwrap();
        }
        let zip = zip.finish().unwrap().into_inner();

        let reply = import_zip(&app, &user, zip).await;

        reply.assert_error(413, "payload_too_large");
        assert!(library(&app, &user).await.is_empty());
    }

    async fn a_zip_bomb_is_refused_without_being_unpacked_whole(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        // 20 MiB of diary rows, a few dozen KiB deflated: past the 16 MiB one file may unpack to.
        let row = "2024-01-01,Heat,1995,https://boxd.it/2b0k,4,,,2024-01-01\n";
        let mut text = format!("{DIARY_HEADER}\n");
        text.push_str(&row.repeat(20 * 1024 * 1024 / row.len()));
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("diary.csv", options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
        let honest = zip.finish().unwrap().into_inner();
        assert!(honest.len() < 1024 * 1024, "{} bytes", honest.len());
        // The same archive whose headers claim 100 bytes: the reader stops where the header says
        // the file ends and finds the data longer, a damaged archive (had it trusted the stream,
        // the import's own `take` limit would refuse it at 16 MiB as above).
        let mut lying = honest.clone();
        for signature in [&b"PK\x03\x04"[..], &b"PK\x01\x02"[..]] {
            let at = lying.windows(4).position(|w| w == signature).unwrap();
            let size_at = at + if signature == b"PK\x03\x04" { 22 } else { 24 };
            lying[size_at..size_at + 4].copy_from_slice(&100u32.to_le_bytes());
        }

        let honest_reply = import_zip(&app, &user, honest).await;
        let lying_reply = import_zip(&app, &user, lying).await;

        honest_reply.assert_error(413, "payload_too_large");
        lying_reply.assert_error(400, "bad_request");
        assert!(lying_reply.body["message"].as_str().unwrap().contains("damaged"), "{}", lying_reply.body);
        assert!(library(&app, &user).await.is_empty());
    }

    async fn a_body_past_import_max_bytes_is_413_and_one_past_the_json_limit_is_not(backend) {
        let app = TestApp::builder(backend).flag("--import-max-bytes", "200000").spawn().await;
        let user = app.new_user().await;
        // 100 KB: over the 64 KiB of a JSON body, within the import's own limit.
        let rows: Vec<String> = (0..2000).map(|i| format!("2024-01-01,Movie {i:05},2001,https://boxd.it/{i}")).collect();
        let within = format!("{WATCH_HEADER}\n{}\n", rows.join("\n"));
        assert!(within.len() > 64 * 1024 && within.len() < 200_000);
        let past = format!("{within}{}", "2024-01-01,Padding,2001,https://boxd.it/p\n".repeat(3000));

        let accepted = import_csv(&app, &user, "?file=watchlist", within).await;
        let refused = import_csv(&app, &user, "?file=watched", past).await;

        accepted.assert_status(200);
        assert_eq!(accepted.body["created"], 2000);
        refused.assert_error(413, "payload_too_large");
        assert_eq!(library(&app, &user).await.len(), 2000);
    }

    async fn an_import_without_a_token_is_401_and_writes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let text = csv(RATINGS_HEADER, &[&["2024-01-01", "Alien", "1979", "u", "4"]], "\n");

        let reply = send_import(&app, None, "text/csv", "", text.into_bytes()).await;

        reply.assert_error(401, "unauthorized");
        assert!(app.all_movies().await.is_empty());
    }

    async fn the_movies_public_rating_follows_the_import(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let heat = create_movie(&app, &owner, "Heat", Some(1995)).await;
        let alien = create_movie(&app, &owner, "Alien", Some(1979)).await;
        let rater = app.new_user().await;
        app.send(Method::PUT, &format!("/api/users/me/library/{heat}"), Some(json!({"status": "watched", "rating": 3.0})), Some(&rater.token))
            .await
            .assert_status(200);
        let user = app.new_user().await;
        let ratings = csv(RATINGS_HEADER, &[&["2024-01-01", "heat", "1995", "u", "4.5"], &["2024-01-01", "Alien", "1979", "u", "2"]], "\n");

        import_csv(&app, &user, "", ratings).await.assert_status(200);

        assert_eq!(app.movie(&heat).await.body["rating"], json!({"average": 3.8, "count": 2}));
        assert_eq!(app.movie(&alien).await.body["rating"], json!({"average": 2.0, "count": 1}));
        let by_rating = app.get("/api/movies?sort=rating", None).await;
        let order: Vec<&str> = by_rating.body.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(order, [heat.as_str(), alien.as_str()]);
    }
}
