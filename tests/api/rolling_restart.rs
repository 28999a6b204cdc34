//! A deploy as operators run one: HAProxy in front of three replicas on one PostgreSQL database,
//! health-checked on `/ready`, each replica restarted in turn (SIGTERM, exit, start) while
//! clients read, create and edit through the balancer. No request may fail and every
//! acknowledged write must be there afterwards.
//!
//! Needs Debian's `haproxy` (`.ci/run` installs it and sets `MOVIEBAG_HAPROXY_TESTS=required`);
//! without it the test says so and passes, as the PostgreSQL tests do without a server.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Mutex;

use crate::helpers::{Backend, TestDatabase, movie_body, user_on};
use crate::process::{ProcessOptions, ServerProcess};

/// The balancer's configuration, as the README's "Running several replicas" gives it: checks
/// every 100 ms, one failed check takes a replica out, two good ones bring it back. No retry
/// and no redispatch: the drain alone must keep requests from a replica that is going (with
/// `SHUTDOWN_DRAIN=0s` this test sees refused connections answered 503 by the balancer).
pub fn haproxy_config(listen_port: u16, replica_ports: &[u16]) -> String {
    let servers: String = replica_ports
        .iter()
        .enumerate()
        .map(|(i, port)| format!("    server replica{} 127.0.0.1:{port} check\n", i + 1))
        .collect();
    format!(
        "global
    maxconn 512

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 0

frontend movie_bag
    bind 127.0.0.1:{listen_port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
    default-server inter 100ms fall 1 rise 2
{servers}"
    )
}

fn haproxy_binary() -> Option<PathBuf> {
    ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy", "/usr/bin/haproxy"].iter().map(PathBuf::from).find(|p| p.exists())
}

struct Balancer(Child);

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// What a client saw, by kind.
#[derive(Default, Debug)]
struct Tally {
    requests: u64,
    failures: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, outcome: Result<reqwest::StatusCode, reqwest::Error>, expected: &[u16]) {
        self.requests += 1;
        let kind = match outcome {
            Ok(status) if expected.contains(&status.as_u16()) => return,
            Ok(status) => format!("status {}", status.as_u16()),
            Err(error) if error.is_connect() => "connection refused".to_owned(),
            Err(error) if error.is_timeout() => "timeout".to_owned(),
            Err(error) => format!("transport: {error}"),
        };
        *self.failures.entry(kind).or_default() += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_in_front_of_three_replicas_restarted_in_turn_fails_no_request_and_keeps_every_write() {
    let Some(haproxy) = haproxy_binary() else {
        assert!(
            std::env::var("MOVIEBAG_HAPROXY_TESTS").map_or(true, |v| v != "required"),
            "MOVIEBAG_HAPROXY_TESTS=required but haproxy is not installed"
        );
        eprintln!("skipping the rolling-restart test: haproxy is not installed (apt-get install haproxy)");
        return;
    };
    let Some(backend @ Backend::Postgres(_)) = Backend::postgres() else { return };
    let database = TestDatabase::create(&backend).await;
    // A drain a little longer than the balancer needs to notice (one failed 100 ms check).
    let options = |port| ProcessOptions {
        env: vec![("SHUTDOWN_DRAIN".into(), "1s".into())],
        port: Some(port),
        ..Default::default()
    };
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let mut replicas = Vec::new();
    for port in &ports {
        replicas.push(ServerProcess::start_with(&database, options(*port)).await);
    }
    let listen = free_port();
    let config = std::env::temp_dir().join(format!("movie-bag-haproxy-{listen}.cfg"));
    std::fs::write(&config, haproxy_config(listen, &ports)).unwrap();
    let child = Command::new(haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("haproxy starts");
    let _balancer = Balancer(child);
    let base = format!("http://127.0.0.1:{listen}");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/ready")).send().await.map(|r| r.status()).ok() != Some(reqwest::StatusCode::OK) {
        assert!(Instant::now() < deadline, "haproxy did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(&config);
    let (_, token) = user_on(&client, &base, "deploy@example.com").await;
    let first: serde_json::Value = client
        .post(format!("{base}/api/movies"))
        .bearer_auth(&token)
        .json(&movie_body("Edited during the deploy"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let edited = first["id"].as_str().unwrap().to_owned();

    let running = Arc::new(AtomicBool::new(true));
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let last_overview = Arc::new(Mutex::new(None::<String>));
    let mut clients = Vec::new();
    for worker in 0..6 {
        let (client, base, token, edited) = (client.clone(), base.clone(), token.clone(), edited.clone());
        let (running, acknowledged, last_overview) = (running.clone(), acknowledged.clone(), last_overview.clone());
        clients.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut i = 0u32;
            while running.load(Ordering::SeqCst) {
                i += 1;
                match (worker, i % 4) {
                    // Two creators: every create answered 200 is an acknowledged write.
                    (0 | 1, _) => {
                        let name = format!("Deploy {worker}-{i}");
                        let reply = client
                            .post(format!("{base}/api/movies"))
                            .bearer_auth(&token)
                            .json(&movie_body(&name))
                            .send()
                            .await;
                        if let Ok(reply) = reply {
                            let status = reply.status();
                            if status == 200 {
                                let body: serde_json::Value = reply.json().await.unwrap();
                                acknowledged.lock().await.push(body["id"].as_str().unwrap().to_owned());
                            }
                            tally.record(Ok(status), &[200]);
                        } else {
                            tally.record(reply.map(|r| r.status()), &[200]);
                        }
                    }
                    // One editor: one writer at a time, so the last acknowledged overview must stay.
                    (2, _) => {
                        let overview = format!("Edit {i}");
                        let mut guard = last_overview.lock().await;
                        let reply = client
                            .patch(format!("{base}/api/movies/{edited}"))
                            .bearer_auth(&token)
                            .json(&json!({"overview": overview}))
                            .send()
                            .await
                            .map(|r| r.status());
                        if matches!(reply, Ok(status) if status == 200) {
                            *guard = Some(overview);
                        }
                        tally.record(reply, &[200]);
                    }
                    // Readers: one movie, the list, and the list's second page of filters.
                    (_, 0) => {
                        tally.record(client.get(format!("{base}/api/movies")).send().await.map(|r| r.status()), &[200])
                    }
                    (_, 1) => tally.record(
                        client
                            .get(format!("{base}/api/movies?genre=crime&count=true"))
                            .send()
                            .await
                            .map(|r| r.status()),
                        &[200],
                    ),
                    _ => tally.record(
                        client.get(format!("{base}/api/movies/{edited}")).send().await.map(|r| r.status()),
                        &[200],
                    ),
                }
            }
            tally
        }));
    }

    // The deploy: each replica in turn gets SIGTERM, exits, and is started again on its port;
    // the next one goes only once the balancer has it back (two good checks).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut restarts = 0;
    for (i, port) in ports.iter().enumerate() {
        replicas[i].signal("TERM");
        let status = replicas[i].wait_exit(Duration::from_secs(40)).await;
        assert!(status.success(), "replica {} exited with {status}", i + 1);
        replicas[i] = ServerProcess::start_with(&database, options(*port)).await;
        restarts += 1;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, Ordering::SeqCst);

    let mut total = Tally::default();
    for client in clients {
        let tally = client.await.unwrap();
        total.requests += tally.requests;
        for (kind, count) in tally.failures {
            *total.failures.entry(kind).or_default() += count;
        }
    }
    let acknowledged = acknowledged.lock().await.clone();
    eprintln!(
        "rolling restart: {} requests through haproxy, {restarts} restarts, {} creates acknowledged, failures: {:?}",
        total.requests,
        acknowledged.len(),
        total.failures
    );
    assert_eq!(restarts, 3);
    assert!(total.requests > 300, "too few requests to tell: {}", total.requests);
    assert!(total.failures.is_empty(), "requests failed during the deploy: {:?}", total.failures);
    // Every acknowledged write is there, on every replica.
    for replica in &replicas {
        for id in &acknowledged {
            let status = client.get(format!("{}/api/movies/{id}", replica.address)).send().await.unwrap().status();
            assert_eq!(status, 200, "acknowledged movie {id} missing on {}", replica.address);
        }
        let movie: serde_json::Value =
            client.get(format!("{}/api/movies/{edited}", replica.address)).send().await.unwrap().json().await.unwrap();
        assert_eq!(movie["overview"].as_str(), last_overview.lock().await.as_deref(), "the last acknowledged edit");
    }
}
