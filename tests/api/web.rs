//! The web app's files as HTTP serves them: the page shell on every page path, with its security
//! headers; assets with validators and compression; JSON everywhere under /api/.

use reqwest::header;

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests! {
    async fn every_page_path_answers_the_html_shell_with_a_strict_content_security_policy(backend) {
        let app = TestApp::spawn(backend).await;
        for path in ["/", "/signin", "/signup", "/forgot", "/reset?token=abc", "/account", "/admin/users",
                     "/movies/new", "/movies/some-id", "/movies/some-id/edit"] {
            let response = app.client.get(app.url(path)).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers().clone();
            assert!(headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{path}");
            let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
            assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
            let html = response.text().await.unwrap();
            assert!(html.contains(r#"<script type="module" src="/assets/app.js">"#), "{path}");
            assert!(!html.contains("<script>") && !html.contains(" style="), "no inline script or style");
        }
    }

    async fn assets_carry_an_etag_answer_304_when_unchanged_and_are_compressed(backend) {
        let app = TestApp::spawn(backend).await;
        for (asset, kind) in [("app.js", "text/javascript"), ("api.js", "text/javascript"), ("ui.js", "text/javascript"),
                              ("app.css", "text/css"), ("icon.svg", "image/svg+xml"),
                              ("catalogue.js", "text/javascript"), ("admin.js", "text/javascript"),
                              ("cards.js", "text/javascript"), ("posters.js", "text/javascript"),
                              ("library.js", "text/javascript"), ("account.js", "text/javascript")] {
            let first = app.client.get(app.url(&format!("/assets/{asset}"))).send().await.unwrap();
            assert_eq!(first.status(), 200, "{asset}");
            assert!(first.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with(kind), "{asset}");
            let etag = first.headers()[header::ETAG].clone();
            let again = app.client.get(app.url(&format!("/assets/{asset}")))
                .header(header::IF_NONE_MATCH, etag.clone()).send().await.unwrap();
            assert_eq!(again.status(), 304, "{asset}");
            assert!(again.bytes().await.unwrap().is_empty());
        }
        let compressed = app.client.get(app.url("/assets/app.js")).header(header::ACCEPT_ENCODING, "gzip")
            .send().await.unwrap();
        assert_eq!(compressed.headers()[header::CONTENT_ENCODING], "gzip");
        let missing = app.client.get(app.url("/assets/nope.js")).send().await.unwrap();
        assert_eq!(missing.status(), 404);
    }

    async fn unknown_paths_are_a_404_page_for_browsers_and_json_for_programs_and_under_api(backend) {
        let app = TestApp::spawn(backend).await;
        let browser = app.client.get(app.url("/no/such/page")).header(header::ACCEPT, "text/html,*/*").send().await.unwrap();
        assert_eq!(browser.status(), 404);
        assert!(browser.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        assert!(browser.headers().contains_key(header::CONTENT_SECURITY_POLICY));
        let program = app.get("/no/such/page", None).await;
        program.assert_status(404);
        assert_eq!(program.body["message"], "Resource not found");
        for path in ["/api/no-such-thing", "/api/movies/a/b/c", "/api"] {
            let under_api = app.client.get(app.url(path)).header(header::ACCEPT, "text/html").send().await.unwrap();
            assert_eq!(under_api.status(), 404, "{path}");
            assert!(under_api.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("application/json"), "{path}");
        }
    }
}
