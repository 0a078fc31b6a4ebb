//! What every service shares: the pool, the cache and the clock.

use std::sync::Arc;

use deadpool_postgres::Pool;

use crate::cache::Cache;
use crate::time::Clock;

/// Shared handles, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// PostgreSQL, the store of record.
    pub db: Pool,
    /// Redis, in front of the hottest reads.
    pub cache: Cache,
    /// What "now" is.
    pub clock: Arc<dyn Clock>,
}
