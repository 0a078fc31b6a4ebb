//! Tokens: every change is a row of the append-only ledger, and the balance
//! kept on the stats row never goes negative.

use deadpool_postgres::GenericClient;

use crate::error::ApiResult;

/// Appends `amount` (positive or negative) to the user's ledger and returns the
/// new balance, or `None` (and changes nothing) when the balance would go
/// negative. The caller holds the user's stats row lock.
pub async fn append(
    client: &impl GenericClient,
    user_id: &str,
    amount: i32,
    reason: &str,
) -> ApiResult<Option<i64>> {
    let update = client
        .prepare_cached(
            "update user_stats set token_balance = token_balance + $2 \
             where user_id = $1 and token_balance + $2 >= 0 returning token_balance",
        )
        .await?;
    let Some(row) = client.query_opt(&update, &[&user_id, &i64::from(amount)]).await? else {
        return Ok(None);
    };
    let insert = client
        .prepare_cached(
            "insert into token_ledger (user_id, entry_id, amount, reason) values ($1, $2, $3, $4)",
        )
        .await?;
    client.execute(&insert, &[&user_id, &uuid::Uuid::new_v4(), &amount, &reason]).await?;
    Ok(Some(row.get(0)))
}
