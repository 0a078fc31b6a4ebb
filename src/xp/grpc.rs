//! `XpService` over gRPC: decode, one service call, encode.

use tonic::{Request, Response, Status};

use crate::auth::Caller;
use crate::proto::{self as pb, xp_service_server::XpService};
use crate::state::AppState;

/// The gRPC adapter.
pub struct XpGrpc(pub AppState);

#[tonic::async_trait]
impl XpService for XpGrpc {
    async fn get_profile(
        &self,
        request: Request<pb::GetProfileRequest>,
    ) -> Result<Response<pb::Profile>, Status> {
        let user_id = Caller::user_of(&request)?;
        Ok(Response::new(super::profile(&self.0, user_id).await?))
    }

    async fn get_public_profile(
        &self,
        request: Request<pb::GetPublicProfileRequest>,
    ) -> Result<Response<pb::PublicProfile>, Status> {
        Ok(Response::new(super::public_profile(&self.0, &request.get_ref().username).await?))
    }

    async fn get_weekly_activity(
        &self,
        request: Request<pb::GetWeeklyActivityRequest>,
    ) -> Result<Response<pb::WeeklyActivity>, Status> {
        let user_id = Caller::user_of(&request)?;
        Ok(Response::new(super::weekly_activity(&self.0, user_id).await?))
    }

    async fn get_learning_pulse(
        &self,
        request: Request<pb::GetLearningPulseRequest>,
    ) -> Result<Response<pb::LearningPulse>, Status> {
        let user_id = Caller::user_of(&request)?;
        Ok(Response::new(super::learning_pulse(&self.0, user_id).await?))
    }
}
