//! `UserService` over gRPC: decode, one service call, encode.

use tonic::{Request, Response, Status};

use super::rules::{self, NewBooster, NewUser};
use crate::proto::{self as pb, user_service_server::UserService};
use crate::state::AppState;
use crate::time::format_instant;

/// The gRPC adapter.
pub struct UserGrpc(pub AppState);

#[tonic::async_trait]
impl UserService for UserGrpc {
    async fn upsert_user(
        &self,
        request: Request<pb::UpsertUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let user = NewUser::try_from(request.into_inner())?;
        let record = super::upsert(&self.0, user).await?;
        Ok(Response::new(pb::User {
            user_id: record.user_id,
            username: record.username,
            email: record.email,
            display_name: record.display_name,
            timezone: record.timezone,
            public_profile: record.public_profile,
        }))
    }

    async fn start_booster(
        &self,
        request: Request<pb::StartBoosterRequest>,
    ) -> Result<Response<pb::Booster>, Status> {
        let request = request.into_inner();
        let booster = NewBooster::try_from(&request)?;
        let window = super::start_booster(&self.0, &request.user_id, booster).await?;
        Ok(Response::new(pb::Booster {
            multiplier: window.multiplier,
            starts_at: format_instant(window.starts_at),
            ends_at: format_instant(window.ends_at),
        }))
    }

    async fn grant_tokens(
        &self,
        request: Request<pb::GrantTokensRequest>,
    ) -> Result<Response<pb::GrantTokensResponse>, Status> {
        let request = request.into_inner();
        rules::validate_grant(&request)?;
        let balance = super::grant_tokens(&self.0, &request).await?;
        Ok(Response::new(pb::GrantTokensResponse { token_balance: crate::xp::clamp_i32(balance) }))
    }
}
