//! The small set of error classes every concept maps its failures to, and how
//! each becomes a gRPC status (and, through Envoy, an HTTP status).

use tonic::{Code, Status};

/// A failure as the client sees it. Messages are lowercase, say which field
/// was wrong, and never carry internal detail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Bad input (HTTP 400); the message names the field.
    #[error("{0}")]
    InvalidArgument(String),
    /// No such resource (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// A unique thing is taken or an action was already done (HTTP 409).
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is well formed but the state forbids it (HTTP 400).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller may not do this (HTTP 403).
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency is down or saturated; retrying later may work (HTTP 503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged once where it is mapped, reported generically.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// Builds an INVALID_ARGUMENT error naming `field`.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::InvalidArgument(format!("{field}: {problem}"))
    }
}

impl From<tokio_postgres::Error> for ApiError {
    fn from(error: tokio_postgres::Error) -> Self {
        if crate::db::is_connection_error(&error) {
            return Self::Unavailable("the database is unavailable, retry later".to_owned());
        }
        if crate::db::is_timeout(&error) {
            tracing::warn!(error = %error, "database statement timed out");
            return Self::Unavailable("the database is busy, retry later".to_owned());
        }
        Self::Internal(error.into())
    }
}

impl From<deadpool_postgres::PoolError> for ApiError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        tracing::warn!(error = %error, "no database connection");
        Self::Unavailable("the database is unavailable, retry later".to_owned())
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::InvalidArgument(message) => Status::new(Code::InvalidArgument, message),
            ApiError::NotFound(message) => Status::new(Code::NotFound, message),
            ApiError::AlreadyExists(message) => Status::new(Code::AlreadyExists, message),
            ApiError::FailedPrecondition(message) => Status::new(Code::FailedPrecondition, message),
            ApiError::PermissionDenied(message) => Status::new(Code::PermissionDenied, message),
            ApiError::Unavailable(message) => Status::new(Code::Unavailable, message),
            ApiError::Internal(error) => {
                tracing::error!(error = ?error, "internal error");
                Status::new(Code::Internal, "internal error")
            }
        }
    }
}

/// Shorthand for results of the service layer.
pub type ApiResult<T> = Result<T, ApiError>;
