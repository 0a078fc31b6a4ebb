//! Graceful shutdown of the real binary: SIGTERM in the middle of a stream of
//! ingestion drains what was accepted. Every acknowledged event is stored,
//! the requests after it get an error, and no batch is half-written.

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tonic::transport::Channel;
use xentree::auth::{ApiKeyStore, Scopes};
use xentree::proto as pb;

use crate::envoy::free_port;
use crate::helpers::*;

const CLIENTS: usize = 8;
const USERS: [&str; 2] = ["drain-a", "drain-b"];

/// One batch: 10 events for each of two users, so two transactions.
fn batch(client: usize, serial: usize, occurred_at: &str) -> (Vec<String>, Vec<pb::ActivityEvent>) {
    let mut ids = Vec::new();
    let mut events = Vec::new();
    for user in USERS {
        for index in 0..10 {
            let id = format!("c{client}-b{serial}-{index}");
            events.push(segment(&id, user, occurred_at, 7));
            ids.push(id);
        }
    }
    (ids, events)
}

async fn wait_until_serving(addr: &str) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await {
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
            let serving = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await;
            if serving.is_ok_and(|reply| reply.get_ref().status == 1) {
                return channel;
            }
        }
        assert!(Instant::now() < deadline, "xentree serve did not become healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// SIGTERM during a stream of ingestion: acknowledged events are all stored, later requests fail, no batch half-written.
async fn sigterm_drains_ingestion_without_losing_or_splitting_batches() {
    let (database_name, database_url) = create_database().await;
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(env!("CARGO_BIN_EXE_xentree"))
        .arg("serve")
        .env("DATABASE_URL", &database_url)
        .env("REDIS_URL", redis_url())
        .env("XENTREE_CACHE_PREFIX", format!("xentree-test-{database_name}"))
        .env("XENTREE_JWT_SECRET", JWT_SECRET)
        .env("XENTREE_GRPC_ADDR", &addr)
        .env("XENTREE_METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start xentree serve");
    let channel = wait_until_serving(&addr).await;

    let pool = xentree::db::connect(&database_url, 2, Duration::from_secs(5)).unwrap();
    let scopes = Scopes::parse_list(["events:write", "users:write"]).unwrap();
    let service_key = ApiKeyStore::new(pool.clone()).create("drain", scopes, None).await.unwrap().secret;
    let mut users = pb::user_service_client::UserServiceClient::new(channel);
    for user in USERS {
        let request = pb::UpsertUserRequest {
            user_id: user.into(),
            username: user.into(),
            email: String::new(),
            display_name: String::new(),
            timezone: "UTC".into(),
            public_profile: None,
        };
        users.upsert_user(with_bearer(request, &service_key)).await.unwrap();
    }

    let occurred_at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let acked: Mutex<Vec<Vec<String>>> = Mutex::default();
    let failed: Mutex<Vec<Vec<String>>> = Mutex::default();
    let acked_count = AtomicUsize::new(0);
    let client = |client: usize| {
        let (addr, service_key, occurred_at) = (&addr, &service_key, &occurred_at);
        let (acked, failed, acked_count) = (&acked, &failed, &acked_count);
        async move {
            let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
            let mut activity = pb::activity_service_client::ActivityServiceClient::new(channel);
            let mut consecutive_failures = 0;
            for serial in 0.. {
                let (ids, events) = batch(client, serial, occurred_at);
                let request = with_bearer(pb::IngestEventsRequest { events }, service_key);
                let reply = tokio::time::timeout(Duration::from_secs(10), activity.ingest_events(request))
                    .await
                    .expect("a request hung through the shutdown");
                match reply {
                    Ok(report) => {
                        assert_eq!(report.get_ref().accepted, 20);
                        acked.lock().unwrap().push(ids);
                        acked_count.fetch_add(1, Ordering::SeqCst);
                        consecutive_failures = 0;
                    }
                    Err(_) => {
                        failed.lock().unwrap().push(ids);
                        consecutive_failures += 1;
                        if consecutive_failures == 3 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    };
    let terminate = async {
        while acked_count.load(Ordering::SeqCst) < 40 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let killed = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
        assert!(killed.success());
    };
    futures::join!(futures::future::join_all((0..CLIENTS).map(client)), terminate);

    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "xentree did not exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "xentree exited with {exit}");

    let client = pool.get().await.unwrap();
    let stored = stored_event_ids(&client).await;
    let acked = acked.into_inner().unwrap();
    let failed = failed.into_inner().unwrap();
    assert_eq!(failed.len(), CLIENTS * 3, "every client's requests after the shutdown failed");
    for ids in &acked {
        assert!(ids.iter().all(|id| stored.contains(id)), "an acknowledged batch was lost: {}", ids[0]);
    }
    for ids in &failed {
        let landed = ids.iter().filter(|id| stored.contains(*id)).count();
        // Each user's half is one transaction: it is in whole or not at all.
        assert!(
            matches!(landed, 0 | 10 | 20),
            "a batch was half-written: {landed} of {} from {}",
            ids.len(),
            ids[0]
        );
    }
    let consistent: bool = client
        .query_one(
            "select (select sum(credited_xp) from activity_event) = (select sum(total_xp) from user_stats) \
             and (select sum(xp_segments) from daily_rollup) = (select sum(credited_xp) from activity_event) \
             and (select sum(segments) from daily_rollup) = (select count(*) from activity_event)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(consistent, "totals and roll-ups match the stored events");
    println!("shutdown: {} batches acknowledged, {} refused", acked.len(), failed.len());
    drop(client);
    pool.close();

    let (admin, connection) =
        tokio_postgres::connect(ADMIN_DATABASE_URL, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    admin.batch_execute(&format!("drop database if exists {database_name} with (force)")).await.unwrap();
}
