//! `AnalyticsService` over gRPC: decode, one service call, encode.

use tonic::{Request, Response, Status};

use super::DateRange;
use crate::auth::Caller;
use crate::proto::{self as pb, analytics_service_server::AnalyticsService};
use crate::state::AppState;

/// The gRPC adapter.
pub struct AnalyticsGrpc(pub AppState);

#[tonic::async_trait]
impl AnalyticsService for AnalyticsGrpc {
    async fn get_learning_time(
        &self,
        request: Request<pb::GetLearningTimeRequest>,
    ) -> Result<Response<pb::LearningTime>, Status> {
        let user_id = Caller::user_of(&request)?;
        let range = DateRange::try_from(request.get_ref())?;
        Ok(Response::new(super::learning_time(&self.0, user_id, range).await?))
    }
}
