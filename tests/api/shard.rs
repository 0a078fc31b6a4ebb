//! Shard readiness ("Built to shard by user"): the schema and the statements
//! the service runs must let PostgreSQL be distributed by `user_id` (Citus)
//! without a rewrite. The catalog is checked for keys, and the statements of
//! a workload touching every endpoint are captured with pg_stat_statements.

use std::collections::BTreeSet;

use tonic::transport::Channel;
use xentree::auth::{ApiKeyStore, Scopes};
use xentree::proto as pb;
use xentree::server::Application;
use xentree::time::ManualClock;

use crate::envoy::free_port;
use crate::helpers::*;
use crate::services::OwnPostgres;

/// Tables that are not per-user and become Citus reference tables (or, for
/// the username directory, a table distributed by its own key); see
/// migrations/README.md and migrations/citus/distribute.sql.
const NOT_PER_USER: [&str; 3] = ["quest_template", "api_key", "username_claim"];
/// The migration runner's bookkeeping, never on a request path.
const BOOKKEEPING: [&str; 1] = ["refinery_schema_history"];

/// The per-user tables: every table in the schema but the listed exceptions.
async fn per_user_tables(client: &tokio_postgres::Client) -> Vec<String> {
    let rows = client
        .query("select tablename::text from pg_tables where schemaname = 'public' order by tablename", &[])
        .await
        .unwrap();
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .filter(|table| !NOT_PER_USER.contains(&table.as_str()) && !BOOKKEEPING.contains(&table.as_str()))
        .collect()
}

#[tokio::test]
/// Every per-user table's primary key and unique indexes lead with user_id; the exceptions are the listed ones.
async fn keys_of_per_user_tables_lead_with_user_id() {
    let app = spawn_app().await;
    let client = app.db().await;
    let tables = per_user_tables(&client).await;
    for expected in
        ["app_user", "user_stats", "activity_event", "daily_rollup", "quest_claim", "token_ledger"]
    {
        assert!(tables.iter().any(|table| table == expected), "{expected} missing from {tables:?}");
    }
    // Every table is either per-user or listed: a new table must be classified.
    let all: Vec<String> = client
        .query("select tablename::text from pg_tables where schemaname = 'public'", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for listed in NOT_PER_USER {
        assert!(all.iter().any(|table| table == listed), "{listed} is listed but does not exist");
    }

    // The first key column of every primary key and unique index (expression
    // indexes have attnum 0 there, which never names user_id).
    let rows = client
        .query(
            "select c.relname::text, i.relname::text, ix.indisprimary, \
                    coalesce(a.attname::text, '(expression)') \
             from pg_index ix \
             join pg_class c on c.oid = ix.indrelid \
             join pg_class i on i.oid = ix.indexrelid \
             join pg_namespace n on n.oid = c.relnamespace \
             left join pg_attribute a on a.attrelid = c.oid and a.attnum = ix.indkey[0] \
             where n.nspname = 'public' and (ix.indisprimary or ix.indisunique)",
            &[],
        )
        .await
        .unwrap();
    let mut offenders = Vec::new();
    let mut with_primary_key = BTreeSet::new();
    for row in &rows {
        let (table, index, primary, first): (String, String, bool, String) =
            (row.get(0), row.get(1), row.get(2), row.get(3));
        if !tables.contains(&table) {
            continue;
        }
        if primary {
            with_primary_key.insert(table.clone());
        }
        if first != "user_id" {
            offenders.push(format!("{table}.{index} leads with {first}"));
        }
    }
    assert!(offenders.is_empty(), "keys not led by user_id: {offenders:?}");
    let without: Vec<&String> = tables.iter().filter(|table| !with_primary_key.contains(*table)).collect();
    assert!(without.is_empty(), "per-user tables without a primary key: {without:?}");

    // Foreign keys between per-user tables carry user_id too (Citus requires
    // the distribution column in every foreign key between distributed tables).
    let foreign = client
        .query(
            "select c.conrelid::regclass::text, c.confrelid::regclass::text, \
                    (select array_agg(a.attname::text) from pg_attribute a \
                     where a.attrelid = c.conrelid and a.attnum = any(c.conkey)) \
             from pg_constraint c join pg_namespace n on n.oid = c.connamespace \
             where c.contype = 'f' and n.nspname = 'public'",
            &[],
        )
        .await
        .unwrap();
    for row in &foreign {
        let (from, to, columns): (String, String, Vec<String>) = (row.get(0), row.get(1), row.get(2));
        if tables.contains(&from) && tables.contains(&to) {
            assert!(columns.iter().any(|column| column == "user_id"), "{from} → {to} on {columns:?}");
        }
    }
}

#[tokio::test]
/// A workload touching every endpoint runs no statement on a per-user table without a user_id filter.
async fn request_path_statements_filter_by_user_id() {
    let postgres = OwnPostgres::start(free_port(), "-c shared_preload_libraries=pg_stat_statements");
    let (admin, connection) =
        tokio_postgres::connect(&postgres.url("postgres"), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    admin.batch_execute("create database xentree").await.unwrap();
    let url = postgres.url("xentree");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute("create extension pg_stat_statements").await.unwrap();

    // The service on that database; migrations run at start-up, before the reset below.
    let settings = settings_for(&url, &format!("xentree-shard-{}", uuid::Uuid::new_v4().simple()));
    let clock = ManualClock::new(at("2026-06-10T12:00:00Z"));
    let application = Application::build(&settings, clock.clone()).await.expect("server starts");
    let keys = ApiKeyStore::new(application.state.db.clone());
    let scopes = Scopes::parse_list(["events:write", "users:write"]).unwrap();
    let service_key = keys.create("tests", scopes, None).await.unwrap().secret;
    let user_scopes = Scopes::parse_list(["xp:read", "quests:write", "conversations:read"]).unwrap();
    let user_key = keys.create("widget", user_scopes, Some("u2")).await.unwrap().secret;
    let channel =
        Channel::from_shared(format!("http://{}", application.addr)).unwrap().connect().await.unwrap();
    client.batch_execute("select pg_stat_statements_reset()").await.unwrap();

    workload(clock, channel, &service_key, &user_key).await;

    let tables = per_user_tables(&client).await;
    let rows = client
        .query(
            "select s.query from pg_stat_statements s join pg_database d on d.oid = s.dbid \
             where d.datname = 'xentree'",
            &[],
        )
        .await
        .unwrap();
    let statements: Vec<String> = rows.iter().map(|row| row.get::<_, String>(0)).collect();
    let mut checked = BTreeSet::new();
    let mut offenders = Vec::new();
    for statement in &statements {
        let normalized = statement.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
        if normalized.contains("pg_stat_statements") {
            continue;
        }
        let touched: Vec<&String> = tables.iter().filter(|table| mentions(&normalized, table)).collect();
        if touched.is_empty() {
            continue;
        }
        checked.extend(touched.iter().map(|table| table.to_string()));
        if !filters_by_user(&normalized) {
            offenders.push(statement.clone());
        }
    }
    assert!(offenders.is_empty(), "statements on per-user tables without a user_id filter:\n{offenders:#?}");
    // The workload reached every per-user table, so the check above saw them all.
    let missed: Vec<&String> = tables.iter().filter(|table| !checked.contains(*table)).collect();
    assert!(missed.is_empty(), "no statement touched {missed:?}; statements: {statements:#?}");
    application.stop().await.unwrap();
}

/// Tells whether `statement` names `table` as a whole word.
fn mentions(statement: &str, table: &str) -> bool {
    statement.match_indices(table).any(|(start, _)| {
        let before = statement[..start].chars().next_back();
        let after = statement[start + table.len()..].chars().next();
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !is_word(before) && !is_word(after)
    })
}

/// A statement is routable by user when it pins `user_id` to parameters: an
/// insert names user_id among its columns; anything else compares user_id
/// with a parameter (`= $n`, `= any($n)`), possibly through an alias.
fn filters_by_user(statement: &str) -> bool {
    if statement.starts_with("insert") {
        let columns = statement.split(')').next().unwrap_or_default();
        return columns.contains("user_id");
    }
    let mut rest = statement;
    while let Some(found) = rest.find("user_id") {
        let after = rest[found + "user_id".len()..].trim_start();
        if after.starts_with("= $") || after.starts_with("= any($") || after.starts_with("= any ($") {
            return true;
        }
        rest = &rest[found + "user_id".len()..];
    }
    false
}

/// Drives every endpoint: users, boosters, tokens, ingestion of each event
/// type, freeze purchases and their consumption, every read (by token, by
/// user-bound key, and the public profile) and quest claims.
async fn workload(clock: std::sync::Arc<ManualClock>, channel: Channel, service_key: &str, user_key: &str) {
    let users = pb::user_service_client::UserServiceClient::new(channel.clone());
    let activity = pb::activity_service_client::ActivityServiceClient::new(channel.clone());
    let xp = pb::xp_service_client::XpServiceClient::new(channel.clone());
    let streaks = pb::streak_service_client::StreakServiceClient::new(channel.clone());
    let quests = pb::quest_service_client::QuestServiceClient::new(channel.clone());
    let analytics = pb::analytics_service_client::AnalyticsServiceClient::new(channel);
    let token = |user_id: &str| {
        use xentree::time::Clock as _;
        xentree::auth::sign_user_token(JWT_SECRET, user_id, clock.now().timestamp() + 3600, None)
    };

    for (user_id, username) in [("u1", "first"), ("u2", "second")] {
        let upsert = |public_profile| pb::UpsertUserRequest {
            user_id: user_id.into(),
            username: username.into(),
            email: format!("{username}@example.org"),
            display_name: username.into(),
            timezone: "Europe/Berlin".into(),
            public_profile,
        };
        users.clone().upsert_user(with_bearer(upsert(None), service_key)).await.unwrap();
        // An update of an existing user takes the other path.
        users.clone().upsert_user(with_bearer(upsert(Some(true)), service_key)).await.unwrap();
    }
    let grant = pb::GrantTokensRequest { user_id: "u1".into(), amount: 300, reason: "welcome".into() };
    users.clone().grant_tokens(with_bearer(grant, service_key)).await.unwrap();
    let booster = pb::StartBoosterRequest { user_id: "u1".into(), multiplier: 2.0, duration_seconds: 900 };
    users.clone().start_booster(with_bearer(booster, service_key)).await.unwrap();

    let day = |date: &str, suffix: &str| {
        vec![
            segment(&format!("s-{date}-{suffix}"), "u1", &format!("{date}T11:00:00Z"), 60),
            quiz(&format!("q-{date}-{suffix}"), "u1", &format!("{date}T11:05:00Z"), 40, true),
            session(&format!("l-{date}-{suffix}"), "u1", &format!("{date}T11:10:00Z"), 1200),
            segment(&format!("s-{date}-{suffix}"), "u2", &format!("{date}T11:00:00Z"), 10),
        ]
    };
    let ingest = |events: Vec<pb::ActivityEvent>| {
        let mut activity = activity.clone();
        let request = with_bearer(pb::IngestEventsRequest { events }, service_key);
        async move { activity.ingest_events(request).await.unwrap().into_inner() }
    };
    ingest(day("2026-06-10", "a")).await;
    // A replay (duplicates) and a conflicting replay.
    ingest(day("2026-06-10", "a")).await;
    let mut conflicting = day("2026-06-10", "a");
    conflicting[0].xp = 61;
    ingest(conflicting).await;

    for user_id in ["u1", "u2"] {
        reads(&xp, &streaks, &quests, &analytics, &token(user_id)).await;
    }
    reads(&xp, &streaks, &quests, &analytics, user_key).await;
    let public = pb::GetPublicProfileRequest { username: "first".into() };
    xp.clone().get_public_profile(public).await.unwrap();

    // Quest claims: whatever is ready is claimed (a second claim conflicts).
    let listed =
        quests.clone().get_daily_quests(with_bearer(pb::GetDailyQuestsRequest {}, &token("u1"))).await;
    for quest in listed.unwrap().into_inner().quests {
        for _ in 0..2 {
            let request = pb::CompleteQuestRequest { quest_id: quest.quest_id.clone() };
            let _ = quests.clone().complete_quest(with_bearer(request, &token("u1"))).await;
        }
    }
    // Two freezes bought, then a missed day consumes one.
    for _ in 0..2 {
        streaks
            .clone()
            .buy_streak_freeze(with_bearer(pb::BuyStreakFreezeRequest {}, &token("u1")))
            .await
            .unwrap();
    }
    clock.set(at("2026-06-12T12:00:00Z"));
    ingest(day("2026-06-12", "b")).await;
    for user_id in ["u1", "u2"] {
        reads(&xp, &streaks, &quests, &analytics, &token(user_id)).await;
    }
}

/// Every read of one caller.
async fn reads(
    xp: &pb::xp_service_client::XpServiceClient<Channel>,
    streaks: &pb::streak_service_client::StreakServiceClient<Channel>,
    quests: &pb::quest_service_client::QuestServiceClient<Channel>,
    analytics: &pb::analytics_service_client::AnalyticsServiceClient<Channel>,
    credential: &str,
) {
    xp.clone().get_profile(with_bearer(pb::GetProfileRequest {}, credential)).await.unwrap();
    xp.clone().get_weekly_activity(with_bearer(pb::GetWeeklyActivityRequest {}, credential)).await.unwrap();
    xp.clone().get_learning_pulse(with_bearer(pb::GetLearningPulseRequest {}, credential)).await.unwrap();
    streaks.clone().get_streak_status(with_bearer(pb::GetStreakStatusRequest {}, credential)).await.unwrap();
    quests.clone().get_daily_quests(with_bearer(pb::GetDailyQuestsRequest {}, credential)).await.unwrap();
    for (from, to) in [("", ""), ("2026-06-01", "2026-06-30")] {
        let request = pb::GetLearningTimeRequest { from: from.into(), to: to.into() };
        analytics.clone().get_learning_time(with_bearer(request, credential)).await.unwrap();
    }
}

#[test]
/// The statement check accepts user-pinned statements and flags the ones a sharded database could not route.
fn statement_check_flags_unrouted_statements() {
    for routed in [
        "select total_xp from user_stats where user_id = $1",
        "select u.username from user_stats s join app_user u on u.user_id = s.user_id where s.user_id = $1",
        "select event_id from activity_event where user_id = any($1::text[]) and event_id = any($2::text[])",
        "insert into freeze_day (user_id, local_date) select $1, d from unnest($2::date[]) as d",
        "update user_stats set token_balance = token_balance + $2 where user_id = $1",
    ] {
        assert!(filters_by_user(routed), "{routed}");
    }
    for unrouted in [
        "select user_id, total_xp from user_stats order by total_xp desc limit $1",
        "update user_stats set freezes_available = $1 where user_id in (select user_id from app_user)",
        "delete from booster where ends_at < $1",
        "insert into token_ledger (entry_id, amount) values ($1, $2)",
    ] {
        assert!(!filters_by_user(unrouted), "{unrouted}");
    }
    assert!(mentions("select 1 from booster where", "booster"));
    assert!(!mentions("update user_stats set boosted_until = $2", "booster"));
}
