//! Daily quests: which three a user gets on a local date, their progress and
//! status, and quest ids. Pure: no IO.
//!
//! Each user sees the pool in an order of their own (templates sorted by a
//! hash of user and template). Day `n` (days since 1970-01-01) takes the three
//! templates at positions `3n, 3n+1, 3n+2` (mod the pool size), so a day's set
//! is stable, users get different mixes, and with a pool of at least six two
//! consecutive days never share a quest.

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use crate::activity::store::DayRollup;

/// Quests a day.
pub const QUESTS_PER_DAY: usize = 3;

/// What a quest counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Credited XP.
    Xp,
    /// Segments completed.
    Segments,
    /// Quizzes taken.
    Quizzes,
    /// Quizzes passed.
    QuizzesPassed,
    /// Seconds of learning sessions.
    LearningTime,
    /// Learning sessions.
    Sessions,
}

impl Metric {
    /// Parses a stored metric name.
    pub fn parse(name: &str) -> Option<Metric> {
        Some(match name {
            "xp" => Metric::Xp,
            "segments" => Metric::Segments,
            "quizzes" => Metric::Quizzes,
            "quizzes_passed" => Metric::QuizzesPassed,
            "learning_time" => Metric::LearningTime,
            "sessions" => Metric::Sessions,
            _ => return None,
        })
    }

    /// Returns the day's count of this metric.
    pub fn of(self, day: &DayRollup) -> i64 {
        match self {
            Metric::Xp => i64::from(day.xp()),
            Metric::Segments => i64::from(day.totals.segments),
            Metric::Quizzes => i64::from(day.totals.quizzes),
            Metric::QuizzesPassed => i64::from(day.totals.quizzes_passed),
            Metric::LearningTime => day.totals.learning_seconds,
            Metric::Sessions => i64::from(day.totals.sessions),
        }
    }
}

/// A quest template of the pool.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    /// Stable id (`[a-z0-9_]+`).
    pub template_id: String,
    /// What the learner reads.
    pub title: String,
    /// The metric's stored name.
    pub metric_name: String,
    /// What it counts.
    pub metric: Metric,
    /// The count that completes it.
    pub target: i32,
    /// Tokens it pays once.
    pub reward_tokens: i32,
}

/// Where a quest stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Not done yet.
    Active,
    /// Done, reward not claimed.
    ReadyToComplete,
    /// Reward claimed.
    Completed,
}

impl Status {
    /// Returns the wire name.
    pub fn name(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::ReadyToComplete => "ready_to_complete",
            Status::Completed => "completed",
        }
    }
}

fn rank(user_id: &str, template_id: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(user_id.as_bytes());
    hasher.update([0]);
    hasher.update(template_id.as_bytes());
    hasher.finalize().into()
}

/// Chooses the day's quests for a user from `pool` (any order).
pub fn select<'a>(pool: &'a [Template], user_id: &str, date: NaiveDate) -> Vec<&'a Template> {
    if pool.is_empty() {
        return Vec::new();
    }
    let mut ordered: Vec<&Template> = pool.iter().collect();
    ordered
        .sort_by_cached_key(|template| (rank(user_id, &template.template_id), template.template_id.clone()));
    let day = date.signed_duration_since(NaiveDate::default()).num_days();
    let count = QUESTS_PER_DAY.min(ordered.len());
    let length = ordered.len() as i64;
    (0..count as i64)
        .map(|offset| ordered[(day * QUESTS_PER_DAY as i64 + offset).rem_euclid(length) as usize])
        .collect()
}

/// Returns a quest's progress (capped at its target) and status.
pub fn progress(template: &Template, day: &DayRollup, claimed: bool) -> (i32, Status) {
    let progress = Metric::of(template.metric, day).min(i64::from(template.target)) as i32;
    let status = if claimed {
        Status::Completed
    } else if progress >= template.target {
        Status::ReadyToComplete
    } else {
        Status::Active
    };
    (progress, status)
}

/// Returns the id of a template's quest on a date: `YYYY-MM-DD.template_id`.
pub fn quest_id(date: NaiveDate, template_id: &str) -> String {
    format!("{}.{template_id}", crate::time::format_date(date))
}

/// Splits a quest id into its date and template id.
pub fn parse_quest_id(quest_id: &str) -> Option<(NaiveDate, &str)> {
    let (date, template_id) = quest_id.split_once('.')?;
    let valid_template = !template_id.is_empty()
        && template_id.len() <= 64
        && template_id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    valid_template.then_some(())?;
    Some((crate::time::parse_date(date)?, template_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Days;
    use proptest::prelude::*;

    fn pool() -> Vec<Template> {
        let metrics =
            ["xp", "segments", "quizzes", "quizzes_passed", "learning_time", "sessions", "xp", "segments"];
        metrics
            .iter()
            .enumerate()
            .map(|(index, metric)| Template {
                template_id: format!("t{index}"),
                title: format!("quest {index}"),
                metric_name: (*metric).to_owned(),
                metric: Metric::parse(metric).unwrap(),
                target: 10,
                reward_tokens: 5,
            })
            .collect()
    }

    fn ids(quests: &[&Template]) -> Vec<String> {
        let mut ids: Vec<String> = quests.iter().map(|quest| quest.template_id.clone()).collect();
        ids.sort();
        ids
    }

    #[test]
    /// Quest ids round-trip and malformed ones are refused.
    fn quest_ids() {
        let date = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        assert_eq!(quest_id(date, "xp_30"), "2026-06-10.xp_30");
        assert_eq!(parse_quest_id("2026-06-10.xp_30"), Some((date, "xp_30")));
        for bad in ["", "xp_30", "2026-06-31.xp_30", "2026-06-10.", "2026-06-10.XP", "2026-06-10.a/b"] {
            assert_eq!(parse_quest_id(bad), None, "{bad}");
        }
    }

    #[test]
    /// Progress caps at the target; a claim completes the quest.
    fn progress_and_status() {
        let template = &pool()[0]; // xp, target 10
        let mut day = DayRollup::default();
        assert_eq!(progress(template, &day, false), (0, Status::Active));
        day.totals.xp_segments = 7;
        assert_eq!(progress(template, &day, false), (7, Status::Active));
        day.totals.xp_quizzes = 5;
        assert_eq!(progress(template, &day, false), (10, Status::ReadyToComplete));
        assert_eq!(progress(template, &day, true), (10, Status::Completed));
    }

    #[test]
    /// Different users get different mixes on the same day.
    fn users_get_different_mixes() {
        let pool = pool();
        let date = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
        let sets: std::collections::HashSet<Vec<String>> =
            (0..20).map(|user| ids(&select(&pool, &format!("user{user}"), date))).collect();
        assert!(sets.len() > 5, "{sets:?}");
    }

    proptest! {
        #[test]
        /// Three distinct quests, stable for the day, never the same set two days running.
        fn selection_rules(user in "[a-z0-9]{1,12}", day in 0u64..40_000) {
            let pool = pool();
            let date = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + Days::new(day);
            let today = ids(&select(&pool, &user, date));
            prop_assert_eq!(today.len(), 3);
            prop_assert_eq!(today.iter().collect::<std::collections::HashSet<_>>().len(), 3);
            prop_assert_eq!(&today, &ids(&select(&pool, &user, date)));
            prop_assert_ne!(&today, &ids(&select(&pool, &user, date + Days::new(1))));
        }
    }
}
