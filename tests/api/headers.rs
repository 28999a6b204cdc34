//! Response headers that protect the origin (issue 20, item 10): the API documentation's policy,
//! and HSTS when requests come over HTTPS through a trusted proxy.

use reqwest::header;

use crate::backend_tests;
use crate::helpers::{Reply, TestApp, read};

/// Every file of `/docs`: the page under each of its paths, our starter script, the vendored
/// files the page loads, and a 404.
const DOCS_PATHS: [&str; 9] = [
    "/docs",
    "/docs/",
    "/docs/index.html",
    "/docs/docs.js",
    "/docs/swagger-ui-bundle.js",
    "/docs/swagger-ui.css",
    "/docs/favicon-32x32.png",
    "/docs/favicon-16x16.png",
    "/docs/no-such-file.js",
];

/// The values of `attribute="..."` in `tag` (`<script src="/x">` gives `/x`).
fn attribute<'a>(tag: &'a str, attribute: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {attribute}=\""))? + attribute.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// Every `<name ...>` opening tag in `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name}");
    html.match_indices(&open)
        .filter(|(at, _)| html[at + open.len()..].starts_with([' ', '>']))
        .map(|(at, _)| &html[at..=at + html[at..].find('>').unwrap()])
        .collect()
}

/// A path on this server, not a URL that could name another origin (`//host/x`, `https:`).
fn same_origin(reference: &str) -> bool {
    reference.starts_with('/') && !reference.starts_with("//")
}

async fn get_forwarded(app: &TestApp, path: &str, proto: Option<&str>) -> Reply {
    let mut request = app.client.get(app.url(path));
    if let Some(proto) = proto {
        request = request.header("x-forwarded-proto", proto);
    }
    read(request.send().await.unwrap()).await
}

/// What each response of the three cases is checked on: a page, the API, an error, the docs.
const HSTS_PATHS: [&str; 4] = ["/health", "/api/movies", "/api/no-such-thing", "/docs/"];
const HSTS: &str = "max-age=31536000; includeSubDomains";

backend_tests! {
    async fn every_docs_response_has_a_strict_policy_and_refuses_framing_and_referrers(backend) {
        let app = TestApp::spawn(backend).await;
        for path in DOCS_PATHS {
            let reply = app.client.get(app.url(path)).send().await.unwrap();
            let expected = if path.ends_with("no-such-file.js") { 404 } else { 200 };
            assert_eq!(reply.status(), expected, "{path}");
            let headers = reply.headers();
            let policy = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                              "base-uri 'none'", "object-src 'none'", "connect-src 'self'"] {
                assert!(policy.split(';').any(|d| d.trim() == directive), "{path}: {directive} missing from {policy}");
            }
            assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{path}: {policy}");
            assert!(!policy.contains("http:") && !policy.contains("https:") && !policy.contains('*'), "{path}: {policy}");
            assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY", "{path}");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        }
    }

    async fn the_docs_page_loads_only_same_origin_scripts_and_styles_and_has_no_inline_code(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = page.text().await.unwrap();
        let scripts = tags(&html, "script");
        assert!(scripts.len() >= 2, "{html}");
        for tag in &scripts {
            let src = attribute(tag, "src").unwrap_or_else(|| panic!("an inline script: {tag}"));
            assert!(same_origin(src), "{src}");
            // Nothing between the tags: the code is all in the file.
            let after = &html[html.find(*tag).unwrap() + tag.len()..];
            assert!(after.starts_with("</script>"), "inline code after {tag}");
        }
        assert!(tags(&html, "style").is_empty() && !html.contains(" style="), "no inline style: {html}");
        // No event handler attribute (`onload=`) and no `javascript:` URL in any tag.
        for tag in html.split('<').skip(1).map(|rest| rest.split('>').next().unwrap_or_default()) {
            let handler = tag.split_whitespace().skip(1).any(|attribute| {
                attribute.to_ascii_lowercase().strip_prefix("on").is_some_and(|rest| rest.contains('='))
            });
            assert!(!handler && !tag.to_ascii_lowercase().contains("javascript:"), "inline code in <{tag}>");
        }
        let links = tags(&html, "link");
        let references: Vec<&str> = scripts.iter().filter_map(|t| attribute(t, "src"))
            .chain(links.iter().filter_map(|t| attribute(t, "href")))
            .collect();
        assert!(links.iter().all(|t| attribute(t, "href").is_some_and(same_origin)), "{links:?}");
        // Each file the page names is there, with the type a browser needs to use it under
        // `nosniff`.
        for reference in references {
            let file = app.client.get(app.url(reference)).send().await.unwrap();
            assert_eq!(file.status(), 200, "{reference}");
            let kind = file.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
            let expected = match reference.rsplit('.').next() {
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("png") => "image/png",
                other => panic!("unexpected file {reference} ({other:?})"),
            };
            assert!(kind.starts_with(expected), "{reference}: {kind}");
        }
        // The bundle defines what the starter calls, and the starter asks for this server's
        // own document, which is there.
        let bundle = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.unwrap().text().await.unwrap();
        assert!(bundle.contains("SwaggerUIBundle"));
        let starter = app.client.get(app.url("/docs/docs.js")).send().await.unwrap().text().await.unwrap();
        assert!(starter.contains("SwaggerUIBundle(") && starter.contains("url: \"/api/openapi.json\""), "{starter}");
        assert!(starter.contains("queryConfigEnabled: false"), "{starter}");
        let document = app.get("/api/openapi.json", None).await;
        document.assert_status(200);
        assert!(document.body["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", document.body);
        // The distribution's own initializer, which the page no longer uses, is not served.
        let initializer = app.client.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap();
        assert_eq!(initializer.status(), 404);
    }

    async fn hsts_is_sent_when_a_trusted_proxy_says_the_request_came_over_https_and_the_public_url_is_https(backend) {
        let app = TestApp::builder(backend)
            .flag("--public-url", "https://movies.example.com")
            .flag("--trusted-proxies", "127.0.0.1")
            .spawn().await;
        for path in HSTS_PATHS {
            for proto in ["https", "HTTPS", "http, https"] {
                let reply = get_forwarded(&app, path, Some(proto)).await;
                assert_eq!(reply.header("strict-transport-security"), Some(HSTS), "{path} with {proto}");
            }
        }
    }

    async fn hsts_is_never_sent_over_plain_http(backend) {
        let app = TestApp::builder(backend)
            .flag("--public-url", "https://movies.example.com")
            .flag("--trusted-proxies", "127.0.0.1")
            .spawn().await;
        for path in HSTS_PATHS {
            // No header: the request reached the server as it speaks, plain HTTP. And the last
            // entry is what the trusted proxy wrote: the client's `https` before it is not.
            for proto in [None, Some("http"), Some("https, http"), Some("")] {
                let reply = get_forwarded(&app, path, proto).await;
                assert_eq!(reply.header("strict-transport-security"), None, "{path} with {proto:?}");
            }
        }
    }

    async fn hsts_is_not_sent_when_an_untrusted_peer_claims_https(backend) {
        // The test client is 127.0.0.1, which is not among the trusted proxies here.
        let app = TestApp::builder(backend)
            .flag("--public-url", "https://movies.example.com")
            .flag("--trusted-proxies", "192.0.2.1")
            .spawn().await;
        for path in HSTS_PATHS {
            let reply = get_forwarded(&app, path, Some("https")).await;
            assert_eq!(reply.header("strict-transport-security"), None, "{path}");
        }
    }

    async fn hsts_is_not_sent_when_the_public_url_is_plain_http(backend) {
        let app = TestApp::builder(backend)
            .flag("--public-url", "http://movies.example.com")
            .flag("--trusted-proxies", "127.0.0.1")
            .spawn().await;
        for path in HSTS_PATHS {
            let reply = get_forwarded(&app, path, Some("https")).await;
            assert_eq!(reply.header("strict-transport-security"), None, "{path}");
        }
    }
}
