//! Who is calling and what they may do: JWTs and API keys become a [`Caller`]
//! in one tower layer ([`AuthLayer`]), which also enforces each method's scope.

mod apikey;
mod layer;
mod scope;

pub use apikey::{ApiKey, ApiKeyStore, KEY_PREFIX, NewApiKey};
pub use layer::AuthLayer;
pub use scope::{Scope, Scopes};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// The authenticated caller of a request, found in its extensions.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The user the caller acts as; `None` for a service key.
    pub user_id: Option<String>,
    /// What the caller may do.
    pub scopes: Scopes,
}

impl Caller {
    /// Returns the caller of `request`, set by [`AuthLayer`] for every method
    /// that needs a user.
    pub fn user_of<T>(request: &tonic::Request<T>) -> Result<&str, tonic::Status> {
        request
            .extensions()
            .get::<Caller>()
            .and_then(|caller| caller.user_id.as_deref())
            .ok_or_else(|| tonic::Status::unauthenticated("missing credentials"))
    }
}

#[derive(Debug, serde::Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
    #[serde(default)]
    scope: Option<String>,
}

/// Verifies HS256 user tokens.
#[derive(Clone)]
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
}

impl JwtVerifier {
    /// Creates a verifier for tokens signed with `secret`.
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the service's clock below, not the system's.
        validation.validate_exp = false;
        validation.required_spec_claims = ["exp", "sub"].iter().map(|claim| (*claim).to_owned()).collect();
        Self { key: DecodingKey::from_secret(secret.as_bytes()), validation }
    }

    /// Returns the caller a token stands for, or why it is refused.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<Caller, &'static str> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map_err(|_| "invalid token")?;
        let claims = data.claims;
        if claims.exp <= now_unix {
            return Err("token expired");
        }
        if claims.sub.is_empty() {
            return Err("invalid token");
        }
        let scopes = match claims.scope.as_deref() {
            None => Scopes::USER_DEFAULT,
            Some(text) => Scopes::parse_list(text.split_whitespace()).map_err(|_| "invalid token scope")?,
        };
        Ok(Caller { user_id: Some(claims.sub), scopes })
    }
}

/// Signs a user token; used by the CLI's demo output, tests and the benchmark.
pub fn sign_user_token(secret: &str, user_id: &str, expires_at_unix: i64, scope: Option<&str>) -> String {
    #[derive(serde::Serialize)]
    struct Outgoing<'a> {
        sub: &'a str,
        exp: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<&'a str>,
    }
    let claims = Outgoing { sub: user_id, exp: expires_at_unix, scope };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing cannot fail")
}
