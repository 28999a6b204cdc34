//! Authentication building blocks: password hashing, access tokens (JWT) and opaque tokens.
//! The extractors that use them live in `http::extract`.

pub mod bcrypt_hash;
pub mod jwt;
pub mod password;
pub mod secret_token;
pub mod signing_key;
pub mod totp;
