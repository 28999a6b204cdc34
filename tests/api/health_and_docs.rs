//! Health, readiness and the API documentation.

use crate::backend_tests;
use crate::helpers::TestApp;

backend_tests! {
    async fn health_is_ok_while_the_process_runs(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.get("/health", None).await;
        reply.assert_status(200);
        assert_eq!(reply.body, serde_json::json!({"status": "ok"}));
    }

    async fn ready_is_ok_when_the_database_answers(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.get("/ready", None).await;
        reply.assert_status(200);
        assert_eq!(reply.body["status"], "ok");
    }

    async fn the_openapi_document_is_3_1_and_lists_every_endpoint(backend) {
        let app = TestApp::spawn(backend).await;
        let reply = app.get("/api/openapi.json", None).await;
        reply.assert_status(200);
        let doc = &reply.body;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
        let expected = [
            ("/api/auth/signup", "post"), ("/api/auth/login", "post"), ("/api/auth/refresh", "post"),
            ("/api/auth/logout", "post"), ("/api/auth/logout-all", "post"), ("/api/auth/password", "put"),
            ("/api/auth/forgot", "post"), ("/api/auth/reset", "post"),
            ("/api/movies", "get"), ("/api/movies", "post"), ("/api/movies/{id}", "get"),
            ("/api/movies/{id}", "put"), ("/api/movies/{id}", "patch"), ("/api/movies/{id}", "delete"),
            ("/api/users/me", "get"), ("/api/users/me", "delete"), ("/api/users", "get"),
            ("/api/users/{id}", "patch"), ("/api/users/{id}", "delete"), ("/health", "get"), ("/ready", "get"),
        ];
        for (path, method) in expected {
            assert!(doc["paths"][path][method].is_object(), "{method} {path} is missing");
        }
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert!(doc["components"]["schemas"]["Movie"].is_object());
        // The listing declares what it sends: an array of movies.
        let listing = &doc["paths"]["/api/movies"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        let listing = match listing["$ref"].as_str() {
            Some(reference) => &doc["components"]["schemas"][reference.rsplit('/').next().unwrap()],
            None => listing,
        };
        assert_eq!(listing["type"], "array", "{listing}");
        let items = &listing["items"];
        let movie = &doc["components"]["schemas"]["Movie"];
        assert!(items["$ref"] == "#/components/schemas/Movie" || items == movie, "{listing}");
    }

    async fn the_openapi_document_says_what_the_server_enforces(backend) {
        let app = TestApp::builder(backend).flag("--password-min-length", "10").spawn().await;
        let doc = app.get("/api/openapi.json", None).await.body;
        let schemas = &doc["components"]["schemas"];
        // PATCH: no field may be null, and at least one is needed.
        let patch = &schemas["MoviePatch"];
        assert_eq!(patch["minProperties"], 1, "{patch}");
        for field in ["name", "casts", "genres"] {
            let kind = &patch["properties"][field]["type"];
            assert!(kind.is_string(), "{field} may be null: {kind}");
        }
        // Passwords: the configured minimum, not 1.
        assert_eq!(schemas["Credentials"]["properties"]["password"]["minLength"], 10);
        assert_eq!(schemas["ChangePasswordRequest"]["properties"]["new_password"]["minLength"], 10);
        assert_eq!(schemas["ResetRequest"]["properties"]["password"]["minLength"], 10);
        // List entries have their length limits.
        for schema in ["MovieInput", "MoviePatch"] {
            let casts = &schemas[schema]["properties"]["casts"];
            assert_eq!((casts["minItems"].as_u64(), casts["maxItems"].as_u64()), (Some(1), Some(100)), "{casts}");
            assert_eq!((casts["items"]["minLength"].as_u64(), casts["items"]["maxLength"].as_u64()), (Some(1), Some(200)));
        }
        // No Rust type name leaks as a schema name.
        for name in schemas.as_object().unwrap().keys() {
            assert!(!name.contains("Map") && !name.contains('<'), "schema name {name}");
        }
        assert_eq!(schemas["ErrorBody"]["properties"]["errors"]["additionalProperties"]["type"], "array");
        // Every operation declares the error body for the statuses it does not list.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let default = &operation["responses"]["default"]["content"]["application/json"]["schema"]["$ref"];
                assert_eq!(default, "#/components/schemas/ErrorBody", "{method} {path}");
            }
        }
        // The next page's Link header, and what reusing a refresh token does.
        assert!(doc["paths"]["/api/movies"]["get"]["responses"]["200"]["headers"]["Link"].is_object());
        // A page is an array of the one Movie schema, not of an inlined copy that generated
        // clients would name as a second type.
        let page = &doc["components"]["schemas"]["MoviePage"];
        assert_eq!(page["type"], "array");
        assert_eq!(page["items"]["$ref"], "#/components/schemas/Movie");
        let refresh = doc["paths"]["/api/auth/refresh"]["post"]["description"].as_str().unwrap_or_default().to_owned()
            + doc["paths"]["/api/auth/refresh"]["post"]["summary"].as_str().unwrap_or_default();
        assert!(refresh.contains("revokes its whole"), "{refresh}");
    }

    async fn swagger_ui_is_served_from_the_binary(backend) {
        let app = TestApp::spawn(backend).await;
        let page = app.client.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger-ui"), "{html}");
        let script = app.client.get(app.url("/docs/swagger-ui-bundle.js")).send().await.unwrap();
        assert_eq!(script.status(), 200);
        assert!(script.bytes().await.unwrap().len() > 100_000);
    }
}
