//! Security events in the log say who and from where: the user id when known, the client's
//! address and the request id, on the line of the event itself.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestDatabase, read};
use crate::process::{ProcessOptions, ServerProcess};

const CLIENT: &str = "203.0.113.77";
/// Where the accounts' owners sign in from: the throttle exempts it, and the guesses come from
/// [`CLIENT`].
const OWNER: &str = "198.51.100.1";

struct LoggedServer {
    /// `None` once stopped, so that its log is complete.
    server: Option<ServerProcess>,
    address: String,
    log: std::path::PathBuf,
    client: reqwest::Client,
}

impl LoggedServer {
    async fn start(database: &TestDatabase) -> Self {
        let log = std::env::temp_dir().join(format!("movie-bag-security-log-{}.txt", uuid::Uuid::new_v4().simple()));
        let env = vec![
            ("TRUSTED_PROXIES".into(), "127.0.0.1".into()),
            ("ACCOUNT_FAILED_LOGIN_LIMIT".into(), "2".into()),
            ("RUST_LOG".into(), "info".into()),
        ];
        let server = ServerProcess::start_with(
            database,
            ProcessOptions { env, log_file: Some(log.clone()), ..Default::default() },
        )
        .await;
        Self { address: server.address.clone(), server: Some(server), log, client: reqwest::Client::new() }
    }

    /// A request from [`CLIENT`] (through the trusted proxy on loopback) with `request_id`.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
        token: Option<&str>,
        request_id: &str,
    ) -> crate::helpers::Reply {
        self.send_from(CLIENT, method, path, body, token, request_id).await
    }

    async fn send_from(
        &self,
        client: &str,
        method: reqwest::Method,
        path: &str,
        body: Value,
        token: Option<&str>,
        request_id: &str,
    ) -> crate::helpers::Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("x-forwarded-for", client)
            .header("x-request-id", request_id)
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    /// The log line with `message` logged for `request_id`.
    fn line(&self, message: &str, request_id: &str) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap();
        text.lines()
            .find(|line| line.contains(message) && line.contains(request_id))
            .unwrap_or_else(|| panic!("no {message:?} line for request {request_id} in the log:\n{text}"))
            .to_owned()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

backend_tests! {
    async fn failed_logins_replays_throttling_and_refusals_are_logged_with_user_client_and_request_id(backend) {
        let database = TestDatabase::create(&backend).await;
        let logged = LoggedServer::start(&database).await;
        let post = reqwest::Method::POST;
        let signup = |email: &str| json!({"email": email, "password": PASSWORD});
        let ann = logged.send_from(OWNER, post.clone(), "/api/auth/signup", signup("ann@example.com"), None, "req-signup-ann").await.body["id"].as_str().unwrap().to_owned();
        let bob = logged.send_from(OWNER, post.clone(), "/api/auth/signup", signup("bob@example.com"), None, "req-signup-bob").await.body["id"].as_str().unwrap().to_owned();
        let ann_login = logged.send_from(OWNER, post.clone(), "/api/auth/login", signup("ann@example.com"), None, "req-login-ann").await;
        let bob_token = logged.send_from(OWNER, post.clone(), "/api/auth/login", signup("bob@example.com"), None, "req-login-bob").await.body["token"].as_str().unwrap().to_owned();

        let wrong = json!({"email": "bob@example.com", "password": "a wrong guess"});
        logged.send(post.clone(), "/api/auth/login", wrong.clone(), None, "req-failed-login").await.assert_status(401);
        logged.send(post.clone(), "/api/auth/login", wrong.clone(), None, "req-failed-again").await.assert_status(401);
        logged.send(post.clone(), "/api/auth/login", wrong, None, "req-throttled").await.assert_status(429);

        let refresh = json!({"refresh_token": ann_login.body["refresh_token"]});
        logged.send(post.clone(), "/api/auth/refresh", refresh.clone(), None, "req-refresh").await.assert_status(200);
        logged.send(post.clone(), "/api/auth/refresh", refresh, None, "req-replay").await.assert_status(401);

        let movie = crate::helpers::movie_body("Bob's movie");
        let movie_id = logged.send(post.clone(), "/api/movies", movie, Some(&bob_token), "req-create").await.body["id"].as_str().unwrap().to_owned();
        // The replay ended Ann's first session; she signs in again.
        let ann_token = logged.send_from(OWNER, post.clone(), "/api/auth/login", signup("ann@example.com"), None, "req-login-ann-2").await.body["token"].as_str().unwrap().to_owned();
        let patch = json!({"name": "Taken over"});
        logged.send(reqwest::Method::PATCH, &format!("/api/movies/{movie_id}"), patch, Some(&ann_token), "req-forbidden").await.assert_status(403);
        logged.send(reqwest::Method::GET, "/api/users", Value::Null, Some(&bob_token), "req-admin").await.assert_status(403);
        let mut logged = logged;
        logged.server = None;

        let failed = logged.line("login failed", "req-failed-login");
        assert!(failed.contains(&bob) && failed.contains(CLIENT), "{failed}");
        let throttled = logged.line("throttled", "req-throttled");
        assert!(throttled.contains(CLIENT), "{throttled}");
        let replay = logged.line("presented again", "req-replay");
        assert!(replay.contains(&ann) && replay.contains(CLIENT), "{replay}");
        let forbidden = logged.line("does not own it", "req-forbidden");
        assert!(forbidden.contains(&ann) && forbidden.contains(&movie_id) && forbidden.contains(CLIENT), "{forbidden}");
        let admin = logged.line("not an admin", "req-admin");
        assert!(admin.contains(&bob) && admin.contains(CLIENT), "{admin}");
        // Every request line names its client too.
        let request = logged.line("request", "req-create");
        assert!(request.contains(CLIENT), "{request}");
    }
}
