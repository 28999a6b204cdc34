//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::schema::Schema;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{auth, entries, library, mfa, movies, ops, posters, security_events, users, verification};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "movie-bag",
        description = "The movie catalogue REST API of the Flask movie-bag tutorial, rebuilt in Rust. \
            Errors are JSON: {message, status, code, errors?}. A request body is one JSON object, \
            sent unencoded: a field named twice (at any depth) is a 400 naming it, and a \
            Content-Encoding other than identity a 415. With REQUIRE_VERIFIED_EMAIL on (the default \
            when a mail server is set), an account that has not verified its address gets 403 with \
            code email_unverified for every write other than its own account's (movies, posters, \
            library).",
    ),
    paths(
        auth::signup, auth::login, auth::refresh, auth::logout, auth::logout_all,
        auth::change_password, auth::forgot, auth::reset, auth::list_sessions, auth::end_session,
        auth::create_token, auth::list_tokens, auth::revoke_token,
        mfa::enrol, mfa::confirm, mfa::disable, mfa::login_second_step, mfa::reset_by_admin,
        verification::verify, verification::resend, verification::change_email,
        movies::list_movies, movies::create_movie, movies::get_movie, movies::replace_movie,
        movies::patch_movie, movies::delete_movie,
        posters::set_poster, posters::delete_poster, posters::poster_image,
        entries::genres, entries::casts, entries::directors,
        users::me, users::delete_me, users::list_users, users::set_role, users::delete_user,
        security_events::my_events, security_events::user_events,
        library::put_entry, library::get_entry, library::delete_entry, library::list_library, library::export,
        library::import_library,
        ops::health, ops::ready, ops::metrics,
    ),
    modifiers(&BearerAuth, &SharedErrorResponses),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "movies", description = "The catalogue"),
        (name = "browse", description = "The genres, casts and directors movies list, with counts, for autocomplete and genre pages"),
        (name = "users", description = "Your account, and user administration"),
        (name = "library", description = "Your library: watchlist, watched diary and ratings (private to you), and the export of your account"),
        (name = "operations", description = "Health checks and metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// The error answers every operation shares, added here so that a handler's annotation lists only
/// the ones particular to it: 401 on each operation that needs a token (a missing, malformed,
/// expired or revoked one), 413 and 415 on each that takes a JSON body (see `http/json.rs`), and a
/// `default` for any other error (a 500, a 503 under overload or while the database is away). A
/// response the annotation names itself is kept. Every body is the contract's `ErrorBody`, so
/// generated clients keep it.
struct SharedErrorResponses;

impl SharedErrorResponses {
    fn response(description: &str) -> RefOr<Response> {
        let body =
            ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody")))).build();
        ResponseBuilder::new().description(description).content("application/json", body).build().into()
    }
}

impl Modify for SharedErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let unauthorized = [("401", Self::response("Missing or invalid token"))];
        let body = [
            ("413", Self::response("Body too large")),
            ("415", Self::response("Not JSON, or a Content-Encoding other than identity")),
        ];
        let default =
            [("default", Self::response("Any other error, e.g. 500, or 503 `unavailable` with `Retry-After`"))];
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.patch, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty());
                let shared = default
                    .iter()
                    .chain(unauthorized.iter().filter(|_| secured))
                    .chain(body.iter().filter(|_| operation.request_body.is_some()));
                for (status, response) in shared {
                    operation.responses.responses.entry((*status).to_owned()).or_insert_with(|| response.clone());
                }
            }
        }
    }
}

/// The document, with what depends on the settings: the shortest password accepted (and the
/// password rules, said where the length is).
pub fn document(password_min_length: u16) -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    let mut schemas = document.components.as_mut().map(|c| &mut c.schemas);
    // By schema name: `Credentials` is the body of signup and login (`auth::EmailAndPassword`).
    for (schema, field) in
        [("Credentials", "password"), ("ChangePasswordRequest", "new_password"), ("ResetRequest", "password")]
    {
        let property =
            schemas.as_deref_mut().and_then(|schemas| schemas.get_mut(schema)).and_then(|schema| match schema {
                RefOr::T(Schema::Object(object)) => object.properties.get_mut(field),
                _ => None,
            });
        if let Some(RefOr::T(Schema::Object(property))) = property {
            property.min_length = Some(usize::from(password_min_length));
            property.max_length = Some(256);
            property.description = Some(
                "Taken in Unicode normal form C. A new password (signup, change, reset) must not be one of the \
                 10,000 most common, the account's email or its part before the @ (ignoring case), or contain \
                 the service's name (movie-bag)."
                    .to_owned(),
            );
        }
    }
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_the_shared_error_responses_that_apply_to_it() {
        let document = document(8);
        let mut checked = 0;
        for (path, item) in &document.paths.paths {
            let operations = [&item.get, &item.put, &item.post, &item.patch, &item.delete];
            for operation in operations.into_iter().flatten() {
                let has = |status: &str| operation.responses.responses.contains_key(status);
                assert!(has("default"), "{path}");
                if operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty()) {
                    assert!(has("401"), "{path}");
                }
                if operation.request_body.is_some() {
                    assert!(has("413") && has("415"), "{path}");
                }
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked} operations");
    }

    #[test]
    fn the_poster_routes_document_their_image_bodies_and_every_response() {
        let document = serde_json::to_value(document(8)).unwrap();
        let upload = &document["paths"]["/api/movies/{id}/poster"]["put"];
        for media_type in ["image/jpeg", "image/png", "image/webp"] {
            let schema = &upload["requestBody"]["content"][media_type]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/ImageBytes", "{media_type}: {upload}");
        }
        for status in ["200", "400", "401", "403", "404", "412", "413", "415", "503"] {
            assert!(upload["responses"][status].is_object(), "PUT poster {status}");
        }
        let removal = &document["paths"]["/api/movies/{id}/poster"]["delete"];
        for status in ["204", "401", "403", "404", "412"] {
            assert!(removal["responses"][status].is_object(), "DELETE poster {status}");
        }
        let image = &document["paths"]["/api/posters/{name}"]["get"];
        for media_type in ["image/jpeg", "image/webp"] {
            assert!(image["responses"]["200"]["content"][media_type].is_object(), "{media_type}");
        }
        assert!(image["responses"]["200"]["headers"]["Cache-Control"].is_object());
        assert!(image["responses"]["304"].is_object() && image["responses"]["404"].is_object());
        let schemas = &document["components"]["schemas"];
        assert_eq!(schemas["ImageBytes"]["format"], "binary");
        assert!(schemas["Poster"]["properties"]["sources"].is_object());
    }
}

#[cfg(test)]
mod library_tests {
    use super::document;

    #[test]
    fn every_library_operation_is_documented_with_its_bodies() {
        let document = document(8);
        let json = serde_json::to_value(&document).unwrap();
        let paths = &json["paths"];
        let entry = &paths["/api/users/me/library/{movie_id}"];
        for method in ["get", "put", "delete"] {
            assert!(entry[method].is_object(), "{method} /api/users/me/library/{{movie_id}}");
            assert!(entry[method]["responses"]["404"].is_object(), "{method}: 404");
            assert!(entry[method]["responses"]["401"].is_object(), "{method}: 401");
        }
        assert!(entry["put"]["requestBody"]["content"]["application/json"].is_object());
        assert!(paths["/api/users/me/library"]["get"]["responses"]["200"]["headers"]["Link"].is_object());
        assert!(paths["/api/users/me/export"]["get"]["responses"]["200"]["headers"]["Content-Disposition"].is_object());
        let schemas = &json["components"]["schemas"];
        assert!(schemas["LibraryEntry"]["properties"]["movie"].is_object());
        assert!(schemas["Export"]["properties"]["library"].is_object());
    }

    #[test]
    fn the_library_import_documents_its_zip_and_csv_bodies_and_its_report() {
        let json = serde_json::to_value(document(8)).unwrap();
        let import = &json["paths"]["/api/users/me/library/import"]["post"];
        for media_type in ["application/zip", "text/csv"] {
            let schema = &import["requestBody"]["content"][media_type]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/ExportBytes", "{media_type}: {import}");
        }
        for status in ["200", "400", "401", "413", "415"] {
            assert!(import["responses"][status].is_object(), "POST import {status}");
        }
        assert_eq!(
            import["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ImportReport"
        );
        let schemas = &json["components"]["schemas"];
        for field in ["matched", "created", "skipped", "entries"] {
            assert!(schemas["ImportReport"]["properties"][field].is_object(), "{field}");
        }
        for field in ["file", "line", "name", "reason"] {
            assert!(schemas["SkippedRow"]["properties"][field].is_object(), "{field}");
        }
        assert_eq!(schemas["ExportBytes"]["format"], "binary");
    }
}

#[cfg(test)]
mod mfa_tests {
    use super::document;

    #[test]
    fn the_two_step_sign_in_operations_and_both_login_answers_are_documented() {
        let json = serde_json::to_value(document(8)).unwrap();
        let paths = &json["paths"];
        for (path, method, statuses) in [
            ("/api/auth/mfa/totp", "post", &["200", "400", "401", "403", "409"][..]),
            ("/api/auth/mfa/totp/confirm", "post", &["200", "400", "401"][..]),
            ("/api/auth/mfa/totp", "delete", &["204", "400", "401"][..]),
            ("/api/auth/login/mfa", "post", &["200", "401", "429"][..]),
            ("/api/users/{id}/mfa", "delete", &["204", "401", "403", "404"][..]),
        ] {
            for status in statuses {
                assert!(paths[path][method]["responses"][status].is_object(), "{method} {path} {status}");
            }
        }
        let login = &paths["/api/auth/login"]["post"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(login["$ref"], "#/components/schemas/LoginOutcome", "{login}");
        let schemas = &json["components"]["schemas"];
        let one_of = schemas["LoginOutcome"]["oneOf"].as_array().expect("a oneOf of the two answers");
        let names: Vec<_> = one_of.iter().filter_map(|answer| answer["$ref"].as_str()).collect();
        assert_eq!(names, ["#/components/schemas/TokenPair", "#/components/schemas/MfaRequired"]);
        for field in ["mfa_required", "mfa_token", "expires_in"] {
            assert!(schemas["MfaRequired"]["properties"][field].is_object(), "{field}");
        }
        assert!(schemas["Profile"]["properties"]["mfa"].is_object() || schemas["Profile"]["allOf"].is_array());
    }
}
