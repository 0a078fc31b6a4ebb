use std::collections::BTreeSet;

use tonic::Code;
use xentree::proto as pb;

use crate::helpers::*;

async fn claim(
    app: &TestApp,
    user_id: &str,
    quest_id: &str,
) -> Result<pb::CompleteQuestResponse, tonic::Status> {
    let request = pb::CompleteQuestRequest { quest_id: quest_id.into() };
    app.quests().complete_quest(app.as_user(user_id, request)).await.map(tonic::Response::into_inner)
}

/// Events worth, per metric: xp 40, segments 4, quizzes 1, quizzes_passed 0, learning_time 600, sessions 1.
fn first_half(user_id: &str, day: &str) -> Vec<pb::ActivityEvent> {
    let mut events: Vec<_> =
        (0..4).map(|i| segment(&format!("{day}-s{i}"), user_id, &format!("{day}T08:0{i}:00Z"), 10)).collect();
    events.push(quiz(&format!("{day}-q0"), user_id, &format!("{day}T08:10:00Z"), 0, false));
    events.push(session(&format!("{day}-l0"), user_id, &format!("{day}T08:20:00Z"), 600));
    events
}

/// Enough on top of the first half to finish every quest in the pool.
fn second_half(user_id: &str, day: &str) -> Vec<pb::ActivityEvent> {
    let mut events: Vec<_> =
        (4..8).map(|i| segment(&format!("{day}-s{i}"), user_id, &format!("{day}T09:0{i}:00Z"), 20)).collect();
    events.extend(
        (1..4).map(|i| quiz(&format!("{day}-q{i}"), user_id, &format!("{day}T09:1{i}:00Z"), 0, true)),
    );
    events
        .extend((1..3).map(|i| session(&format!("{day}-l{i}"), user_id, &format!("{day}T09:2{i}:00Z"), 600)));
    events
}

fn expected_after_first_half(metric: &str, target: i32) -> i32 {
    let value = match metric {
        "xp" => 40,
        "segments" => 4,
        "quizzes" => 1,
        "quizzes_passed" => 0,
        "learning_time" => 600,
        "sessions" => 1,
        other => panic!("unexpected metric {other}"),
    };
    value.min(target)
}

#[tokio::test]
/// A new user has three active quests resetting at local midnight; over four
/// days progress through every metric reaches ready_to_complete.
async fn quests_progress_through_every_metric() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "quester", "UTC").await;
    let fresh = quests(&app, "u1").await;
    assert_eq!((fresh.date.as_str(), fresh.resets_at.as_str()), ("2026-06-10", "2026-06-11T00:00:00Z"));
    assert_eq!(fresh.quests.len(), 3);
    assert!(
        fresh
            .quests
            .iter()
            .all(|q| q.status == "active" && q.progress == 0 && q.quest_id.starts_with("2026-06-10."))
    );

    let mut metrics = BTreeSet::new();
    let mut templates = BTreeSet::new();
    for day in ["2026-06-10", "2026-06-11", "2026-06-12", "2026-06-13"] {
        app.set_now(&format!("{day}T12:00:00Z"));
        app.ingest(first_half("u1", day)).await;
        let halfway = quests(&app, "u1").await;
        assert_eq!(halfway.date, day);
        for quest in &halfway.quests {
            let expected = expected_after_first_half(&quest.metric, quest.target);
            assert_eq!(quest.progress, expected, "{quest:?}");
            let status = if expected >= quest.target { "ready_to_complete" } else { "active" };
            assert_eq!(quest.status, status, "{quest:?}");
        }
        app.ingest(second_half("u1", day)).await;
        let done = quests(&app, "u1").await;
        for quest in &done.quests {
            assert_eq!(
                (quest.status.as_str(), quest.progress),
                ("ready_to_complete", quest.target),
                "{quest:?}"
            );
            metrics.insert(quest.metric.clone());
            templates.insert(quest.quest_id.split_once('.').unwrap().1.to_owned());
        }
    }
    assert_eq!(metrics.len(), 6, "{metrics:?}");
    let pool: i64 =
        app.db().await.query_one("select count(*) from quest_template", &[]).await.unwrap().get(0);
    assert_eq!(templates.len() as i64, pool, "four days show the whole pool");
}

#[tokio::test]
/// Claims: ready → completed with the reward; again → 409; not ready → 400; unknown → 404.
async fn claiming_rewards_once() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "claimer", "UTC").await;
    let today = quests(&app, "u1").await;
    let first = &today.quests[0];
    let not_ready = claim(&app, "u1", &first.quest_id).await.unwrap_err();
    assert_eq!(not_ready.code(), Code::FailedPrecondition);

    app.ingest(first_half("u1", "2026-06-10")).await;
    app.ingest(second_half("u1", "2026-06-10")).await;
    let claimed = claim(&app, "u1", &first.quest_id).await.unwrap();
    let quest = claimed.quest.unwrap();
    assert_eq!(
        (quest.quest_id.as_str(), quest.status.as_str(), quest.progress),
        (first.quest_id.as_str(), "completed", first.target)
    );
    assert_eq!(claimed.token_balance, first.reward_tokens);
    let again = claim(&app, "u1", &first.quest_id).await.unwrap_err();
    assert_eq!(again.code(), Code::AlreadyExists);
    assert_eq!(app.stats("u1").await.token_balance, i64::from(first.reward_tokens));

    let listed = quests(&app, "u1").await;
    let statuses: Vec<&str> = listed.quests.iter().map(|q| q.status.as_str()).collect();
    assert_eq!(statuses, vec!["completed", "ready_to_complete", "ready_to_complete"]);

    let unknown = claim(&app, "u1", "2026-06-10.no_such_quest").await.unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let malformed = claim(&app, "u1", "xp_30").await.unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    let yesterday = claim(&app, "u1", "2026-06-09.xp_30").await.unwrap_err();
    assert_eq!(yesterday.code(), Code::FailedPrecondition);
}

#[tokio::test]
/// 20 concurrent claims of one quest pay one reward.
async fn concurrent_claims_pay_once() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "racer", "UTC").await;
    app.ingest(first_half("u1", "2026-06-10")).await;
    app.ingest(second_half("u1", "2026-06-10")).await;
    let quest = quests(&app, "u1").await.quests.remove(1);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let mut client = app.quests();
        let request = app.as_user("u1", pb::CompleteQuestRequest { quest_id: quest.quest_id.clone() });
        tasks.push(tokio::spawn(async move {
            client.complete_quest(request).await.map(|_| ()).map_err(|s| s.code())
        }));
    }
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(code) => assert_eq!(code, Code::AlreadyExists),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(app.stats("u1").await.token_balance, i64::from(quest.reward_tokens));
    let ledger: i64 = app
        .db()
        .await
        .query_one("select count(*) from token_ledger where user_id = 'u1'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(ledger, 1);
}

/// Quests reset at the user's local midnight, whatever UTC says.
async fn reset_at_local_midnight(zone: &str) {
    let app = spawn_app_at(&local_instant(zone, "2026-06-10T23:58")).await;
    app.create_user("u1", "midnight", zone).await;
    let day = "2026-06-10";
    let occurred = local_instant(zone, "2026-06-10T23:50");
    let events: Vec<_> = first_half("u1", day)
        .into_iter()
        .chain(second_half("u1", day))
        .map(|event| pb::ActivityEvent { occurred_at: occurred.clone(), ..event })
        .collect();
    app.ingest(events).await;
    let before = quests(&app, "u1").await;
    assert_eq!(before.date, "2026-06-10", "{zone}");
    let resets_at =
        chrono::DateTime::parse_from_rfc3339(&before.resets_at).unwrap().with_timezone(&chrono::Utc);
    assert_eq!(resets_at, at(&local_instant(zone, "2026-06-11T00:00")), "{zone}");
    assert!(
        before.resets_at.ends_with(if zone.contains("Kiritimati") {
            "T00:00:00+14:00"
        } else {
            "T00:00:00-11:00"
        }),
        "{}",
        before.resets_at
    );
    claim(&app, "u1", &before.quests[0].quest_id).await.unwrap();

    app.set_now(&local_instant(zone, "2026-06-11T00:00"));
    let after = quests(&app, "u1").await;
    assert_eq!(after.date, "2026-06-11", "{zone}");
    assert!(after.resets_at.starts_with("2026-06-12T00:00:00"), "{}", after.resets_at);
    assert!(after.quests.iter().all(|q| q.status == "active" && q.progress == 0), "{zone}: {after:?}");
    let before_ids: BTreeSet<&str> =
        before.quests.iter().map(|q| q.quest_id.split_once('.').unwrap().1).collect();
    let after_ids: BTreeSet<&str> =
        after.quests.iter().map(|q| q.quest_id.split_once('.').unwrap().1).collect();
    assert!(before_ids.is_disjoint(&after_ids), "{zone}: a new set at midnight");
    let stale = claim(&app, "u1", &before.quests[1].quest_id).await.unwrap_err();
    assert_eq!(stale.code(), Code::FailedPrecondition, "{zone}");
}

#[tokio::test]
/// Reset at local midnight in UTC+14.
async fn quests_reset_in_kiritimati() {
    reset_at_local_midnight("Pacific/Kiritimati").await;
}

#[tokio::test]
/// Reset at local midnight in UTC−11.
async fn quests_reset_in_pago_pago() {
    reset_at_local_midnight("Pacific/Pago_Pago").await;
}

#[tokio::test]
/// A cached quest list is invalidated by ingestion.
async fn ingestion_invalidates_cached_quests() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "cachedq", "UTC").await;
    assert!(quests(&app, "u1").await.quests.iter().all(|q| q.progress == 0));
    assert_eq!(quests(&app, "u1").await.quests.iter().map(|q| q.progress).sum::<i32>(), 0);
    app.ingest(first_half("u1", "2026-06-10")).await;
    let after = quests(&app, "u1").await;
    for quest in &after.quests {
        assert_eq!(quest.progress, expected_after_first_half(&quest.metric, quest.target), "{quest:?}");
    }
}
