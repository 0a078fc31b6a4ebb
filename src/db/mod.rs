//! The PostgreSQL pool, the embedded migrations, and the mapping of SQLSTATEs
//! to what callers do about them (retry, report unavailable).

use std::future::Future;
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime, Timeouts};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;

use crate::error::{ApiError, ApiResult};

mod pipelined;

pub use pipelined::{PipelinedTransaction, Write};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Builds the connection pool. Connections are opened on demand, so this
/// succeeds even while PostgreSQL is down.
pub fn connect(database_url: &str, max_size: usize, wait: Duration) -> anyhow::Result<Pool> {
    connect_with_statement_timeout(database_url, max_size, wait, None)
}

/// Like [`connect`]; with a `statement_timeout`, PostgreSQL cancels any
/// statement on the pool's connections that runs longer (set as a connection
/// option, not a session `SET`), which callers see as UNAVAILABLE.
pub fn connect_with_statement_timeout(
    database_url: &str,
    max_size: usize,
    wait: Duration,
    statement_timeout: Option<Duration>,
) -> anyhow::Result<Pool> {
    let config: tokio_postgres::Config =
        database_url.parse().context("DATABASE_URL is not a valid PostgreSQL URL")?;
    let mut config = config;
    config.connect_timeout(Duration::from_secs(3));
    config.application_name("xentree");
    if let Some(timeout) = statement_timeout {
        config.options(format!("-c statement_timeout={}", timeout.as_millis().max(1)));
    }
    let manager =
        Manager::from_config(config, NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    Pool::builder(manager)
        .max_size(max_size)
        .timeouts(Timeouts {
            wait: Some(wait),
            create: Some(Duration::from_secs(3)),
            recycle: Some(Duration::from_secs(3)),
        })
        .runtime(Runtime::Tokio1)
        .build()
        .context("building the database pool")
}

/// Applies every pending migration.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut client = pool.get().await.context("connecting to PostgreSQL to migrate")?;
    // A migration may run longer than a request's statement timeout; the
    // connection leaves the pool afterwards, taking the setting with it.
    client.batch_execute("set statement_timeout = 0").await.context("preparing to migrate")?;
    let report =
        embedded::migrations::runner().run_async(&mut **client).await.context("applying migrations")?;
    drop(deadpool_postgres::Object::take(client));
    for migration in report.applied_migrations() {
        tracing::info!(version = migration.version(), name = migration.name(), "migration applied");
    }
    Ok(())
}

/// Checks that PostgreSQL answers.
pub async fn ping(pool: &Pool) -> anyhow::Result<()> {
    let client = pool.get().await.context("connecting to PostgreSQL")?;
    client.simple_query("select 1").await.context("pinging PostgreSQL")?;
    Ok(())
}

/// Tells whether `error` means the connection or server is gone (as opposed
/// to a problem with the statement).
pub fn is_connection_error(error: &tokio_postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.code() {
        // Without a SQLSTATE: an IO failure is the connection; a conversion or
        // row-count error is a bug, reported as internal.
        None => std::error::Error::source(error).is_some_and(|source| source.is::<std::io::Error>()),
        Some(code) => {
            code == &SqlState::ADMIN_SHUTDOWN
                || code == &SqlState::CANNOT_CONNECT_NOW
                || code == &SqlState::CRASH_SHUTDOWN
                || code.code().starts_with("08")
        }
    }
}

/// Tells whether PostgreSQL cancelled the statement because it ran or waited
/// too long (statement or lock timeout): the database is busy, not broken.
pub fn is_timeout(error: &tokio_postgres::Error) -> bool {
    error
        .code()
        .is_some_and(|code| code == &SqlState::QUERY_CANCELED || code == &SqlState::LOCK_NOT_AVAILABLE)
}

fn is_retryable(error: &ApiError) -> bool {
    let ApiError::Internal(inner) = error else {
        return false;
    };
    inner.downcast_ref::<tokio_postgres::Error>().and_then(|db_error| db_error.code()).is_some_and(|code| {
        code == &SqlState::T_R_SERIALIZATION_FAILURE || code == &SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// Runs `attempt` again (a few times) when it failed with a serialization
/// failure or a deadlock, which PostgreSQL resolves by aborting one side.
pub async fn retry_transaction<T, F, Fut>(mut attempt: F) -> ApiResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ApiResult<T>>,
{
    let mut tries = 0;
    loop {
        match attempt().await {
            Err(error) if tries < 5 && is_retryable(&error) => {
                tries += 1;
                tracing::debug!(tries, "transaction aborted by PostgreSQL, retrying");
                tokio::time::sleep(Duration::from_millis(5 * tries)).await;
            }
            result => return result,
        }
    }
}
