//! Builds and runs the server: listener, tower layers (CORS, gRPC-Web,
//! metrics, auth), the services, health and reflection; drains on shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::HeaderName;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::auth::{ApiKeyStore, AuthLayer, JwtVerifier};
use crate::cache::Cache;
use crate::config::Settings;
use crate::proto;
use crate::state::AppState;
use crate::time::Clock;

/// The largest request message accepted by every service: a full batch of
/// 1000 events with long ids fits well within it.
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// A server bound to its port and running in the background.
pub struct Application {
    /// The address gRPC is served on (the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Shared handles, also useful to tests.
    pub state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
    redis_watch: tokio::task::JoinHandle<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Application {
    /// Binds the listener, migrates, checks PostgreSQL and starts serving.
    /// Health turns SERVING only once migrations ran and PostgreSQL answered.
    pub async fn build(settings: &Settings, clock: Arc<dyn Clock>) -> anyhow::Result<Self> {
        // A statement still running at half the request deadline is cancelled by
        // PostgreSQL, so a request stalled on a lock fails with UNAVAILABLE and
        // hands back a connection that is free, not one still waiting.
        let db = crate::db::connect_with_statement_timeout(
            &settings.database_url,
            settings.db_pool_size,
            settings.db_pool_wait(),
            Some(settings.request_timeout() / 2),
        )?;
        let cache = Cache::from_settings(settings)?;
        let state = AppState { db, cache, clock: clock.clone() };

        let listener = tokio::net::TcpListener::bind(settings.grpc_addr)
            .await
            .with_context(|| format!("XENTREE_GRPC_ADDR: cannot listen on {}", settings.grpc_addr))?;
        let addr = listener.local_addr()?;

        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_service_status("", ServingStatus::NotServing).await;
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .build_v1()?;

        let auth = AuthLayer::new(
            JwtVerifier::new(&settings.jwt_secret),
            ApiKeyStore::new(state.db.clone()),
            clock,
            Duration::from_millis(settings.api_key_cache_ms),
        );
        let router = tonic::transport::Server::builder()
            .accept_http1(true)
            .layer(cors(&settings.cors_origins))
            .layer(tonic_web::GrpcWebLayer::new())
            .layer(crate::telemetry::MetricsLayer)
            .layer(DeadlineLayer(settings.request_timeout()))
            .layer(auth)
            .add_service(health_service)
            .add_service(reflection)
            .add_service(
                proto::user_service_server::UserServiceServer::new(crate::user::grpc::UserGrpc(
                    state.clone(),
                ))
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                proto::xp_service_server::XpServiceServer::new(crate::xp::grpc::XpGrpc(state.clone()))
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                proto::analytics_service_server::AnalyticsServiceServer::new(
                    crate::analytics::grpc::AnalyticsGrpc(state.clone()),
                )
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                proto::quest_service_server::QuestServiceServer::new(crate::quest::grpc::QuestGrpc(
                    state.clone(),
                ))
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                proto::streak_service_server::StreakServiceServer::new(crate::streak::grpc::StreakGrpc(
                    state.clone(),
                ))
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(
                proto::activity_service_server::ActivityServiceServer::new(
                    crate::activity::grpc::ActivityGrpc(state.clone()),
                )
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
            );

        crate::db::migrate(&state.db).await?;
        crate::db::ping(&state.db).await?;
        let redis_watch = spawn_redis_watch(state.cache.clone());

        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let health_on_exit = health.clone();
        let task = tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = shutdown_signal.await;
                    // Tell load balancers first, then stop accepting and drain.
                    health_on_exit.set_service_status("", ServingStatus::NotServing).await;
                })
                .await
                .context("serving gRPC")
        });
        health.set_service_status("", ServingStatus::Serving).await;
        tracing::info!(%addr, "serving gRPC, gRPC-Web, health and reflection");
        Ok(Self { addr, state, shutdown, redis_watch, task })
    }

    /// Serves until `signal` resolves, then drains in-flight requests and closes the pool.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Application { state, shutdown, redis_watch, mut task, .. } = self;
        tokio::select! {
            result = &mut task => {
                redis_watch.abort();
                return result.context("server task")?;
            }
            () = signal => {}
        }
        redis_watch.abort();
        tracing::info!("shutting down: draining in-flight requests");
        let _ = shutdown.send(());
        let result = task.await.context("server task")?;
        state.db.close();
        tracing::info!("stopped");
        result
    }

    /// Stops the server and waits for it (tests).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.run_until(async {}).await
    }
}

/// Ends a request that outlives the server's deadline with DEADLINE_EXCEEDED
/// (504 through Envoy). tonic's own `Server::timeout` answers CANCELLED, which
/// a client cannot tell from its own cancellation and Envoy turns into a 499.
#[derive(Clone, Copy)]
struct DeadlineLayer(Duration);

impl<S> tower::Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner, limit: self.0 }
    }
}

#[derive(Clone)]
struct Deadline<S> {
    inner: S,
    limit: Duration,
}

impl<S, ReqBody, ResBody> tower::Service<http::Request<ReqBody>> for Deadline<S>
where
    S: tower::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let limit = self.limit;
        let path = request.uri().path().to_owned();
        let response = self.inner.call(request);
        Box::pin(async move {
            match tokio::time::timeout(limit, response).await {
                Ok(result) => result,
                Err(_) => {
                    let limit_ms = limit.as_millis();
                    tracing::warn!(path = %path, limit_ms, "request exceeded the server deadline");
                    let message =
                        format!("the request took longer than the server deadline of {limit_ms} ms");
                    Ok(tonic::Status::deadline_exceeded(message).into_http())
                }
            }
        })
    }
}

fn cors(origins: &[String]) -> CorsLayer {
    let allow_origin = if origins.iter().any(|origin| origin == "*") {
        AllowOrigin::mirror_request()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|origin| origin.parse().ok()))
    };
    let header = HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([http::Method::POST, http::Method::OPTIONS])
        .allow_headers([
            header("content-type"),
            header("x-grpc-web"),
            header("x-user-agent"),
            header("grpc-timeout"),
            header("authorization"),
            header("x-api-key"),
        ])
        .expose_headers([header("grpc-status"), header("grpc-message"), header("grpc-status-details-bin")])
        .max_age(Duration::from_secs(3600))
}

/// Pings Redis every second, logging changes, exporting `xentree_redis_up` and
/// retrying invalidations that failed while it was unreachable.
fn spawn_redis_watch(cache: Cache) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut was_up = None;
        loop {
            let up = cache.ping().await;
            if up {
                cache.retry_invalidations().await;
            }
            metrics::gauge!("xentree_redis_up").set(if up { 1.0 } else { 0.0 });
            if was_up != Some(up) {
                if up {
                    tracing::info!("redis is reachable");
                } else {
                    tracing::warn!("redis is unreachable: reads fall back to PostgreSQL");
                }
                was_up = Some(up);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}
