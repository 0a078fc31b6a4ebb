//! SQL for boosters.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use crate::activity::rules::BoosterWindow;
use crate::error::ApiResult;

/// Stores a booster and moves the user's `boosted_until` to its end if later.
pub async fn insert_booster(
    client: &impl GenericClient,
    user_id: &str,
    booster: &BoosterWindow,
) -> ApiResult<()> {
    let extend = client
        .prepare_cached(
            "update user_stats set boosted_until = greatest(boosted_until, $2) where user_id = $1",
        )
        .await?;
    client.execute(&extend, &[&user_id, &booster.ends_at]).await?;
    let statement = client
        .prepare_cached(
            "insert into booster (user_id, booster_id, multiplier, starts_at, ends_at) values ($1, $2, $3, $4, $5)",
        )
        .await?;
    client
        .execute(
            &statement,
            &[&user_id, &uuid::Uuid::new_v4(), &booster.multiplier, &booster.starts_at, &booster.ends_at],
        )
        .await?;
    Ok(())
}

/// Returns the boosters active at some instant of `[from, to]`.
pub async fn boosters_overlapping(
    client: &impl GenericClient,
    user_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<BoosterWindow>> {
    let statement = client
        .prepare_cached(
            "select multiplier, starts_at, ends_at from booster where user_id = $1 and ends_at > $2 and starts_at <= $3",
        )
        .await?;
    let rows = client.query(&statement, &[&user_id, &from, &to]).await?;
    Ok(rows
        .iter()
        .map(|row| BoosterWindow { multiplier: row.get(0), starts_at: row.get(1), ends_at: row.get(2) })
        .collect())
}

/// Returns the booster active at `instant` with the largest multiplier.
pub async fn active_booster(
    client: &impl GenericClient,
    user_id: &str,
    instant: DateTime<Utc>,
) -> ApiResult<Option<BoosterWindow>> {
    Ok(boosters_overlapping(client, user_id, instant, instant)
        .await?
        .into_iter()
        .max_by(|left, right| left.multiplier.total_cmp(&right.multiplier)))
}
