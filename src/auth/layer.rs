//! The tower layer that authenticates every request and checks the scope its
//! method needs, before any handler runs. Handlers read the [`Caller`] from
//! the request extensions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{HeaderMap, Request, Response};
use tonic::Status;

use super::KEY_PREFIX;
use super::{ApiKeyStore, Caller, JwtVerifier, Scope};
use crate::time::Clock;

/// What a method asks of its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    /// Anyone (public profile, health, reflection, and unknown methods, which
    /// tonic answers with UNIMPLEMENTED).
    Public,
    /// A credential acting as a user, with this scope.
    User(Scope),
    /// A service key (no user), with this scope: the internal write API.
    Service(Scope),
}

fn policy(path: &str) -> Policy {
    match path {
        "/xentree.v1.XpService/GetPublicProfile" => Policy::Public,
        "/xentree.v1.XpService/GetProfile"
        | "/xentree.v1.XpService/GetWeeklyActivity"
        | "/xentree.v1.XpService/GetLearningPulse"
        | "/xentree.v1.StreakService/GetStreakStatus"
        | "/xentree.v1.QuestService/GetDailyQuests" => Policy::User(Scope::XpRead),
        "/xentree.v1.StreakService/BuyStreakFreeze" | "/xentree.v1.QuestService/CompleteQuest" => {
            Policy::User(Scope::QuestsWrite)
        }
        "/xentree.v1.AnalyticsService/GetLearningTime" => Policy::User(Scope::ConversationsRead),
        "/xentree.v1.ActivityService/IngestEvents" => Policy::Service(Scope::EventsWrite),
        path if path.starts_with("/xentree.v1.UserService/") => Policy::Service(Scope::UsersWrite),
        path if path.starts_with("/xentree.v1.") => Policy::User(Scope::XpRead),
        _ => Policy::Public,
    }
}

/// Everything the layer needs to recognise a credential.
pub(crate) struct Authenticator {
    pub(crate) jwt: JwtVerifier,
    pub(crate) keys: ApiKeyStore,
    pub(crate) clock: Arc<dyn Clock>,
    verified_keys: VerifiedKeys,
}

/// API keys verified recently, by hash, so that a backend sending many small
/// requests does not cost a PostgreSQL lookup each. Only successes are kept
/// (a new key works at once); a revocation takes effect within the TTL.
struct VerifiedKeys {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], (Caller, Instant)>>,
}

impl VerifiedKeys {
    /// Keys beyond this many are dropped wholesale rather than evicted one by one.
    const CAPACITY: usize = 10_000;

    fn get(&self, hash: &[u8; 32]) -> Option<Caller> {
        let entries = self.entries.lock().expect("verified keys lock");
        entries
            .get(hash)
            .filter(|(_, verified_at)| verified_at.elapsed() < self.ttl)
            .map(|(caller, _)| caller.clone())
    }

    fn insert(&self, hash: [u8; 32], caller: &Caller) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().expect("verified keys lock");
        if entries.len() >= Self::CAPACITY {
            entries.clear();
        }
        entries.insert(hash, (caller.clone(), Instant::now()));
    }
}

enum Credential<'a> {
    None,
    Jwt(&'a str),
    ApiKey(&'a str),
    Malformed,
}

fn credential(headers: &HeaderMap) -> Credential<'_> {
    if let Some(value) = headers.get("x-api-key") {
        return match value.to_str() {
            Ok(key) if key.starts_with(KEY_PREFIX) => Credential::ApiKey(key),
            _ => Credential::Malformed,
        };
    }
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Credential::None;
    };
    let Some(token) = value.to_str().ok().and_then(|text| text.strip_prefix("Bearer ")).map(str::trim) else {
        return Credential::Malformed;
    };
    if token.starts_with(KEY_PREFIX) { Credential::ApiKey(token) } else { Credential::Jwt(token) }
}

impl Authenticator {
    async fn caller(&self, headers: &HeaderMap) -> Result<Caller, Status> {
        match credential(headers) {
            Credential::None => Err(Status::unauthenticated(
                "missing credentials: send Authorization: Bearer <token> or x-api-key",
            )),
            Credential::Malformed => Err(Status::unauthenticated("malformed credentials")),
            Credential::Jwt(token) => {
                self.jwt.verify(token, self.clock.now().timestamp()).map_err(Status::unauthenticated)
            }
            Credential::ApiKey(key) => {
                let hash = super::apikey::hash(key);
                if let Some(caller) = self.verified_keys.get(&hash) {
                    return Ok(caller);
                }
                match self.keys.authenticate_hash(&hash).await {
                    Ok(Some(caller)) => {
                        self.verified_keys.insert(hash, &caller);
                        Ok(caller)
                    }
                    Ok(None) => Err(Status::unauthenticated("unknown or revoked api key")),
                    Err(error) => Err(error.into()),
                }
            }
        }
    }

    async fn authorize(&self, path: &str, headers: &HeaderMap) -> Result<Option<Caller>, Status> {
        let policy = policy(path);
        let (scope, wants_user) = match policy {
            Policy::Public => return Ok(None),
            Policy::User(scope) => (scope, true),
            Policy::Service(scope) => (scope, false),
        };
        let caller = self.caller(headers).await?;
        if wants_user && caller.user_id.is_none() {
            return Err(Status::permission_denied(
                "this method acts as a user: a service key cannot call it",
            ));
        }
        if !wants_user && caller.user_id.is_some() {
            return Err(Status::permission_denied("this method is internal: it needs a service key"));
        }
        if !caller.scopes.contains(scope) {
            return Err(Status::permission_denied(format!("missing scope {}", scope.name())));
        }
        Ok(Some(caller))
    }
}

/// Adds authentication to every request (see the module doc).
#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<Authenticator>,
}

impl AuthLayer {
    /// Creates the layer; verified API keys are trusted for `key_ttl`.
    pub fn new(jwt: JwtVerifier, keys: ApiKeyStore, clock: Arc<dyn Clock>, key_ttl: Duration) -> Self {
        let verified_keys = VerifiedKeys { ttl: key_ttl, entries: Mutex::default() };
        Self { authenticator: Arc::new(Authenticator { jwt, keys, clock, verified_keys }) }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, authenticator: self.authenticator.clone() }
    }
}

/// The service [`AuthLayer`] wraps around the routes.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<Authenticator>,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for AuthService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // The clone is ready (tower's usual swap), the original stays for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            match authenticator.authorize(request.uri().path(), request.headers()).await {
                Ok(Some(caller)) => {
                    request.extensions_mut().insert(caller);
                }
                Ok(None) => {}
                Err(status) => return Ok(status.into_http()),
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    /// Every method of the read API needs a user; ingestion and users need a service key.
    fn policies_of_the_contract() {
        assert_eq!(policy("/xentree.v1.XpService/GetPublicProfile"), Policy::Public);
        assert_eq!(policy("/xentree.v1.XpService/GetProfile"), Policy::User(Scope::XpRead));
        assert_eq!(
            policy("/xentree.v1.AnalyticsService/GetLearningTime"),
            Policy::User(Scope::ConversationsRead)
        );
        assert_eq!(policy("/xentree.v1.QuestService/CompleteQuest"), Policy::User(Scope::QuestsWrite));
        assert_eq!(policy("/xentree.v1.ActivityService/IngestEvents"), Policy::Service(Scope::EventsWrite));
        assert_eq!(policy("/xentree.v1.UserService/GrantTokens"), Policy::Service(Scope::UsersWrite));
        assert_eq!(policy("/grpc.health.v1.Health/Check"), Policy::Public);
    }
}
