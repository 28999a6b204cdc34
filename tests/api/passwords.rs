//! The password rules that need the account or Unicode (issue 20, item 12; API.md "Users";
//! ASVS V6.2.11): not the account's email, not the service's name, and one password whatever
//! normal form it is typed in.

use reqwest::Method;
use serde_json::json;

use crate::backend_tests;
use crate::helpers::{PASSWORD, TestApp};
use crate::password_reset::{MAIL_WAIT, app_with_mail, forgot, reset};
use crate::smtp::SmtpServer;

/// "Crème brûlée café" composed (NFC) and decomposed (NFD, as macOS file names hold it).
const COMPOSED: &str = "cr\u{e8}me br\u{fb}l\u{e9}e caf\u{e9}";
const DECOMPOSED: &str = "cre\u{300}me bru\u{302}le\u{301}e cafe\u{301}";

/// Passwords that name the service, each refused wherever a password is set.
const SERVICE_NAMED: [&str; 3] = ["Movie-Bag-2024!", "my moviebag password", "MOVIE BAG forever"];

#[track_caller]
fn assert_password_refused(reply: &crate::helpers::Reply, field: &str) {
    reply.assert_error(400, "validation_failed");
    assert!(reply.body["errors"][field].is_array(), "{}", reply.body);
}

backend_tests! {
    async fn a_signup_password_that_is_the_email_or_names_the_service_is_400_and_creates_no_account(backend) {
        let app = TestApp::spawn(backend).await;
        let email = "Annabelle.Lee@Example.com";
        for password in ["annabelle.lee@example.com", "ANNABELLE.LEE@EXAMPLE.COM", "annabelle.lee", "Annabelle.Lee"] {
            let reply = app.signup(email, password).await;
            assert_password_refused(&reply, "password");
            assert!(reply.body["errors"]["password"][0].as_str().unwrap().contains("email"), "{}", reply.body);
        }
        for password in SERVICE_NAMED {
            let reply = app.signup(email, password).await;
            assert_password_refused(&reply, "password");
            assert!(reply.body["errors"]["password"][0].as_str().unwrap().contains("movie-bag"), "{}", reply.body);
        }
        assert!(app.state.store.list_users().await.unwrap().is_empty());
        // Another address may use what was this one's local part.
        app.signup("someone@example.com", "annabelle.lee").await.assert_status(200);
    }

    async fn a_new_password_that_is_the_email_or_names_the_service_is_400_and_the_old_one_stays(backend) {
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        let local = user.email.split('@').next().unwrap().to_owned();
        for new in [user.email.to_uppercase(), local]
            .into_iter()
            .chain(SERVICE_NAMED.iter().map(|p| p.to_string()))
        {
            let body = json!({"current_password": PASSWORD, "new_password": new});
            let reply = app.send(Method::PUT, "/api/auth/password", Some(body), Some(&user.token)).await;
            assert_password_refused(&reply, "new_password");
        }
        // Nothing changed: the session lives and the old password still logs in.
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        app.login(&user.email, PASSWORD).await.assert_status(200);
        app.login(&user.email, &user.email).await.assert_error(401, "unauthorized");
    }

    async fn a_reset_password_that_is_the_email_or_names_the_service_is_400_and_the_token_still_works(backend) {
        let mut smtp = SmtpServer::start().await;
        let app = app_with_mail(backend, &smtp, &[]).await;
        let user = app.new_user().await;
        forgot(&app, &user.email).await.assert_status(202);
        let token = smtp.next_mail(MAIL_WAIT).await.unwrap().reset_token().unwrap();
        let local = user.email.split('@').next().unwrap().to_owned();
        for password in [user.email.clone(), local].into_iter().chain(SERVICE_NAMED.iter().map(|p| p.to_string())) {
            assert_password_refused(&reset(&app, &token, &password).await, "password");
        }
        app.login(&user.email, PASSWORD).await.assert_status(200);
        app.get("/api/users/me", Some(&user.token)).await.assert_status(200);
        // The refusals did not use the token up.
        reset(&app, &token, "a brand new passphrase").await.assert_status(200);
        app.login(&user.email, "a brand new passphrase").await.assert_status(200);
    }

    async fn a_password_set_in_one_normal_form_logs_in_in_the_other(backend) {
        let app = TestApp::spawn(backend).await;
        for (signed_up_with, logs_in_with) in [(COMPOSED, DECOMPOSED), (DECOMPOSED, COMPOSED)] {
            let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
            app.signup(&email, signed_up_with).await.assert_status(200);
            let login = app.login(&email, logs_in_with).await;
            login.assert_status(200);
            app.login(&email, signed_up_with).await.assert_status(200);
            app.login(&email, "creme brulee cafe").await.assert_error(401, "unauthorized");
            // The current password is checked the same way.
            let body = json!({"current_password": logs_in_with, "new_password": "another fine passphrase"});
            app.send(Method::PUT, "/api/auth/password", Some(body), login.body["token"].as_str()).await.assert_status(204);
        }
    }

    async fn a_hash_of_the_decomposed_bytes_made_before_normalisation_still_logs_in(backend) {
        use argon2::password_hash::PasswordHasher as _;
        let app = TestApp::spawn(backend).await;
        let user = app.new_user().await;
        // What signup stored before passwords were normalised: a hash of the bytes as typed.
        let legacy = argon2::Argon2::default()
            .hash_password_with_salt(DECOMPOSED.as_bytes(), b"sixteen byte slt")
            .unwrap()
            .to_string();
        let current: String = app.database.select_one("SELECT password_hash FROM users WHERE id = $1", &[&user.id]).await;
        let id = movie_bag::domain::UserId::from_stored(user.id.clone());
        assert!(app.state.store.rehash_password(&id, &current, &legacy).await.unwrap());
        app.login(&user.email, PASSWORD).await.assert_error(401, "unauthorized");
        app.login(&user.email, DECOMPOSED).await.assert_status(200);
    }
}
