use std::time::Duration;

use crate::envoy::free_port;
use crate::helpers::*;
use crate::services::OwnRedis;

#[tokio::test]
/// Reads are served from Redis, writes invalidate them, and with Redis
/// stopped (and restarted) mid-test every read is still correct.
async fn cache_aside_with_redis_outage() {
    let mut redis = OwnRedis::start(free_port());
    let url = redis.url();
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| settings.redis_url = url).await;
    app.create_user("u1", "cached", "Asia/Kolkata").await;
    app.ingest(vec![segment("e1", "u1", "2026-06-10T11:00:00Z", 30)]).await;

    assert_eq!(streak(&app, "u1").await.current_streak, 1);
    assert_eq!(profile(&app, "u1").await.total_xp, 30);
    let mut keys = redis.keys("*{u1}*");
    keys.sort();
    assert!(keys.iter().any(|key| key.ends_with(":{u1}:streak")), "{keys:?}");
    assert!(keys.iter().any(|key| key.ends_with(":{u1}:profile")), "{keys:?}");

    // Change the store of record behind the service's back: a cached read does not see it.
    app.db()
        .await
        .execute("update user_stats set longest_streak = 42, total_xp = 999 where user_id = 'u1'", &[])
        .await
        .unwrap();
    assert_eq!(streak(&app, "u1").await.longest_streak, 1, "served from Redis");
    assert_eq!(profile(&app, "u1").await.total_xp, 30, "served from Redis");

    // A write invalidates: the next reads come from PostgreSQL.
    app.ingest(vec![segment("e2", "u1", "2026-06-10T11:30:00Z", 5)]).await;
    assert_eq!(streak(&app, "u1").await.longest_streak, 42);
    assert_eq!(profile(&app, "u1").await.total_xp, 1004);

    // Redis stops: reads fall back to PostgreSQL, writes still land.
    redis.stop();
    assert_eq!(profile(&app, "u1").await.total_xp, 1004);
    app.ingest(vec![segment("e3", "u1", "2026-06-10T11:40:00Z", 6)]).await;
    assert_eq!(profile(&app, "u1").await.total_xp, 1010);
    assert_eq!(streak(&app, "u1").await.longest_streak, 42);

    // Redis comes back (empty): reads are correct and cached again.
    let mut redis = OwnRedis::start(redis.port);
    assert_eq!(profile(&app, "u1").await.total_xp, 1010);
    let mut cached = false;
    for _ in 0..40 {
        // The connection manager reconnects on its own; give it a moment.
        if profile(&app, "u1").await.total_xp == 1010 && !redis.keys("*{u1}:profile").is_empty() {
            cached = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cached, "entries are cached again after the restart");
    app.ingest(vec![segment("e4", "u1", "2026-06-10T11:50:00Z", 4)]).await;
    assert_eq!(profile(&app, "u1").await.total_xp, 1014);
    redis.stop();
}

#[tokio::test]
/// A cached streak status does not outlive the user's local day.
async fn cached_reads_expire_at_local_midnight() {
    let app = spawn_app_at(&local_instant("Pacific/Kiritimati", "2026-06-10T23:58")).await;
    app.create_user("u1", "midnight", "Pacific/Kiritimati").await;
    app.ingest(vec![segment("e1", "u1", &local_instant("Pacific/Kiritimati", "2026-06-10T23:57"), 10)]).await;
    let before = streak(&app, "u1").await;
    assert_eq!((before.today.as_str(), before.streak_at_risk), ("2026-06-10", false));
    app.set_now(&local_instant("Pacific/Kiritimati", "2026-06-11T00:00"));
    let after = streak(&app, "u1").await;
    assert_eq!((after.today.as_str(), after.current_streak, after.streak_at_risk), ("2026-06-11", 1, true));
}

#[tokio::test]
/// A PostgreSQL of the test's own starts, serves the service, stops and starts again.
async fn own_postgres_starts_and_restarts() {
    let postgres = crate::services::OwnPostgres::start(free_port(), "");
    let (client, connection) =
        tokio_postgres::connect(&postgres.url("postgres"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let one: i32 = client.query_one("select 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    postgres.stop();
    assert!(client.query_one("select 1", &[]).await.is_err());
    postgres.start_again("");
    let (client, connection) =
        tokio_postgres::connect(&postgres.url("postgres"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    assert!(client.query_one("select 1", &[]).await.is_ok());
}

/// Returns Redis's count of key lookups (hits plus misses) so far.
fn lookups(redis: &OwnRedis) -> u64 {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("stats").query(&mut connection).unwrap();
    info.lines()
        .filter_map(|line| {
            line.strip_prefix("keyspace_hits:").or_else(|| line.strip_prefix("keyspace_misses:"))
        })
        .map(|value| value.trim().parse::<u64>().unwrap())
        .sum()
}

#[tokio::test]
/// Hot reads are answered in process without asking Redis, until a write
/// invalidates them through Redis's push.
async fn hot_reads_stay_in_process_until_invalidated() {
    let redis = OwnRedis::start(free_port());
    let url = redis.url();
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| settings.redis_url = url).await;
    app.create_user("u1", "inproc", "UTC").await;
    app.ingest(vec![segment("e1", "u1", "2026-06-10T11:00:00Z", 30)]).await;
    assert_eq!(profile(&app, "u1").await.total_xp, 30); // miss: loaded and stored
    assert_eq!(profile(&app, "u1").await.total_xp, 30); // read from Redis, now kept in process
    let before = lookups(&redis);
    for _ in 0..20 {
        assert_eq!(profile(&app, "u1").await.total_xp, 30);
    }
    assert_eq!(lookups(&redis), before, "20 hot reads asked Redis nothing");
    app.ingest(vec![segment("e2", "u1", "2026-06-10T11:30:00Z", 5)]).await;
    assert_eq!(profile(&app, "u1").await.total_xp, 35, "the write's invalidation reached the process");
}
