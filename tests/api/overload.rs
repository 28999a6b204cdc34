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
