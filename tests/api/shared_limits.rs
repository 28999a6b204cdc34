//! The abuse limits hold however they are approached: guesses at once, guesses behind a stolen
//! token, guesses spread over replicas, and guesses spread over hours.

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, Reply, TestApp, TestDatabase, read};
use crate::process::{ProcessOptions, ServerProcess};

/// A request as if from `client`, through the trusted proxy on loopback.
async fn as_client(
    app: &TestApp,
    base: &str,
    client: &str,
    method: Method,
    path: &str,
    body: serde_json::Value,
    token: Option<&str>,
) -> Reply {
    let mut request = app.client.request(method, format!("{base}{path}")).header("x-forwarded-for", client).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    read(request.send().await.unwrap()).await
}

async fn guess(app: &TestApp, base: &str, client: &str, email: &str) -> u16 {
    let body = json!({"email": email, "password": "a wrong guess"});
    as_client(app, base, client, Method::POST, "/api/auth/login", body, None).await.status.as_u16()
}

fn throttled_app(backend: crate::helpers::Backend, limit: &str) -> crate::helpers::TestAppBuilder {
    TestApp::builder(backend).flag("--account-failed-login-limit", limit).flag("--trusted-proxies", "127.0.0.1")
}

/// Moves every account counter's last check `hours` into the past, as if that time had passed.
async fn let_hours_pass(database: &TestDatabase, hours: i64) {
    database
        .execute(&format!(
            "UPDATE auth_limits SET last_at = last_at - {} WHERE key LIKE 'acct:%'",
            hours * 3_600_000 + 1_000
        ))
        .await;
}

backend_tests! {
    async fn forty_simultaneous_guesses_from_forty_addresses_check_only_as_many_passwords_as_the_limit(backend) {
        let app = throttled_app(backend, "5").spawn().await;
        let user = app.new_user().await;
        let guesses = (0..40).map(|i| {
            let (app, email) = (&app, user.email.clone());
            async move { guess(app, &app.address, &format!("203.0.113.{i}"), &email).await }
        });
        let statuses = join_all(guesses).await;
        let checked = statuses.iter().filter(|s| **s == 401).count();
        let refused = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!((checked, refused), (5, 35), "statuses: {statuses:?}");
        // A new address is refused too; the owner's own address is not.
        assert_eq!(guess(&app, &app.address, "198.51.100.7", &user.email).await, 429);
        app.login(&user.email, PASSWORD).await.assert_status(200);
    }

    async fn wrong_passwords_behind_a_stolen_token_count_against_the_account_and_change_nothing(backend) {
        let app = throttled_app(backend, "3").spawn().await;
        let user = app.new_user().await;
        let thief = "203.0.113.66";
        let change = json!({"current_password": "a wrong guess", "new_password": "the thief's passphrase"});
        let delete = json!({"password": "a wrong guess"});
        let put = |body| as_client(&app, &app.address, thief, Method::PUT, "/api/auth/password", body, Some(&user.token));
        put(change.clone()).await.assert_error(400, "validation_failed");
        put(change.clone()).await.assert_error(400, "validation_failed");
        as_client(&app, &app.address, thief, Method::DELETE, "/api/users/me", delete.clone(), Some(&user.token))
            .await
            .assert_error(400, "validation_failed");
        // Three checks spent: the right password is refused too now, both ways and at login.
        let right = json!({"current_password": PASSWORD, "new_password": "the thief's passphrase"});
        let limited = put(right).await;
        limited.assert_error(429, "rate_limited");
        assert!(limited.header("retry-after").is_some());
        as_client(&app, &app.address, thief, Method::DELETE, "/api/users/me", json!({"password": PASSWORD}), Some(&user.token))
            .await
            .assert_error(429, "rate_limited");
        assert_eq!(guess(&app, &app.address, thief, &user.email).await, 429);
        // Nothing changed: the account is there with its password.
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.login(&user.email, PASSWORD).await.assert_status(200);
    }

    async fn consecutive_failures_carry_over_the_hour_until_a_success_and_stop_for_good_at_a_hundred(backend) {
        let app = throttled_app(backend, "3").spawn().await;
        let user = app.new_user().await;
        let attacker = "203.0.113.9";
        for _ in 0..3 {
            assert_eq!(guess(&app, &app.address, attacker, &user.email).await, 401);
        }
        assert_eq!(guess(&app, &app.address, attacker, &user.email).await, 429);
        // An hour later the count has not started again: one more guess, then none for an hour.
        let_hours_pass(&app.database, 1).await;
        assert_eq!(guess(&app, &app.address, attacker, &user.email).await, 401);
        assert_eq!(guess(&app, &app.address, attacker, &user.email).await, 429);
        // At a hundred consecutive failures, no more guesses however long ago the last was.
        app.database.execute("UPDATE auth_limits SET hits = 100 WHERE key LIKE 'acct:%'").await;
        let_hours_pass(&app.database, 48).await;
        assert_eq!(guess(&app, &app.address, attacker, &user.email).await, 429);
        // The owner, from an address the account logged in from, still logs in; that success
        // starts the count again.
        app.login(&user.email, PASSWORD).await.assert_status(200);
        assert_eq!(guess(&app, &app.address, attacker, &user.email).await, 401);
    }

    async fn two_processes_on_one_database_share_the_account_address_and_reset_email_limits(backend) {
        let app = throttled_app(backend, "10").flag("--auth-rate-limit-per-minute", "6").spawn().await;
        let env = vec![
            ("ACCOUNT_FAILED_LOGIN_LIMIT".to_owned(), "10".to_owned()),
            ("AUTH_RATE_LIMIT_PER_MINUTE".to_owned(), "6".to_owned()),
            ("TRUSTED_PROXIES".to_owned(), "127.0.0.1".to_owned()),
        ];
        let other = ServerProcess::start_with(&app.database, ProcessOptions { env, ..Default::default() }).await;
        let bases = [app.address.clone(), other.address.clone()];
        // The owner signs up and logs in from an address of its own (with its own budget).
        let owner = "198.51.100.1";
        as_client(&app, &bases[0], owner, Method::POST, "/api/auth/signup", json!({"email": "ann@example.com", "password": PASSWORD}), None)
            .await
            .assert_status(200);
        // Twenty guesses, alternating between the processes, each from a fresh address.
        let mut statuses = Vec::new();
        for i in 0..20 {
            statuses.push(guess(&app, &bases[i % 2], &format!("203.0.113.{i}"), "ann@example.com").await);
        }
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "statuses: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 10, "statuses: {statuses:?}");
        // One address's requests, alternating: six a minute in all, not six per process.
        let mut statuses = Vec::new();
        for i in 0..12 {
            let body = json!({"refresh_token": "not a token"});
            statuses.push(as_client(&app, &bases[i % 2], "192.0.2.50", Method::POST, "/api/auth/refresh", body, None).await.status.as_u16());
        }
        assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 6, "statuses: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 6, "statuses: {statuses:?}");
        // Six forgot requests from six addresses, alternating: three reset emails in all.
        for i in 0..6 {
            let body = json!({"email": "ann@example.com"});
            as_client(&app, &bases[i % 2], &format!("192.0.2.{}", 100 + i), Method::POST, "/api/auth/forgot", body, None)
                .await
                .assert_status(202);
        }
        let resets = "SELECT count(*) FROM outbox WHERE recipient = 'ann@example.com' AND subject LIKE 'Reset%'";
        let queued = app.database.select_count(resets).await;
        assert_eq!(queued, 3, "reset emails queued for one account across two processes");
    }

    async fn ended_sessions_spent_reset_tokens_and_stale_counters_are_pruned_and_live_ones_kept(backend) {
        let app = throttled_app(backend, "5").flag("--auth-rate-limit-per-minute", "30").spawn().await;
        let user = app.new_user().await;
        let ended = app.login(&user.email, PASSWORD).await;
        let ended_token = ended.body["token"].as_str().unwrap().to_owned();
        app.send(Method::POST, "/api/auth/logout", None, Some(&ended_token)).await.assert_status(204);
        assert_eq!(guess(&app, &app.address, "203.0.113.1", "nobody@example.com").await, 401);
        // Age the revoked session past its grace and the counters past their windows.
        let two_days_earlier = if app.database.is_sqlite() {
            "UPDATE sessions SET revoked_at = revoked_at - 172800000000 WHERE revoked_at IS NOT NULL"
        } else {
            "UPDATE sessions SET revoked_at = revoked_at - interval '2 days' WHERE revoked_at IS NOT NULL"
        };
        app.database.execute(two_days_earlier).await;
        app.database.execute("UPDATE auth_limits SET seen_at = seen_at - 7200000 WHERE key LIKE 'addr:%'").await;
        let sessions_before = app.database.select_count("SELECT count(*) FROM sessions").await;
        let tokens_before = app.database.select_count("SELECT count(*) FROM refresh_tokens").await;
        let retention = app.state.settings.tokens.security_event_retention;
        let pruned = movie_bag::service::housekeeping::run_once(&app.state.store, retention).await;
        assert_eq!(pruned.sessions, 1, "one ended session");
        assert_eq!(pruned.counters, 2, "the two aged address counters go (loopback's and the guesser's)");
        assert_eq!(app.database.select_count("SELECT count(*) FROM sessions").await, sessions_before - 1);
        assert_eq!(app.database.select_count("SELECT count(*) FROM refresh_tokens").await, tokens_before - 1);
        // The accounts' counters (a month of memory) and the live session stay.
        assert_eq!(app.database.select_count("SELECT count(*) FROM auth_limits WHERE key LIKE 'acct:%'").await, 2);
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
    }
}
