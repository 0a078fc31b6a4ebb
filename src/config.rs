//! Settings read from the environment once at start-up and validated there:
//! a missing or malformed setting stops the process with a message naming it.

use std::net::SocketAddr;
use std::time::Duration;

/// Everything the server needs to run, read from the environment by
/// [`clap`] (`xentree serve --help` lists every variable).
#[derive(Clone, Debug, clap::Args)]
pub struct Settings {
    /// PostgreSQL, the store of record.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,

    /// Redis, the cache of hot streak, profile and quest state.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379/0")]
    pub redis_url: String,

    /// Redis Cluster nodes (comma-separated `redis://host:port` URLs; a few
    /// are enough, the others are discovered). When set, the cluster is used
    /// instead of REDIS_URL.
    #[arg(long, env = "REDIS_CLUSTER_NODES", value_delimiter = ',')]
    pub redis_cluster_nodes: Vec<String>,

    /// Prefix of every Redis key, so that deployments can share a Redis.
    #[arg(long, env = "XENTREE_CACHE_PREFIX", default_value = "xentree")]
    pub cache_prefix: String,

    /// HS256 secret that signs user JWTs.
    #[arg(long, env = "XENTREE_JWT_SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub jwt_secret: String,

    /// Where gRPC, gRPC-Web and health are served.
    #[arg(long, env = "XENTREE_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    pub grpc_addr: SocketAddr,

    /// Where Prometheus metrics are served at /metrics.
    #[arg(long, env = "XENTREE_METRICS_ADDR", default_value = "127.0.0.1:9464")]
    pub metrics_addr: SocketAddr,

    /// Browser origins allowed to call over gRPC-Web (comma-separated, or `*`).
    #[arg(long, env = "XENTREE_CORS_ORIGINS", default_value = "*", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Largest number of PostgreSQL connections.
    #[arg(long, env = "XENTREE_DB_POOL_SIZE", default_value_t = 32)]
    pub db_pool_size: usize,

    /// How long a request may wait for a PostgreSQL connection before it fails
    /// with UNAVAILABLE, in milliseconds.
    #[arg(long, env = "XENTREE_DB_POOL_WAIT_MS", default_value_t = 2000)]
    pub db_pool_wait_ms: u64,

    /// How long a verified API key is trusted without asking PostgreSQL again,
    /// in milliseconds (0: every request asks). A revocation takes effect
    /// within this time.
    #[arg(long, env = "XENTREE_API_KEY_CACHE_MS", default_value_t = 2000)]
    pub api_key_cache_ms: u64,

    /// Server-side deadline of every request, in milliseconds.
    #[arg(long, env = "XENTREE_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
}

impl Settings {
    /// Returns the pool wait timeout.
    pub fn db_pool_wait(&self) -> Duration {
        Duration::from_millis(self.db_pool_wait_ms)
    }

    /// Returns the per-request deadline.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

fn parse_secret(value: &str) -> Result<String, String> {
    if value.len() < 8 {
        return Err("must be at least 8 characters".to_owned());
    }
    Ok(value.to_owned())
}
