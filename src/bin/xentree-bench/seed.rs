//! Creates what the benchmark needs: a service key, users with history
//! (seeded through the ingestion API, idempotently), user tokens; and finds
//! the server's peak RSS.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{Days, NaiveDate, Utc};
use futures::StreamExt as _;
use xentree::auth::{ApiKeyStore, Scopes};
use xentree::proto as pb;

use crate::{Bench, Options};

const ZONES: [&str; 6] = [
    "UTC",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Europe/Berlin",
];
/// Users the ingestion scenarios spread their events over (one lock each).
const INGEST_USERS: usize = 256;
const HEAVY_DAYS: u64 = 3 * 365;
const MONTH_DAYS: u64 = 30;

/// Prepares the data set and the clients.
pub(crate) async fn prepare(options: &Options) -> anyhow::Result<Bench> {
    let db = xentree::db::connect(&options.database_url, 24, Duration::from_secs(10))?;
    let keys = ApiKeyStore::new(db.clone());
    let scopes = Scopes::parse_list(["events:write", "users:write"]).map_err(anyhow::Error::msg)?;
    let service_key =
        keys.create("xentree-bench", scopes, None).await.context("creating the bench API key")?.secret;
    let channels = crate::channels(&options.grpc_addr, 4).await?;

    let heavy_user = "bench-heavy".to_owned();
    let month_user = "bench-month".to_owned();
    let readers: Vec<String> = (0..options.users).map(|index| format!("bench-u{index}")).collect();
    let ingest_users: Vec<String> = (0..INGEST_USERS).map(|index| format!("bench-ingest-{index}")).collect();

    let mut users = client(&channels[0]);
    let all = [heavy_user.clone(), month_user.clone()]
        .into_iter()
        .chain(readers.iter().cloned())
        .chain(ingest_users.iter().cloned());
    for (index, user_id) in all.enumerate() {
        let request = pb::UpsertUserRequest {
            username: user_id.clone(),
            email: format!("{user_id}@bench.invalid"),
            display_name: format!("Bench {user_id}"),
            timezone: ZONES[index % ZONES.len()].to_owned(),
            public_profile: Some(true),
            user_id,
        };
        users.upsert_user(authorized(request, &service_key)).await.context("creating bench users")?;
    }

    let today = Utc::now().date_naive();
    let mut histories = vec![(heavy_user.clone(), HEAVY_DAYS), (month_user.clone(), MONTH_DAYS)];
    histories.extend(readers.iter().map(|user| (user.clone(), u64::from(options.days))));
    let mut batches = Vec::new();
    for (user, days) in &histories {
        let events = history(user, today, *days);
        batches.extend(events.chunks(500).map(<[pb::ActivityEvent]>::to_vec));
    }
    let total: usize = batches.iter().map(Vec::len).sum();
    eprintln!("seeding {} users, {total} history events (idempotent)…", histories.len());
    let started = std::time::Instant::now();
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(batches.into_iter().enumerate())
        .map(|(index, events)| {
            let mut activity = pb::activity_service_client::ActivityServiceClient::new(
                channels[index % channels.len()].clone(),
            );
            let service_key = service_key.clone();
            async move {
                let reply = activity
                    .ingest_events(authorized(pb::IngestEventsRequest { events }, &service_key))
                    .await?
                    .into_inner();
                anyhow::ensure!(
                    reply.rejected.is_empty(),
                    "seed events rejected: {:?}",
                    reply.rejected.first()
                );
                Ok(())
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>()?;
    eprintln!("seeded in {:.1} s", started.elapsed().as_secs_f64());

    let expires = Utc::now().timestamp() + 86_400;
    let token = |user: &str| xentree::auth::sign_user_token(&options.jwt_secret, user, expires, None);
    Ok(Bench {
        tokens: readers.iter().map(|user| token(user)).collect(),
        heavy_token: token(&heavy_user),
        month_token: token(&month_user),
        channels,
        service_key,
        run_id: uuid::Uuid::new_v4().simple().to_string()[..8].to_owned(),
        ingest_users,
        db,
        heavy_user,
        http: reqwest::Client::builder().pool_max_idle_per_host(256).build()?,
        rest_url: options.rest_url.trim_end_matches('/').to_owned(),
    })
}

fn client(
    channel: &tonic::transport::Channel,
) -> pb::user_service_client::UserServiceClient<tonic::transport::Channel> {
    pb::user_service_client::UserServiceClient::new(channel.clone())
}

fn authorized<T>(message: T, key: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("x-api-key", key.parse().expect("header"));
    request
}

/// A deterministic history: each day a segment, a quiz and a session, with
/// ids built from the date so that seeding again adds nothing.
fn history(user_id: &str, today: NaiveDate, days: u64) -> Vec<pb::ActivityEvent> {
    let mut events = Vec::with_capacity(days as usize * 3);
    for offset in 1..=days {
        let date = today - Days::new(offset);
        let seed = date
            .to_string()
            .bytes()
            .fold(user_id.len() as u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte)));
        let at = |hour: u32| format!("{date}T{hour:02}:00:00Z");
        let id = |kind: &str| format!("hist-{date}-{kind}");
        events.push(pb::ActivityEvent {
            event_id: id("s"),
            user_id: user_id.to_owned(),
            r#type: "segment_completed".into(),
            occurred_at: at(10),
            xp: (seed % 60) as i32 + 5,
            ..Default::default()
        });
        events.push(pb::ActivityEvent {
            event_id: id("q"),
            user_id: user_id.to_owned(),
            r#type: "quiz_completed".into(),
            occurred_at: at(11),
            xp: (seed % 20) as i32,
            passed: seed % 3 != 0,
            ..Default::default()
        });
        events.push(pb::ActivityEvent {
            event_id: id("l"),
            user_id: user_id.to_owned(),
            r#type: "learning_session".into(),
            occurred_at: at(12),
            duration_seconds: 300 + (seed % 1800) as i32,
            ..Default::default()
        });
    }
    events
}

/// Finds the process listening on the server's port and reads its peak
/// resident set (`VmHWM`) from /proc; `None` when it cannot be seen.
pub(crate) fn server_peak_rss_mib(grpc_addr: &str) -> Option<f64> {
    let port: u16 = grpc_addr.rsplit(':').next()?.parse().ok()?;
    let inode = listening_inode(port)?;
    let socket = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        let owns = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target.to_string_lossy() == socket));
        if owns {
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            return Some((kib / 1024.0 * 10.0).round() / 10.0);
        }
    }
    None
}

fn listening_inode(port: u16) -> Option<String> {
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (fields.get(1), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let local_port = local.rsplit(':').next().and_then(|hex| u16::from_str_radix(hex, 16).ok());
            // State 0A is LISTEN.
            if *state == "0A" && local_port == Some(port) {
                return Some((*inode).to_owned());
            }
        }
    }
    None
}
