//! Logs and metrics: structured `tracing` output, the Prometheus exporter and
//! the tower layer that counts and times every request by method and code.

use std::net::SocketAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::future::BoxFuture;
use http::{Request, Response};
use metrics_exporter_prometheus::PrometheusBuilder;

/// Starts structured logging; `RUST_LOG` filters (default `info`),
/// `XENTREE_LOG_FORMAT=json` prints JSON lines.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if std::env::var("XENTREE_LOG_FORMAT").is_ok_and(|format| format == "json") {
        builder.json().try_init()
    } else {
        builder.compact().try_init()
    };
    // A second init (several servers in one test process) keeps the first.
    let _ = result;
}

/// Serves Prometheus text at `http://<addr>/metrics`.
pub fn install_metrics(addr: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets(&[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])?
        .install()
        .map_err(|error| anyhow::anyhow!("XENTREE_METRICS_ADDR {addr}: {error}"))
}

/// Records `xentree_grpc_requests_total` and
/// `xentree_grpc_request_duration_seconds` by method and gRPC code.
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsLayer;

impl<S> tower::Layer<S> for MetricsLayer {
    type Service = MetricsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MetricsService { inner }
    }
}

/// The service [`MetricsLayer`] wraps.
#[derive(Clone, Debug)]
pub struct MetricsService<S> {
    inner: S,
}

fn grpc_code_name(code: i32) -> &'static str {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    usize::try_from(code).ok().and_then(|index| NAMES.get(index)).copied().unwrap_or("UNKNOWN")
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for MetricsService<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let method = request.uri().path().to_owned();
        let started = Instant::now();
        Box::pin(async move {
            let result = inner.call(request).await;
            // Unary errors travel in the headers (trailers-only responses);
            // a response without grpc-status there carries OK in its trailers.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|value| value.to_str().ok())
                    .and_then(|text| text.parse::<i32>().ok())
                    .map_or("OK", grpc_code_name),
                Err(_) => "TRANSPORT_ERROR",
            };
            let labels = [("method", method), ("code", code.to_owned())];
            metrics::counter!("xentree_grpc_requests_total", &labels).increment(1);
            metrics::histogram!("xentree_grpc_request_duration_seconds", &labels)
                .record(started.elapsed().as_secs_f64());
            result
        })
    }
}
