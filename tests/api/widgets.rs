//! The embeddable widgets (`web/`) in headless Chromium against the real
//! server and Envoy: a learner with a year of history is seeded here, then
//! `web/test/browser.test.mjs` drives the demo page and compares what it shows
//! with the values below and with the REST API. Screenshots land in
//! `test-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Days, NaiveDate};
use serde_json::json;
use xentree::proto as pb;

use crate::envoy::Envoy;
use crate::helpers::*;

const ZONE: &str = "America/New_York";
const CHROMIUM: &str = "/usr/bin/chromium";

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether Debian's Chromium is there; a bare `cargo test` tries to install
/// it once (scripts/test already has).
fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
    };
    apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "chromium"]) && Path::new(CHROMIUM).exists()
}

/// The web package's npm dependencies, from its lock file.
fn ensure_web_dependencies() {
    let web = repo_root().join("web");
    if web.join("node_modules/.package-lock.json").exists() {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(&web)
        .status()
        .expect("run npm (install nodejs and npm; scripts/test does)");
    assert!(status.success(), "npm ci --prefix web failed");
}

/// Largest level whose threshold 50·(L−1)·L the total reaches.
fn level_for(total_xp: i32) -> i32 {
    (1..).take_while(|level| 50 * (level - 1) * level <= total_xp).last().unwrap_or(1)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("date")
}

/// One day of seeded activity: XP from a segment, optionally a quiz and a session.
struct SeedDay {
    date: NaiveDate,
    segment_xp: i32,
    quiz: Option<(i32, bool)>,
    session_seconds: Option<i32>,
}

impl SeedDay {
    fn xp(&self) -> i32 {
        self.segment_xp + self.quiz.map_or(0, |(xp, _)| xp)
    }
}

/// SplitMix64's finaliser: irregular-looking, but the same on every run.
fn scramble(seed: u64) -> u64 {
    let mut mixed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    mixed ^ (mixed >> 31)
}

/// A year of uneven history (runs of at most five days, so no streak
/// outlives it), then a 14-day streak ending on Wednesday 2026-06-10 with
/// Monday 2026-06-08 missed and covered by a freeze.
fn history() -> Vec<SeedDay> {
    let mut days = Vec::new();
    let mut run = 0;
    let mut day = date("2025-06-12");
    for index in 0u64.. {
        if day > date("2026-05-20") {
            break;
        }
        let roll = scramble(index) % 100;
        let active = roll < 55 && run < 5;
        run = if active { run + 1 } else { 0 };
        if active {
            let spread = i32::try_from(roll).expect("below 100");
            days.push(SeedDay {
                date: day,
                segment_xp: 10 + spread * 2,
                quiz: (index % 3 == 0).then_some((15, index % 2 == 0)),
                session_seconds: Some(600 + (spread % 5) * 300),
            });
        }
        day = day + Days::new(1);
    }
    let mut streak_day = date("2026-05-27");
    let mut position = 0;
    while streak_day <= date("2026-06-10") {
        if streak_day != date("2026-06-08") {
            days.push(SeedDay {
                date: streak_day,
                segment_xp: 30 + (position * 17) % 60,
                quiz: (position % 4 == 1).then_some((20, true)),
                session_seconds: Some(900 + position * 60),
            });
            position += 1;
        }
        streak_day = streak_day + Days::new(1);
    }
    days
}

fn events_for(user_id: &str, day: &SeedDay) -> Vec<pb::ActivityEvent> {
    let noon = local_instant(ZONE, &format!("{}T12:00", day.date));
    let afternoon = local_instant(ZONE, &format!("{}T15:00", day.date));
    let mut events = vec![segment(&format!("seg-{}", day.date), user_id, &noon, day.segment_xp)];
    if let Some((xp, passed)) = day.quiz {
        events.push(quiz(&format!("quiz-{}", day.date), user_id, &afternoon, xp, passed));
    }
    if let Some(seconds) = day.session_seconds {
        events.push(session(&format!("session-{}", day.date), user_id, &noon, seconds));
    }
    events
}

async fn upsert(app: &TestApp, user_id: &str, username: &str, display_name: &str, public: bool) {
    app.users()
        .upsert_user(app.as_service(pb::UpsertUserRequest {
            user_id: user_id.into(),
            username: username.into(),
            email: format!("{username}@example.org"),
            display_name: display_name.into(),
            timezone: ZONE.into(),
            public_profile: Some(public),
        }))
        .await
        .expect("upsert user");
}

/// Runs the browser suite and fails with its report unless every test passed.
fn run_browser_suite(envoy: &Envoy, app: &TestApp, token: &str, expected: &serde_json::Value) {
    let output = Command::new("node")
        .args(["--test", "--test-reporter=tap", "--test-timeout=180000", "web/test/browser.test.mjs"])
        .current_dir(repo_root())
        .env("XENTREE_WIDGETS_API_BASE", &envoy.base_url)
        .env("XENTREE_WIDGETS_GRPC_WEB_BASE", format!("http://{}", app.addr()))
        .env("XENTREE_WIDGETS_TOKEN", token)
        .env("XENTREE_WIDGETS_EXPECTED", expected.to_string())
        .env("XENTREE_WIDGETS_REQUIRED", "1")
        .output()
        .expect("run node (install nodejs; scripts/test does)");
    let report =
        format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "browser tests failed:\n{report}");
    // A suite that skipped itself also exits 0: insist that its tests ran.
    let passed = report
        .lines()
        .find_map(|line| line.strip_prefix("# pass "))
        .and_then(|count| count.trim().parse::<u32>().ok())
        .unwrap_or(0);
    assert!(report.contains("# fail 0") && passed >= 6, "browser tests did not all run:\n{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// The demo page shows the seeded learner's card, a week with a freeze-covered
/// day and today marked, a 365-day heatmap matching the API, and the same
/// friendly "not found" for a private and an unknown username.
async fn widgets_render_real_data_in_chromium() {
    if !chromium_available() {
        println!("skipped: {CHROMIUM} is not installed and `apt-get install chromium` failed");
        return;
    }
    ensure_web_dependencies();

    // Arrange: a year of history, lived day by day so the streak is settled as it would be.
    let app = spawn_app_at(&local_instant(ZONE, "2025-06-19T09:00")).await;
    upsert(&app, "learner-1", "ada_l", "Ada Lovelace", true).await;
    upsert(&app, "learner-2", "hidden_learner", "Hidden Learner", false).await;
    let days = history();
    for day in &days {
        app.set_now(&local_instant(ZONE, &format!("{}T16:00", day.date)));
        if day.date == date("2026-06-01") {
            // One freeze, held before the day it covers (2026-06-08).
            app.users()
                .grant_tokens(app.as_service(pb::GrantTokensRequest {
                    user_id: "learner-1".into(),
                    amount: 100,
                    reason: "widget demo".into(),
                }))
                .await
                .expect("grant tokens");
            app.streaks()
                .buy_streak_freeze(app.as_user("learner-1", pb::BuyStreakFreezeRequest {}))
                .await
                .expect("buy a freeze");
        }
        let report = app.ingest(events_for("learner-1", day)).await;
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }
    app.set_now(&local_instant(ZONE, "2026-06-10T18:00"));

    let total_xp: i32 = days.iter().map(SeedDay::xp).sum();
    let xp_on = |text: &str| days.iter().find(|day| day.date == date(text)).map_or(0, SeedDay::xp);
    let week: Vec<(String, i32)> = (7..=13)
        .map(|day_of_month| {
            let text = format!("2026-06-{day_of_month:02}");
            let xp = xp_on(&text);
            (text, xp)
        })
        .collect();
    let expected = json!({
        "username": "ada_l",
        "display_name": "Ada Lovelace",
        "private_username": "hidden_learner",
        "total_xp": total_xp,
        "level": level_for(total_xp),
        "current_streak": 14,
        "longest_streak": 14,
        "active_days": days.len(),
        "week": {
            "days": week,
            "total_xp": week.iter().map(|(_, xp)| xp).sum::<i32>(),
            "freeze_covered_dates": ["2026-06-08"],
            "today": "2026-06-10",
        },
    });
    // The seeding did what the browser test will look for (checked over gRPC,
    // so a failure here points at the data, not the widgets).
    let status = app
        .streaks()
        .get_streak_status(app.as_user("learner-1", pb::GetStreakStatusRequest {}))
        .await
        .expect("streak status")
        .into_inner();
    assert_eq!(
        (status.current_streak, status.longest_streak, status.freezes_used, status.today.as_str()),
        (14, 14, 1, "2026-06-10")
    );

    let envoy = Envoy::start(&app).await;
    let token = app.token("learner-1");

    // Act and assert: node drives Chromium against this runtime's server,
    // so wait for it off the runtime's threads.
    tokio::task::block_in_place(|| run_browser_suite(&envoy, &app, &token, &expected));
}
