//! PostgreSQL failing under load, and the deadlines and limits that keep a
//! slow or missing database from hanging requests: a PostgreSQL of the test's
//! own is stopped and started again mid-load; a row lock held from outside
//! stalls one user's writes; oversized messages are refused by every service.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tonic::Code;
use xentree::proto as pb;

use crate::envoy::{Envoy, free_port};
use crate::helpers::*;
use crate::services::OwnPostgres;

/// No request may take longer than this, whatever the database does.
const FAIL_FAST: Duration = Duration::from_secs(6);

/// What the load saw.
#[derive(Default)]
struct Observed {
    acked: Mutex<HashSet<String>>,
    grpc_failures: Mutex<Vec<Code>>,
    rest_failures: Mutex<Vec<(StatusCode, Value)>>,
    successes_after_restart: AtomicUsize,
}

async fn create_database_on(postgres: &OwnPostgres, name: &str) {
    let (client, connection) =
        tokio_postgres::connect(&postgres.url("postgres"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("create database {name}")).await.unwrap();
}

/// A writer: batches of 10 new events for one user until `stop`, each bounded by [`FAIL_FAST`].
async fn write_until(
    app: &TestApp,
    user: &str,
    stop: &AtomicBool,
    restarted: &AtomicBool,
    observed: &Observed,
) {
    let mut activity = app.activity();
    let mut serial = 0;
    while !stop.load(Ordering::Relaxed) {
        let ids: Vec<String> = (0..10).map(|offset| format!("{user}-{}", serial + offset)).collect();
        serial += 10;
        let events = ids.iter().map(|id| segment(id, user, "2026-06-10T11:00:00Z", 3)).collect();
        let started = Instant::now();
        let result = activity.ingest_events(app.as_service(pb::IngestEventsRequest { events })).await;
        assert!(started.elapsed() < FAIL_FAST, "a write took {:?}", started.elapsed());
        match result {
            Ok(reply) => {
                assert_eq!(reply.get_ref().accepted, 10);
                observed.acked.lock().unwrap().extend(ids);
                if restarted.load(Ordering::Relaxed) {
                    observed.successes_after_restart.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(status) => {
                observed.grpc_failures.lock().unwrap().push(status.code());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// A reader over gRPC (profile) and REST (weekly activity) until `stop`.
async fn read_until(app: &TestApp, envoy: &Envoy, user: &str, stop: &AtomicBool, observed: &Observed) {
    let client = reqwest::Client::new();
    let token = app.token(user);
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        if let Err(status) =
            app.xp().get_weekly_activity(app.as_user(user, pb::GetWeeklyActivityRequest {})).await
        {
            observed.grpc_failures.lock().unwrap().push(status.code());
        }
        let response =
            client.get(envoy.url("/api/xp/learning-pulse")).bearer_auth(&token).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status != StatusCode::OK {
            observed.rest_failures.lock().unwrap().push((status, body));
        }
        assert!(started.elapsed() < FAIL_FAST * 2, "two reads took {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// PostgreSQL stopped during load: UNAVAILABLE (503 via Envoy) fast, recovery by
/// itself after restart, and every acknowledged event stored.
async fn postgres_outage_fails_fast_and_recovers_without_losing_acks() {
    let postgres = OwnPostgres::start(free_port(), "");
    create_database_on(&postgres, "xentree").await;
    let url = postgres.url("xentree");
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| {
        settings.database_url = url;
        settings.request_timeout_ms = 5000;
        settings.db_pool_wait_ms = 1000;
    })
    .await;
    let envoy = Envoy::start(&app).await;
    let users = ["pg-a", "pg-b", "pg-c", "pg-d"];
    for (index, user) in users.iter().enumerate() {
        app.create_user(user, &format!("outage{index}"), "UTC").await;
    }

    let stop = AtomicBool::new(false);
    let restarted = AtomicBool::new(false);
    let observed = Observed::default();
    let load = async {
        let writers = users.iter().map(|user| write_until(&app, user, &stop, &restarted, &observed));
        let readers = users[..2].iter().map(|user| read_until(&app, &envoy, user, &stop, &observed));
        futures::future::join(futures::future::join_all(writers), futures::future::join_all(readers)).await;
    };
    let chaos = async {
        tokio::time::sleep(Duration::from_millis(800)).await;
        let acked_before = observed.acked.lock().unwrap().len();
        assert!(acked_before > 0, "the load runs before the outage");
        tokio::task::block_in_place(|| postgres.stop());
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(!observed.grpc_failures.lock().unwrap().is_empty(), "requests fail while PostgreSQL is down");
        tokio::task::block_in_place(|| postgres.start_again(""));
        restarted.store(true, Ordering::Relaxed);
        // The service reconnects by itself: writes succeed again.
        let deadline = Instant::now() + Duration::from_secs(20);
        while observed.successes_after_restart.load(Ordering::Relaxed) < 8 {
            assert!(Instant::now() < deadline, "the service did not recover after PostgreSQL restarted");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
    };
    futures::future::join(load, chaos).await;

    let grpc_failures = observed.grpc_failures.lock().unwrap().clone();
    assert!(
        grpc_failures.iter().all(|code| *code == Code::Unavailable),
        "every gRPC failure is UNAVAILABLE: {grpc_failures:?}"
    );
    let rest_failures = observed.rest_failures.lock().unwrap().clone();
    assert!(!rest_failures.is_empty(), "REST reads failed during the outage too");
    for (status, body) in &rest_failures {
        assert_eq!(
            (*status, &body["code"]),
            (StatusCode::SERVICE_UNAVAILABLE, &serde_json::json!(14)),
            "{body}"
        );
    }

    // Nothing acknowledged was lost, and every stored event is in the totals.
    let acked = observed.acked.lock().unwrap().clone();
    let client = app.db().await;
    let stored = stored_event_ids(&client).await;
    let lost: Vec<&String> = acked.difference(&stored).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost, e.g. {:?}", lost.len(), lost.first());
    let consistent: bool = client
        .query_one(
            "select (select coalesce(sum(credited_xp), 0) from activity_event) \
             = (select coalesce(sum(total_xp), 0) from user_stats) \
             and (select coalesce(sum(xp_segments), 0) from daily_rollup) \
             = (select coalesce(sum(credited_xp), 0) from activity_event)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(consistent, "totals and roll-ups match the stored events");
    println!(
        "postgres outage: {} events acknowledged, {} gRPC and {} REST requests refused with UNAVAILABLE",
        acked.len(),
        grpc_failures.len(),
        rest_failures.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// A user's stats row locked from outside: that user's writes fail with
/// UNAVAILABLE or DEADLINE_EXCEEDED instead of hanging, other users are
/// served meanwhile, and the user is served again once the lock is released.
async fn locked_row_times_out_and_the_pool_recovers() {
    // One connection, a short deadline, and a pool wait longer than the deadline:
    // queued requests hit the server deadline, the one holding the connection the
    // statement timeout.
    let mut database_url = String::new();
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| {
        database_url.clone_from(&settings.database_url);
        settings.db_pool_size = 1;
        settings.request_timeout_ms = 1000;
        settings.db_pool_wait_ms = 5000;
    })
    .await;
    app.create_user("locked", "locked", "UTC").await;
    app.create_user("free", "free", "UTC").await;

    let (mut blocker, connection) =
        tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let lock = blocker.transaction().await.unwrap();
    lock.execute("select 1 from user_stats where user_id = 'locked' for update", &[]).await.unwrap();

    let stalled = (0..4).map(|index| {
        let mut activity = app.activity();
        let event = segment(&format!("stalled-{index}"), "locked", "2026-06-10T11:00:00Z", 5);
        let request = app.as_service(pb::IngestEventsRequest { events: vec![event] });
        async move {
            let started = Instant::now();
            let result = activity.ingest_events(request).await;
            (started.elapsed(), result.map(|_| ()).map_err(|status| status.code()))
        }
    });
    let outcomes = futures::future::join_all(stalled).await;
    for (elapsed, result) in &outcomes {
        assert!(*elapsed < Duration::from_secs(4), "a stalled write took {elapsed:?}");
        let code = result.expect_err("a write to a locked row cannot succeed");
        assert!(matches!(code, Code::Unavailable | Code::DeadlineExceeded), "{code:?}");
    }
    let codes: HashSet<Code> = outcomes.iter().map(|(_, result)| result.unwrap_err()).collect();
    assert!(
        codes.contains(&Code::DeadlineExceeded),
        "the server deadline answers DEADLINE_EXCEEDED: {codes:?}"
    );

    // Meanwhile another user is served: the stalled statements gave their connection back.
    let served = tokio::time::timeout(
        Duration::from_secs(4),
        app.ingest(vec![segment("ok-1", "free", "2026-06-10T11:00:00Z", 5)]),
    );
    assert_eq!(served.await.expect("another user is served while the lock is held").accepted, 1);

    lock.rollback().await.unwrap();
    let report = app.ingest(vec![segment("after-1", "locked", "2026-06-10T11:00:00Z", 5)]).await;
    assert_eq!(report.accepted, 1);
    assert_eq!(app.stats("locked").await.total_xp, 5, "none of the stalled writes landed");
}

#[tokio::test]
/// Every service refuses a message over 1 MiB before decoding it.
async fn every_service_limits_message_size() {
    let app = spawn_app().await;
    app.create_user("u1", "sizes", "UTC").await;
    let huge = "x".repeat(1_100_000);
    let too_large = |status: tonic::Status| {
        assert!(matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted), "{status:?}");
    };
    let public = app.xp().get_public_profile(pb::GetPublicProfileRequest { username: huge.clone() }).await;
    too_large(public.unwrap_err());
    let request = app.as_user("u1", pb::GetLearningTimeRequest { from: huge.clone(), to: String::new() });
    too_large(app.analytics().get_learning_time(request).await.unwrap_err());
    let request = app.as_user("u1", pb::CompleteQuestRequest { quest_id: huge.clone() });
    too_large(app.quests().complete_quest(request).await.unwrap_err());
    let request =
        app.as_service(pb::GrantTokensRequest { user_id: "u1".into(), amount: 1, reason: huge.clone() });
    too_large(app.users().grant_tokens(request).await.unwrap_err());
    let event = segment(&huge, "u1", "2026-06-10T11:00:00Z", 1);
    let request = app.as_service(pb::IngestEventsRequest { events: vec![event] });
    too_large(app.activity().ingest_events(request).await.unwrap_err());
}
