//! Redis in front of the hottest reads, cache-aside: typed keys, expiry at the
//! user's next local midnight, and invalidation after every commit that
//! changes a user.
//!
//! Keys look like `xentree:{<user_id>}:<kind>`: the braces are a Redis Cluster
//! hash tag, so one user's keys share a slot and every script touches one
//! slot. Redis is never the system of record: every operation has a short
//! timeout, and a Redis that is down or slow only sends reads to PostgreSQL
//! (counted by `xentree_cache_fallbacks_total`).
//!
//! Races between a slow read and a write are closed by a per-user generation
//! counter: invalidation bumps it, and a read stores what it loaded only if
//! the generation is still the one it saw before loading. Invalidations that
//! fail (Redis unreachable) are retried until they succeed.
//!
//! With a single Redis, entry reads are also kept in process (RESP3
//! client-side caching, `CLIENT TRACKING`): Redis pushes an invalidation for
//! every tracked key a write touches, on the same connection, right after the
//! write's reply; an invalidation waits for a PING sent behind it, whose reply
//! follows those pushes, and a reconnect discards everything kept. So a hot
//! read skips the Redis round trip, and once a write is acknowledged no read
//! in this process sees what it replaced.
//!
//! One Redis or a Redis Cluster, chosen by configuration: every operation is
//! one `MGET` or `EVAL` on the keys of one user (one hash slot) or a `PING`,
//! which both connections route the same way, so nothing else depends on
//! which is used.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::{ClusterClientBuilder, ClusterConfig};
use redis::cluster_async::ClusterConnection;

use crate::config::Settings;
use crate::error::ApiResult;

/// The kinds of per-user entries; invalidation removes them all.
pub const KINDS: [&str; 3] = ["profile", "streak", "quests"];

/// No entry lives longer than this, whatever its natural expiry.
const MAX_TTL: Duration = Duration::from_secs(600);
/// The generation counter outlives every entry it guards.
const GENERATION_TTL_SECONDS: u64 = 86_400;
const OPERATION_TIMEOUT: Duration = Duration::from_millis(150);

/// Stores the entry only if the generation is unchanged (ARGV[3] = '' for none).
const PUT_SCRIPT: &str = "local generation = redis.call('GET', KEYS[2]) or '' \
    if generation == ARGV[3] then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end return 0";
/// Bumps the generation and removes every entry.
const INVALIDATE_SCRIPT: &str = "redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1]) \
    for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end return 1";

/// How long connecting to one Redis (or one cluster node) may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(250);

/// The connection to one Redis or to a Redis Cluster; both reconnect by
/// themselves and are cheap to clone (one multiplexed connection per node).
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Connection {
    async fn query<T: redis::FromRedisValue>(&mut self, command: &redis::Cmd) -> redis::RedisResult<T> {
        match self {
            Connection::Single(connection) => command.query_async(connection).await,
            Connection::Cluster(connection) => command.query_async(connection).await,
        }
    }

    /// Runs an invalidation script. On the single connection a PING travels
    /// behind it: Redis 7 sends the invalidation pushes for a command's writes
    /// after the command's reply, and the PING's reply after those pushes, so
    /// once this returns the entries kept in process are gone too.
    async fn invalidate(&mut self, script: &redis::Cmd) -> redis::RedisResult<()> {
        match self {
            Connection::Single(connection) => {
                let mut pipeline = redis::pipe();
                pipeline.add_command(script.clone()).ignore().cmd("PING").ignore();
                pipeline.query_async(connection).await
            }
            Connection::Cluster(connection) => script.query_async(connection).await,
        }
    }
}

/// Waits for a Redis operation at most [`OPERATION_TIMEOUT`]; `None` when it
/// failed or took longer.
async fn timed<T>(operation: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
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

/// A handle to the cache; cheap to clone.
#[derive(Clone)]
pub struct Cache {
    connection: Option<Connection>,
    prefix: String,
    /// Users whose invalidation failed, with how many times it did: retried by
    /// [`Cache::retry_invalidations`] and before any read of the user.
    pending: Arc<Mutex<HashMap<String, u64>>>,
}

impl Cache {
    /// Prepares the connection the settings ask for: the Redis Cluster when
    /// `REDIS_CLUSTER_NODES` names nodes, otherwise the Redis at `REDIS_URL`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let nodes: Vec<String> = settings
            .redis_cluster_nodes
            .iter()
            .map(|node| node.trim().to_owned())
            .filter(|node| !node.is_empty())
            .collect();
        if nodes.is_empty() {
            return Self::connect(&settings.redis_url, &settings.cache_prefix);
        }
        Self::connect_cluster(&nodes, &settings.cache_prefix)
    }

    /// Prepares a connection to `url`. It connects lazily and reconnects by
    /// itself, so a Redis that is down does not stop the service.
    pub fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        use redis::IntoConnectionInfo as _;
        let info =
            url.into_connection_info().map_err(|error| anyhow::anyhow!("REDIS_URL is not valid: {error}"))?;
        // RESP3 lets Redis push invalidations of the entries this process keeps
        // (the 10,000 most recently read, opted in per command below).
        let settings = info.redis_settings().clone().set_protocol(redis::ProtocolVersion::RESP3);
        let info = info.set_redis_settings(settings);
        let client = redis::Client::open(info)?;
        let config = ConnectionManagerConfig::new()
            .set_cache_config(redis::caching::CacheConfig::new().set_mode(redis::caching::CacheMode::OptIn))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(OPERATION_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self::with_connection(Connection::Single(connection), prefix))
    }

    /// Prepares a connection to the Redis Cluster that `nodes` belong to (any
    /// subset of its nodes will do: the rest is discovered). It connects in
    /// the background and follows slot moves and failovers, so nodes that are
    /// down, at start-up or later, only send some reads to PostgreSQL.
    pub fn connect_cluster(nodes: &[String], prefix: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(!nodes.is_empty(), "REDIS_CLUSTER_NODES names no node");
        let client = ClusterClientBuilder::new(nodes.to_vec())
            // A request that is redirected (MOVED, ASK) or meets a node that is
            // restarting is retried a little; a dead node must not hold it
            // longer than the operation timeout bounds anyway.
            .retries(2)
            .min_retry_wait(10)
            .max_retry_wait(100)
            .build()
            .map_err(|error| anyhow::anyhow!("REDIS_CLUSTER_NODES is not valid: {error}"))?;
        let config = ClusterConfig::new()
            .set_connection_timeout(CONNECTION_TIMEOUT)
            .set_response_timeout(OPERATION_TIMEOUT);
        let connection = client.get_pending_async_connection_with_config(config);
        Ok(Self::with_connection(Connection::Cluster(connection), prefix))
    }

    fn with_connection(connection: Connection, prefix: &str) -> Self {
        Self { connection: Some(connection), prefix: prefix.to_owned(), pending: Arc::default() }
    }

    /// A cache that stores nothing (every read goes to PostgreSQL).
    pub fn disabled() -> Self {
        Self { connection: None, prefix: String::new(), pending: Arc::default() }
    }

    /// Returns the key of a user's entry of `kind`.
    pub fn key(&self, user_id: &str, kind: &str) -> String {
        format!("{}:{{{user_id}}}:{kind}", self.prefix)
    }

    fn generation_key(&self, user_id: &str) -> String {
        self.key(user_id, "generation")
    }

    async fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Option<T> {
        let mut connection = self.connection.clone()?;
        timed(connection.query::<T>(command)).await
    }

    fn script(source: &str, keys: &[String], args: &[&[u8]]) -> redis::Cmd {
        let mut command = redis::cmd("EVAL");
        command.arg(source).arg(keys.len()).arg(keys);
        for arg in args {
            command.arg(*arg);
        }
        command
    }

    /// Returns the cached message of `kind` for a user if it is still valid at
    /// `now`; otherwise loads it with `load` (which returns the message and the
    /// instant it stops being valid) and stores it.
    pub async fn get_or_load<M, F, Fut>(
        &self,
        user_id: &str,
        kind: &str,
        now: DateTime<Utc>,
        load: F,
    ) -> ApiResult<M>
    where
        M: prost::Message + Default,
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<(M, DateTime<Utc>)>>,
    {
        if self.connection.is_none() {
            return Ok(load().await?.0);
        }
        // An invalidation that never reached Redis (unreachable, but keeping its
        // data) leaves the entries cached before the write: until it is done,
        // they are not served.
        if !self.finish_pending_invalidation(user_id).await {
            metrics::counter!("xentree_cache_fallbacks_total").increment(1);
            return Ok(load().await?.0);
        }
        let keys = [self.key(user_id, kind), self.generation_key(user_id)];
        // The entry and the generation in one round trip; a plain MGET (both
        // keys share the user's slot) costs Redis far less than a script.
        // Kept in process between reads (see the module doc); a cluster
        // connection ignores the opt-in.
        let mut mget = redis::cmd("MGET");
        mget.arg(&keys).set_cache_config(redis::CommandCacheConfig::new().set_enable_cache(true));
        let reply: Option<(Option<Vec<u8>>, Option<String>)> = self.run(&mget).await;
        let Some((entry, generation)) = reply else {
            metrics::counter!("xentree_cache_fallbacks_total").increment(1);
            return Ok(load().await?.0);
        };
        if let Some(message) = entry.as_deref().and_then(|bytes| decode_entry::<M>(bytes, now)) {
            metrics::counter!("xentree_cache_hits_total", "kind" => kind.to_owned()).increment(1);
            return Ok(message);
        }
        metrics::counter!("xentree_cache_misses_total", "kind" => kind.to_owned()).increment(1);
        let (message, valid_until) = load().await?;
        let ttl = (valid_until - now).to_std().unwrap_or_default().min(MAX_TTL);
        if !ttl.is_zero() {
            let entry = encode_entry(&message, valid_until);
            let seconds = ttl.as_secs().max(1).to_string();
            let generation = generation.unwrap_or_default();
            let args: [&[u8]; 3] = [&entry, seconds.as_bytes(), generation.as_bytes()];
            let _: Option<i64> = self.run(&Self::script(PUT_SCRIPT, &keys, &args)).await;
        }
        Ok(message)
    }

    /// Removes every entry of a user; called after each commit that changes
    /// the user. A failure is remembered and retried.
    pub async fn invalidate_user(&self, user_id: &str) {
        if self.connection.is_none() {
            return;
        }
        if !self.try_invalidate(user_id).await {
            metrics::counter!("xentree_cache_invalidation_failures_total").increment(1);
            tracing::warn!(user_id = %user_id, "cache invalidation failed; it will be retried");
            *self.pending.lock().expect("pending lock").entry(user_id.to_owned()).or_default() += 1;
        }
    }

    async fn try_invalidate(&self, user_id: &str) -> bool {
        let mut keys = vec![self.generation_key(user_id)];
        keys.extend(KINDS.iter().map(|kind| self.key(user_id, kind)));
        let ttl = GENERATION_TTL_SECONDS.to_string();
        let Some(mut connection) = self.connection.clone() else { return false };
        timed(connection.invalidate(&Self::script(INVALIDATE_SCRIPT, &keys, &[ttl.as_bytes()])))
            .await
            .is_some()
    }

    /// Retries the invalidations that failed; returns how many are still pending.
    pub async fn retry_invalidations(&self) -> usize {
        let users: Vec<String> = self.pending.lock().expect("pending lock").keys().cloned().collect();
        for user_id in users {
            self.finish_pending_invalidation(&user_id).await;
        }
        self.pending.lock().expect("pending lock").len()
    }

    /// Retries a user's failed invalidation, if there is one; returns whether
    /// none is left. A failure recorded meanwhile (another write) stays pending.
    async fn finish_pending_invalidation(&self, user_id: &str) -> bool {
        let Some(failures) = self.pending.lock().expect("pending lock").get(user_id).copied() else {
            return true;
        };
        if !self.try_invalidate(user_id).await {
            return false;
        }
        let mut pending = self.pending.lock().expect("pending lock");
        if pending.get(user_id) != Some(&failures) {
            return false;
        }
        pending.remove(user_id);
        true
    }

    /// Tells whether Redis answers a PING (in a cluster, every primary).
    pub async fn ping(&self) -> bool {
        let pong: Option<String> = self.run(&redis::cmd("PING")).await;
        pong.is_some()
    }
}

/// An entry is the instant it stops being valid (milliseconds, 8 bytes big
/// endian) followed by the encoded message: checked on every read, so an entry
/// never outlives the user's day even if Redis keeps it a little longer.
fn encode_entry<M: prost::Message>(message: &M, valid_until: DateTime<Utc>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(8 + message.encoded_len());
    bytes.extend_from_slice(&valid_until.timestamp_millis().to_be_bytes());
    message.encode(&mut bytes).expect("a Vec grows as needed");
    bytes
}

fn decode_entry<M: prost::Message + Default>(bytes: &[u8], now: DateTime<Utc>) -> Option<M> {
    let (header, body) = bytes.split_first_chunk::<8>()?;
    if now.timestamp_millis() >= i64::from_be_bytes(*header) {
        return None;
    }
    M::decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto as pb;

    #[test]
    /// An entry reads back until the instant it stops being valid.
    fn entries_expire_by_their_own_instant() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let message =
            pb::StreakStatus { current_streak: 4, today: "2027-01-15".into(), ..Default::default() };
        let entry = encode_entry(&message, now + chrono::Duration::seconds(10));
        assert_eq!(decode_entry::<pb::StreakStatus>(&entry, now), Some(message));
        assert_eq!(decode_entry::<pb::StreakStatus>(&entry, now + chrono::Duration::seconds(10)), None);
        assert_eq!(decode_entry::<pb::StreakStatus>(&entry[..5], now), None);
    }
}
