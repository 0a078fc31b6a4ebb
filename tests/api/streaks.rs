use chrono_tz::Tz;
use tonic::Code;
use xentree::proto as pb;

use crate::helpers::*;

fn local(zone: Tz, wall: &str) -> String {
    local_instant(zone.name(), wall)
}

/// Learns a little at a local wall time, with the clock a minute later.
async fn learn(app: &TestApp, zone: Tz, id: &str, wall: &str) {
    let occurred = local(zone, wall);
    app.clock.set(at(&occurred) + chrono::Duration::minutes(1));
    let report = app.ingest(vec![segment(id, "u1", &occurred, 10)]).await;
    assert_eq!(report.accepted, 1, "{id}: {:?}", report.rejected);
}

/// The same week of learning, missed days, a freeze and a break, in one zone:
/// events minutes either side of local midnight, a DST change in the middle.
async fn streak_week(zone_name: &str) {
    let zone: Tz = zone_name.parse().unwrap();
    let app = spawn_app_at(&local(zone, "2026-03-06T08:00")).await;
    app.create_user("u1", "streaker", zone_name).await;
    app.users()
        .grant_tokens(app.as_service(pb::GrantTokensRequest {
            user_id: "u1".into(),
            amount: 100,
            reason: "gift".into(),
        }))
        .await
        .unwrap();
    let bought = app
        .streaks()
        .buy_streak_freeze(app.as_user("u1", pb::BuyStreakFreezeRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((bought.freezes_available, bought.token_balance), (1, 0));

    learn(&app, zone, "d1", "2026-03-06T23:58").await;
    learn(&app, zone, "d2", "2026-03-07T00:02").await;
    let stats = app.stats("u1").await;
    assert_eq!((stats.current, stats.last_learning_date.as_deref()), (2, Some("2026-03-07")), "{zone_name}");

    // 2026-03-08 (a DST day in Los Angeles) is missed; a read on it is not at
    // risk (the freeze would cover it), and the next day's read shows it covered.
    app.set_now(&local(zone, "2026-03-08T20:00"));
    let on_missed_day = streak(&app, "u1").await;
    assert_eq!(
        (on_missed_day.current_streak, on_missed_day.streak_at_risk, on_missed_day.today.as_str()),
        (2, false, "2026-03-08")
    );
    app.set_now(&local(zone, "2026-03-09T00:01"));
    let next_day = streak(&app, "u1").await;
    assert_eq!(
        (next_day.current_streak, next_day.freezes_available, next_day.freezes_used, next_day.streak_at_risk),
        (2, 0, 1, true)
    );

    learn(&app, zone, "d4", "2026-03-09T00:05").await;
    let stats = app.stats("u1").await;
    assert_eq!(
        (stats.current, stats.longest, stats.freezes_available, stats.freezes_used),
        (3, 3, 0, 1),
        "{zone_name}"
    );
    let covered: Vec<String> = app
        .db()
        .await
        .query("select local_date::text from freeze_day where user_id = 'u1'", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(covered, vec!["2026-03-08".to_owned()], "{zone_name}");

    // Two missed days with no freeze: a read shows the break before any write does.
    app.set_now(&local(zone, "2026-03-11T23:59"));
    let broken = streak(&app, "u1").await;
    assert_eq!(
        (broken.current_streak, broken.longest_streak, broken.streak_at_risk, broken.last_activity.as_str()),
        (0, 3, false, "2026-03-09")
    );

    learn(&app, zone, "d7", "2026-03-12T00:00").await;
    let stats = app.stats("u1").await;
    assert_eq!((stats.current, stats.longest, stats.freezes_used), (1, 3, 1), "{zone_name}");

    // A late event for a settled day adds XP but not streak.
    let report = app.ingest(vec![segment("late", "u1", &local(zone, "2026-03-10T12:00"), 10)]).await;
    assert_eq!(report.accepted, 1);
    let stats = app.stats("u1").await;
    assert_eq!(
        (stats.total_xp, stats.current, stats.last_learning_date.as_deref()),
        (50, 1, Some("2026-03-12")),
        "{zone_name}"
    );
}

#[tokio::test]
/// Streak transitions with a freeze in UTC+14.
async fn streak_week_in_kiritimati() {
    streak_week("Pacific/Kiritimati").await;
}

#[tokio::test]
/// Streak transitions with a freeze in UTC−11.
async fn streak_week_in_pago_pago() {
    streak_week("Pacific/Pago_Pago").await;
}

#[tokio::test]
/// Streak transitions with a freeze across the spring DST change.
async fn streak_week_in_los_angeles() {
    streak_week("America/Los_Angeles").await;
}

#[tokio::test]
/// Streak transitions with a freeze at a half-hour offset.
async fn streak_week_in_kolkata() {
    streak_week("Asia/Kolkata").await;
}

#[tokio::test]
/// Learning sessions and zero-XP events keep no streak alive.
async fn zero_xp_is_not_a_learning_day() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "idle", "UTC").await;
    app.ingest(vec![
        session("s1", "u1", "2026-06-10T09:00:00Z", 900),
        segment("z", "u1", "2026-06-10T10:00:00Z", 0),
    ])
    .await;
    let stats = app.stats("u1").await;
    assert_eq!((stats.current, stats.last_learning_date), (0, None));
}

#[tokio::test]
/// Freezes: at most 2 held, 100 tokens each; refusals charge nothing.
async fn freeze_purchase_limits() {
    let app = spawn_app().await;
    app.create_user("u1", "saver", "Europe/Berlin").await;
    let buy =
        || async { app.streaks().buy_streak_freeze(app.as_user("u1", pb::BuyStreakFreezeRequest {})).await };
    let short = buy().await.unwrap_err();
    assert_eq!(short.code(), Code::FailedPrecondition);
    app.users()
        .grant_tokens(app.as_service(pb::GrantTokensRequest {
            user_id: "u1".into(),
            amount: 350,
            reason: "gift".into(),
        }))
        .await
        .unwrap();
    assert_eq!(buy().await.unwrap().into_inner().freezes_available, 1);
    assert_eq!(buy().await.unwrap().into_inner().freezes_available, 2);
    let capped = buy().await.unwrap_err();
    assert_eq!(capped.code(), Code::FailedPrecondition);
    let stats = app.stats("u1").await;
    assert_eq!((stats.freezes_available, stats.token_balance), (2, 150));
}
