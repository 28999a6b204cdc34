//! Posters: `PUT` / `DELETE /api/movies/{id}/poster` and the images their URLs serve.

use std::io::Cursor;

use reqwest::Method;
use serde_json::Value;

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, movie_body, read};

/// A picture with some structure, `width` x `height`.
fn picture(width: u32, height: u32) -> image::DynamicImage {
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, ((x * y) % 239) as u8])
    }))
}

fn encoded(image: &image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_to(&mut Cursor::new(&mut out), format).unwrap();
    out
}

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encoded(&picture(width, height), image::ImageFormat::Jpeg)
}

/// `jpeg` with an EXIF block (a camera make and a GPS IFD pointer) and a comment after its SOI.
fn jpeg_with_exif(jpeg: &[u8]) -> Vec<u8> {
    let mut tiff = b"II*\0".to_vec();
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let make = b"SECRET-CAMERA\0";
    tiff.extend_from_slice(&2u16.to_le_bytes());
    let make_at = 8 + 2 + 2 * 12 + 4;
    tiff.extend_from_slice(&0x010Fu16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&(make.len() as u32).to_le_bytes());
    tiff.extend_from_slice(&(make_at as u32).to_le_bytes());
    tiff.extend_from_slice(&0x8825u16.to_le_bytes());
    tiff.extend_from_slice(&4u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&((make_at + make.len()) as u32).to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(make);
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&2u32.to_le_bytes());
    tiff.extend_from_slice(b"N\0\0\0");
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut exif = b"Exif\0\0".to_vec();
    exif.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    for (marker, payload) in [(0xE1u8, exif), (0xFE, b"SECRET-COMMENT".to_vec())] {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&payload);
    }
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A small PNG whose header claims 30,000 x 30,000 pixels.
fn png_bomb() -> Vec<u8> {
    let mut png = encoded(&picture(16, 16), image::ImageFormat::Png);
    png[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    png
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

impl TestApp {
    async fn put_poster(&self, id: &str, content_type: &str, body: Vec<u8>, token: Option<&str>) -> Reply {
        self.put_poster_if(id, content_type, body, token, None).await
    }

    async fn put_poster_if(
        &self,
        id: &str,
        content_type: &str,
        body: Vec<u8>,
        token: Option<&str>,
        if_match: Option<&str>,
    ) -> Reply {
        let mut request = self
            .client
            .put(self.url(&format!("/api/movies/{id}/poster")))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        read(request.send().await.unwrap()).await
    }

    async fn delete_poster(&self, id: &str, token: Option<&str>) -> Reply {
        self.send(Method::DELETE, &format!("/api/movies/{id}/poster"), None, token).await
    }

    /// Status, headers and bytes of an image URL.
    async fn image(&self, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let response = self.client.get(self.url(url)).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    }
}

fn urls(movie: &Value) -> Vec<String> {
    movie["poster"]["sources"].as_array().unwrap().iter().map(|s| s["url"].as_str().unwrap().to_owned()).collect()
}

fn widths(movie: &Value) -> Vec<u64> {
    movie["poster"]["sources"].as_array().unwrap().iter().map(|s| s["width"].as_u64().unwrap()).collect()
}

backend_tests! {
    async fn an_upload_of_each_type_answers_the_movie_with_its_widths_and_urls_that_serve_the_images(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let cases = [
            ("image/jpeg", jpeg(700, 1050), (700, 1050), vec![160, 320, 640]),
            ("image/png", encoded(&picture(1400, 2100), image::ImageFormat::Png), (1400, 2100), vec![160, 320, 640, 1280]),
            ("image/webp", encoded(&picture(200, 300), image::ImageFormat::WebP), (200, 300), vec![160]),
            ("image/jpeg", jpeg(120, 180), (120, 180), vec![120]),
        ];
        for (n, (content_type, body, (width, height), expected_widths)) in cases.into_iter().enumerate() {
            let id = app.create_movie(&user.token, &format!("Poster {n}")).await;
            let before = app.movie(&id).await;
            assert_eq!(before.body["poster"], Value::Null);
            let reply = app.put_poster(&id, content_type, body, Some(&user.token)).await;
            reply.assert_status(200);
            let movie = &reply.body;
            assert_eq!(movie["id"], id.as_str());
            assert_eq!((movie["poster"]["width"].as_u64(), movie["poster"]["height"].as_u64()), (Some(width), Some(height)));
            assert_eq!(widths(movie), expected_widths, "{content_type}");
            assert_ne!(reply.header("etag"), before.header("etag"), "a new version");
            let read_back = app.movie(&id).await;
            assert_eq!(&read_back.body, movie);
            assert_eq!(read_back.header("etag"), reply.header("etag"));
            for (url, expected_width) in urls(movie).iter().zip(&expected_widths) {
                assert!(url.starts_with("/api/posters/") && url.ends_with(".jpg"), "{url}");
                let (status, headers, bytes) = app.image(url).await;
                assert_eq!(status, 200, "{url}");
                assert_eq!(headers["content-type"], "image/jpeg");
                assert_eq!(headers["cache-control"], "public, max-age=31536000, immutable");
                let etag = headers["etag"].to_str().unwrap();
                assert!(etag.starts_with('"') && etag.ends_with('"'), "a strong ETag: {etag}");
                let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
                assert_eq!(u64::from(decoded.width()), *expected_width);
                let expected_height = (height as f64 * *expected_width as f64 / width as f64).round() as u32;
                assert_eq!(decoded.height(), expected_height);
            }
        }
    }

    async fn no_exif_gps_or_comment_of_the_upload_is_in_the_served_images(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Exif").await;
        let upload = jpeg_with_exif(&jpeg(400, 600));
        assert!(contains(&upload, b"Exif\0\0") && contains(&upload, b"SECRET-CAMERA"));
        let reply = app.put_poster(&id, "image/jpeg", upload, Some(&user.token)).await;
        reply.assert_status(200);
        for url in urls(&reply.body) {
            let (_, _, bytes) = app.image(&url).await;
            for secret in [&b"Exif"[..], b"SECRET"] {
                assert!(!contains(&bytes, secret), "{url} carries {}", String::from_utf8_lossy(secret));
            }
        }
    }

    async fn a_replaced_poster_s_urls_answer_404_and_the_new_ones_serve(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Replaced").await;
        let first = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&user.token)).await;
        first.assert_status(200);
        let second = app.put_poster(&id, "image/jpeg", jpeg(500, 500), Some(&user.token)).await;
        second.assert_status(200);
        assert_ne!(first.header("etag"), second.header("etag"));
        assert_eq!(second.body["poster"]["height"], 500);
        for url in urls(&first.body) {
            assert!(!urls(&second.body).contains(&url));
            assert_eq!(app.image(&url).await.0, 404, "{url}");
        }
        for url in urls(&second.body) {
            assert_eq!(app.image(&url).await.0, 200, "{url}");
        }
    }

    async fn a_removed_poster_answers_204_its_urls_404_and_the_movie_has_no_poster(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Removed").await;
        let set = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&user.token)).await;
        set.assert_status(200);
        let removed = app.delete_poster(&id, Some(&user.token)).await;
        removed.assert_status(204);
        let movie = app.movie(&id).await;
        assert_eq!(movie.body["poster"], Value::Null);
        assert_ne!(movie.header("etag"), set.header("etag"), "the removal is a new version");
        for url in urls(&set.body) {
            let (status, _, body) = app.image(&url).await;
            assert_eq!(status, 404, "{url}");
            assert!(String::from_utf8_lossy(&body).contains("not_found"));
        }
        // Nothing left to remove.
        app.delete_poster(&id, Some(&user.token)).await.assert_error(404, "not_found");
        app.delete_poster(&uuid::Uuid::now_v7().to_string(), Some(&user.token)).await.assert_error(404, "not_found");
    }

    async fn a_deleted_movie_s_poster_urls_answer_404(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Deleted").await;
        let set = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&user.token)).await;
        set.assert_status(200);
        app.send(Method::DELETE, &format!("/api/movies/{id}"), None, Some(&user.token)).await.assert_status(204);
        for url in urls(&set.body) {
            assert_eq!(app.image(&url).await.0, 404, "{url}");
        }
    }

    async fn every_refused_upload_and_removal_leaves_the_movie_and_its_poster_as_they_were(backend) {
        let app = TestApp::builder(backend).flag("--poster-max-bytes", "200000").spawn().await;
        let owner = app.new_user().await;
        let other = app.new_user().await;
        let id = app.create_movie(&owner.token, "Guarded").await;
        let set = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&owner.token)).await;
        set.assert_status(200);
        let stale = app.movie(&id).await.header("etag").unwrap().to_owned();
        // A later change makes that ETag stale.
        let current = app.put_poster(&id, "image/jpeg", jpeg(300, 450), Some(&owner.token)).await;
        current.assert_status(200);
        let unchanged = || async {
            let movie = app.movie(&id).await;
            assert_eq!(movie.body, current.body);
            assert_eq!(movie.header("etag"), current.header("etag"));
            for url in urls(&current.body) {
                assert_eq!(app.image(&url).await.0, 200, "{url}");
            }
        };
        let image = || jpeg(320, 480);
        let cases: Vec<(&str, Reply, u16, &str)> = vec![
            ("no token", app.put_poster(&id, "image/jpeg", image(), None).await, 401, "unauthorized"),
            ("another user", app.put_poster(&id, "image/jpeg", image(), Some(&other.token)).await, 403, "forbidden"),
            ("a stale If-Match", app.put_poster_if(&id, "image/jpeg", image(), Some(&owner.token), Some(&stale)).await, 412, "precondition_failed"),
            ("over POSTER_MAX_BYTES", app.put_poster(&id, "image/jpeg", vec![0xFF; 200_001], Some(&owner.token)).await, 413, "payload_too_large"),
            ("a GIF", app.put_poster(&id, "image/gif", b"GIF89a".to_vec(), Some(&owner.token)).await, 415, "unsupported_media_type"),
            ("JSON", app.put_poster(&id, "application/json", b"{}".to_vec(), Some(&owner.token)).await, 415, "unsupported_media_type"),
            ("garbage", app.put_poster(&id, "image/jpeg", b"not an image at all".to_vec(), Some(&owner.token)).await, 400, "bad_request"),
            ("a PNG declared as JPEG", app.put_poster(&id, "image/jpeg", encoded(&picture(200, 300), image::ImageFormat::Png), Some(&owner.token)).await, 400, "bad_request"),
            ("a 30000 x 30000 bomb", app.put_poster(&id, "image/png", png_bomb(), Some(&owner.token)).await, 400, "bad_request"),
            ("a removal without a token", app.delete_poster(&id, None).await, 401, "unauthorized"),
            ("a removal by another user", app.delete_poster(&id, Some(&other.token)).await, 403, "forbidden"),
        ];
        for (what, reply, status, code) in cases {
            assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
            reply.assert_error(status, code);
            unchanged().await;
        }
        let stale_removal = app
            .client
            .delete(app.url(&format!("/api/movies/{id}/poster")))
            .bearer_auth(&owner.token)
            .header("if-match", &stale)
            .send()
            .await
            .unwrap();
        read(stale_removal).await.assert_error(412, "precondition_failed");
        unchanged().await;
        let unknown = uuid::Uuid::now_v7().to_string();
        app.put_poster(&unknown, "image/jpeg", image(), Some(&owner.token)).await.assert_error(404, "not_found");
        // The owner's If-Match with the current ETag goes through.
        let tag = current.header("etag").unwrap();
        app.put_poster_if(&id, "image/jpeg", image(), Some(&owner.token), Some(tag)).await.assert_status(200);
    }

    async fn an_admin_may_set_and_remove_the_poster_of_someone_else_s_movie(backend) {
        let app = TestApp::spawn(backend).await;
        let owner = app.new_user().await;
        let admin = app.new_admin().await;
        let id = app.create_movie(&owner.token, "Admin's reach").await;
        let set = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&admin.token)).await;
        set.assert_status(200);
        assert_eq!(set.body["added_by"], owner.id.as_str());
        app.delete_poster(&id, Some(&admin.token)).await.assert_status(204);
        assert_eq!(app.movie(&id).await.body["poster"], Value::Null);
    }

    async fn an_image_answers_304_to_its_etag_and_a_name_that_is_no_image_404(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Cached").await;
        let set = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&user.token)).await;
        let url = &urls(&set.body)[0];
        let (_, headers, _) = app.image(url).await;
        let etag = headers["etag"].to_str().unwrap();
        let again = app.client.get(app.url(url)).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(again.status().as_u16(), 304);
        assert_eq!(again.headers()["etag"], etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let other = app.client.get(app.url(url)).header("if-none-match", "\"something-else\"").send().await.unwrap();
        assert_eq!(other.status().as_u16(), 200);
        // The same key under the other extension, a made-up key, no extension: 404.
        let webp = url.replace(".jpg", ".webp");
        for name in [webp.as_str(), "/api/posters/0123456789abcdef0123456789abcdef.jpg", "/api/posters/nothing"] {
            assert_eq!(app.image(name).await.0, 404, "{name}");
        }
    }

    async fn the_json_routes_keep_their_own_body_limit_beside_the_poster_route(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Limits").await;
        // 100 KB of JSON is over BODY_LIMIT_BYTES (64 KiB) on the movie route.
        let mut body = movie_body("Limits");
        body["name"] = Value::String("x".repeat(100_000));
        app.send(Method::PUT, &format!("/api/movies/{id}"), Some(body), Some(&user.token))
            .await
            .assert_error(413, "payload_too_large");
        // A 100 KB poster is well within POSTER_MAX_BYTES.
        let big = jpeg(1000, 1500);
        assert!(big.len() > 100_000, "{} bytes", big.len());
        app.put_poster(&id, "image/jpeg", big, Some(&user.token)).await.assert_status(200);
    }
}

const BINARY: &str = env!("CARGO_BIN_EXE_movie-bag");

fn run(args: &[&str], database_url: &str) -> std::process::Output {
    std::process::Command::new(BINARY)
        .env_clear()
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET_KEY", crate::helpers::TEST_JWT_KEY)
        .current_dir(std::env::temp_dir())
        .args(args)
        .output()
        .expect("the binary runs")
}

backend_tests! {
    async fn seed_draws_posters_for_its_newest_fifty_movies_only(backend) {
        let database = crate::helpers::TestDatabase::create(&backend).await;
        let output = run(&["seed", "--movies", "120"], &database.url);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let server = crate::process::ServerProcess::start(&database).await;
        let client = reqwest::Client::new();
        let page = read(client.get(format!("{}/api/movies?limit=100", server.address)).send().await.unwrap()).await;
        let movies = page.body.as_array().unwrap();
        let with_poster: Vec<&Value> = movies.iter().filter(|m| !m["poster"].is_null()).collect();
        assert_eq!(with_poster.len(), 50);
        assert!(movies[..50].iter().all(|m| !m["poster"].is_null()), "the newest fifty");
        let poster = &movies[0]["poster"];
        assert_eq!((poster["width"].as_u64(), poster["height"].as_u64()), (Some(720), Some(1080)));
        assert_eq!(widths(&movies[0]), vec![160, 320, 640]);
        let url = &urls(&movies[0])[1];
        let image = client.get(format!("{}{url}", server.address)).send().await.unwrap();
        assert_eq!(image.status().as_u16(), 200);
        let bytes = image.bytes().await.unwrap();
        let decoded = image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (320, 480));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_holds_the_posters_and_its_restore_serves_them() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await;
    let user = app.new_user().await;
    let id = app.create_movie(&user.token, "Backed up").await;
    let set = app.put_poster(&id, "image/jpeg", jpeg(400, 600), Some(&user.token)).await;
    set.assert_status(200);
    let dir = std::env::temp_dir().join(format!("movie-bag-backup-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let backup = dir.join("backup.db");
    let output = run(&["backup", "--force", backup.to_str().unwrap()], &app.database.url);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let served: Vec<Vec<u8>> = {
        let mut served = Vec::new();
        for url in urls(&set.body) {
            served.push(app.image(&url).await.2);
        }
        served
    };
    let database = app.stop().await;
    drop(database);
    let restored = crate::helpers::TestDatabase::create(&crate::helpers::Backend::Sqlite).await;
    let output = run(&["restore", backup.to_str().unwrap()], &restored.url);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let server = crate::process::ServerProcess::start(&restored).await;
    let client = reqwest::Client::new();
    let movie = read(client.get(format!("{}/api/movies/{id}", server.address)).send().await.unwrap()).await;
    assert_eq!(movie.body["poster"], set.body["poster"]);
    for (url, bytes) in urls(&set.body).iter().zip(&served) {
        let image = client.get(format!("{}{url}", server.address)).send().await.unwrap();
        assert_eq!(image.status().as_u16(), 200, "{url}");
        assert_eq!(&image.bytes().await.unwrap().to_vec(), bytes, "{url}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

backend_tests! {
    async fn uploads_past_the_poster_pool_and_its_queue_are_answered_503_with_retry_after_and_change_nothing(backend) {
        // One poster thread on this machine and a queue of one: two uploads are admitted at once.
        let app = TestApp::builder(backend).flag("--poster-queue-limit", "1").spawn().await;
        let user = app.new_user().await;
        let id = app.create_movie(&user.token, "Busy").await;
        let before = app.movie(&id).await;
        let body = jpeg(1600, 2400);
        let uploads = (0..6).map(|_| app.put_poster(&id, "image/jpeg", body.clone(), Some(&user.token)));
        let replies = futures_util::future::join_all(uploads).await;
        let busy: Vec<&Reply> = replies.iter().filter(|reply| reply.status.as_u16() == 503).collect();
        let done = replies.iter().filter(|reply| reply.status.as_u16() == 200).count();
        assert!(!busy.is_empty(), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
        assert!(done >= 1 && done + busy.len() == 6, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
        for reply in busy {
            reply.assert_error(503, "unavailable");
            assert_eq!(reply.header("retry-after"), Some("1"));
        }
        // Only the admitted uploads changed the movie: each a new version.
        let after = app.movie(&id).await;
        assert_ne!(after.header("etag"), before.header("etag"));
        assert_eq!(after.body["poster"]["width"], 1600);
    }
}
