//! SQL for raw events and the daily roll-ups they feed.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::rules::{Event, EventKind};
use crate::db::Write;
use crate::error::ApiResult;

/// An event ready to store: validated, credited and dated.
#[derive(Debug)]
pub struct Credited<'a> {
    /// The event.
    pub event: &'a Event,
    /// XP after boosters.
    pub credited_xp: i32,
    /// The user's local date when it happened.
    pub local_date: NaiveDate,
}

/// Inserts events that are new and returns the ids that were (the rest
/// already existed).
pub async fn insert_new(
    client: &impl GenericClient,
    user_id: &str,
    events: &[Credited<'_>],
) -> ApiResult<HashSet<String>> {
    let statement = client
        .prepare_cached(
            "insert into activity_event (user_id, event_id, event_type, occurred_at, base_xp, passed, \
             duration_seconds, credited_xp, local_date) \
             select $1, * from unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[], $6::bool[], \
             $7::int[], $8::int[], $9::date[]) \
             on conflict (user_id, event_id) do nothing returning event_id",
        )
        .await?;
    let ids: Vec<&str> = events.iter().map(|item| item.event.event_id.as_str()).collect();
    let kinds: Vec<&str> = events.iter().map(|item| item.event.kind.name()).collect();
    let occurred: Vec<DateTime<Utc>> = events.iter().map(|item| item.event.occurred_at).collect();
    let xps: Vec<i32> = events.iter().map(|item| item.event.xp).collect();
    let passed: Vec<bool> = events.iter().map(|item| item.event.passed).collect();
    let durations: Vec<i32> = events.iter().map(|item| item.event.duration_seconds).collect();
    let credited: Vec<i32> = events.iter().map(|item| item.credited_xp).collect();
    let dates: Vec<NaiveDate> = events.iter().map(|item| item.local_date).collect();
    let rows = client
        .query(&statement, &[&user_id, &ids, &kinds, &occurred, &xps, &passed, &durations, &credited, &dates])
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Returns the stored form of events by id, to tell replays from conflicts.
pub async fn find(client: &impl GenericClient, user_id: &str, event_ids: &[&str]) -> ApiResult<Vec<Event>> {
    let statement = client
        .prepare_cached(
            "select event_id, event_type, occurred_at, base_xp, passed, duration_seconds \
             from activity_event where user_id = $1 and event_id = any($2::text[])",
        )
        .await?;
    let rows = client.query(&statement, &[&user_id, &event_ids]).await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(Event {
                event_id: row.get(0),
                user_id: user_id.to_owned(),
                kind: EventKind::parse(row.get(1))?,
                occurred_at: row.get(2),
                xp: row.get(3),
                passed: row.get(4),
                duration_seconds: row.get(5),
            })
        })
        .collect())
}

/// What one local date of a user gains from a set of events.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RollupDelta {
    /// Credited XP from segments.
    pub xp_segments: i32,
    /// Credited XP from quizzes.
    pub xp_quizzes: i32,
    /// Segments completed.
    pub segments: i32,
    /// Quizzes completed.
    pub quizzes: i32,
    /// Quizzes passed.
    pub quizzes_passed: i32,
    /// Seconds of learning sessions.
    pub learning_seconds: i64,
    /// Learning sessions.
    pub sessions: i32,
}

impl RollupDelta {
    /// Adds one credited event.
    pub fn add(&mut self, event: &Event, credited_xp: i32) {
        match event.kind {
            EventKind::Segment => {
                self.xp_segments += credited_xp;
                self.segments += 1;
            }
            EventKind::Quiz => {
                self.xp_quizzes += credited_xp;
                self.quizzes += 1;
                self.quizzes_passed += i32::from(event.passed);
            }
            EventKind::Session => {
                self.learning_seconds += i64::from(event.duration_seconds);
                self.sessions += 1;
            }
        }
    }
}

/// The statement that adds deltas to the user's daily roll-ups (none without deltas).
pub fn rollups_write(user_id: &str, deltas: &[(NaiveDate, RollupDelta)]) -> Option<Write> {
    if deltas.is_empty() {
        return None;
    }
    let dates: Vec<NaiveDate> = deltas.iter().map(|(date, _)| *date).collect();
    let column = |pick: fn(&RollupDelta) -> i32| -> Box<dyn ToSql + Sync + Send> {
        Box::new(deltas.iter().map(|(_, delta)| pick(delta)).collect::<Vec<i32>>())
    };
    let seconds: Vec<i64> = deltas.iter().map(|(_, delta)| delta.learning_seconds).collect();
    Some(Write::new(
        "insert into daily_rollup (user_id, local_date, xp_segments, xp_quizzes, segments, quizzes, \
         quizzes_passed, learning_seconds, sessions) \
         select $1, * from unnest($2::date[], $3::int[], $4::int[], $5::int[], $6::int[], $7::int[], \
         $8::bigint[], $9::int[]) \
         on conflict (user_id, local_date) do update set \
         xp_segments = daily_rollup.xp_segments + excluded.xp_segments, \
         xp_quizzes = daily_rollup.xp_quizzes + excluded.xp_quizzes, \
         segments = daily_rollup.segments + excluded.segments, \
         quizzes = daily_rollup.quizzes + excluded.quizzes, \
         quizzes_passed = daily_rollup.quizzes_passed + excluded.quizzes_passed, \
         learning_seconds = daily_rollup.learning_seconds + excluded.learning_seconds, \
         sessions = daily_rollup.sessions + excluded.sessions",
        vec![
            Box::new(user_id.to_owned()),
            Box::new(dates),
            column(|delta| delta.xp_segments),
            column(|delta| delta.xp_quizzes),
            column(|delta| delta.segments),
            column(|delta| delta.quizzes),
            column(|delta| delta.quizzes_passed),
            Box::new(seconds),
            column(|delta| delta.sessions),
        ],
    ))
}

/// One local date of a user's roll-up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayRollup {
    /// The local date.
    pub date: NaiveDate,
    /// Everything recorded on it.
    pub totals: RollupDelta,
}

impl DayRollup {
    /// Credited XP of the day.
    pub fn xp(&self) -> i32 {
        self.totals.xp_segments + self.totals.xp_quizzes
    }

    /// True when anything at all was recorded.
    pub fn has_activity(&self) -> bool {
        self.totals != RollupDelta::default()
    }
}

/// Returns the roll-ups of `[from, to]`, ascending: one index range scan.
pub async fn rollups_between(
    client: &impl GenericClient,
    user_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<DayRollup>> {
    let statement = client
        .prepare_cached(
            "select local_date, xp_segments, xp_quizzes, segments, quizzes, quizzes_passed, learning_seconds, \
             sessions from daily_rollup where user_id = $1 and local_date between $2 and $3 order by local_date",
        )
        .await?;
    let rows = client.query(&statement, &[&user_id, &from, &to]).await?;
    Ok(rows
        .iter()
        .map(|row| DayRollup {
            date: row.get(0),
            totals: RollupDelta {
                xp_segments: row.get(1),
                xp_quizzes: row.get(2),
                segments: row.get(3),
                quizzes: row.get(4),
                quizzes_passed: row.get(5),
                learning_seconds: row.get(6),
                sessions: row.get(7),
            },
        })
        .collect())
}

/// One month of a user's roll-ups, an element per day of the month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthRollup {
    /// The first day of the month.
    pub month: NaiveDate,
    /// Credited XP per day.
    pub xp: Vec<i32>,
    /// Segments per day.
    pub segments: Vec<i32>,
    /// Quizzes per day.
    pub quizzes: Vec<i32>,
    /// Quizzes passed per day.
    pub quizzes_passed: Vec<i32>,
    /// Seconds of learning sessions per day.
    pub learning_seconds: Vec<i64>,
    /// Learning sessions per day.
    pub sessions: Vec<i32>,
}

/// Days in a month row (the longest month).
const MONTH_SLOTS: usize = 31;

impl MonthRollup {
    fn empty(month: NaiveDate) -> Self {
        MonthRollup {
            month,
            xp: vec![0; MONTH_SLOTS],
            segments: vec![0; MONTH_SLOTS],
            quizzes: vec![0; MONTH_SLOTS],
            quizzes_passed: vec![0; MONTH_SLOTS],
            learning_seconds: vec![0; MONTH_SLOTS],
            sessions: vec![0; MONTH_SLOTS],
        }
    }

    /// The array columns with a non-zero element.
    fn changed_columns(&self) -> Vec<&'static str> {
        let small = [&self.xp, &self.segments, &self.quizzes, &self.quizzes_passed];
        let mut changed: Vec<&'static str> = MONTH_COLUMNS[..4]
            .iter()
            .zip(small)
            .filter(|(_, values)| values.iter().any(|value| *value != 0))
            .map(|(column, _)| *column)
            .collect();
        if self.learning_seconds.iter().any(|value| *value != 0) {
            changed.push("learning_seconds");
        }
        if self.sessions.iter().any(|value| *value != 0) {
            changed.push("sessions");
        }
        changed
    }

    /// The days (1-based, as SQL arrays count) with a non-zero element.
    fn touched_days(&self) -> Vec<i32> {
        (0..MONTH_SLOTS)
            .filter(|&slot| {
                self.xp[slot] != 0
                    || self.segments[slot] != 0
                    || self.quizzes[slot] != 0
                    || self.quizzes_passed[slot] != 0
                    || self.learning_seconds[slot] != 0
                    || self.sessions[slot] != 0
            })
            .map(|slot| slot as i32 + 1)
            .collect()
    }

    /// Returns the totals of `date`, a day of this month (zero for any other date).
    pub fn day(&self, date: NaiveDate) -> MonthDay {
        use chrono::Datelike as _;
        if date.with_day(1) != Some(self.month) {
            return MonthDay::default();
        }
        let slot = date.day0() as usize;
        let at = |values: &[i32]| values.get(slot).copied().unwrap_or(0);
        MonthDay {
            xp: at(&self.xp),
            segments: at(&self.segments),
            quizzes: at(&self.quizzes),
            quizzes_passed: at(&self.quizzes_passed),
            learning_seconds: self.learning_seconds.get(slot).copied().unwrap_or(0),
            sessions: at(&self.sessions),
        }
    }
}

/// One day's totals as a month row holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MonthDay {
    /// Credited XP.
    pub xp: i32,
    /// Segments completed.
    pub segments: i32,
    /// Quizzes completed.
    pub quizzes: i32,
    /// Quizzes passed.
    pub quizzes_passed: i32,
    /// Seconds of learning sessions.
    pub learning_seconds: i64,
    /// Learning sessions.
    pub sessions: i32,
}

impl MonthDay {
    /// True when anything at all was recorded.
    pub fn has_activity(&self) -> bool {
        *self != MonthDay::default()
    }
}

/// Folds daily deltas into per-month rows (one delta array per month).
fn months_of(deltas: &[(NaiveDate, RollupDelta)]) -> Vec<MonthRollup> {
    use chrono::Datelike as _;
    let mut months: BTreeMap<NaiveDate, MonthRollup> = BTreeMap::new();
    for (date, delta) in deltas {
        let month = date.with_day(1).expect("every month has a 1st");
        let row = months.entry(month).or_insert_with(|| MonthRollup::empty(month));
        let slot = date.day0() as usize;
        row.xp[slot] += delta.xp_segments + delta.xp_quizzes;
        row.segments[slot] += delta.segments;
        row.quizzes[slot] += delta.quizzes;
        row.quizzes_passed[slot] += delta.quizzes_passed;
        row.learning_seconds[slot] += delta.learning_seconds;
        row.sessions[slot] += delta.sessions;
    }
    months.into_values().collect()
}

/// The array columns of `monthly_rollup`, in [`MonthRollup`] field order.
const MONTH_COLUMNS: [&str; 6] =
    ["xp", "segments", "quizzes", "quizzes_passed", "learning_seconds", "sessions"];

/// The upsert of one month row that adds only the columns that change: to one
/// day's elements (`$9`), or element by element to whole arrays.
fn monthly_upsert(columns: &[&str], one_day: bool) -> String {
    let set: Vec<String> = columns
        .iter()
        .map(|column| {
            if one_day {
                format!("{column}[$9] = m.{column}[$9] + excluded.{column}[$9]")
            } else {
                format!(
                    "{column} = (select array_agg(a + b order by n) \
                     from unnest(m.{column}, excluded.{column}) with ordinality as t(a, b, n))"
                )
            }
        })
        .collect();
    format!(
        "insert into monthly_rollup as m (user_id, month, {}) values ($1, $2, $3, $4, $5, $6, $7, $8) \
         on conflict (user_id, month) do update set {}",
        MONTH_COLUMNS.join(", "),
        set.join(", ")
    )
}

/// The statements that add deltas to the user's monthly roll-ups, one per
/// month touched. Each changes only the columns the deltas touch, and a month
/// with one day touched (the common case) only that day's elements: every
/// array element assigned costs PostgreSQL a copy of the array.
pub fn monthly_writes(user_id: &str, deltas: &[(NaiveDate, RollupDelta)]) -> Vec<Write> {
    months_of(deltas)
        .into_iter()
        .filter_map(|row| {
            let columns = row.changed_columns();
            if columns.is_empty() {
                return None;
            }
            let days = row.touched_days();
            let sql = monthly_upsert(&columns, days.len() == 1);
            let mut params: Vec<Box<dyn ToSql + Sync + Send>> = vec![
                Box::new(user_id.to_owned()),
                Box::new(row.month),
                Box::new(row.xp),
                Box::new(row.segments),
                Box::new(row.quizzes),
                Box::new(row.quizzes_passed),
                Box::new(row.learning_seconds),
                Box::new(row.sessions),
            ];
            if let [day] = days.as_slice() {
                params.push(Box::new(*day));
            }
            Some(Write::new(sql, params))
        })
        .collect()
}

/// Returns the user's time zone and monthly roll-ups from `first_month` to
/// `last_month` (first days of months), ascending; `None` for an unknown user.
pub async fn zone_and_months_between(
    client: &impl GenericClient,
    user_id: &str,
    first_month: NaiveDate,
    last_month: NaiveDate,
) -> ApiResult<Option<(Tz, Vec<MonthRollup>)>> {
    let Some((zone, rows)) = month_rows_between(client, user_id, first_month, last_month).await? else {
        return Ok(None);
    };
    let mut months = Vec::with_capacity(rows.len());
    for (month, row) in rows {
        let [xp, segments, quizzes, quizzes_passed, learning_seconds, sessions] = month_columns(&row)?;
        months.push(MonthRollup {
            month,
            xp: int_list(xp)?,
            segments: int_list(segments)?,
            quizzes: int_list(quizzes)?,
            quizzes_passed: int_list(quizzes_passed)?,
            learning_seconds: int_list(learning_seconds)?,
            sessions: int_list(sessions)?,
        });
    }
    Ok(Some((zone, months)))
}

/// One month of a user's learning sessions, an element per day of the month.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonthSessions {
    /// The first day of the month.
    pub month: NaiveDate,
    /// Seconds of learning sessions per day.
    pub learning_seconds: Vec<i64>,
    /// Learning sessions per day.
    pub sessions: Vec<i32>,
}

/// Returns the session columns of the user's monthly roll-ups from
/// `first_month` to `last_month`, ascending; `None` for an unknown user: a row
/// per month, however many days had sessions.
pub async fn session_months_between(
    client: &impl GenericClient,
    user_id: &str,
    first_month: NaiveDate,
    last_month: NaiveDate,
) -> ApiResult<Option<Vec<MonthSessions>>> {
    let Some((_, rows)) = month_rows_between(client, user_id, first_month, last_month).await? else {
        return Ok(None);
    };
    let mut months = Vec::with_capacity(rows.len());
    for (month, row) in rows {
        let [.., learning_seconds, sessions] = month_columns(&row)?;
        months.push(MonthSessions {
            month,
            learning_seconds: int_list(learning_seconds)?,
            sessions: int_list(sessions)?,
        });
    }
    Ok(Some(months))
}

/// The user's time zone and month rows (`days_text` at column 2) from
/// `first_month` to `last_month`, ascending; `None` for an unknown user. One
/// statement: an index range scan of a few rows, joined to the user's row.
async fn month_rows_between(
    client: &impl GenericClient,
    user_id: &str,
    first_month: NaiveDate,
    last_month: NaiveDate,
) -> ApiResult<Option<(Tz, Vec<(NaiveDate, Row)>)>> {
    let statement = client
        .prepare_cached(
            "select u.timezone, m.month, m.days_text from app_user u left join monthly_rollup m \
             on m.user_id = u.user_id and m.month between $2 and $3 where u.user_id = $1",
        )
        .await?;
    let rows = client.query(&statement, &[&user_id, &first_month, &last_month]).await?;
    let Some(first) = rows.first() else { return Ok(None) };
    // Stored zones were validated on the way in; UTC only guards a manual edit.
    let zone = crate::time::parse_timezone(first.get(0)).unwrap_or(Tz::UTC);
    let mut months: Vec<(NaiveDate, Row)> =
        rows.into_iter().filter_map(|row| Some((row.get::<_, Option<NaiveDate>>(1)?, row))).collect();
    // Sorted here: an ORDER BY makes PostgreSQL sort, however few the rows.
    months.sort_unstable_by_key(|(month, _)| *month);
    Ok(Some((zone, months)))
}

/// Splits a month row's `days_text` column (see migration V6) into the
/// elements of its six arrays, in [`MONTH_COLUMNS`] order.
fn month_columns(row: &Row) -> ApiResult<[&str; 6]> {
    let text: &str = row.get(2);
    split_month_text(text).ok_or_else(|| anyhow::anyhow!("days_text {text:?} is not six arrays").into())
}

/// `{1,2}{3,4}…` (six arrays) → `["1,2", "3,4", …]`.
fn split_month_text(text: &str) -> Option<[&str; 6]> {
    let mut arrays = text.strip_suffix('}')?.split('}');
    let columns = [(); 6].map(|()| arrays.next().and_then(|array| array.strip_prefix('{')));
    if arrays.next().is_some() {
        return None;
    }
    let [Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)] = columns else { return None };
    Some([a, b, c, d, e, f])
}

/// Parses an array's elements, `1,-2,3`.
fn int_list<T: TryFrom<i64>>(elements: &str) -> ApiResult<Vec<T>> {
    parse_int_list(elements).ok_or_else(|| anyhow::anyhow!("{elements:?} is not a list of integers").into())
}

/// Parses a comma-separated list of integers (byte by byte: a year of months
/// is thousands of elements).
fn parse_int_list<T: TryFrom<i64>>(elements: &str) -> Option<Vec<T>> {
    let mut values = Vec::with_capacity(MONTH_SLOTS);
    if elements.is_empty() {
        return Some(values);
    }
    for element in elements.as_bytes().split(|byte| *byte == b',') {
        let (sign, digits) = match element {
            [b'-', digits @ ..] => (-1, digits),
            digits => (1, digits),
        };
        if digits.is_empty() {
            return None;
        }
        let mut value: i64 = 0;
        for digit in digits {
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value.checked_mul(10)?.checked_add(sign * i64::from(digit - b'0'))?;
        }
        values.push(T::try_from(value).ok()?);
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        crate::time::parse_date(text).unwrap()
    }

    #[test]
    /// Daily deltas fold into one row per month, a slot per day of the month.
    fn deltas_fold_into_months() {
        let xp = |amount| RollupDelta { xp_segments: amount, segments: 1, ..RollupDelta::default() };
        let session = RollupDelta { learning_seconds: 600, sessions: 1, ..RollupDelta::default() };
        let months = months_of(&[
            (date("2026-01-31"), xp(5)),
            (date("2026-02-01"), xp(7)),
            (date("2026-02-28"), session),
        ]);
        assert_eq!(
            months.iter().map(|m| m.month).collect::<Vec<_>>(),
            vec![date("2026-01-01"), date("2026-02-01")]
        );
        assert_eq!((months[0].xp[30], months[1].xp[0], months[1].learning_seconds[27]), (5, 7, 600));
        let february = &months[1];
        assert_eq!(february.day(date("2026-02-01")).xp, 7);
        assert_eq!(february.day(date("2026-02-28")).sessions, 1);
        assert!(!february.day(date("2026-02-02")).has_activity(), "nothing recorded");
        assert!(!months[1].day(date("2026-01-31")).has_activity(), "another month");
        assert!(months[0].day(date("2026-01-31")).has_activity());
        assert_eq!(months[0].changed_columns(), vec!["xp", "segments"]);
        assert_eq!(months[0].touched_days(), vec![31]);
        assert_eq!(february.changed_columns(), vec!["xp", "segments", "learning_seconds", "sessions"]);
        assert_eq!(february.touched_days(), vec![1, 28]);
        assert!(monthly_upsert(&["xp"], true).ends_with("do update set xp[$9] = m.xp[$9] + excluded.xp[$9]"));
    }

    #[test]
    /// A month's text splits into its six arrays and their integers parse
    /// back; anything else is refused.
    fn month_text_parses() {
        assert_eq!(
            split_month_text("{1,2}{3}{}{0}{-5,86400000000}{7}"),
            Some(["1,2", "3", "", "0", "-5,86400000000", "7"])
        );
        for bad in [
            "{1}{2}{3}{4}{5}",
            "{1}{2}{3}{4}{5}{6}{7}",
            "1}{2}{3}{4}{5}{6}",
            "{1}{2}{3}{4}{5}{6",
            "{1}2}{3}{4}{5}{6}",
        ] {
            assert_eq!(split_month_text(bad), None, "{bad:?}");
        }
        assert_eq!(parse_int_list::<i32>("1,-2,0,2147483647"), Some(vec![1, -2, 0, i32::MAX]));
        assert_eq!(parse_int_list::<i64>("86400000000"), Some(vec![86_400_000_000]));
        assert_eq!(parse_int_list::<i64>("-9223372036854775808"), Some(vec![i64::MIN]));
        assert_eq!(parse_int_list::<i32>(""), Some(vec![]));
        for bad in ["1,,2", "1,NULL", "2147483648", "{1}", "-", "1 ", "9223372036854775808"] {
            assert_eq!(parse_int_list::<i32>(bad), None, "{bad:?}");
        }
    }
}
