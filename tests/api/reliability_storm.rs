//! The duplicate storm: many backends at once, retried by flaky networks.
//! 32 concurrent clients send 20,000 events for 50 users, 30% of them
//! replays (identical or conflicting), with token grants interleaved; the
//! stored state must equal one clean, sequential pass of the originals.
//!
//! The storm runs in rounds, one per UTC day, with the clock moved to that day
//! in both services: a streak depends on the order of days, so every round
//! only carries events of its own day (any order within a day gives the same
//! streak). Identical replays race their originals freely; a conflicting
//! variant is only sent once its original was acknowledged (an earlier
//! round), since a conflict racing its original could win and store itself.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use tonic::transport::Channel;
use xentree::proto as pb;

use crate::helpers::*;

const USERS: usize = 50;
const ROUNDS: usize = 30;
const CLIENTS: usize = 32;
const ORIGINALS_PER_USER: usize = 280;
/// Zones whose local date equals the UTC date between 10:00 and 11:00 UTC and at
/// noon UTC, so that round `r` is local day `r` for every user.
const ZONES: [&str; 6] =
    ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles", "Asia/Tokyo", "America/Sao_Paulo"];

/// One request of the storm.
#[derive(Clone, Debug)]
enum Task {
    Ingest(Vec<pb::ActivityEvent>),
    Grant { user_id: String, amount: i32 },
}

/// What the storm's replies added up to.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    accepted: i64,
    duplicates: i64,
    conflicts: i64,
}

fn user_id(index: usize) -> String {
    format!("storm-user-{index:02}")
}

fn day(round: usize) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 5, 1).unwrap() + chrono::Days::new(round as u64)
}

fn noon(round: usize) -> String {
    format!("{}T12:00:00Z", day(round))
}

fn random_event(rng: &mut StdRng, user: &str, round: usize, serial: usize) -> pb::ActivityEvent {
    let occurred_at =
        format!("{}T10:{:02}:{:02}Z", day(round), rng.random_range(0..60), rng.random_range(0..60));
    let event_id = format!("{user}-e{serial}");
    match rng.random_range(0..10) {
        0..=4 => segment(&event_id, user, &occurred_at, rng.random_range(0..=60)),
        5..=7 => quiz(&event_id, user, &occurred_at, rng.random_range(0..=40), rng.random_bool(0.6)),
        _ => session(&event_id, user, &occurred_at, rng.random_range(1..=3600)),
    }
}

/// The same id with one field changed, still valid on its own.
fn conflicting(rng: &mut StdRng, original: &pb::ActivityEvent) -> pb::ActivityEvent {
    let mut variant = original.clone();
    match (original.r#type.as_str(), rng.random_range(0..3)) {
        ("learning_session", _) => variant.duration_seconds += 1,
        ("quiz_completed", 0) => variant.passed = !variant.passed,
        (_, 1) => variant.occurred_at = original.occurred_at.replace("Z", ".5Z"),
        _ => variant.xp = if original.xp == 0 { 1 } else { original.xp - 1 },
    }
    variant
}

/// Each user's original events, by round (some rounds empty: missed days).
fn originals(rng: &mut StdRng) -> Vec<Vec<Vec<pb::ActivityEvent>>> {
    (0..USERS)
        .map(|index| {
            let user = user_id(index);
            // Round 0 always has activity; later days are missed about one time in six.
            let active: Vec<usize> =
                (0..ROUNDS).filter(|round| *round == 0 || rng.random_range(0..6) != 0).collect();
            let mut by_round = vec![Vec::new(); ROUNDS];
            for serial in 0..ORIGINALS_PER_USER {
                let round = active[serial % active.len()];
                by_round[round].push(random_event(rng, &user, round, serial));
            }
            by_round
        })
        .collect()
}

/// The storm's requests of one round: originals split in two batches per user,
/// replays grouped by five users, a few token grants; shuffled.
fn round_tasks(
    rng: &mut StdRng,
    round: usize,
    originals: &[Vec<Vec<pb::ActivityEvent>>],
    replays_sent: &mut (usize, usize),
) -> Vec<Task> {
    let mut tasks = Vec::new();
    let mut replay_group = Vec::new();
    // One id at most once per batch: within a batch the first copy of an id
    // stands for the rest, which would blur the duplicate and conflict tallies.
    let mut in_group = HashSet::new();
    for (index, by_round) in originals.iter().enumerate() {
        let today = &by_round[round];
        if !today.is_empty() {
            let split = rng.random_range(0..=today.len());
            for half in [&today[..split], &today[split..]] {
                if !half.is_empty() {
                    tasks.push(Task::Ingest(half.to_vec()));
                }
            }
        }
        let earlier: Vec<&pb::ActivityEvent> = by_round[..round].iter().flatten().collect();
        let so_far: Vec<&pb::ActivityEvent> = by_round[..=round].iter().flatten().collect();
        // 3 replays for every 7 originals, over the whole storm.
        let replays = (today.len() * 3).div_ceil(7);
        for _ in 0..replays {
            let conflict = !earlier.is_empty() && rng.random_bool(0.4);
            let pool = if conflict { &earlier } else { &so_far };
            if pool.is_empty() {
                continue;
            }
            let original = pool[rng.random_range(0..pool.len())];
            if !in_group.insert(original.event_id.clone()) {
                continue;
            }
            if conflict {
                replay_group.push(conflicting(rng, original));
                replays_sent.1 += 1;
            } else {
                replay_group.push(original.clone());
                replays_sent.0 += 1;
            }
        }
        if index % 5 == 4 && !replay_group.is_empty() {
            replay_group.shuffle(rng);
            tasks.push(Task::Ingest(std::mem::take(&mut replay_group)));
            in_group.clear();
        }
        if rng.random_range(0..8) == 0 {
            tasks.push(Task::Grant { user_id: user_id(index), amount: rng.random_range(1..=50) });
        }
    }
    tasks.shuffle(rng);
    tasks
}

async fn send(channel: Channel, service_key: &str, task: Task) -> Result<Tally, tonic::Status> {
    match task {
        Task::Ingest(events) => {
            let mut activity = pb::activity_service_client::ActivityServiceClient::new(channel);
            let report = activity
                .ingest_events(with_bearer(pb::IngestEventsRequest { events }, service_key))
                .await?
                .into_inner();
            for rejection in &report.rejected {
                assert_eq!(rejection.reason, "conflict", "only conflicts are refused: {rejection:?}");
            }
            Ok(Tally {
                accepted: i64::from(report.accepted),
                duplicates: i64::from(report.duplicates),
                conflicts: report.rejected.len() as i64,
            })
        }
        Task::Grant { user_id, amount } => {
            let mut users = pb::user_service_client::UserServiceClient::new(channel);
            let request = pb::GrantTokensRequest { user_id, amount, reason: "storm grant".into() };
            users.grant_tokens(with_bearer(request, service_key)).await?;
            Ok(Tally::default())
        }
    }
}

/// Runs one round's tasks on `CLIENTS` workers, each with a connection of its own.
async fn run_round(channels: &[Channel], service_key: &str, tasks: Vec<Task>) -> Tally {
    let queue = Arc::new(Mutex::new(VecDeque::from(tasks)));
    let workers = channels.iter().cloned().map(|channel| {
        let queue = queue.clone();
        let service_key = service_key.to_owned();
        tokio::spawn(async move {
            let mut tally = Tally::default();
            loop {
                let Some(task) = queue.lock().unwrap().pop_front() else { return tally };
                let part = send(channel.clone(), &service_key, task).await.expect("storm request");
                tally.accepted += part.accepted;
                tally.duplicates += part.duplicates;
                tally.conflicts += part.conflicts;
            }
        })
    });
    let mut total = Tally::default();
    for part in futures::future::join_all(workers).await {
        let part = part.expect("worker");
        total.accepted += part.accepted;
        total.duplicates += part.duplicates;
        total.conflicts += part.conflicts;
    }
    total
}

/// Creates the users, grants 250 tokens each and buys two freezes each.
async fn set_up_users(app: &TestApp) {
    let set_up_one = |index: usize| async move {
        let user = user_id(index);
        app.create_user(&user, &format!("storm{index:02}"), ZONES[index % ZONES.len()]).await;
        app.users()
            .grant_tokens(app.as_service(pb::GrantTokensRequest {
                user_id: user.clone(),
                amount: 250,
                reason: "welcome".into(),
            }))
            .await
            .expect("grant");
        for _ in 0..2 {
            app.streaks()
                .buy_streak_freeze(app.as_user(&user, pb::BuyStreakFreezeRequest {}))
                .await
                .expect("freeze");
        }
    };
    futures::future::join_all((0..USERS).map(set_up_one)).await;
}

/// Every stored row that the storm can change, in a canonical text form.
async fn state_of(app: &TestApp) -> Vec<(&'static str, Vec<String>)> {
    let queries = [
        ("user_stats", "select row(s.*)::text from user_stats s order by user_id"),
        ("daily_rollup", "select row(d.*)::text from daily_rollup d order by user_id, local_date"),
        ("freeze_day", "select row(f.*)::text from freeze_day f order by user_id, local_date"),
        (
            "activity_event",
            "select row(user_id, event_id, event_type, occurred_at, base_xp, passed, duration_seconds, \
             credited_xp, local_date)::text from activity_event order by user_id, event_id",
        ),
        ("token_ledger", "select row(user_id, amount, reason)::text from token_ledger order by 1"),
    ];
    let client = app.db().await;
    let mut state = Vec::new();
    for (table, query) in queries {
        let rows = client.query(query, &[]).await.expect(table);
        state.push((table, rows.iter().map(|row| row.get::<_, String>(0)).collect()));
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
/// 32 clients, 20,000 events for 50 users, 30% replays: the result equals one clean pass.
async fn duplicate_storm_equals_one_clean_pass() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0006);
    let originals = originals(&mut rng);
    let mut replays_sent = (0usize, 0usize);
    let rounds: Vec<Vec<Task>> =
        (0..ROUNDS).map(|round| round_tasks(&mut rng, round, &originals, &mut replays_sent)).collect();
    let original_count = USERS * ORIGINALS_PER_USER;
    let sent = original_count + replays_sent.0 + replays_sent.1;
    assert!(sent >= 20_000, "{sent} events");
    let replay_share = (replays_sent.0 + replays_sent.1) as f64 / sent as f64;
    assert!((0.28..=0.32).contains(&replay_share), "{replay_share}");

    // The clean pass: one batch per round with every user's events, then the grants.
    let clean = spawn_app_at(&noon(0)).await;
    set_up_users(&clean).await;
    for (round, tasks) in rounds.iter().enumerate() {
        clean.set_now(&noon(round));
        let events: Vec<pb::ActivityEvent> =
            originals.iter().flat_map(|by_round| by_round[round].clone()).collect();
        if !events.is_empty() {
            assert_eq!(clean.ingest(events.clone()).await.accepted as usize, events.len());
        }
        for task in tasks {
            if let Task::Grant { .. } = task {
                send(clean.channel.clone(), &clean.service_key, task.clone()).await.expect("grant");
            }
        }
    }

    // The storm.
    let storm = spawn_app_at(&noon(0)).await;
    set_up_users(&storm).await;
    let endpoint = Channel::from_shared(format!("http://{}", storm.addr())).unwrap();
    let mut channels = Vec::new();
    for _ in 0..CLIENTS {
        channels.push(endpoint.connect().await.expect("connect"));
    }
    let started = Instant::now();
    let mut tally = Tally::default();
    for (round, tasks) in rounds.into_iter().enumerate() {
        storm.set_now(&noon(round));
        let part = run_round(&channels, &storm.service_key, tasks).await;
        tally.accepted += part.accepted;
        tally.duplicates += part.duplicates;
        tally.conflicts += part.conflicts;
    }
    println!("duplicate storm: {sent} events in {:.1?}", started.elapsed());

    assert_eq!(
        tally,
        Tally {
            accepted: original_count as i64,
            duplicates: replays_sent.0 as i64,
            conflicts: replays_sent.1 as i64
        }
    );
    let expected = state_of(&clean).await;
    let actual = state_of(&storm).await;
    for ((table, expected_rows), (_, actual_rows)) in expected.iter().zip(&actual) {
        assert_eq!(expected_rows.len(), actual_rows.len(), "{table}: row count");
        for (expected_row, actual_row) in expected_rows.iter().zip(actual_rows) {
            assert_eq!(expected_row, actual_row, "{table}");
        }
    }
    // The storm exercised streaks, freezes and breaks, not just totals.
    let row = clean
        .db()
        .await
        .query_one(
            "select count(*) filter (where current_streak > 1), count(*) filter (where longest_streak > current_streak) \
             from user_stats",
            &[],
        )
        .await
        .unwrap();
    let (alive, broken): (i64, i64) = (row.get(0), row.get(1));
    assert!(alive > 0 && broken > 0, "{alive} streaks alive, {broken} broken");
    assert!(!expected[2].1.is_empty(), "some missed days were covered by freezes");
}
