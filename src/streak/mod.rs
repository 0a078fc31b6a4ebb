//! Streaks and freezes: the state machine, its stored state, the streak
//! status read and freeze purchases.

pub mod grpc;
pub mod rules;
pub mod store;

use chrono::NaiveDate;

use crate::error::{ApiError, ApiResult};
use crate::proto as pb;
use crate::state::AppState;
use rules::StreakState;

/// What a freeze costs.
pub const FREEZE_PRICE: i32 = 100;

/// A user's streak as a read shows it: settled up to yesterday in the user's zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreakView {
    /// The user's local date now.
    pub today: NaiveDate,
    /// The state after settlement up to yesterday.
    pub state: StreakState,
    /// Whether the streak ends unless the user learns today.
    pub at_risk: bool,
    /// Dates this read's settlement would cover with freezes (not yet stored).
    pub pending_covered: Vec<NaiveDate>,
}

/// Returns the streak view of a stored state at `today`.
pub fn view(stored: &StreakState, today: NaiveDate) -> StreakView {
    let (state, pending_covered) = stored.as_of(today);
    StreakView { today, at_risk: stored.at_risk(today), state, pending_covered }
}

/// Reads a user's streak status, cached until the user's next local midnight.
pub async fn status(state: &AppState, user_id: &str) -> ApiResult<pb::StreakStatus> {
    let now = state.clock.now();
    state
        .cache
        .get_or_load(user_id, "streak", now, || async {
            let client = state.db.get().await?;
            let stats = store::load(&client, user_id).await?.ok_or_else(unknown_user)?;
            let today = crate::time::local_date(now, stats.timezone);
            let status = grpc::encode(&view(&stats.streak, today));
            Ok((status, crate::time::start_of_next_day(today, stats.timezone)))
        })
        .await
}

/// Buys one freeze for [`FREEZE_PRICE`] tokens; returns (freezes held, token balance).
pub async fn buy_freeze(state: &AppState, user_id: &str) -> ApiResult<(i32, i64)> {
    let outcome = crate::db::retry_transaction(|| async {
        let mut client = state.db.get().await?;
        let tx = client.transaction().await?;
        let mut stats = store::lock(&tx, user_id).await?.ok_or_else(unknown_user)?;
        let today = crate::time::local_date(state.clock.now(), stats.timezone);
        // A write that touches the inventory settles up to yesterday first, so
        // the new freeze protects only days missed from now on.
        let covered =
            today.pred_opt().map(|yesterday| stats.streak.settle_through(yesterday)).unwrap_or_default();
        stats
            .streak
            .add_freeze()
            .map_err(|reason| ApiError::FailedPrecondition(format!("freezes: {reason}")))?;
        let Some(balance) = crate::token::append(&tx, user_id, -FREEZE_PRICE, "streak freeze").await? else {
            return Err(ApiError::FailedPrecondition(format!(
                "token_balance: a freeze costs {FREEZE_PRICE} tokens, the balance is {}",
                stats.token_balance
            )));
        };
        store::save(user_id, 0, &stats.streak).execute(&tx).await?;
        if let Some(write) = store::insert_freeze_days(user_id, &covered) {
            write.execute(&tx).await?;
        }
        tx.commit().await?;
        Ok((stats.streak.freezes_available, balance))
    })
    .await?;
    state.cache.invalidate_user(user_id).await;
    Ok(outcome)
}

fn unknown_user() -> ApiError {
    ApiError::NotFound("user: unknown user".to_owned())
}
