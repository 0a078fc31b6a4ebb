use tonic::Code;
use xentree::proto as pb;

use crate::helpers::*;

async fn learning_time(
    app: &TestApp,
    user_id: &str,
    from: &str,
    to: &str,
) -> Result<pb::LearningTime, tonic::Status> {
    let request = pb::GetLearningTimeRequest { from: from.into(), to: to.into() };
    app.analytics().get_learning_time(app.as_user(user_id, request)).await.map(tonic::Response::into_inner)
}

fn days_xp(week: &pb::WeeklyActivity) -> Vec<(&str, i32)> {
    week.days.iter().map(|day| (day.date.as_str(), day.xp)).collect()
}

#[tokio::test]
/// A brand-new user reads all zeros, 365 empty days and empty lists.
async fn brand_new_user_reads_zeros() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "newbie", "UTC").await;

    let profile = profile(&app, "u1").await;
    assert_eq!(
        profile,
        pb::Profile {
            user_id: "u1".into(),
            username: "newbie".into(),
            display_name: "Learner newbie".into(),
            timezone: "UTC".into(),
            total_xp: 0,
            level: 1,
            xp_into_level: 0,
            xp_to_next_level: 100,
            next_level_xp: 100,
            current_streak: 0,
            longest_streak: 0,
            token_balance: 0,
            active_booster: None,
            today_xp: Some(pb::TodayXp { segments: 0, quizzes: 0, total: 0 }),
        }
    );
    assert_eq!(
        streak(&app, "u1").await,
        pb::StreakStatus { today: "2026-06-10".into(), ..Default::default() }
    );
    let week = weekly(&app, "u1").await;
    assert_eq!(
        (week.week_start.as_str(), week.week_end.as_str(), week.total_xp),
        ("2026-06-07", "2026-06-13", 0)
    );
    assert_eq!(
        days_xp(&week),
        [7, 8, 9, 10, 11, 12, 13]
            .map(|d| (format!("2026-06-{d:02}"), 0))
            .iter()
            .map(|(d, x)| (d.as_str(), *x))
            .collect::<Vec<_>>()
    );
    assert!(week.freeze_covered_dates.is_empty());
    let pulse = pulse(&app, "u1").await;
    assert_eq!(
        (pulse.start_date.as_str(), pulse.end_date.as_str(), pulse.days.len()),
        ("2025-06-11", "2026-06-10", 365)
    );
    assert!(pulse.days.iter().all(|day| day.level == 0 && day.xp_earned == 0 && day.sessions == 0));
    assert_eq!(
        (pulse.total_learning_time, pulse.total_sessions, pulse.total_quizzes, pulse.total_quizzes_passed),
        (0, 0, 0, 0)
    );
    assert_eq!(learning_time(&app, "u1", "", "").await.unwrap(), pb::LearningTime::default());
}

/// Learns either side of local midnight, then reads "today" from the user's zone.
async fn midnight_reads(zone: &str) {
    let app = spawn_app_at(&local_instant(zone, "2026-03-09T00:10")).await;
    app.create_user("u1", "nightowl", zone).await;
    let report = app
        .ingest(vec![
            segment("late", "u1", &local_instant(zone, "2026-03-08T23:55"), 10),
            segment("early", "u1", &local_instant(zone, "2026-03-09T00:05"), 20),
            quiz("quiz", "u1", &local_instant(zone, "2026-03-09T00:06"), 7, true),
        ])
        .await;
    assert_eq!(report.accepted, 3, "{zone}");
    let profile = profile(&app, "u1").await;
    assert_eq!(profile.today_xp, Some(pb::TodayXp { segments: 20, quizzes: 7, total: 27 }), "{zone}");
    assert_eq!((profile.total_xp, profile.current_streak, profile.level), (37, 1, 1), "{zone}");
    let week = weekly(&app, "u1").await;
    assert_eq!(week.week_start, "2026-03-08", "{zone}");
    assert_eq!(&days_xp(&week)[..3], &[("2026-03-08", 10), ("2026-03-09", 27), ("2026-03-10", 0)], "{zone}");
    let status = streak(&app, "u1").await;
    assert_eq!(
        (status.today.as_str(), status.last_activity.as_str()),
        ("2026-03-09", "2026-03-09"),
        "{zone}"
    );
    let pulse = pulse(&app, "u1").await;
    assert_eq!(pulse.end_date, "2026-03-09", "{zone}");
    let last_two: Vec<(&str, i32, i32)> =
        pulse.days[363..].iter().map(|d| (d.date.as_str(), d.xp_earned, d.level)).collect();
    assert_eq!(last_two, vec![("2026-03-08", 10, 2), ("2026-03-09", 27, 4)], "{zone}");
}

#[tokio::test]
/// Local midnight in UTC+14.
async fn midnight_reads_kiritimati() {
    midnight_reads("Pacific/Kiritimati").await;
}

#[tokio::test]
/// Local midnight in UTC−11.
async fn midnight_reads_pago_pago() {
    midnight_reads("Pacific/Pago_Pago").await;
}

#[tokio::test]
/// Local midnight the day after the spring DST change.
async fn midnight_reads_los_angeles() {
    midnight_reads("America/Los_Angeles").await;
}

#[tokio::test]
/// Local midnight at a half-hour offset.
async fn midnight_reads_kolkata() {
    midnight_reads("Asia/Kolkata").await;
}

#[tokio::test]
/// A week spanning a month end shows stored and pending freeze-covered dates,
/// then the streak breaks when the freezes run out.
async fn weekly_freezes_and_broken_streak() {
    let app = spawn_app_at("2026-05-31T08:00:00Z").await;
    app.create_user("u1", "weekly", "UTC").await;
    app.users()
        .grant_tokens(app.as_service(pb::GrantTokensRequest {
            user_id: "u1".into(),
            amount: 200,
            reason: "gift".into(),
        }))
        .await
        .unwrap();
    for _ in 0..2 {
        app.streaks().buy_streak_freeze(app.as_user("u1", pb::BuyStreakFreezeRequest {})).await.unwrap();
    }
    for day in ["2026-05-31", "2026-06-01", "2026-06-03"] {
        app.set_now(&format!("{day}T09:00:00Z"));
        app.ingest(vec![segment(day, "u1", &format!("{day}T08:30:00Z"), 10)]).await;
    }
    app.set_now("2026-06-05T10:00:00Z");
    let week = weekly(&app, "u1").await;
    assert_eq!(
        (week.week_start.as_str(), week.week_end.as_str(), week.total_xp),
        ("2026-05-31", "2026-06-06", 30)
    );
    assert_eq!(
        days_xp(&week),
        vec![
            ("2026-05-31", 10),
            ("2026-06-01", 10),
            ("2026-06-02", 0),
            ("2026-06-03", 10),
            ("2026-06-04", 0),
            ("2026-06-05", 0),
            ("2026-06-06", 0)
        ]
    );
    // 06-02 was covered when 06-03's event settled it; 06-04 is covered by the read's settlement.
    assert_eq!(week.freeze_covered_dates, vec!["2026-06-02", "2026-06-04"]);
    let status = streak(&app, "u1").await;
    assert_eq!(
        (status.current_streak, status.freezes_available, status.freezes_used, status.streak_at_risk),
        (3, 0, 2, true)
    );

    app.set_now("2026-06-07T10:00:00Z");
    let status = streak(&app, "u1").await;
    assert_eq!(
        status,
        pb::StreakStatus {
            current_streak: 0,
            longest_streak: 3,
            freezes_available: 0,
            freezes_used: 2,
            last_activity: "2026-06-03".into(),
            streak_at_risk: false,
            today: "2026-06-07".into(),
        }
    );
    assert_eq!(profile(&app, "u1").await.current_streak, 0);
    let next_week = weekly(&app, "u1").await;
    assert_eq!(next_week.week_start, "2026-06-07");
    assert!(next_week.freeze_covered_dates.is_empty());
}

#[tokio::test]
/// Heatmap levels follow max(1, ceil(4·xp/M)) over the 365-day window only.
async fn pulse_levels_on_known_history() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "heat", "UTC").await;
    app.ingest(vec![
        segment("outside", "u1", "2025-06-10T12:00:00Z", 1000), // a day before the window
        segment("first", "u1", "2025-06-11T12:00:00Z", 50),
        session("sess", "u1", "2026-06-05T12:00:00Z", 1800),
        segment("d6", "u1", "2026-06-06T12:00:00Z", 76),
        segment("d7", "u1", "2026-06-07T12:00:00Z", 51),
        segment("d8", "u1", "2026-06-08T12:00:00Z", 26),
        quiz("d9a", "u1", "2026-06-09T12:00:00Z", 20, true),
        quiz("d9b", "u1", "2026-06-09T13:00:00Z", 5, false),
        segment("d10", "u1", "2026-06-10T11:00:00Z", 100),
    ])
    .await;
    assert_monthly_matches_daily(&app).await;
    let pulse = pulse(&app, "u1").await;
    assert_eq!(pulse.days.len(), 365);
    assert_eq!(
        (pulse.days[0].date.as_str(), pulse.days[0].xp_earned, pulse.days[0].level),
        ("2025-06-11", 50, 2)
    );
    let tail: Vec<(&str, i32, i32)> =
        pulse.days[359..].iter().map(|d| (d.date.as_str(), d.xp_earned, d.level)).collect();
    assert_eq!(
        tail,
        vec![
            ("2026-06-05", 0, 1),
            ("2026-06-06", 76, 4),
            ("2026-06-07", 51, 3),
            ("2026-06-08", 26, 2),
            ("2026-06-09", 25, 1),
            ("2026-06-10", 100, 4),
        ]
    );
    let quiz_day = &pulse.days[363];
    assert_eq!((quiz_day.quizzes, quiz_day.quizzes_passed), (2, 1));
    let active = pulse.days.iter().filter(|day| day.level > 0).count();
    assert_eq!(active, 7);
    assert_eq!(
        (pulse.total_learning_time, pulse.total_sessions, pulse.total_quizzes, pulse.total_quizzes_passed),
        (1800, 1, 2, 1)
    );
}

#[tokio::test]
/// Analytics read month rows: days across month and year ends, a leap day and
/// ranges that cut months are counted by the user's local date (UTC+14).
async fn learning_time_across_months() {
    let zone = "Pacific/Kiritimati";
    let app = spawn_app_at("2026-03-05T12:00:00Z").await;
    app.create_user("u1", "months", zone).await;
    app.ingest(vec![
        session("leap", "u1", &local_instant(zone, "2024-02-29T23:50"), 60),
        session("eve", "u1", &local_instant(zone, "2025-12-31T23:50"), 100),
        session("new-year", "u1", &local_instant(zone, "2026-01-01T00:10"), 200),
        session("feb-end", "u1", &local_instant(zone, "2026-02-28T12:00"), 300),
        session("march", "u1", &local_instant(zone, "2026-03-01T00:00"), 400),
        session("march-2", "u1", &local_instant(zone, "2026-03-01T08:00"), 500),
    ])
    .await;
    assert_monthly_matches_daily(&app).await;
    let days = |answer: &pb::LearningTime| -> Vec<(String, i32, i32)> {
        answer.daily_breakdown.iter().map(|d| (d.date.clone(), d.learning_time, d.sessions)).collect()
    };
    let day = |date: &str, seconds, sessions| (date.to_owned(), seconds, sessions);
    let all = learning_time(&app, "u1", "", "").await.unwrap();
    assert_eq!(
        days(&all),
        vec![
            day("2024-02-29", 60, 1),
            day("2025-12-31", 100, 1),
            day("2026-01-01", 200, 1),
            day("2026-02-28", 300, 1),
            day("2026-03-01", 900, 2),
        ]
    );
    assert_eq!((all.total_learning_time, all.total_sessions, all.avg_session_length), (1560, 6, 260));
    let winter = learning_time(&app, "u1", "2025-12-31", "2026-02-28").await.unwrap();
    assert_eq!(
        days(&winter),
        vec![day("2025-12-31", 100, 1), day("2026-01-01", 200, 1), day("2026-02-28", 300, 1)]
    );
    let gap = learning_time(&app, "u1", "2026-01-02", "2026-02-27").await.unwrap();
    assert_eq!(gap, pb::LearningTime::default());
    let leap_month = learning_time(&app, "u1", "2024-02-01", "2024-03-31").await.unwrap();
    assert_eq!(days(&leap_month), vec![day("2024-02-29", 60, 1)]);
}

/// The pulse's year when the user's date is in another month than UTC's.
async fn pulse_across_month_end(zone: &str, now: &str, first: &str, last: &str) {
    let app = spawn_app_at(now).await;
    app.create_user("u1", "edge", zone).await;
    let wall = |date: &str| local_instant(zone, &format!("{date}T12:00"));
    let before =
        (chrono::NaiveDate::parse_from_str(first, "%Y-%m-%d").unwrap() - chrono::Days::new(1)).to_string();
    app.ingest(vec![
        segment("before", "u1", &wall(&before), 1000),
        segment("first", "u1", &wall(first), 10),
        session("last", "u1", &local_instant(zone, &format!("{last}T00:30")), 60),
    ])
    .await;
    let pulse = pulse(&app, "u1").await;
    assert_eq!(
        (pulse.start_date.as_str(), pulse.end_date.as_str(), pulse.days.len()),
        (first, last, 365),
        "{zone}"
    );
    let ends = [&pulse.days[0], &pulse.days[364]];
    assert_eq!(
        ends.map(|d| (d.date.as_str(), d.xp_earned, d.learning_time, d.level)),
        [(first, 10, 0, 4), (last, 0, 60, 1)],
        "{zone}"
    );
    assert_eq!(pulse.total_learning_time, 60, "{zone}");
}

#[tokio::test]
/// In UTC+14 the local 1 July starts while UTC is still in June.
async fn pulse_across_month_end_kiritimati() {
    pulse_across_month_end("Pacific/Kiritimati", "2026-06-30T12:00:00Z", "2025-07-02", "2026-07-01").await;
}

#[tokio::test]
/// In UTC−11 the local 30 June lasts while UTC is already in July.
async fn pulse_across_month_end_pago_pago() {
    pulse_across_month_end("Pacific/Pago_Pago", "2026-07-01T05:00:00Z", "2025-07-01", "2026-06-30").await;
}

#[tokio::test]
/// Reads for a user id no one registered are NOT_FOUND, not empty answers.
async fn unknown_user_reads_not_found() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    let pulse = app.xp().get_learning_pulse(app.as_user("ghost", pb::GetLearningPulseRequest {})).await;
    assert_eq!(pulse.unwrap_err().code(), Code::NotFound);
    assert_eq!(learning_time(&app, "ghost", "", "").await.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
/// Analytics: all time, one day, a range, an open end, and refused ranges.
async fn learning_time_filters() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "analyst", "Asia/Kolkata").await;
    app.ingest(vec![
        session("a", "u1", "2026-06-01T04:00:00Z", 600),
        session("b", "u1", "2026-06-01T18:29:00Z", 300), // 23:59 local on 06-01
        session("c", "u1", "2026-06-02T18:31:00Z", 1200), // 00:01 local on 06-03
        segment("d", "u1", "2026-06-02T06:00:00Z", 40),  // no session on 06-02
        session("e", "u1", "2026-06-05T06:00:00Z", 901),
    ])
    .await;
    let all = learning_time(&app, "u1", "", "").await.unwrap();
    assert_eq!((all.total_learning_time, all.total_sessions, all.avg_session_length), (3001, 4, 750));
    let breakdown: Vec<(&str, i32, i32)> =
        all.daily_breakdown.iter().map(|d| (d.date.as_str(), d.learning_time, d.sessions)).collect();
    assert_eq!(breakdown, vec![("2026-06-01", 900, 2), ("2026-06-03", 1200, 1), ("2026-06-05", 901, 1)]);

    let single = learning_time(&app, "u1", "2026-06-03", "2026-06-03").await.unwrap();
    assert_eq!(
        (
            single.total_learning_time,
            single.total_sessions,
            single.avg_session_length,
            single.daily_breakdown.len()
        ),
        (1200, 1, 1200, 1)
    );
    let range = learning_time(&app, "u1", "2026-06-02", "2026-06-04").await.unwrap();
    assert_eq!((range.total_learning_time, range.daily_breakdown.len()), (1200, 1));
    let open = learning_time(&app, "u1", "2026-06-03", "").await.unwrap();
    assert_eq!((open.total_learning_time, open.total_sessions, open.avg_session_length), (2101, 2, 1051));
    let until = learning_time(&app, "u1", "", "2026-06-01").await.unwrap();
    assert_eq!(until.total_learning_time, 900);
    let empty = learning_time(&app, "u1", "2026-06-02", "2026-06-02").await.unwrap();
    assert_eq!(empty, pb::LearningTime::default());

    for (from, to, field) in
        [("2026-06-05", "2026-06-01", "from"), ("2026-02-30", "", "from"), ("", "06/01/2026", "to")]
    {
        let status = learning_time(&app, "u1", from, to).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with(&format!("{field}:")), "{}", status.message());
    }
    let narrow =
        xentree::auth::sign_user_token(JWT_SECRET, "u1", app.clock_now().timestamp() + 60, Some("xp:read"));
    let denied = app
        .analytics()
        .get_learning_time(with_bearer(pb::GetLearningTimeRequest::default(), &narrow))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test]
/// Public profiles show public-safe fields; private and unknown users are the same 404.
async fn public_profiles() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "Visible", "UTC").await;
    app.ingest(vec![segment("e", "u1", "2026-06-10T11:00:00Z", 150)]).await;
    app.users()
        .upsert_user(app.as_service(pb::UpsertUserRequest {
            user_id: "u2".into(),
            username: "hidden".into(),
            email: "hidden@example.org".into(),
            display_name: "Hidden".into(),
            timezone: "UTC".into(),
            public_profile: Some(false),
        }))
        .await
        .unwrap();
    let public = app
        .xp()
        .get_public_profile(pb::GetPublicProfileRequest { username: "visible".into() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        public,
        pb::PublicProfile {
            username: "Visible".into(),
            display_name: "Learner Visible".into(),
            total_xp: 150,
            level: 2,
            current_streak: 1,
            longest_streak: 1,
        }
    );
    let private = app
        .xp()
        .get_public_profile(pb::GetPublicProfileRequest { username: "hidden".into() })
        .await
        .unwrap_err();
    let unknown = app
        .xp()
        .get_public_profile(pb::GetPublicProfileRequest { username: "nobody".into() })
        .await
        .unwrap_err();
    assert_eq!((private.code(), unknown.code()), (Code::NotFound, Code::NotFound));
    assert_eq!(private.message(), unknown.message());
}

#[tokio::test]
/// The profile shows the active booster until it ends, and levels from XP.
async fn profile_booster_and_levels() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "boost", "Europe/Berlin").await;
    app.users()
        .start_booster(app.as_service(pb::StartBoosterRequest {
            user_id: "u1".into(),
            multiplier: 2.0,
            duration_seconds: 900,
        }))
        .await
        .unwrap();
    app.ingest(vec![segment("e", "u1", "2026-06-10T12:01:00Z", 160)]).await;
    let boosted = profile(&app, "u1").await;
    assert_eq!(
        boosted.active_booster,
        Some(pb::ActiveBooster { multiplier: 2.0, ends_at: "2026-06-10T12:15:00Z".into() })
    );
    assert_eq!(
        (
            boosted.total_xp,
            boosted.level,
            boosted.xp_into_level,
            boosted.xp_to_next_level,
            boosted.next_level_xp
        ),
        (320, 3, 20, 280, 600)
    );
    app.set_now("2026-06-10T12:15:00Z");
    assert_eq!(profile(&app, "u1").await.active_booster, None);
}
