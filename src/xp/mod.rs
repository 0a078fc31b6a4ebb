//! XP: levels, boosters and the XP read API (profile, public profile, weekly
//! activity, learning pulse). Reads come from the roll-ups, one range scan
//! each (daily rows for a day or a week, monthly rows for the pulse's year);
//! the profile is cached until the user's next local midnight.

pub mod grpc;
pub mod rules;
pub mod store;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::activity::store::{DayRollup, MonthDay, rollups_between, zone_and_months_between};
use crate::error::{ApiError, ApiResult};
use crate::proto as pb;
use crate::state::AppState;
use crate::streak::store::Stats;
use crate::time::{first_of_month, format_date, format_instant, local_date, start_of_next_day, week_bounds};

/// Days in the learning pulse.
pub const PULSE_DAYS: u64 = 365;

/// Converts a stored 64-bit count to the 32-bit field the wire uses, so that
/// JSON prints it as a number; saturates instead of wrapping.
pub fn clamp_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}

pub(crate) async fn load_stats(client: &deadpool_postgres::Client, user_id: &str) -> ApiResult<Stats> {
    crate::streak::store::load(client, user_id).await?.ok_or_else(unknown_user)
}

/// The answer for a user id no one registered.
pub(crate) fn unknown_user() -> ApiError {
    ApiError::NotFound("user: unknown user".to_owned())
}

/// The caller's XP profile, cached until the next local midnight or the end
/// of the active booster, whichever comes first.
pub async fn profile(state: &AppState, user_id: &str) -> ApiResult<pb::Profile> {
    let now = state.clock.now();
    state.cache.get_or_load(user_id, "profile", now, || load_profile(state, user_id, now)).await
}

async fn load_profile(
    state: &AppState,
    user_id: &str,
    now: DateTime<Utc>,
) -> ApiResult<(pb::Profile, DateTime<Utc>)> {
    let client = state.db.get().await?;
    let stats = load_stats(&client, user_id).await?;
    let today = local_date(now, stats.timezone);
    let booster = store::active_booster(&client, user_id, now).await?;
    let today_rollup = rollups_between(&client, user_id, today, today).await?.pop().unwrap_or_default();
    let (streak, _) = stats.streak.as_of(today);
    let level = rules::progress(stats.total_xp);
    let mut valid_until = start_of_next_day(today, stats.timezone);
    if let Some(booster) = &booster {
        valid_until = valid_until.min(booster.ends_at);
    }
    let profile = pb::Profile {
        user_id: user_id.to_owned(),
        username: stats.username,
        display_name: stats.display_name,
        timezone: stats.timezone.name().to_owned(),
        total_xp: clamp_i32(stats.total_xp),
        level: clamp_i32(level.level),
        xp_into_level: clamp_i32(level.xp_into_level),
        xp_to_next_level: clamp_i32(level.xp_to_next_level),
        next_level_xp: clamp_i32(level.next_level_xp),
        current_streak: streak.current,
        longest_streak: streak.longest,
        token_balance: clamp_i32(stats.token_balance),
        active_booster: booster.map(|booster| pb::ActiveBooster {
            multiplier: booster.multiplier,
            ends_at: format_instant(booster.ends_at),
        }),
        today_xp: Some(pb::TodayXp {
            segments: today_rollup.totals.xp_segments,
            quizzes: today_rollup.totals.xp_quizzes,
            total: today_rollup.xp(),
        }),
    };
    Ok((profile, valid_until))
}

/// A user's public-safe profile. Unknown and private users are the same 404.
pub async fn public_profile(state: &AppState, username: &str) -> ApiResult<pb::PublicProfile> {
    let not_found = || ApiError::NotFound("username: no public profile with that name".to_owned());
    if username.is_empty() || username.len() > 32 {
        return Err(not_found());
    }
    let client = state.db.get().await?;
    let user_id = crate::user::store::find_by_username(&client, username).await?.ok_or_else(not_found)?;
    let stats = crate::streak::store::load(&client, &user_id).await?.ok_or_else(not_found)?;
    if !stats.public_profile {
        return Err(not_found());
    }
    let today = local_date(state.clock.now(), stats.timezone);
    let (streak, _) = stats.streak.as_of(today);
    Ok(pb::PublicProfile {
        username: stats.username,
        display_name: stats.display_name,
        total_xp: clamp_i32(stats.total_xp),
        level: clamp_i32(rules::progress(stats.total_xp).level),
        current_streak: streak.current,
        longest_streak: streak.longest,
    })
}

/// XP per day of the Sunday–Saturday week of the user's local today, with the
/// dates a freeze covered (stored, or due at the next write).
pub async fn weekly_activity(state: &AppState, user_id: &str) -> ApiResult<pb::WeeklyActivity> {
    let client = state.db.get().await?;
    let stats = load_stats(&client, user_id).await?;
    let today = local_date(state.clock.now(), stats.timezone);
    let (sunday, saturday) = week_bounds(today);
    let rollups = rollups_between(&client, user_id, sunday, saturday).await?;
    let mut covered = crate::streak::store::freeze_days_between(&client, user_id, sunday, saturday).await?;
    let (_, pending) = stats.streak.as_of(today);
    covered.extend(pending.into_iter().filter(|date| (sunday..=saturday).contains(date)));
    covered.sort_unstable();
    covered.dedup();
    let days: Vec<pb::DayXp> = dense(&rollups, sunday, 7)
        .map(|(date, rollup)| pb::DayXp { date: format_date(date), xp: rollup.map_or(0, DayRollup::xp) })
        .collect();
    Ok(pb::WeeklyActivity {
        week_start: format_date(sunday),
        week_end: format_date(saturday),
        total_xp: days.iter().map(|day| day.xp).sum(),
        days,
        freeze_covered_dates: covered.into_iter().map(format_date).collect(),
    })
}

/// The 365 days ending at the user's local today, oldest first, with heatmap
/// levels: one statement reads the user's zone and the monthly roll-ups (13 to
/// 15 rows, whatever the history).
pub async fn learning_pulse(state: &AppState, user_id: &str) -> ApiResult<pb::LearningPulse> {
    let client = state.db.get().await?;
    let now = state.clock.now();
    // The local today is within a day of UTC's in every zone: these months
    // hold the year whatever the user's zone turns out to be.
    let utc_today = now.date_naive();
    let (zone, months) = zone_and_months_between(
        &client,
        user_id,
        first_of_month(utc_today - Days::new(PULSE_DAYS)),
        first_of_month(utc_today + Days::new(1)),
    )
    .await?
    .ok_or_else(unknown_user)?;
    let today = local_date(now, zone);
    let start = today - Days::new(PULSE_DAYS - 1);
    let mut months = months.iter().peekable();
    let days: Vec<(NaiveDate, MonthDay)> = start
        .iter_days()
        .take(PULSE_DAYS as usize)
        .map(|date| {
            let month = first_of_month(date);
            while months.next_if(|row| row.month < month).is_some() {}
            let totals = months.peek().map_or_else(MonthDay::default, |row| row.day(date));
            (date, totals)
        })
        .collect();
    let max_xp = days.iter().map(|(_, totals)| i64::from(totals.xp)).max().unwrap_or(0);
    let mut pulse = pb::LearningPulse {
        start_date: format_date(start),
        end_date: format_date(today),
        days: Vec::with_capacity(days.len()),
        ..Default::default()
    };
    for (date, totals) in days {
        let day = pb::PulseDay {
            date: format_date(date),
            xp_earned: totals.xp,
            learning_time: clamp_i32(totals.learning_seconds),
            sessions: totals.sessions,
            quizzes: totals.quizzes,
            quizzes_passed: totals.quizzes_passed,
            level: rules::pulse_level(i64::from(totals.xp), max_xp, totals.has_activity()),
        };
        pulse.total_learning_time = pulse.total_learning_time.saturating_add(day.learning_time);
        pulse.total_sessions += day.sessions;
        pulse.total_quizzes += day.quizzes;
        pulse.total_quizzes_passed += day.quizzes_passed;
        pulse.days.push(day);
    }
    Ok(pulse)
}

/// Walks `count` consecutive dates from `start`, pairing each with its roll-up
/// if there is one (`rollups` ascending, within the range).
fn dense(
    rollups: &[DayRollup],
    start: NaiveDate,
    count: u64,
) -> impl Iterator<Item = (NaiveDate, Option<&DayRollup>)> {
    let mut remaining = rollups.iter().peekable();
    (0..count).map(move |offset| {
        let date = start + Days::new(offset);
        let rollup = remaining.next_if(|rollup| rollup.date == date);
        (date, rollup)
    })
}
