//! A transaction whose BEGIN travels with its first statement and whose COMMIT
//! travels with its last ones, so that it costs two round trips fewer than
//! BEGIN and COMMIT sent on their own. tokio-postgres sends the requests of
//! futures joined together before it reads any reply, in the order they are
//! first polled:
//!
//! ```text
//! let (_, row) = futures::try_join!(tx.begin(), first_statement(tx.client()))?;
//! ...
//! tx.commit_with(&[write, write]).await?;
//! ```
//!
//! A write that fails aborts the transaction, so the COMMIT behind it only
//! rolls back, and the write's failure is what the caller sees. A transaction
//! dropped before it commits or rolls back (an error, a cancelled request)
//! takes its connection out of the pool and closes it, which makes PostgreSQL
//! roll back; the connection never returns to the pool mid-transaction.

use std::borrow::Cow;

use deadpool_postgres::{Client, GenericClient};
use futures::future::{try_join, try_join_all};
use tokio_postgres::types::ToSql;

use crate::error::ApiResult;

/// Writes sent ahead of the COMMIT in one go. `try_join_all` polls up to 30
/// futures in order on its first poll; beyond that it may not, and a write
/// sent after the COMMIT would run outside the transaction.
const MAX_PIPELINED_WRITES: usize = 16;

/// A statement and its parameters, ready to send.
pub struct Write {
    sql: Cow<'static, str>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Write {
    /// A statement (prepared and cached per connection when sent) with its parameters.
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Box<dyn ToSql + Sync + Send>>) -> Self {
        Write { sql: sql.into(), params }
    }

    /// Sends it on its own; returns the rows it changed.
    pub async fn execute(&self, client: &impl GenericClient) -> ApiResult<u64> {
        let statement = client.prepare_cached(&self.sql).await?;
        Ok(client.execute(&statement, &self.param_refs()).await?)
    }

    fn param_refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params.iter().map(|param| param.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

/// A transaction on a pooled connection (see the module doc).
pub struct PipelinedTransaction {
    client: Option<Client>,
}

impl PipelinedTransaction {
    /// Wraps a pooled connection; nothing is sent until [`Self::begin`].
    pub fn new(client: Client) -> Self {
        PipelinedTransaction { client: Some(client) }
    }

    /// The connection, for the transaction's statements.
    pub fn client(&self) -> &Client {
        self.client.as_ref().expect("the connection stays until the transaction ends")
    }

    /// Sends BEGIN: join it with the transaction's first statement.
    pub async fn begin(&self) -> ApiResult<()> {
        self.client().batch_execute("BEGIN").await?;
        Ok(())
    }

    /// Sends `writes` and COMMIT in one go, and returns the connection to
    /// the pool once all of them succeeded.
    pub async fn commit_with(mut self, writes: &[Write]) -> ApiResult<()> {
        let client = self.client();
        // Prepared first (no round trip once cached on this connection), so
        // that each write is sent on its first poll, before the COMMIT is.
        let statements = try_join_all(writes.iter().map(|write| client.prepare_cached(&write.sql))).await?;
        let params: Vec<_> = writes.iter().map(Write::param_refs).collect();
        let executes = try_join_all(
            statements.iter().zip(&params).map(|(statement, params)| client.execute(statement, params)),
        );
        let commit = async {
            client.batch_execute("COMMIT").await?;
            Ok::<_, crate::error::ApiError>(())
        };
        if writes.len() <= MAX_PIPELINED_WRITES {
            // A write that fails before it is sent (a parameter it cannot
            // encode) fails the join before the COMMIT is first polled.
            try_join(async { Ok(executes.await?) }, commit).await?;
        } else {
            executes.await?;
            commit.await?;
        }
        drop(self.client.take());
        Ok(())
    }

    /// Rolls back and returns the connection to the pool.
    pub async fn rollback(mut self) -> ApiResult<()> {
        self.client().batch_execute("ROLLBACK").await?;
        drop(self.client.take());
        Ok(())
    }
}

impl Drop for PipelinedTransaction {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop(deadpool_postgres::Object::take(client));
        }
    }
}
