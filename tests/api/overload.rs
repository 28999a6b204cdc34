//! Bounded under overload: past an internal queue's bound a request gets 503 `unavailable` with
//! `Retry-After`, memory stays bounded, and nothing acknowledged is lost.

use std::sync::Arc;

use futures_util::future::join_all;

use crate::backend_tests;
use crate::helpers::{TestDatabase, movie_body, read, user_on};
use crate::process::{ProcessOptions, ServerProcess};

const CREATES: usize = 3000;
const AT_ONCE: usize = 300;

backend_tests! {
    async fn a_create_flood_past_the_write_queue_gets_200_or_503_and_keeps_every_acknowledged_create(backend) {
        let database = TestDatabase::create(&backend).await;
        let options = ProcessOptions { env: vec![("WRITE_QUEUE_LIMIT".into(), "8".into())], ..Default::default() };
        let server = ServerProcess::start_with(&database, options).await;
        let client = reqwest::Client::builder().pool_max_idle_per_host(AT_ONCE).build().unwrap();
        let (_, token) = user_on(&client, &server.address, "flood@example.com").await;
        let token = Arc::new(token);
        let mut acknowledged = Vec::new();
        let mut refused = 0;
        for wave in 0..CREATES / AT_ONCE {
            let requests = (0..AT_ONCE).map(|i| {
                let (client, token, base) = (client.clone(), Arc::clone(&token), server.address.clone());
                async move {
                    let name = format!("Flood {wave}-{i}");
                    let response = client.post(format!("{base}/api/movies")).bearer_auth(&*token).json(&movie_body(&name)).send().await.unwrap();
                    read(response).await
                }
            });
            for reply in join_all(requests).await {
                match reply.status.as_u16() {
                    200 => acknowledged.push(reply.body["id"].as_str().unwrap().to_owned()),
                    503 => {
                        reply.assert_error(503, "unavailable");
                        assert!(reply.header("retry-after").is_some(), "a 503 without Retry-After");
                        refused += 1;
                    }
                    other => panic!("a create answered {other}: {}", reply.body),
                }
            }
        }
        let peak_mib = server.peak_rss_kib() / 1024;
        let name = if matches!(backend, crate::helpers::Backend::Sqlite) { "sqlite" } else { "postgres" };
        eprintln!("create flood ({name}): {} acknowledged, {refused} refused with 503, server peak RSS {peak_mib} MiB", acknowledged.len());
        assert!(refused > 0, "the flood never reached the queue's bound");
        assert!(peak_mib < 200, "peak RSS {peak_mib} MiB");
        for id in &acknowledged {
            let reply = read(client.get(format!("{}/api/movies/{id}", server.address)).send().await.unwrap()).await;
            reply.assert_status(200);
        }
    }
}

/// A refusal at a queue's bound: 503 `unavailable` with `Retry-After`.
#[track_caller]
fn assert_refused_at_a_bound(reply: &crate::helpers::Reply) {
    reply.assert_error(503, "unavailable");
    assert!(reply.header("retry-after").is_some(), "a 503 without Retry-After");
}

/// Waves of `at_once` requests, each made by `request(wave, i)`, until a wave has a refusal (at
/// most `waves`); every reply, with the wave and index that made it.
async fn until_refused<F, Fut>(waves: usize, at_once: usize, request: F) -> Vec<((usize, usize), crate::helpers::Reply)>
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = crate::helpers::Reply>,
{
    let mut replies = Vec::new();
    for wave in 0..waves {
        let answers = join_all((0..at_once).map(|i| request(wave, i))).await;
        let refused = answers.iter().any(|reply| reply.status == 503);
        replies.extend((0..at_once).map(|i| (wave, i)).zip(answers));
        if refused {
            break;
        }
    }
    replies
}

backend_tests! {
    async fn signups_past_the_password_hash_queue_get_503_and_create_no_account(backend) {
        // Two hashing threads at most (one per core) and one hash waiting: a wave of 40 signups
        // at once passes the bound.
        let app = crate::helpers::TestApp::builder(backend).flag("--hash-queue-limit", "1").spawn().await;
        let email = |wave: usize, i: usize| format!("hash-flood-{wave}-{i}@example.com");
        let replies = until_refused(20, 40, |wave, i| {
            let (app, email) = (&app, email(wave, i));
            async move { app.signup(&email, crate::helpers::PASSWORD).await }
        })
        .await;
        let mut refused = 0;
        for ((wave, i), reply) in &replies {
            let accounts = app.database
                .select_count(&format!("SELECT count(*) FROM users WHERE email_lower = '{}'", email(*wave, *i)))
                .await;
            match reply.status.as_u16() {
                200 => assert_eq!(accounts, 1, "an acknowledged signup has no account"),
                503 => {
                    assert_refused_at_a_bound(reply);
                    assert_eq!(accounts, 0, "a refused signup created an account");
                    refused += 1;
                }
                other => panic!("a signup answered {other}: {}", reply.body),
            }
        }
        assert!(refused > 0, "{} signups never reached the hash queue's bound", replies.len());
        // A refused email signs up normally once the flood is over.
        let ((wave, i), _) = replies.iter().find(|(_, reply)| reply.status == 503).unwrap();
        app.signup(&email(*wave, *i), crate::helpers::PASSWORD).await.assert_status(200);
    }
}

/// A SQLite server with `flags`, one user and `movies` movies in as many genres.
async fn sqlite_catalogue(flags: &[(&str, &str)], movies: usize) -> crate::helpers::TestApp {
    let mut builder = crate::helpers::TestApp::builder(crate::helpers::Backend::Sqlite);
    for (name, value) in flags {
        builder = builder.flag(name, value);
    }
    let app = builder.spawn().await;
    let user = app.new_user().await;
    for i in 0..movies {
        let body =
            serde_json::json!({"name": format!("Movie {i}"), "casts": ["Someone"], "genres": [format!("Genre {i}")]});
        app.post("/api/movies", body, Some(&user.token)).await.assert_status(200);
    }
    app
}

/// Distinct listings (no two share a coalesced read or a cached page), 200 at a time, until one
/// is refused; checks every answer is a listing or a refusal at a bound, and returns how many
/// were refused.
async fn listings_until_refused(app: &crate::helpers::TestApp) -> usize {
    // A name search no movie matches, different for every request of every wave: each one is a
    // scan of its own (none answered from the page cache or shared with another).
    let replies = until_refused(20, 200, |wave, i| async move {
        app.get(&format!("/api/movies?q=absent-{wave}-{i}&limit=1000"), None).await
    })
    .await;
    let mut refused = 0;
    for (_, reply) in &replies {
        match reply.status.as_u16() {
            200 => assert!(reply.body.as_array().unwrap().is_empty(), "{}", reply.body),
            503 => {
                assert_refused_at_a_bound(reply);
                refused += 1;
            }
            other => panic!("a listing answered {other}: {}", reply.body),
        }
    }
    refused
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_listings_past_the_scan_queue_get_503_and_the_catalogue_is_unchanged() {
    let app = sqlite_catalogue(&[("--scan-queue-limit", "1")], 50).await;
    let refused = listings_until_refused(&app).await;
    assert!(refused > 0, "listings never reached the scan queue's bound");
    // Refused reads changed nothing, and the server answers normally again.
    assert_eq!(app.all_movies().await.len(), 50);
    app.get("/api/movies?genre=Genre%207", None).await.assert_status(200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_past_the_reader_connections_get_503_and_the_catalogue_is_unchanged() {
    // One read-only connection for two runtime threads and four scan permits.
    let app = sqlite_catalogue(&[("--sqlite-readers", "1")], 50).await;
    let refused = listings_until_refused(&app).await;
    assert!(refused > 0, "reads never reached the reader connections' bound");
    assert_eq!(app.database.select_count("SELECT count(*) FROM movies").await, 50);
    app.get("/api/movies?genre=Genre%207", None).await.assert_status(200);
}
