//! Users: the registry internal backends keep up to date, and the account
//! adjustments they make (boosters, token grants).

pub mod grpc;
pub mod rules;
pub mod store;

use chrono::Duration;

use crate::activity::rules::BoosterWindow;
use crate::error::{ApiError, ApiResult};
use crate::proto as pb;
use crate::state::AppState;
use rules::NewUser;
use store::UserRecord;

/// Creates or updates a user; a username held by another user is refused.
pub async fn upsert(state: &AppState, user: NewUser) -> ApiResult<UserRecord> {
    let record = crate::db::retry_transaction(|| async {
        let mut client = state.db.get().await?;
        let tx = client.transaction().await?;
        let previous = store::lock_username(&tx, &user.user_id).await?;
        if !store::claim_username(&tx, &user.username_key(), &user.user_id).await? {
            return Err(ApiError::AlreadyExists(format!("username: {:?} is taken", user.username)));
        }
        if let Some(previous) = previous.map(|name| name.to_ascii_lowercase())
            && previous != user.username_key()
        {
            store::release_username(&tx, &previous, &user.user_id).await?;
        }
        let record = store::upsert(&tx, &user).await?;
        tx.commit().await?;
        Ok(record)
    })
    .await?;
    state.cache.invalidate_user(&user.user_id).await;
    Ok(record)
}

/// Starts a booster now for an existing user.
pub async fn start_booster(
    state: &AppState,
    user_id: &str,
    booster: rules::NewBooster,
) -> ApiResult<BoosterWindow> {
    let window = crate::db::retry_transaction(|| async {
        let mut client = state.db.get().await?;
        let tx = client.transaction().await?;
        // Locking the stats row orders the booster with the user's ingestion.
        if crate::streak::store::lock(&tx, user_id).await?.is_none() {
            return Err(ApiError::NotFound("user_id: unknown user".to_owned()));
        }
        let starts_at = state.clock.now();
        let window = BoosterWindow {
            multiplier: booster.multiplier,
            starts_at,
            ends_at: starts_at + Duration::seconds(i64::from(booster.duration_seconds)),
        };
        crate::xp::store::insert_booster(&tx, user_id, &window).await?;
        tx.commit().await?;
        Ok(window)
    })
    .await?;
    state.cache.invalidate_user(user_id).await;
    Ok(window)
}

/// Adds or removes tokens; the balance never goes below zero.
pub async fn grant_tokens(state: &AppState, request: &pb::GrantTokensRequest) -> ApiResult<i64> {
    let balance = crate::db::retry_transaction(|| async {
        let mut client = state.db.get().await?;
        let tx = client.transaction().await?;
        let Some(stats) = crate::streak::store::lock(&tx, &request.user_id).await? else {
            return Err(ApiError::NotFound("user_id: unknown user".to_owned()));
        };
        let Some(balance) =
            crate::token::append(&tx, &request.user_id, request.amount, &request.reason).await?
        else {
            return Err(ApiError::FailedPrecondition(format!(
                "amount: the balance of {} tokens cannot go below zero",
                stats.token_balance
            )));
        };
        tx.commit().await?;
        Ok(balance)
    })
    .await?;
    state.cache.invalidate_user(&request.user_id).await;
    Ok(balance)
}
