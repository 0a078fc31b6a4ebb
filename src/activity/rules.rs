//! Validation of incoming events and the XP they credit. Pure: no IO.

use chrono::{DateTime, Duration, SubsecRound as _, TimeZone as _, Utc};

use crate::proto as pb;

/// The most events one request may carry.
pub const MAX_BATCH: usize = 1000;
/// How far in the future an event may claim to have happened.
pub const MAX_FUTURE_SKEW: Duration = Duration::minutes(5);

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A lesson segment was completed; earns XP.
    Segment,
    /// A quiz was completed (passed or not); earns XP.
    Quiz,
    /// Time spent learning; earns no XP.
    Session,
}

impl EventKind {
    /// Returns the name used on the wire and in the database.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Segment => "segment_completed",
            EventKind::Quiz => "quiz_completed",
            EventKind::Session => "learning_session",
        }
    }

    /// Parses a wire name.
    pub fn parse(name: &str) -> Option<EventKind> {
        [EventKind::Segment, EventKind::Quiz, EventKind::Session].into_iter().find(|kind| kind.name() == name)
    }
}

/// A validated event. Two events with the same id are the same event when
/// every other field is equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Idempotency key, unique per user.
    pub event_id: String,
    /// Whose event it is.
    pub user_id: String,
    /// What happened.
    pub kind: EventKind,
    /// When, to the microsecond (what PostgreSQL stores).
    pub occurred_at: DateTime<Utc>,
    /// Base XP before any booster.
    pub xp: i32,
    /// Quizzes: whether passed.
    pub passed: bool,
    /// Learning sessions: seconds.
    pub duration_seconds: i32,
}

/// Validates one event; the error is the rejection reason, naming the field.
pub fn validate(event: &pb::ActivityEvent, now: DateTime<Utc>) -> Result<Event, String> {
    let event_id_chars = event.event_id.chars().count();
    if event_id_chars == 0 || event_id_chars > 128 {
        return Err("event_id: must be 1 to 128 characters".to_owned());
    }
    if event.user_id.is_empty() || event.user_id.chars().count() > 64 {
        return Err("user_id: must be 1 to 64 characters".to_owned());
    }
    let kind = EventKind::parse(&event.r#type)
        .ok_or_else(|| "type: must be segment_completed, quiz_completed or learning_session".to_owned())?;
    let occurred_at = DateTime::parse_from_rfc3339(&event.occurred_at)
        .map_err(|_| "occurred_at: must be an RFC 3339 timestamp such as 2026-05-01T09:30:00Z".to_owned())?
        .with_timezone(&Utc)
        .trunc_subsecs(6);
    if occurred_at > now + MAX_FUTURE_SKEW {
        return Err("occurred_at: more than 5 minutes in the future".to_owned());
    }
    if occurred_at < Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap() {
        return Err("occurred_at: before 2000-01-01".to_owned());
    }
    match kind {
        EventKind::Segment | EventKind::Quiz => {
            if !(0..=1000).contains(&event.xp) {
                return Err("xp: must be 0 to 1000".to_owned());
            }
            if event.duration_seconds != 0 {
                return Err(format!(
                    "duration_seconds: only learning sessions have a duration, not {}",
                    kind.name()
                ));
            }
            if kind == EventKind::Segment && event.passed {
                return Err("passed: only quizzes are passed".to_owned());
            }
        }
        EventKind::Session => {
            if event.xp != 0 {
                return Err("xp: learning sessions earn no xp".to_owned());
            }
            if event.passed {
                return Err("passed: only quizzes are passed".to_owned());
            }
            if !(1..=86_400).contains(&event.duration_seconds) {
                return Err("duration_seconds: must be 1 to 86400".to_owned());
            }
        }
    }
    Ok(Event {
        event_id: event.event_id.clone(),
        user_id: event.user_id.clone(),
        kind,
        occurred_at,
        xp: event.xp,
        passed: event.passed,
        duration_seconds: event.duration_seconds,
    })
}

/// A booster's window `[starts_at, ends_at)` and multiplier.
#[derive(Clone, Copy, Debug)]
pub struct BoosterWindow {
    /// The multiplier.
    pub multiplier: f64,
    /// First instant it applies.
    pub starts_at: DateTime<Utc>,
    /// First instant it no longer applies.
    pub ends_at: DateTime<Utc>,
}

/// XP credited for `base_xp` at `instant`: `floor(xp × m + 0.5)`, `m` the
/// largest multiplier active then (1 with none).
pub fn credited_xp(base_xp: i32, instant: DateTime<Utc>, boosters: &[BoosterWindow]) -> i32 {
    let multiplier = boosters
        .iter()
        .filter(|booster| booster.starts_at <= instant && instant < booster.ends_at)
        .map(|booster| booster.multiplier)
        .fold(1.0_f64, f64::max);
    (f64::from(base_xp) * multiplier + 0.5).floor() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn segment(xp: i32) -> pb::ActivityEvent {
        pb::ActivityEvent {
            event_id: "e1".into(),
            user_id: "u1".into(),
            r#type: "segment_completed".into(),
            occurred_at: "2026-05-01T10:00:00Z".into(),
            xp,
            ..Default::default()
        }
    }

    #[test]
    /// Boosters round half up and apply on [start, end).
    fn booster_crediting() {
        let booster = BoosterWindow {
            multiplier: 1.5,
            starts_at: at("2026-05-01T10:00:00Z"),
            ends_at: at("2026-05-01T10:15:00Z"),
        };
        assert_eq!(credited_xp(15, at("2026-05-01T09:59:59Z"), &[booster]), 15);
        assert_eq!(credited_xp(15, at("2026-05-01T10:00:00Z"), &[booster]), 23); // 22.5 → 23
        assert_eq!(credited_xp(15, at("2026-05-01T10:15:00Z"), &[booster]), 15);
        let weak = BoosterWindow { multiplier: 1.25, ..booster };
        assert_eq!(credited_xp(10, at("2026-05-01T10:01:00Z"), &[weak, booster]), 15);
        assert_eq!(credited_xp(3, at("2026-05-01T10:01:00Z"), &[weak]), 4); // 3.75 → 4
    }

    #[test]
    /// Each bad field is rejected with its name.
    fn validation_names_the_field() {
        let now = at("2026-05-01T12:00:00Z");
        assert!(validate(&segment(10), now).is_ok());
        assert!(validate(&segment(1001), now).unwrap_err().starts_with("xp:"));
        assert!(validate(&segment(-1), now).unwrap_err().starts_with("xp:"));
        let future = pb::ActivityEvent { occurred_at: "2026-05-01T12:05:01Z".into(), ..segment(1) };
        assert!(validate(&future, now).unwrap_err().starts_with("occurred_at:"));
        let skewed = pb::ActivityEvent { occurred_at: "2026-05-01T12:05:00Z".into(), ..segment(1) };
        assert!(validate(&skewed, now).is_ok());
        let session =
            pb::ActivityEvent { r#type: "learning_session".into(), xp: 0, duration_seconds: 0, ..segment(0) };
        assert!(validate(&session, now).unwrap_err().starts_with("duration_seconds:"));
        let bad_type = pb::ActivityEvent { r#type: "lesson".into(), ..segment(1) };
        assert!(validate(&bad_type, now).unwrap_err().starts_with("type:"));
        let bad_time = pb::ActivityEvent { occurred_at: "yesterday".into(), ..segment(1) };
        assert!(validate(&bad_time, now).unwrap_err().starts_with("occurred_at:"));
        let no_id = pb::ActivityEvent { event_id: String::new(), ..segment(1) };
        assert!(validate(&no_id, now).unwrap_err().starts_with("event_id:"));
    }

    proptest::proptest! {
        #[test]
        /// Arbitrary field values never panic the validator.
        fn validation_never_panics(
            event_id in ".{0,140}", user_id in ".{0,70}", kind in ".{0,20}", occurred_at in ".{0,40}",
            xp: i32, passed: bool, duration_seconds: i32,
        ) {
            let event = pb::ActivityEvent { event_id, user_id, r#type: kind, occurred_at, xp, passed, duration_seconds };
            let _ = validate(&event, at("2026-05-01T12:00:00Z"));
        }
    }
}
