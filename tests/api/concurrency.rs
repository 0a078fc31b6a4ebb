use std::collections::BTreeMap;

use xentree::proto as pb;

use crate::helpers::*;

/// Two weeks of events for one user, every three hours or so: segments, quizzes, sessions.
fn history(user_id: &str) -> Vec<pb::ActivityEvent> {
    let mut events = Vec::new();
    let start = at("2026-05-20T08:00:00Z");
    for index in 0..120 {
        let occurred = (start + chrono::Duration::minutes(173 * index))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let id = format!("h{index}");
        events.push(match index % 3 {
            0 => segment(&id, user_id, &occurred, (index % 17) as i32 + 1),
            1 => quiz(&id, user_id, &occurred, (index % 11) as i32, index % 2 == 0),
            _ => session(&id, user_id, &occurred, 60 * (index as i32 % 30 + 1)),
        });
    }
    events
}

async fn snapshot(app: &TestApp) -> (Stats, BTreeMap<String, (i32, i32, i32, i32, i32, i64, i32)>) {
    let rows = app
        .db()
        .await
        .query(
            "select local_date::text, xp_segments, xp_quizzes, segments, quizzes, quizzes_passed, learning_seconds, sessions \
             from daily_rollup where user_id = 'u1'",
            &[],
        )
        .await
        .unwrap();
    let rollups = rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7))))
        .collect();
    (app.stats("u1").await, rollups)
}

#[tokio::test]
/// 16 concurrent clients replaying overlapping batches for one user give
/// exactly the totals of one clean pass.
async fn concurrent_overlapping_replays_equal_one_pass() {
    let events = history("u1");

    let clean = spawn_app_at("2026-06-03T18:00:00Z").await;
    clean.create_user("u1", "clean", "America/Los_Angeles").await;
    assert_eq!(clean.ingest(events.clone()).await.accepted, 120);
    let expected = snapshot(&clean).await;

    let app = spawn_app_at("2026-06-03T18:00:00Z").await;
    app.create_user("u1", "storm", "America/Los_Angeles").await;
    let mut tasks = Vec::new();
    for client in 0..16 {
        // Each client sends an overlapping window of the history, in batches of 10.
        let window: Vec<_> = events
            .iter()
            .skip(client * 5)
            .take(60)
            .cloned()
            .chain(events.iter().take(client * 5).cloned())
            .collect();
        let mut activity = app.activity();
        let key = app.service_key.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0;
            for chunk in window.chunks(10) {
                let reply = activity
                    .ingest_events(with_bearer(pb::IngestEventsRequest { events: chunk.to_vec() }, &key))
                    .await
                    .expect("ingest")
                    .into_inner();
                assert!(reply.rejected.is_empty(), "{:?}", reply.rejected);
                accepted += reply.accepted;
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap();
    }
    // Every event is accepted exactly once somewhere, the rest are duplicates.
    let covered = events.len().min(16 * 5 + 60);
    assert_eq!(accepted as usize, covered);
    let result = snapshot(&app).await;
    assert_eq!(covered, 120);
    assert_eq!(result, expected);
    assert_monthly_matches_daily(&app).await;
}
