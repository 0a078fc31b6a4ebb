//! Demo data for local development (`xentree demo-data`): a few learners in
//! time zones far apart, with months of history, boosters, tokens and freezes.
//!
//! Every write settles the streak up to *yesterday by the server clock*, so
//! events ingested today with past timestamps never build a streak. History
//! is therefore replayed day by day through the real services with a
//! [`ManualClock`] set to each event's day, exactly as if the learners had
//! been using the product all along. The data is pseudo-random but
//! deterministic: the same `--days` on the same date gives the same history.

use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Datelike as _, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::cache::Cache;
use crate::proto as pb;
use crate::state::AppState;
use crate::time::{ManualClock, format_instant, local_date};
use crate::user::rules::{NewBooster, NewUser};

/// The demo learners: (user_id, username, display name, time zone, chance of learning on a day).
pub const LEARNERS: [(&str, &str, &str, &str, f64); 4] = [
    ("demo-ada", "ada", "Ada (Kiritimati)", "Pacific/Kiritimati", 0.92),
    ("demo-lin", "lin", "Lin (Los Angeles)", "America/Los_Angeles", 0.65),
    ("demo-priya", "priya", "Priya (Kolkata)", "Asia/Kolkata", 0.85),
    ("demo-jonas", "jonas", "Jonas (Berlin)", "Europe/Berlin", 0.75),
];

/// Where the demo data goes, from the same environment as `xentree serve`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// PostgreSQL, the store of record.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Redis, whose cached entries of the demo users are dropped after loading.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379/0")]
    pub redis_url: String,
    /// Prefix of every Redis key.
    #[arg(long, env = "XENTREE_CACHE_PREFIX", default_value = "xentree")]
    pub cache_prefix: String,
    /// HS256 secret that signs the printed demo JWT (the server's).
    #[arg(long, env = "XENTREE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,
    /// Days of history to replay, ending today.
    #[arg(long, default_value_t = 120)]
    pub days: u32,
    /// The user the printed JWT acts as.
    #[arg(long, default_value = "demo-ada")]
    pub token_user: String,
}

/// Migrates, loads the demo learners unless they exist already, and prints
/// a summary; the last line of stdout is a JWT for `token_user` valid 30 days.
pub async fn run(args: &DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.jwt_secret.len() >= 8, "XENTREE_JWT_SECRET: at least 8 characters are needed");
    let db = crate::db::connect(&args.database_url, 4, std::time::Duration::from_secs(5))?;
    crate::db::migrate(&db).await?;
    let cache = Cache::connect(&args.redis_url, &args.cache_prefix)?;
    let now = Utc::now();
    let clock = ManualClock::new(now);
    let state = AppState { db, cache, clock: clock.clone() };

    let existing = crate::user::store::find(&state.db.get().await?, LEARNERS[0].0).await?;
    if existing.is_some() {
        println!("demo learners already loaded; keeping their history");
    } else {
        load(&state, &clock, args.days, now).await?;
        println!("loaded {} days of history for {} learners", args.days, LEARNERS.len());
    }
    clock.set(now);
    for (user_id, username, _, zone, _) in LEARNERS {
        let view = crate::streak::status(&state, user_id).await?;
        println!(
            "  {username:<6} {user_id:<11} {zone:<20} streak {:>3} (longest {:>3}), freezes {}",
            view.current_streak, view.longest_streak, view.freezes_available
        );
    }
    let expires = (now + Duration::days(30)).timestamp();
    println!("{}", crate::auth::sign_user_token(&args.jwt_secret, &args.token_user, expires, None));
    Ok(())
}

/// Replays `days` days of history ending at `now` for every demo learner,
/// moving `clock` (which `state` reads) to each day as it goes.
pub async fn load(
    state: &AppState,
    clock: &Arc<ManualClock>,
    days: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for (user_id, username, display_name, zone_name, _) in LEARNERS {
        let timezone: Tz = zone_name.parse().map_err(|_| anyhow::anyhow!("zone {zone_name}"))?;
        let first_day = local_date(now, timezone) - Days::new(u64::from(days));
        clock.set(day_start(first_day, timezone) + Duration::hours(8));
        let user = NewUser {
            user_id: (*user_id).to_owned(),
            username: (*username).to_owned(),
            email: format!("{username}@demo.example.org"),
            display_name: (*display_name).to_owned(),
            timezone,
            public_profile: true,
        };
        crate::user::upsert(state, user).await.with_context(|| format!("creating {user_id}"))?;
        let grant = pb::GrantTokensRequest {
            user_id: (*user_id).to_owned(),
            amount: 350,
            reason: "demo welcome".into(),
        };
        crate::user::grant_tokens(state, &grant).await?;
        // A freeze held from the start protects the first missed day.
        crate::streak::buy_freeze(state, user_id).await?;
    }

    let today_by_user: Vec<NaiveDate> =
        LEARNERS.iter().map(|learner| local_date(now, learner.3.parse().expect("demo zone"))).collect();
    for day_offset in (0..=days).rev() {
        for (index, (user_id, _, _, zone_name, chance)) in LEARNERS.iter().enumerate() {
            let timezone: Tz = zone_name.parse().expect("demo zone");
            let date = today_by_user[index] - Days::new(u64::from(day_offset));
            if day_offset == days / 3 {
                // A morning booster: that day's events earn 1.5× XP.
                clock.set(day_start(date, timezone) + Duration::hours(7));
                let booster = NewBooster { multiplier: 1.5, duration_seconds: 6 * 3600 };
                crate::user::start_booster(state, user_id, booster).await?;
            }
            replay_day(state, clock, user_id, timezone, date, *chance, index as u64, now).await?;
            if day_offset == days / 2 {
                // Restock mid-history; refused (and nothing charged) when two are held.
                clock.set(day_start(date, timezone) + Duration::hours(23));
                let _ = crate::streak::buy_freeze(state, user_id).await;
            }
        }
    }

    // One learner has a booster running right now, visible in the profile.
    clock.set(now);
    let booster = NewBooster { multiplier: 2.0, duration_seconds: 2 * 3600 };
    crate::user::start_booster(state, LEARNERS[0].0, booster).await?;
    Ok(())
}

/// Replays one local day of one learner: the clock moves to just after the
/// day's last event, then the day's events are ingested as one batch.
#[allow(clippy::too_many_arguments)]
async fn replay_day(
    state: &AppState,
    clock: &ManualClock,
    user_id: &str,
    timezone: Tz,
    date: NaiveDate,
    chance: f64,
    seed: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut random =
        SplitMix(seed.wrapping_mul(1_000_003) ^ u64::from(date.num_days_from_ce().unsigned_abs()));
    let learns = random.unit() < chance;
    let start = day_start(date, timezone);
    let mut events = Vec::new();
    let mut minute = 7 * 60 + random.below(180);
    let mut push = |event: pb::ActivityEvent, minute: u64| {
        let occurred_at = start + Duration::minutes(minute as i64);
        // Today is not over: only what has already happened.
        if occurred_at < now - Duration::minutes(1) {
            events.push((occurred_at, event));
        }
    };
    let id = |n: usize| format!("demo-{user_id}-{date}-{n}");
    if learns {
        for _ in 0..1 + random.below(4) {
            let xp = 10 + random.below(50) as i32;
            let event = pb::ActivityEvent {
                event_id: String::new(),
                r#type: "segment_completed".into(),
                xp,
                ..Default::default()
            };
            push(event, minute);
            minute += 5 + random.below(40);
        }
        for _ in 0..random.below(3) {
            let event = pb::ActivityEvent {
                event_id: String::new(),
                r#type: "quiz_completed".into(),
                xp: 20 + random.below(30) as i32,
                passed: random.unit() < 0.8,
                ..Default::default()
            };
            push(event, minute);
            minute += 5 + random.below(20);
        }
    }
    for _ in 0..random.below(if learns { 3 } else { 2 }) {
        let event = pb::ActivityEvent {
            event_id: String::new(),
            r#type: "learning_session".into(),
            duration_seconds: 300 + random.below(2400) as i32,
            ..Default::default()
        };
        push(event, minute);
        minute += 10 + random.below(60);
    }
    if events.is_empty() {
        return Ok(());
    }
    let last = events.iter().map(|(occurred_at, _)| *occurred_at).max().expect("events");
    clock.set((last + Duration::minutes(1)).min(now));
    let batch: Vec<pb::ActivityEvent> = events
        .into_iter()
        .enumerate()
        .map(|(n, (occurred_at, event))| pb::ActivityEvent {
            event_id: id(n),
            user_id: user_id.to_owned(),
            occurred_at: format_instant(occurred_at),
            ..event
        })
        .collect();
    let report = crate::activity::ingest(state, batch).await?;
    anyhow::ensure!(report.rejected.is_empty(), "demo events rejected: {:?}", report.rejected);
    Ok(())
}

/// The first instant of a local date (the first existing local time on a DST day).
fn day_start(date: NaiveDate, timezone: Tz) -> DateTime<Utc> {
    let previous = date.pred_opt().expect("a date after year 1");
    crate::time::start_of_next_day(previous, timezone)
}

/// A small deterministic generator (SplitMix64): the same seed, the same history.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `[0, bound)`.
    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}
