//! API keys: generated once, stored only as SHA-256 hashes, revocable.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use uuid::Uuid;

use super::{Caller, Scopes};

/// The prefix that marks an API key (as opposed to a JWT).
pub const KEY_PREFIX: &str = "xnt_";

/// A key as listed: never the key itself.
#[derive(Debug)]
pub struct ApiKey {
    /// The key's id, for revocation.
    pub key_id: Uuid,
    /// A label.
    pub name: String,
    /// What the key may do.
    pub scopes: Scopes,
    /// The user the key acts as; `None` for a service key.
    pub user_id: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key just created: the only time its secret is shown.
#[derive(Debug)]
pub struct NewApiKey {
    /// The key's id.
    pub key_id: Uuid,
    /// The secret, to hand to the client once.
    pub secret: String,
}

/// API keys in PostgreSQL.
#[derive(Clone)]
pub struct ApiKeyStore {
    pool: Pool,
}

/// The SHA-256 of a key: what is stored, and what identifies it in memory.
pub(crate) fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl ApiKeyStore {
    /// Creates a store over `pool`.
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }

    /// Creates a key and returns its secret.
    pub async fn create(
        &self,
        name: &str,
        scopes: Scopes,
        user_id: Option<&str>,
    ) -> anyhow::Result<NewApiKey> {
        let mut random = [0u8; 24];
        rand::rng().fill_bytes(&mut random);
        let secret = format!("{KEY_PREFIX}{}", hex::encode(random));
        let key_id = Uuid::new_v4();
        let client = self.pool.get().await?;
        let scope_names: Vec<&str> = scopes.names();
        client
            .execute(
                "insert into api_key (key_id, key_hash, name, scopes, user_id) values ($1, $2, $3, $4, $5)",
                &[&key_id, &hash(&secret).as_slice(), &name, &scope_names, &user_id],
            )
            .await?;
        Ok(NewApiKey { key_id, secret })
    }

    /// Lists every key, newest first.
    pub async fn list(&self) -> anyhow::Result<Vec<ApiKey>> {
        let client = self.pool.get().await?;
        let rows = client
            .query("select key_id, name, scopes, user_id, created_at, revoked_at from api_key order by created_at desc", &[])
            .await?;
        rows.iter()
            .map(|row| {
                let names: Vec<String> = row.get("scopes");
                Ok(ApiKey {
                    key_id: row.get("key_id"),
                    name: row.get("name"),
                    scopes: Scopes::parse_list(names.iter().map(String::as_str))
                        .map_err(anyhow::Error::msg)?,
                    user_id: row.get("user_id"),
                    created_at: row.get("created_at"),
                    revoked_at: row.get("revoked_at"),
                })
            })
            .collect()
    }

    /// Revokes a key; returns false when there is no such active key.
    pub async fn revoke(&self, key_id: Uuid) -> anyhow::Result<bool> {
        let client = self.pool.get().await?;
        let changed = client
            .execute(
                "update api_key set revoked_at = now() where key_id = $1 and revoked_at is null",
                &[&key_id],
            )
            .await?;
        Ok(changed == 1)
    }

    /// Returns the caller a presented secret stands for, `Ok(None)` when it is
    /// unknown or revoked.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Caller>, crate::error::ApiError> {
        self.authenticate_hash(&hash(secret)).await
    }

    /// Like [`ApiKeyStore::authenticate`], given the key's hash.
    pub(crate) async fn authenticate_hash(
        &self,
        presented: &[u8; 32],
    ) -> Result<Option<Caller>, crate::error::ApiError> {
        let client = self.pool.get().await?;
        let statement = client
            .prepare_cached(
                "select key_hash, scopes, user_id from api_key where key_hash = $1 and revoked_at is null",
            )
            .await?;
        let Some(row) = client.query_opt(&statement, &[&presented.as_slice()]).await? else {
            return Ok(None);
        };
        let stored: &[u8] = row.get("key_hash");
        if !bool::from(stored.ct_eq(presented.as_slice())) {
            return Ok(None);
        }
        let names: Vec<String> = row.get("scopes");
        let scopes = Scopes::parse_list(names.iter().map(String::as_str)).unwrap_or_default();
        Ok(Some(Caller { user_id: row.get("user_id"), scopes }))
    }
}
