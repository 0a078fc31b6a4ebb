//! `xentree-bench`: measures a running stack (server, PostgreSQL, Redis,
//! Envoy) side by side with its ceilings: the framework's own health check,
//! the bare roll-up range scan and the bare ingestion transaction.
//!
//! It seeds what it needs through the ingestion API (idempotently: a second
//! run finds its history already there), then runs each scenario at a fixed
//! concurrency for a fixed time, prints a table and optionally writes JSON.

mod load;
mod seed;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use tonic::transport::{Channel, Endpoint};
use xentree::proto as pb;

use load::Measured;

// The client shares the cores with the stack it measures: the allocator the
// server uses keeps its share of them small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Clone, Debug)]
#[command(name = "xentree-bench", about = "Benchmarks a running xentree stack against its ceilings")]
struct Options {
    /// PostgreSQL of the running server (for API keys and the SQL ceilings).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The server's HS256 secret, to sign user tokens.
    #[arg(long, env = "XENTREE_JWT_SECRET")]
    jwt_secret: String,
    /// The server's gRPC address.
    #[arg(long, env = "XENTREE_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    grpc_addr: String,
    /// Envoy's REST address.
    #[arg(long, env = "XENTREE_REST_URL", default_value = "http://127.0.0.1:8080")]
    rest_url: String,
    /// Short runs (about a minute in all).
    #[arg(long)]
    quick: bool,
    /// Seconds each scenario runs (default 3 with --quick, 10 otherwise).
    #[arg(long)]
    seconds: Option<f64>,
    /// Users with history, read by the cached-read scenarios.
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Days of history of each of those users.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// Concurrent requests of the read scenarios.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Runs only these scenarios (comma-separated names; default all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Writes the results as JSON here.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Every scenario, in the order they run.
const SCENARIOS: [&str; 14] = [
    "health",
    "streak_status",
    "profile",
    "daily_quests",
    "rest_streak_status",
    "sql_pulse_scan",
    "pulse_month",
    "pulse_3y",
    "analytics_month",
    "analytics_3y",
    "sql_ingest_single",
    "ingest_single",
    "sql_ingest_batch",
    "ingest_batch",
];

/// One row of the results.
#[derive(Debug, serde::Serialize)]
struct Scenario {
    name: &'static str,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    ceiling: Option<&'static str>,
    ratio: Option<f64>,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    scenarios: Vec<Scenario>,
    server_peak_rss_mib: Option<f64>,
}

/// Everything a scenario needs, shared by the workers.
pub(crate) struct Bench {
    channels: Vec<Channel>,
    tokens: Vec<String>,
    heavy_token: String,
    month_token: String,
    service_key: String,
    run_id: String,
    ingest_users: Vec<String>,
    db: deadpool_postgres::Pool,
    heavy_user: String,
    http: reqwest::Client,
    rest_url: String,
}

impl Bench {
    fn channel(&self, worker: usize) -> Channel {
        self.channels[worker % self.channels.len()].clone()
    }

    fn as_user<T>(&self, message: T, token: &str) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("header"));
        request
    }

    fn user_token(&self, worker: usize) -> &str {
        &self.tokens[worker % self.tokens.len()]
    }
}

/// A read as a user: every call sends `$request` through `$client::$method`
/// with the token `$token(&bench, worker)` picks.
macro_rules! user_read {
    ($bench:expr, $concurrency:expr, $duration:expr, $client:ty, $method:ident, $request:expr, $token:expr) => {{
        let bench = Arc::clone($bench);
        let token = $token;
        let request = $request;
        load::run($concurrency, $duration, move |worker, _| {
            let mut client = <$client>::new(bench.channel(worker));
            let request = bench.as_user(request.clone(), &token(&bench, worker));
            async move {
                client.$method(request).await?;
                Ok(1)
            }
        })
        .await
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = Options::parse();
    let seconds = options.seconds.unwrap_or(if options.quick { 3.0 } else { 10.0 });
    let duration = Duration::from_secs_f64(seconds);
    if let Some(unknown) = options.only.iter().find(|name| !SCENARIOS.contains(&name.as_str())) {
        anyhow::bail!("--only: no scenario {unknown:?}; the scenarios are {}", SCENARIOS.join(", "));
    }
    let bench = Arc::new(seed::prepare(&options).await?);
    let reads = options.concurrency;

    let mut results: Vec<(&'static str, Option<&'static str>, Measured)> = Vec::new();
    let mut record = |name: &'static str, ceiling: Option<&'static str>, measured: Measured| {
        println!(
            "{name:<20} {:>10.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  errors {}",
            measured.rate, measured.p50_ms, measured.p99_ms, measured.errors
        );
        results.push((name, ceiling, measured));
    };

    let wanted = |name: &str| options.only.is_empty() || options.only.iter().any(|only| only == name);
    // Runs the scenario (an expression that measures it) unless --only leaves it out.
    macro_rules! scenario {
        ($name:literal, $ceiling:expr, $measure:expr $(,)?) => {
            if wanted($name) {
                record($name, $ceiling, $measure);
            }
        };
    }

    println!("scenario                   rate        p50            p99");
    scenario!("health", None, scenario_health(&bench, reads, duration).await);
    let any_reader = |bench: &Bench, worker: usize| bench.user_token(worker).to_owned();
    scenario!(
        "streak_status",
        Some("health"),
        user_read!(
            &bench,
            reads,
            duration,
            pb::streak_service_client::StreakServiceClient<Channel>,
            get_streak_status,
            pb::GetStreakStatusRequest {},
            any_reader
        ),
    );
    scenario!(
        "profile",
        Some("health"),
        user_read!(
            &bench,
            reads,
            duration,
            pb::xp_service_client::XpServiceClient<Channel>,
            get_profile,
            pb::GetProfileRequest {},
            any_reader
        ),
    );
    scenario!(
        "daily_quests",
        Some("health"),
        user_read!(
            &bench,
            reads,
            duration,
            pb::quest_service_client::QuestServiceClient<Channel>,
            get_daily_quests,
            pb::GetDailyQuestsRequest {},
            any_reader
        ),
    );
    scenario!(
        "rest_streak_status",
        Some("streak_status"),
        scenario_rest_streak(&bench, reads, duration).await
    );
    scenario!("sql_pulse_scan", None, scenario_sql_pulse(&bench, 16, duration).await);
    scenario!("pulse_month", Some("sql_pulse_scan"), scenario_pulse(&bench, false, 16, duration).await);
    scenario!("pulse_3y", Some("sql_pulse_scan"), scenario_pulse(&bench, true, 16, duration).await);
    let all_time = pb::GetLearningTimeRequest::default();
    let month_user = |bench: &Bench, _| bench.month_token.clone();
    let heavy_user = |bench: &Bench, _| bench.heavy_token.clone();
    scenario!(
        "analytics_month",
        Some("sql_pulse_scan"),
        user_read!(
            &bench,
            16,
            duration,
            pb::analytics_service_client::AnalyticsServiceClient<Channel>,
            get_learning_time,
            all_time.clone(),
            month_user
        ),
    );
    scenario!(
        "analytics_3y",
        Some("sql_pulse_scan"),
        user_read!(
            &bench,
            16,
            duration,
            pb::analytics_service_client::AnalyticsServiceClient<Channel>,
            get_learning_time,
            all_time.clone(),
            heavy_user
        ),
    );
    scenario!("sql_ingest_single", None, scenario_sql_ingest(&bench, 1, 64, duration).await);
    scenario!("ingest_single", Some("sql_ingest_single"), scenario_ingest(&bench, 1, 64, duration).await);
    scenario!("sql_ingest_batch", None, scenario_sql_ingest(&bench, 500, 8, duration).await);
    scenario!("ingest_batch", Some("sql_ingest_batch"), scenario_ingest(&bench, 500, 8, duration).await);

    let rates: std::collections::HashMap<&str, f64> =
        results.iter().map(|(name, _, m)| (*name, m.rate)).collect();
    let scenarios: Vec<Scenario> = results
        .into_iter()
        .map(|(name, ceiling, measured)| Scenario {
            name,
            rate: round(measured.rate, 1),
            p50_ms: round(measured.p50_ms, 3),
            p99_ms: round(measured.p99_ms, 3),
            errors: measured.errors,
            ceiling,
            ratio: ceiling
                .and_then(|c| rates.get(c))
                .map(|ceiling_rate| round(measured.rate / ceiling_rate, 3)),
        })
        .collect();
    let report = Report { scenarios, server_peak_rss_mib: seed::server_peak_rss_mib(&options.grpc_addr) };
    println!();
    print_table(&report);
    if let Some(path) = &options.out {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

fn print_table(report: &Report) {
    println!("| scenario | rate /s | p50 ms | p99 ms | errors | ceiling | ratio |");
    println!("| --- | ---: | ---: | ---: | ---: | --- | ---: |");
    for s in &report.scenarios {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            s.name,
            s.rate,
            s.p50_ms,
            s.p99_ms,
            s.errors,
            s.ceiling.unwrap_or("—"),
            s.ratio.map_or("—".to_owned(), |r| format!("{r:.2}"))
        );
    }
    match report.server_peak_rss_mib {
        Some(rss) => println!("server peak RSS: {rss:.1} MiB"),
        None => println!("server peak RSS: unknown (server process not found from this user)"),
    }
}

async fn scenario_health(bench: &Arc<Bench>, concurrency: usize, duration: Duration) -> Measured {
    let bench = bench.clone();
    load::run(concurrency, duration, move |worker, _| {
        let mut client = tonic_health::pb::health_client::HealthClient::new(bench.channel(worker));
        async move {
            client.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await?;
            Ok(1)
        }
    })
    .await
}

async fn scenario_rest_streak(bench: &Arc<Bench>, concurrency: usize, duration: Duration) -> Measured {
    let bench = bench.clone();
    load::run(concurrency, duration, move |worker, _| {
        let request = bench
            .http
            .get(format!("{}/api/xp/streak-status", bench.rest_url))
            .bearer_auth(bench.user_token(worker));
        async move {
            let response = request.send().await?;
            anyhow::ensure!(response.status().is_success(), "HTTP {}", response.status());
            response.bytes().await?;
            Ok(1)
        }
    })
    .await
}

async fn scenario_pulse(bench: &Arc<Bench>, heavy: bool, concurrency: usize, duration: Duration) -> Measured {
    let bench = bench.clone();
    load::run(concurrency, duration, move |worker, _| {
        let mut client = pb::xp_service_client::XpServiceClient::new(bench.channel(worker));
        let token = if heavy { &bench.heavy_token } else { &bench.month_token };
        let request = bench.as_user(pb::GetLearningPulseRequest {}, token);
        async move {
            let pulse = client.get_learning_pulse(request).await?.into_inner();
            anyhow::ensure!(pulse.days.len() == 365, "pulse has {} days", pulse.days.len());
            Ok(1)
        }
    })
    .await
}

async fn scenario_sql_pulse(bench: &Arc<Bench>, concurrency: usize, duration: Duration) -> Measured {
    let bench = bench.clone();
    load::run(concurrency, duration, move |_, _| {
        let bench = bench.clone();
        async move {
            let client = bench.db.get().await?;
            // The statement the pulse issues: the user's zone and the months
            // around the 365 days ending today.
            use xentree::time::first_of_month;
            let today = chrono::Utc::now().date_naive();
            let (_, rows) = xentree::activity::store::zone_and_months_between(
                &client,
                &bench.heavy_user,
                first_of_month(today - chrono::Days::new(365)),
                first_of_month(today + chrono::Days::new(1)),
            )
            .await
            .map_err(|error| anyhow::anyhow!("{error}"))?
            .context("the heavy user is missing")?;
            anyhow::ensure!(rows.len() >= 12, "the heavy user has {} months of roll-ups", rows.len());
            Ok(1)
        }
    })
    .await
}

async fn scenario_ingest(
    bench: &Arc<Bench>,
    batch: usize,
    concurrency: usize,
    duration: Duration,
) -> Measured {
    let bench = bench.clone();
    load::run(concurrency, duration, move |worker, iteration| {
        let mut client = pb::activity_service_client::ActivityServiceClient::new(bench.channel(worker));
        let events = synthetic_events(&bench, "api", batch, worker, iteration);
        let mut request = tonic::Request::new(pb::IngestEventsRequest { events });
        request.metadata_mut().insert("x-api-key", bench.service_key.parse().expect("header"));
        async move {
            let reply = client.ingest_events(request).await?.into_inner();
            anyhow::ensure!(
                reply.accepted as usize == batch,
                "accepted {} of {batch}: {:?}",
                reply.accepted,
                reply.rejected.first()
            );
            Ok(batch as u64)
        }
    })
    .await
}

/// A batch of 5-XP segments, now, for the worker's ingest user; ids unique
/// per run, scenario (`tag`), worker and iteration.
fn synthetic_events(
    bench: &Bench,
    tag: &str,
    batch: usize,
    worker: usize,
    iteration: u64,
) -> Vec<pb::ActivityEvent> {
    let user = &bench.ingest_users[worker % bench.ingest_users.len()];
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    (0..batch)
        .map(|index| pb::ActivityEvent {
            event_id: format!("{}-{tag}{batch}-{worker}-{iteration}-{index}", bench.run_id),
            user_id: user.clone(),
            r#type: "segment_completed".into(),
            occurred_at: now.clone(),
            xp: 5,
            ..Default::default()
        })
        .collect()
}

/// The floor under ingestion: the same event insert and roll-up upsert in one
/// transaction, with none of the service's work around them.
async fn scenario_sql_ingest(
    bench: &Arc<Bench>,
    batch: usize,
    concurrency: usize,
    duration: Duration,
) -> Measured {
    let bench = bench.clone();
    load::run(concurrency, duration, move |worker, iteration| {
        let bench = bench.clone();
        async move {
            use xentree::activity::rules::{Event, validate};
            use xentree::activity::store::{Credited, RollupDelta};
            let user = &bench.ingest_users[worker % bench.ingest_users.len()];
            let now = chrono::Utc::now();
            let events: Vec<Event> = synthetic_events(&bench, "sql", batch, worker, iteration)
                .iter()
                .map(|event| validate(event, now).map_err(|reason| anyhow::anyhow!("{reason}")))
                .collect::<anyhow::Result<_>>()?;
            let credited: Vec<Credited<'_>> = events
                .iter()
                .map(|event| Credited { event, credited_xp: 5, local_date: now.date_naive() })
                .collect();
            let mut delta = RollupDelta::default();
            for item in &credited {
                delta.add(item.event, item.credited_xp);
            }
            let mut client = bench.db.get().await?;
            let tx = client.transaction().await?;
            let to_anyhow = |error: xentree::error::ApiError| anyhow::anyhow!("{error}");
            xentree::activity::store::insert_new(&tx, user, &credited).await.map_err(to_anyhow)?;
            let rollup = xentree::activity::store::rollups_write(user, &[(now.date_naive(), delta)])
                .context("a delta makes a write")?;
            rollup.execute(&tx).await.map_err(to_anyhow)?;
            tx.commit().await?;
            Ok(batch as u64)
        }
    })
    .await
}

/// Connects `count` HTTP/2 channels to the server.
pub(crate) async fn channels(addr: &str, count: usize) -> anyhow::Result<Vec<Channel>> {
    let mut channels = Vec::with_capacity(count);
    for _ in 0..count {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true);
        channels
            .push(endpoint.connect().await.with_context(|| format!("connecting to the server at {addr}"))?);
    }
    Ok(channels)
}
