//! Names, casts and genres with characters that draw nothing or reorder the text (issue 20,
//! item 12): refused on every write, so a second "Heat" cannot hide behind a zero-width space
//! and no name can show other than it reads.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, movie_body};

/// Right-to-left override and embedding, isolates, marks, zero-width space, joiners, word
/// joiner, byte order mark, soft hyphen.
const INVISIBLE: [char; 12] = [
    '\u{202E}', '\u{202B}', '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200D}',
    '\u{2060}', '\u{FEFF}', '\u{00AD}',
];

#[track_caller]
fn assert_refused(reply: &Reply, field: &str, c: char) {
    reply.assert_error(400, "validation_failed");
    let reason = reply.body["errors"][field][0].as_str().unwrap_or_else(|| panic!("{field}: {}", reply.body));
    assert!(reason.contains(&format!("U+{:04X}", u32::from(c))), "{reason}");
}

/// The movie body with `c` inside the name, a cast or a genre.
fn bodies_with(c: char) -> [(&'static str, serde_json::Value); 3] {
    let name = movie_body(&format!("He{c}at"));
    let mut casts = movie_body("Heat");
    casts["casts"] = json!(["Al Pacino", format!("Robert{c} De Niro")]);
    let mut genres = movie_body("Heat");
    genres["genres"] = json!([format!("{c}Crime")]);
    [("name", name), ("casts", casts), ("genres", genres)]
}

backend_tests! {
    async fn a_name_cast_or_genre_with_an_invisible_or_direction_character_is_400_on_create_and_creates_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        for c in INVISIBLE {
            for (field, body) in bodies_with(c) {
                assert_refused(&app.post("/api/movies", body, Some(&user.token)).await, field, c);
            }
        }
        assert!(app.all_movies().await.is_empty());
    }

    async fn a_name_cast_or_genre_with_an_invisible_or_direction_character_is_400_on_put_and_patch_and_changes_nothing(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Ronin").await;
        let before = app.movie(&id).await;
        let path = format!("/api/movies/{id}");
        for c in INVISIBLE {
            for (field, body) in bodies_with(c) {
                let put = app.send(Method::PUT, &path, Some(body.clone()), Some(&user.token)).await;
                assert_refused(&put, field, c);
                let patch = json!({ field: body[field].clone() });
                assert_refused(&app.send(Method::PATCH, &path, Some(patch), Some(&user.token)).await, field, c);
            }
        }
        let after = app.movie(&id).await;
        assert_eq!(after.body, before.body);
        assert_eq!(after.header("etag"), before.header("etag"));
    }

    async fn a_second_heat_cannot_pass_the_unique_name_with_invisible_characters_or_another_normal_form(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        app.create_movie(&user.token, "Heat").await;
        for spoof in ["Heat\u{200B}", "\u{FEFF}Heat", "He\u{2060}at", "\u{202E}taeH", "Heat\u{200D}"] {
            app.post("/api/movies", movie_body(spoof), Some(&user.token)).await.assert_error(400, "validation_failed");
        }
        // "Amélie" composed, then decomposed: one movie, the second a 409, stored composed.
        let id = app.create_movie(&user.token, "Am\u{e9}lie").await;
        let again = app.post("/api/movies", movie_body("Ame\u{301}lie"), Some(&user.token)).await;
        again.assert_error(409, "conflict");
        let renamed = app.create_movie(&user.token, "Ame\u{301}lie 2").await;
        assert_eq!(app.movie(&renamed).await.body["name"], "Am\u{e9}lie 2");
        let names: Vec<String> = app.all_movies().await.iter().map(|m| m["name"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names.iter().filter(|n| n.as_str() == "Heat").count(), 1, "{names:?}");
        assert_eq!(names.len(), 3, "{names:?}");
        assert_eq!(app.movie(&id).await.body["name"], "Am\u{e9}lie");
    }
}
