//! `ActivityService` over gRPC: decode, one service call, encode.

use tonic::{Request, Response, Status};

use crate::proto::{self as pb, activity_service_server::ActivityService};
use crate::state::AppState;

/// The gRPC adapter.
pub struct ActivityGrpc(pub AppState);

#[tonic::async_trait]
impl ActivityService for ActivityGrpc {
    async fn ingest_events(
        &self,
        request: Request<pb::IngestEventsRequest>,
    ) -> Result<Response<pb::IngestEventsResponse>, Status> {
        let report = super::ingest(&self.0, request.into_inner().events).await?;
        Ok(Response::new(pb::IngestEventsResponse {
            accepted: report.accepted as i32,
            duplicates: report.duplicates as i32,
            rejected: report
                .rejected
                .into_iter()
                .map(|rejection| pb::RejectedEvent {
                    index: rejection.index as i32,
                    event_id: rejection.event_id,
                    reason: rejection.reason,
                })
                .collect(),
        }))
    }
}
