//! Test harness: a fresh database per test, the real server on port 0 with an
//! injected clock, tonic clients, and credentials.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tonic::transport::Channel;
use xentree::auth::{ApiKeyStore, Scopes};
use xentree::config::Settings;
use xentree::proto as pb;
use xentree::server::Application;
use xentree::time::ManualClock;

pub(crate) const JWT_SECRET: &str = "test-secret-of-some-length";
pub(crate) const ADMIN_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn base_url() -> String {
    std::env::var("TEST_DATABASE_BASE").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

pub(crate) fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned())
}

/// Parses an RFC 3339 instant.
pub(crate) fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).expect("test instant").with_timezone(&Utc)
}

/// The UTC instant (RFC 3339) of a local wall time `YYYY-MM-DDTHH:MM` in `zone`.
pub(crate) fn local_instant(zone: &str, wall: &str) -> String {
    use chrono::TimeZone as _;
    let zone: chrono_tz::Tz = zone.parse().expect("zone");
    let naive = chrono::NaiveDateTime::parse_from_str(wall, "%Y-%m-%dT%H:%M").expect("wall time");
    let instant =
        zone.from_local_datetime(&naive).earliest().expect("existing local time").with_timezone(&Utc);
    instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A running server over a database of its own, dropped with it.
pub(crate) struct TestApp {
    pub(crate) app: Option<Application>,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) channel: Channel,
    pub(crate) database_name: String,
    /// A service key with events:write and users:write.
    pub(crate) service_key: String,
}

impl TestApp {
    /// The address the server listens on (gRPC, gRPC-Web, health).
    pub(crate) fn addr(&self) -> std::net::SocketAddr {
        self.app.as_ref().expect("running").addr
    }

    pub(crate) fn state(&self) -> &xentree::state::AppState {
        &self.app.as_ref().expect("running").state
    }

    /// A user token valid for an hour of the injected clock.
    pub(crate) fn token(&self, user_id: &str) -> String {
        let expires = self.clock_now().timestamp() + 3600;
        xentree::auth::sign_user_token(JWT_SECRET, user_id, expires, None)
    }

    pub(crate) fn clock_now(&self) -> DateTime<Utc> {
        use xentree::time::Clock as _;
        self.clock.now()
    }

    pub(crate) fn set_now(&self, instant: &str) {
        self.clock.set(at(instant));
    }

    pub(crate) fn users(&self) -> pb::user_service_client::UserServiceClient<Channel> {
        pb::user_service_client::UserServiceClient::new(self.channel.clone())
    }

    pub(crate) fn activity(&self) -> pb::activity_service_client::ActivityServiceClient<Channel> {
        pb::activity_service_client::ActivityServiceClient::new(self.channel.clone())
    }

    pub(crate) fn xp(&self) -> pb::xp_service_client::XpServiceClient<Channel> {
        pb::xp_service_client::XpServiceClient::new(self.channel.clone())
    }

    pub(crate) fn analytics(&self) -> pb::analytics_service_client::AnalyticsServiceClient<Channel> {
        pb::analytics_service_client::AnalyticsServiceClient::new(self.channel.clone())
    }

    pub(crate) fn quests(&self) -> pb::quest_service_client::QuestServiceClient<Channel> {
        pb::quest_service_client::QuestServiceClient::new(self.channel.clone())
    }

    pub(crate) fn streaks(&self) -> pb::streak_service_client::StreakServiceClient<Channel> {
        pb::streak_service_client::StreakServiceClient::new(self.channel.clone())
    }

    /// A request carrying the service key.
    pub(crate) fn as_service<T>(&self, message: T) -> tonic::Request<T> {
        with_bearer(message, &self.service_key)
    }

    /// A request carrying a user token.
    pub(crate) fn as_user<T>(&self, user_id: &str, message: T) -> tonic::Request<T> {
        with_bearer(message, &self.token(user_id))
    }

    /// Creates a user in `timezone`.
    pub(crate) async fn create_user(&self, user_id: &str, username: &str, timezone: &str) -> pb::User {
        self.users()
            .upsert_user(self.as_service(pb::UpsertUserRequest {
                user_id: user_id.into(),
                username: username.into(),
                email: format!("{username}@example.org"),
                display_name: format!("Learner {username}"),
                timezone: timezone.into(),
                public_profile: None,
            }))
            .await
            .expect("create user")
            .into_inner()
    }

    /// Sends events and returns the report.
    pub(crate) async fn ingest(&self, events: Vec<pb::ActivityEvent>) -> pb::IngestEventsResponse {
        self.activity()
            .ingest_events(self.as_service(pb::IngestEventsRequest { events }))
            .await
            .expect("ingest")
            .into_inner()
    }

    /// Runs a query on the test database.
    pub(crate) async fn db(&self) -> deadpool_postgres::Object {
        self.state().db.get().await.expect("db connection")
    }

    /// Returns (total_xp, current, longest, freezes_available, freezes_used, last_learning_date, token_balance).
    pub(crate) async fn stats(&self, user_id: &str) -> Stats {
        let row = self
            .db()
            .await
            .query_one(
                "select total_xp, current_streak, longest_streak, freezes_available, freezes_used, \
                 last_learning_date::text as last, token_balance from user_stats where user_id = $1",
                &[&user_id],
            )
            .await
            .expect("stats row");
        Stats {
            total_xp: row.get("total_xp"),
            current: row.get("current_streak"),
            longest: row.get("longest_streak"),
            freezes_available: row.get("freezes_available"),
            freezes_used: row.get("freezes_used"),
            last_learning_date: row.get("last"),
            token_balance: row.get("token_balance"),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Clone)]
pub(crate) struct Stats {
    pub(crate) total_xp: i64,
    pub(crate) current: i32,
    pub(crate) longest: i32,
    pub(crate) freezes_available: i32,
    pub(crate) freezes_used: i32,
    pub(crate) last_learning_date: Option<String>,
    pub(crate) token_balance: i64,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Drop the database on a thread of its own: Drop cannot await, and the
        // test's runtime may be shutting down.
        let name = self.database_name.clone();
        let _ = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                if let Ok((client, connection)) =
                    tokio_postgres::connect(ADMIN_DATABASE_URL, tokio_postgres::NoTls).await
                {
                    tokio::spawn(connection);
                    let _ =
                        client.batch_execute(&format!("drop database if exists {name} with (force)")).await;
                }
            });
        })
        .join();
    }
}

pub(crate) fn with_bearer<T>(message: T, credential: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert("authorization", format!("Bearer {credential}").parse().expect("header"));
    request
}

fn init_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        xentree::telemetry::init_tracing();
    }
}

/// Test settings for a database, with everything else defaulted for tests.
pub(crate) fn settings_for(database_url: &str, cache_prefix: &str) -> Settings {
    Settings {
        database_url: database_url.to_owned(),
        redis_url: redis_url(),
        redis_cluster_nodes: Vec::new(),
        cache_prefix: cache_prefix.to_owned(),
        jwt_secret: JWT_SECRET.to_owned(),
        grpc_addr: "127.0.0.1:0".parse().unwrap(),
        metrics_addr: "127.0.0.1:0".parse().unwrap(),
        cors_origins: vec!["*".to_owned()],
        db_pool_size: 8,
        db_pool_wait_ms: 2000,
        request_timeout_ms: 10_000,
        // Revocations in tests take effect at once.
        api_key_cache_ms: 0,
    }
}

/// Creates an empty database and returns its name and URL.
pub(crate) async fn create_database() -> (String, String) {
    let name = format!("xentree_test_{}", uuid::Uuid::new_v4().simple());
    let (client, connection) = tokio_postgres::connect(ADMIN_DATABASE_URL, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432 (start it with .ci/run or scripts/services)");
    tokio::spawn(connection);
    client.batch_execute(&format!("create database {name}")).await.expect("create test database");
    let url = format!("{}/{name}", base_url());
    (name, url)
}

/// Starts the real server on port 0 over a fresh database, the clock at `now`.
pub(crate) async fn spawn_app_at(now: &str) -> TestApp {
    spawn_app_with(now, |_| {}).await
}

/// Like [`spawn_app_at`], with settings adjusted by `adjust`.
pub(crate) async fn spawn_app_with(now: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let (database_name, database_url) = create_database().await;
    let mut settings = settings_for(&database_url, &format!("xentree-test-{database_name}"));
    adjust(&mut settings);
    let clock = ManualClock::new(at(now));
    let app = Application::build(&settings, clock.clone()).await.expect("server starts");
    let channel =
        Channel::from_shared(format!("http://{}", app.addr)).unwrap().connect().await.expect("connect");
    let keys = ApiKeyStore::new(app.state.db.clone());
    let scopes = Scopes::parse_list(["events:write", "users:write"]).unwrap();
    let service_key = keys.create("tests", scopes, None).await.expect("service key").secret;
    TestApp { app: Some(app), clock, channel, database_name, service_key }
}

/// Starts the server with the clock at 2026-06-10 12:00 UTC.
pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_at("2026-06-10T12:00:00Z").await
}

/// A segment event.
pub(crate) fn segment(event_id: &str, user_id: &str, occurred_at: &str, xp: i32) -> pb::ActivityEvent {
    pb::ActivityEvent {
        event_id: event_id.into(),
        user_id: user_id.into(),
        r#type: "segment_completed".into(),
        occurred_at: occurred_at.into(),
        xp,
        ..Default::default()
    }
}

/// A quiz event.
pub(crate) fn quiz(
    event_id: &str,
    user_id: &str,
    occurred_at: &str,
    xp: i32,
    passed: bool,
) -> pb::ActivityEvent {
    pb::ActivityEvent {
        r#type: "quiz_completed".into(),
        passed,
        ..segment(event_id, user_id, occurred_at, xp)
    }
}

/// A learning session event.
pub(crate) fn session(
    event_id: &str,
    user_id: &str,
    occurred_at: &str,
    duration_seconds: i32,
) -> pb::ActivityEvent {
    pb::ActivityEvent {
        r#type: "learning_session".into(),
        duration_seconds,
        ..segment(event_id, user_id, occurred_at, 0)
    }
}

/// Returns the ids of every stored event.
pub(crate) async fn stored_event_ids(
    client: &deadpool_postgres::Object,
) -> std::collections::HashSet<String> {
    client
        .query("select event_id from activity_event", &[])
        .await
        .expect("stored events")
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Asserts that the monthly roll-ups hold exactly the daily roll-ups' days.
pub(crate) async fn assert_monthly_matches_daily(app: &TestApp) {
    let differences: i64 = app
        .db()
        .await
        .query_one(
            "with daily as ( \
                 select user_id, local_date, xp_segments + xp_quizzes as xp, segments, quizzes, quizzes_passed, \
                        learning_seconds, sessions from daily_rollup), \
             monthly as ( \
                 select m.user_id, (m.month + n - 1) as local_date, m.xp[n] as xp, m.segments[n] as segments, \
                        m.quizzes[n] as quizzes, m.quizzes_passed[n] as quizzes_passed, \
                        m.learning_seconds[n] as learning_seconds, m.sessions[n] as sessions \
                 from monthly_rollup m cross join generate_series(1, 31) as n \
                 where m.xp[n] <> 0 or m.segments[n] <> 0 or m.quizzes[n] <> 0 or m.quizzes_passed[n] <> 0 \
                    or m.learning_seconds[n] <> 0 or m.sessions[n] <> 0) \
             select (select count(*) from (select * from daily except select * from monthly) a) \
                  + (select count(*) from (select * from monthly except select * from daily) b)",
            &[],
        )
        .await
        .expect("compare roll-ups")
        .get(0);
    assert_eq!(differences, 0, "monthly and daily roll-ups disagree");
}

// Reads as a signed-in user; each must succeed.

pub(crate) async fn profile(app: &TestApp, user_id: &str) -> pb::Profile {
    app.xp().get_profile(app.as_user(user_id, pb::GetProfileRequest {})).await.unwrap().into_inner()
}

pub(crate) async fn weekly(app: &TestApp, user_id: &str) -> pb::WeeklyActivity {
    app.xp()
        .get_weekly_activity(app.as_user(user_id, pb::GetWeeklyActivityRequest {}))
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn pulse(app: &TestApp, user_id: &str) -> pb::LearningPulse {
    app.xp()
        .get_learning_pulse(app.as_user(user_id, pb::GetLearningPulseRequest {}))
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn streak(app: &TestApp, user_id: &str) -> pb::StreakStatus {
    app.streaks()
        .get_streak_status(app.as_user(user_id, pb::GetStreakStatusRequest {}))
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn quests(app: &TestApp, user_id: &str) -> pb::DailyQuests {
    app.quests()
        .get_daily_quests(app.as_user(user_id, pb::GetDailyQuestsRequest {}))
        .await
        .unwrap()
        .into_inner()
}
