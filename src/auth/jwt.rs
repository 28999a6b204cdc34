//! Access tokens: HS256 JWTs naming a user (`sub`) and a session (`sid`).
//!
//! Keys and validation rules are built once. The algorithm is pinned to HS256 (so `alg: none`
//! or a key-confusion trick fails), `exp` is required and checked without leeway.

use std::time::Duration;

use anyhow::Context as _;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::signing_key::SigningKey;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    /// User id.
    pub sub: String,
    /// Session id: the row that logout revokes.
    pub sid: String,
    /// Token id, unique per token.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    header: Header,
    ttl: Duration,
}

impl TokenKeys {
    pub fn new(key: &SigningKey, ttl: Duration) -> anyhow::Result<Self> {
        let bytes = key.bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes).context("the signing key cannot be used for HS256")?,
            decoding: DecodingKey::from_secret(bytes).context("the signing key cannot be used for HS256")?,
            validation,
            header: Header::new(Algorithm::HS256),
            ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Signs an access token for the session, valid for the configured lifetime from `now`.
    pub fn issue(&self, user_id: &str, session_id: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
        let ttl = i64::try_from(self.ttl.as_secs())?;
        let claims = AccessClaims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            jti: crate::domain::new_id(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl,
        };
        Ok(jsonwebtoken::encode(&self.header, &claims, &self.encoding)?)
    }

    /// The claims of a well-formed, correctly signed, unexpired token; `None` otherwise.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).ok().map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SigningKey::random(), Duration::from_secs(60)).unwrap()
    }

    #[test]
    fn an_issued_token_verifies_with_its_claims() {
        let keys = keys();
        let token = keys.issue("user-1", "session-1", Utc::now()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("user-1", "session-1"));
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn expired_tokens_and_other_keys_are_rejected() {
        let keys = keys();
        let old = keys.issue("u", "s", Utc::now() - chrono::Duration::seconds(120)).unwrap();
        assert!(keys.verify(&old).is_none());
        let other = TokenKeys::new(&SigningKey::random(), Duration::from_secs(60)).unwrap();
        assert!(keys.verify(&other.issue("u", "s", Utc::now()).unwrap()).is_none());
        assert!(keys.verify("not.a.token").is_none());
    }
}
