//! Redis in front of the hottest reads, cache-aside: typed keys, TTLs, and
//! invalidation after every commit that changes a user.
//!
//! Keys look like `xentree:{<user_id>}:<kind>`: the braces are a Redis Cluster
//! hash tag, so one user's keys share a slot. Redis is never the system of
//! record: every operation has a short timeout, and a Redis that is down or
//! slow only sends reads to PostgreSQL (counted by `xentree_cache_fallbacks_total`).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// The kinds of per-user entries; invalidation removes them all.
pub const KINDS: [&str; 3] = ["profile", "streak", "quests"];

const OPERATION_TIMEOUT: Duration = Duration::from_millis(150);

/// A handle to the cache; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    connection: Option<ConnectionManager>,
    prefix: String,
}

impl Cache {
    /// Prepares a connection to `url`. It connects lazily and reconnects by
    /// itself, so a Redis that is down does not stop the service.
    pub fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|error| anyhow::anyhow!("REDIS_URL is not valid: {error}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(250)))
            .set_response_timeout(Some(OPERATION_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self { connection: Some(connection), prefix: prefix.to_owned() })
    }

    /// A cache that stores nothing (every read goes to PostgreSQL).
    pub fn disabled() -> Self {
        Self { connection: None, prefix: String::new() }
    }

    /// Returns the key of a user's entry of `kind`.
    pub fn key(&self, user_id: &str, kind: &str) -> String {
        format!("{}:{{{user_id}}}:{kind}", self.prefix)
    }

    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Option<T> {
        let mut connection = self.connection.clone()?;
        match tokio::time::timeout(OPERATION_TIMEOUT, command.query_async::<T>(&mut connection)).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(error)) => {
                tracing::debug!(error = %error, "redis command failed");
                None
            }
            Err(_) => {
                tracing::debug!("redis command timed out");
                None
            }
        }
    }

    /// Returns a cached value, or `None` on a miss or when Redis is unavailable.
    pub async fn get(&self, user_id: &str, kind: &str) -> Option<Vec<u8>> {
        let reply: Option<Option<Vec<u8>>> = self.run(redis::cmd("GET").arg(self.key(user_id, kind))).await;
        if reply.is_none() && self.connection.is_some() {
            metrics::counter!("xentree_cache_fallbacks_total").increment(1);
        }
        reply.flatten()
    }

    /// Stores a value for `ttl` (at least a second).
    pub async fn put(&self, user_id: &str, kind: &str, value: &[u8], ttl: Duration) {
        let seconds = ttl.as_secs().max(1);
        let _: Option<()> =
            self.run(redis::cmd("SET").arg(self.key(user_id, kind)).arg(value).arg("EX").arg(seconds)).await;
    }

    /// Removes every entry of a user; called after each commit that changes the user.
    pub async fn invalidate_user(&self, user_id: &str) {
        if self.connection.is_none() {
            return;
        }
        let keys: Vec<String> = KINDS.iter().map(|kind| self.key(user_id, kind)).collect();
        let removed: Option<i64> = self.run(redis::cmd("DEL").arg(keys)).await;
        if removed.is_none() {
            metrics::counter!("xentree_cache_invalidation_failures_total").increment(1);
            tracing::warn!(user_id = %user_id, "cache invalidation failed; entries expire by their TTL");
        }
    }

    /// Tells whether Redis answers a PING.
    pub async fn ping(&self) -> bool {
        let pong: Option<String> = self.run(&redis::cmd("PING")).await;
        pong.is_some()
    }
}
