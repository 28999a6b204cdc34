//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{auth, movies, ops, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "movie-bag",
        description = "The movie catalogue REST API of the Flask movie-bag tutorial, rebuilt in Rust. \
            Errors are JSON: {message, status, code, errors?}.",
    ),
    paths(
        auth::signup, auth::login, auth::refresh, auth::logout, auth::logout_all,
        auth::change_password, auth::forgot, auth::reset,
        movies::list_movies, movies::create_movie, movies::get_movie, movies::replace_movie,
        movies::patch_movie, movies::delete_movie,
        users::me, users::delete_me, users::list_users, users::set_role, users::delete_user,
        ops::health, ops::ready, ops::metrics,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions"),
        (name = "movies", description = "The catalogue"),
        (name = "users", description = "Your account, and user administration"),
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
