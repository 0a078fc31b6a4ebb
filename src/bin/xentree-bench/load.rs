//! Runs one scenario: a fixed number of workers calling in a loop for a fixed
//! time, recording each call's latency.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one scenario measured.
#[derive(Clone, Debug, serde::Serialize)]
pub(crate) struct Measured {
    /// Items per second (requests, or events for ingestion).
    pub(crate) rate: f64,
    /// Median latency of a call.
    pub(crate) p50_ms: f64,
    /// 99th percentile latency of a call.
    pub(crate) p99_ms: f64,
    /// Calls that failed.
    pub(crate) errors: u64,
}

/// Calls `call(worker, iteration)` from `concurrency` workers for `duration`
/// (after a short warm-up that is not recorded). `call` returns how many items
/// the call carried (1 for a request, 500 for a batch).
pub(crate) async fn run<F, Fut>(concurrency: usize, duration: Duration, call: F) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<u64>> + Send,
{
    let call = Arc::new(call);
    let warmup = Duration::from_millis(300).min(duration / 4);
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut items = 0u64;
            let mut errors = 0u64;
            let mut iteration = 0u64;
            loop {
                let before = Instant::now();
                if before >= end {
                    break;
                }
                let result = call(worker, iteration).await;
                iteration += 1;
                if before < measure_from {
                    continue;
                }
                match result {
                    Ok(count) => {
                        items += count;
                        latencies.push(before.elapsed());
                    }
                    Err(error) => {
                        if errors == 0 {
                            eprintln!("  first error: {error:#}");
                        }
                        errors += 1;
                    }
                }
            }
            (latencies, items, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut items = 0;
    let mut errors = 0;
    for worker in workers {
        let (worker_latencies, worker_items, worker_errors) = worker.await.expect("bench worker");
        latencies.extend(worker_latencies);
        items += worker_items;
        errors += worker_errors;
    }
    let elapsed = (Instant::now().min(end + Duration::from_secs(3600)) - measure_from).as_secs_f64();
    latencies.sort_unstable();
    let quantile = |q: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    Measured {
        rate: items as f64 / elapsed.max(1e-9),
        p50_ms: quantile(0.50),
        p99_ms: quantile(0.99),
        errors,
    }
}
