//! Two real server processes over one database behind the real Envoy with
//! the fleet config (scripts/envoy-replicas-config): one is killed with
//! SIGKILL under an ingestion load, and nothing is lost or counted twice.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use xentree::auth::{ApiKeyStore, Scopes};

use crate::envoy::{Envoy, descriptor_path, free_port};
use crate::helpers::*;

const WRITERS: usize = 4;
const BATCHES_PER_WRITER: usize = 30;
const EVENTS_PER_BATCH: usize = 10;
const XP_PER_EVENT: i64 = 10;
/// The replica dies once this many batches were acknowledged.
const KILL_AFTER_BATCHES: usize = 20;

/// `xentree serve` as a child process, killed on drop.
struct Replica {
    child: Child,
    addr: SocketAddr,
}

impl Replica {
    async fn start(database_url: &str, cache_prefix: &str) -> Replica {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_xentree"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("REDIS_URL", redis_url())
            .env("XENTREE_CACHE_PREFIX", cache_prefix)
            .env("XENTREE_JWT_SECRET", JWT_SECRET)
            .env("XENTREE_GRPC_ADDR", addr.to_string())
            .env("XENTREE_METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("the xentree binary");
        let mut replica = Replica { child, addr };
        replica.wait_serving().await;
        replica
    }

    /// Waits until the replica's health check answers SERVING.
    async fn wait_serving(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            assert!(self.child.try_wait().unwrap().is_none(), "replica {} exited at start-up", self.addr);
            if let Ok(channel) = tonic::transport::Channel::from_shared(format!("http://{}", self.addr))
                .unwrap()
                .connect()
                .await
            {
                let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
                let request = tonic_health::pb::HealthCheckRequest { service: String::new() };
                if let Ok(reply) = health.check(request).await
                    && reply.into_inner().status
                        == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
                {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "replica {} not serving within 30 s", self.addr);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no drain, in-flight requests are cut.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The fleet config for `upstreams`, generated as scripts/replicas does.
fn replicas_config(upstreams: &[SocketAddr], listener_port: u16, admin_port: u16) -> String {
    let mut command =
        Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/envoy-replicas-config"));
    for upstream in upstreams {
        command.arg("--upstream").arg(upstream.to_string());
    }
    let output = command
        .args(["--listen", &listener_port.to_string(), "--admin", &admin_port.to_string()])
        .arg("--descriptor")
        .arg(descriptor_path())
        .output()
        .expect("run scripts/envoy-replicas-config");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
/// The committed envoy-replicas.yaml is what the generator makes from envoy.yaml.
fn envoy_replicas_yaml_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output =
        Command::new(root.join("scripts/envoy-replicas-config")).output().expect("run the generator");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let committed = std::fs::read_to_string(root.join("envoy-replicas.yaml")).unwrap();
    assert!(
        committed == String::from_utf8(output.stdout).unwrap(),
        "envoy-replicas.yaml is stale: run scripts/envoy-replicas-config > envoy-replicas.yaml"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A replica killed with SIGKILL under ingestion load: every event is stored once and every read is answered.
async fn replica_killed_under_ingestion_load() {
    let (database_name, database_url) = create_database().await;
    let prefix = format!("xentree-replicas-{database_name}");
    // The first replica migrates; the second starts on the migrated schema.
    let mut doomed = Replica::start(&database_url, &prefix).await;
    let survivor = Replica::start(&database_url, &prefix).await;
    let (listener_port, admin_port) = (free_port(), free_port());
    let envoy = Envoy::start_with(
        replicas_config(&[doomed.addr, survivor.addr], listener_port, admin_port),
        listener_port,
        admin_port,
    )
    .await;

    let pool = xentree::db::connect(&database_url, 2, Duration::from_secs(5)).unwrap();
    let scopes = Scopes::parse_list(["events:write", "users:write"]).unwrap();
    let service_key = ApiKeyStore::new(pool.clone()).create("load", scopes, None).await.unwrap().secret;
    let http = reqwest::Client::new();
    for writer in 0..WRITERS {
        let user = json!({"username": format!("loader{writer}"), "timezone": "UTC"});
        let reply = http
            .put(envoy.url(&format!("/api/users/w{writer}")))
            .bearer_auth(&service_key)
            .json(&user)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
    }

    let acknowledged = Arc::new(AtomicUsize::new(0));
    let client_retries = Arc::new(AtomicUsize::new(0));
    let occurred_at = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let mut writers = Vec::new();
    for writer in 0..WRITERS {
        let (http, url, key) = (http.clone(), envoy.url("/api/activity/events"), service_key.clone());
        let (acknowledged, client_retries, occurred_at) =
            (acknowledged.clone(), client_retries.clone(), occurred_at.clone());
        writers.push(tokio::spawn(async move {
            for batch in 0..BATCHES_PER_WRITER {
                let events: Vec<_> = (0..EVENTS_PER_BATCH)
                    .map(|index| {
                        json!({"event_id": format!("w{writer}-b{batch}-e{index}"), "user_id": format!("w{writer}"),
                               "type": "segment_completed", "occurred_at": occurred_at, "xp": XP_PER_EVENT})
                    })
                    .collect();
                let body = json!({ "events": events });
                // The client's own retry: the same batch, the same event ids.
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    let reply = http.post(&url).bearer_auth(&key).json(&body).send().await;
                    if let Ok(reply) = reply
                        && reply.status() == 200
                    {
                        let report: serde_json::Value = reply.json().await.unwrap();
                        assert_eq!(report["rejected"], json!([]), "{report}");
                        break;
                    }
                    assert!(attempts < 50, "batch {batch} of writer {writer} never acknowledged");
                    client_retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                acknowledged.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    // Reads throughout, through the same Envoy.
    let done = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(false));
    let reader = {
        let (http, url, done, killed) =
            (http.clone(), envoy.url("/api/xp/profile"), done.clone(), killed.clone());
        let token =
            xentree::auth::sign_user_token(JWT_SECRET, "w0", chrono::Utc::now().timestamp() + 3600, None);
        tokio::spawn(async move {
            let (mut failures, mut after_kill) = (Vec::new(), 0);
            while !done.load(Ordering::Relaxed) {
                match http.get(&url).bearer_auth(&token).send().await {
                    Ok(reply) if reply.status() == 200 => {
                        if killed.load(Ordering::Relaxed) {
                            after_kill += 1;
                        }
                    }
                    Ok(reply) => {
                        failures.push(format!("{}: {}", reply.status(), reply.text().await.unwrap()))
                    }
                    Err(error) => failures.push(error.to_string()),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (failures, after_kill)
        })
    };

    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.load(Ordering::Relaxed) < KILL_AFTER_BATCHES {
        assert!(Instant::now() < deadline, "the load did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    doomed.kill();
    killed.store(true, Ordering::Relaxed);
    let acknowledged_at_kill = acknowledged.load(Ordering::Relaxed);

    for writer in writers {
        writer.await.unwrap();
    }
    // Reads go on a little while the survivor serves alone.
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Relaxed);
    let (read_failures, reads_after_kill) = reader.await.unwrap();

    let total_batches = WRITERS * BATCHES_PER_WRITER;
    assert!(acknowledged_at_kill < total_batches, "the kill happened during the load");
    assert!(read_failures.is_empty(), "reads failed: {read_failures:?}");
    assert!(reads_after_kill > 0, "reads were answered after the kill");

    // Every event stored exactly once, and the roll-ups applied exactly once.
    let client = pool.get().await.unwrap();
    let events: i64 = client.query_one("select count(*) from activity_event", &[]).await.unwrap().get(0);
    assert_eq!(events as usize, total_batches * EVENTS_PER_BATCH);
    for writer in 0..WRITERS {
        let user_id = format!("w{writer}");
        let row = client
            .query_one(
                "select s.total_xp, r.segments::bigint from user_stats s join daily_rollup r using (user_id) \
                 where s.user_id = $1",
                &[&user_id],
            )
            .await
            .unwrap();
        let expected_events = (BATCHES_PER_WRITER * EVENTS_PER_BATCH) as i64;
        assert_eq!(
            (row.get::<_, i64>(0), row.get::<_, i64>(1)),
            (expected_events * XP_PER_EVENT, expected_events)
        );
    }
    // The survivor answers reads directly, too.
    let reply = http
        .get(envoy.url("/api/xp/profile"))
        .bearer_auth(xentree::auth::sign_user_token(
            JWT_SECRET,
            "w1",
            chrono::Utc::now().timestamp() + 3600,
            None,
        ))
        .send()
        .await
        .unwrap();
    let profile: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(
        profile["total_xp"].as_i64(),
        Some((BATCHES_PER_WRITER * EVENTS_PER_BATCH) as i64 * XP_PER_EVENT),
        "{profile}"
    );
    let stats_url =
        format!("http://127.0.0.1:{admin_port}/stats?filter=cluster\\.xentree\\.(upstream_rq_retry|outlier)");
    let envoy_stats = http.get(stats_url).send().await.unwrap().text().await.unwrap();
    eprintln!(
        "replicas: {acknowledged_at_kill} of {total_batches} batches acknowledged at the kill, {} client retries, \
         {reads_after_kill} reads after it; envoy: {}",
        client_retries.load(Ordering::Relaxed),
        envoy_stats.lines().filter(|line| !line.ends_with(": 0")).collect::<Vec<_>>().join(", ")
    );
    drop(survivor);
    drop(envoy);
    pool.close();
    let (admin, connection) =
        tokio_postgres::connect(ADMIN_DATABASE_URL, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let _ = admin.batch_execute(&format!("drop database if exists {database_name} with (force)")).await;
}
