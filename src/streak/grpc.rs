//! `StreakService` over gRPC: decode, one service call, encode.

use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::proto::{self as pb, streak_service_server::StreakService};
use crate::state::AppState;
use crate::time::format_date;
use crate::xp::clamp_i32;

/// The gRPC adapter.
pub struct StreakGrpc(pub AppState);

/// Encodes a streak view.
pub fn encode(view: &super::StreakView) -> pb::StreakStatus {
    pb::StreakStatus {
        current_streak: view.state.current,
        longest_streak: view.state.longest,
        freezes_available: view.state.freezes_available,
        freezes_used: view.state.freezes_used,
        last_activity: view.state.last_learning_date.map(format_date).unwrap_or_default(),
        streak_at_risk: view.at_risk,
        today: format_date(view.today),
    }
}

#[tonic::async_trait]
impl StreakService for StreakGrpc {
    async fn get_streak_status(
        &self,
        request: Request<pb::GetStreakStatusRequest>,
    ) -> Result<Response<pb::StreakStatus>, Status> {
        let user_id = Caller::user_of(&request)?;
        Ok(Response::new(super::status(&self.0, user_id).await?))
    }

    async fn buy_streak_freeze(
        &self,
        request: Request<pb::BuyStreakFreezeRequest>,
    ) -> Result<Response<pb::BuyStreakFreezeResponse>, Status> {
        let user_id = Caller::user_of(&request)?;
        let (freezes_available, balance) = super::buy_freeze(&self.0, user_id).await?;
        Ok(Response::new(pb::BuyStreakFreezeResponse {
            freezes_available,
            token_balance: clamp_i32(balance),
        }))
    }
}
