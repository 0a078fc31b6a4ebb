//! `QuestService` over gRPC: decode, one service call, encode.

use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::proto::{self as pb, quest_service_server::QuestService};
use crate::state::AppState;
use crate::xp::clamp_i32;

/// The gRPC adapter.
pub struct QuestGrpc(pub AppState);

#[tonic::async_trait]
impl QuestService for QuestGrpc {
    async fn get_daily_quests(
        &self,
        request: Request<pb::GetDailyQuestsRequest>,
    ) -> Result<Response<pb::DailyQuests>, Status> {
        let user_id = Caller::user_of(&request)?;
        Ok(Response::new(super::daily_quests(&self.0, user_id).await?))
    }

    async fn complete_quest(
        &self,
        request: Request<pb::CompleteQuestRequest>,
    ) -> Result<Response<pb::CompleteQuestResponse>, Status> {
        let user_id = Caller::user_of(&request)?;
        let (quest, balance) = super::complete(&self.0, user_id, &request.get_ref().quest_id).await?;
        Ok(Response::new(pb::CompleteQuestResponse { quest: Some(quest), token_balance: clamp_i32(balance) }))
    }
}
