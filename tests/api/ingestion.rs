use tonic::Code;
use xentree::proto as pb;

use crate::helpers::*;

#[tokio::test]
/// A batch with accepted, duplicate, conflicting and rejected events: valid
/// events survive invalid neighbours, and replays change nothing.
async fn mixed_batch_outcomes() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "mixed", "UTC").await;
    let first = app
        .ingest(vec![
            segment("e1", "u1", "2026-06-10T09:00:00Z", 10),
            quiz("e2", "u1", "2026-06-10T09:10:00Z", 20, true),
            session("e3", "u1", "2026-06-10T09:20:00Z", 600),
        ])
        .await;
    assert_eq!((first.accepted, first.duplicates, first.rejected.len()), (3, 0, 0));

    let second = app
        .ingest(vec![
            segment("e1", "u1", "2026-06-10T09:00:00Z", 10), // identical replay
            segment("e2", "u1", "2026-06-10T09:10:00Z", 20), // same id, other content
            segment("e4", "u1", "2026-06-10T10:00:00Z", 2000), // xp out of range
            segment("e5", "u1", "2026-06-10T10:00:00Z", 5),  // new
            segment("e6", "ghost", "2026-06-10T10:00:00Z", 5), // unknown user
            segment("e7", "u1", "2026-06-10T12:06:00Z", 5),  // too far in the future
            segment("e5", "u1", "2026-06-10T10:00:00Z", 5),  // repeated in the batch
            segment("e5", "u1", "2026-06-10T10:00:01Z", 5),  // repeated with other content
        ])
        .await;
    assert_eq!(second.accepted, 1);
    assert_eq!(second.duplicates, 2);
    let reasons: Vec<(i32, &str, &str)> = second
        .rejected
        .iter()
        .map(|r| (r.index, r.event_id.as_str(), r.reason.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, "e2", "conflict"),
            (2, "e4", "xp"),
            (4, "e6", "user_id"),
            (5, "e7", "occurred_at"),
            (7, "e5", "conflict")
        ]
    );

    let stats = app.stats("u1").await;
    assert_eq!(stats.total_xp, 35);
    let row = app
        .db()
        .await
        .query_one(
            "select xp_segments, xp_quizzes, segments, quizzes, quizzes_passed, learning_seconds, sessions \
             from daily_rollup where user_id = 'u1' and local_date = '2026-06-10'",
            &[],
        )
        .await
        .unwrap();
    let rollup: (i32, i32, i32, i32, i32, i64, i32) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4), row.get(5), row.get(6));
    assert_eq!(rollup, (15, 20, 2, 1, 1, 600, 1));
    let stored: i64 =
        app.db().await.query_one("select count(*) from activity_event", &[]).await.unwrap().get(0);
    assert_eq!(stored, 4);
}

#[tokio::test]
/// Empty and oversized batches are refused whole with INVALID_ARGUMENT naming events.
async fn batch_size_limits() {
    let app = spawn_app().await;
    app.create_user("u1", "sizes", "UTC").await;
    let empty = app
        .activity()
        .ingest_events(app.as_service(pb::IngestEventsRequest { events: vec![] }))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().starts_with("events:"));
    let events: Vec<_> =
        (0..1001).map(|i| segment(&format!("e{i}"), "u1", "2026-06-10T09:00:00Z", 1)).collect();
    let too_many =
        app.activity().ingest_events(app.as_service(pb::IngestEventsRequest { events })).await.unwrap_err();
    assert_eq!(too_many.code(), Code::InvalidArgument);
    let events: Vec<_> =
        (0..1000).map(|i| segment(&format!("e{i}"), "u1", "2026-06-10T09:00:00Z", 1)).collect();
    assert_eq!(app.ingest(events).await.accepted, 1000);
    assert_eq!(app.stats("u1").await.total_xp, 1000);
}

#[tokio::test]
/// Each malformed field of an event is rejected by name, without touching totals.
async fn event_validation_reasons() {
    let app = spawn_app().await;
    app.create_user("u1", "strict", "UTC").await;
    let good = segment("ok", "u1", "2026-06-10T09:00:00Z", 10);
    let cases = vec![
        (pb::ActivityEvent { event_id: String::new(), ..good.clone() }, "event_id"),
        (pb::ActivityEvent { event_id: "x".repeat(129), ..good.clone() }, "event_id"),
        (pb::ActivityEvent { user_id: String::new(), ..good.clone() }, "user_id"),
        (pb::ActivityEvent { r#type: "lesson_done".into(), ..good.clone() }, "type"),
        (pb::ActivityEvent { occurred_at: "2026-02-30T10:00:00Z".into(), ..good.clone() }, "occurred_at"),
        (pb::ActivityEvent { occurred_at: "10 June".into(), ..good.clone() }, "occurred_at"),
        (pb::ActivityEvent { xp: -5, ..good.clone() }, "xp"),
        (pb::ActivityEvent { duration_seconds: 30, ..good.clone() }, "duration_seconds"),
        (session("s", "u1", "2026-06-10T09:00:00Z", 0), "duration_seconds"),
        (session("s", "u1", "2026-06-10T09:00:00Z", 86_401), "duration_seconds"),
        (pb::ActivityEvent { xp: 5, ..session("s", "u1", "2026-06-10T09:00:00Z", 60) }, "xp"),
    ];
    let expected: Vec<&str> = cases.iter().map(|(_, field)| *field).collect();
    let report = app.ingest(cases.into_iter().map(|(event, _)| event).chain([good]).collect()).await;
    let fields: Vec<&str> = report.rejected.iter().map(|r| r.reason.split(':').next().unwrap()).collect();
    assert_eq!(fields, expected);
    assert_eq!(report.accepted, 1);
    assert_eq!(app.stats("u1").await.total_xp, 10);
}

#[tokio::test]
/// A day is the user's local date when the event is recorded; changing zone later does not move it.
async fn local_dates_follow_the_users_zone() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("east", "east", "Pacific/Kiritimati").await; // UTC+14
    app.create_user("west", "west", "Pacific/Pago_Pago").await; // UTC−11
    app.create_user("india", "india", "Asia/Kolkata").await; // UTC+5:30
    app.ingest(vec![
        segment("a", "east", "2026-06-09T09:59:00Z", 1), // 23:59 on the 9th
        segment("b", "east", "2026-06-09T10:01:00Z", 2), // 00:01 on the 10th
        segment("c", "west", "2026-06-10T10:59:00Z", 3), // 23:59 on the 9th
        segment("d", "west", "2026-06-10T11:01:00Z", 4), // 00:01 on the 10th
        segment("e", "india", "2026-06-09T18:29:00Z", 5), // 23:59 on the 9th
        segment("f", "india", "2026-06-09T18:31:00Z", 6), // 00:01 on the 10th
    ])
    .await;
    let rows = app
        .db()
        .await
        .query(
            "select user_id, local_date::text, xp_segments from daily_rollup order by user_id, local_date",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, i32)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    let want = [
        ("east", "2026-06-09", 1),
        ("east", "2026-06-10", 2),
        ("india", "2026-06-09", 5),
        ("india", "2026-06-10", 6),
        ("west", "2026-06-09", 3),
        ("west", "2026-06-10", 4),
    ];
    assert_eq!(got, want.map(|(u, d, x)| (u.to_owned(), d.to_owned(), x)));

    // East moves from UTC+14 to UTC−11: its past days stay where they were,
    // and a new event is dated in the new zone.
    app.users()
        .upsert_user(app.as_service(pb::UpsertUserRequest {
            user_id: "east".into(),
            username: "east".into(),
            email: "east@example.org".into(),
            display_name: "Learner east".into(),
            timezone: "Pacific/Pago_Pago".into(),
            public_profile: None,
        }))
        .await
        .unwrap();
    app.ingest(vec![segment("g", "east", "2026-06-10T10:01:00Z", 7)]).await; // 23:01 on the 9th in UTC−11
    let east: Vec<(String, i32)> = app
        .db()
        .await
        .query("select local_date::text, xp_segments from daily_rollup where user_id = 'east' order by local_date", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(east, vec![("2026-06-09".to_owned(), 1 + 7), ("2026-06-10".to_owned(), 2)]);
}

#[tokio::test]
/// An id repeated inside a batch shares the fate of its first copy.
async fn repeats_inside_a_batch_share_the_first_copys_fate() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "repeats", "UTC").await;
    app.ingest(vec![segment("stored", "u1", "2026-06-10T09:00:00Z", 10)]).await;
    let other = segment("stored", "u1", "2026-06-10T09:00:00Z", 99);
    let fresh = segment("fresh", "u1", "2026-06-10T10:00:00Z", 5);
    let fresh_changed = segment("fresh", "u1", "2026-06-10T10:00:00Z", 6);
    let report = app.ingest(vec![other.clone(), other, fresh.clone(), fresh_changed, fresh]).await;
    assert_eq!((report.accepted, report.duplicates), (1, 1));
    let rejected: Vec<(i32, &str)> = report.rejected.iter().map(|r| (r.index, r.reason.as_str())).collect();
    assert_eq!(rejected, vec![(0, "conflict"), (1, "conflict"), (3, "conflict")]);
    assert_eq!(app.stats("u1").await.total_xp, 15);
}

#[tokio::test]
/// A write that fails after the events are inserted (a day's roll-up at the
/// integer limit) rolls the whole batch back, the failed transactions'
/// connections leave the pool, and the next batch is stored.
async fn failed_write_rolls_back_the_batch() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "overflow", "UTC").await;
    app.ingest(vec![segment("seed", "u1", "2026-06-09T12:00:00Z", 10)]).await;
    app.db()
        .await
        .execute("update daily_rollup set xp_segments = 2147483000 where user_id = 'u1'", &[])
        .await
        .unwrap();
    let snapshot = || async {
        let client = app.db().await;
        let row = client
            .query_one(
                "select (select count(*) from activity_event), (select total_xp from user_stats where user_id = 'u1'), \
                 (select xp::text from monthly_rollup where user_id = 'u1')",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0), row.get::<_, i64>(1), row.get::<_, String>(2))
    };
    let before = snapshot().await;
    // More failures than the pool has connections.
    for attempt in 0..40 {
        let request = pb::IngestEventsRequest {
            events: vec![segment(&format!("over-{attempt}"), "u1", "2026-06-09T13:00:00Z", 1000)],
        };
        let status = app.activity().ingest_events(app.as_service(request)).await.unwrap_err();
        assert_eq!(status.code(), Code::Internal, "{status:?}");
    }
    assert_eq!(snapshot().await, before, "nothing of a failed batch is stored");
    let report = app.ingest(vec![segment("next", "u1", "2026-06-10T10:00:00Z", 7)]).await;
    assert_eq!(report.accepted, 1);
    assert_eq!(app.stats("u1").await.total_xp, 17);
}

#[tokio::test]
/// One batch over twenty months (more writes than travel with the COMMIT at
/// once) lands whole: every month row matches its days, in UTC−11.
async fn batch_over_many_months() {
    let zone = "Pacific/Pago_Pago";
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "archive", zone).await;
    let events: Vec<pb::ActivityEvent> = (0..20)
        .flat_map(|index| {
            let month = chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap() + chrono::Months::new(index);
            let last_day = (month + chrono::Months::new(1)).pred_opt().unwrap();
            [
                segment(&format!("s{index}"), "u1", &local_instant(zone, &format!("{month}T00:05")), 10),
                session(&format!("l{index}"), "u1", &local_instant(zone, &format!("{last_day}T23:55")), 60),
            ]
        })
        .collect();
    let report = app.ingest(events).await;
    assert_eq!((report.accepted, report.rejected.len()), (40, 0));
    assert_monthly_matches_daily(&app).await;
    let months: i64 = app
        .db()
        .await
        .query_one("select count(*) from monthly_rollup where user_id = 'u1'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(months, 20);
    assert_eq!(app.stats("u1").await.total_xp, 200);
    let request = pb::GetLearningTimeRequest { from: "2025-02-01".into(), to: "2025-02-28".into() };
    let february = app.analytics().get_learning_time(app.as_user("u1", request)).await.unwrap().into_inner();
    let days: Vec<(&str, i32)> =
        february.daily_breakdown.iter().map(|d| (d.date.as_str(), d.learning_time)).collect();
    assert_eq!(days, vec![("2025-02-28", 60)]);
}
