//! User time: time zones, local dates and week bounds, and the [`Clock`] that
//! says what "now" is (injected, so tests can stand at any local midnight).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The source of "now". The server uses [`SystemClock`]; tests use [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// Returns the current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// Creates a clock standing at `instant`.
    pub fn new(instant: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(instant)))
    }

    /// Moves the clock to `instant`.
    pub fn set(&self, instant: DateTime<Utc>) {
        *self.0.lock().expect("clock lock") = instant;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }
}

/// Parses an IANA time zone name such as `America/Los_Angeles`.
pub fn parse_timezone(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// Returns the calendar date of `instant` in `zone`.
pub fn local_date(instant: DateTime<Utc>, zone: Tz) -> NaiveDate {
    instant.with_timezone(&zone).date_naive()
}

/// Parses a `YYYY-MM-DD` date (rejecting impossible ones such as 2026-02-30).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    // Exactly YYYY-MM-DD: chrono alone also takes signed years such as -001-01-01.
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Formats a date as `YYYY-MM-DD` (digit by digit: reads format hundreds of
/// dates per request, and `format!` costs several times more).
pub fn format_date(date: NaiveDate) -> String {
    let Ok(year @ 0..=9999) = u32::try_from(date.year()) else {
        return date.format("%Y-%m-%d").to_string();
    };
    let digit = |value: u32| b'0' + (value % 10) as u8;
    let (month, day) = (date.month(), date.day());
    let text = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    String::from_utf8(text.to_vec()).expect("ASCII digits")
}

/// Returns the first day of `date`'s month.
pub fn first_of_month(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("every month has a 1st")
}

/// Formats an instant as RFC 3339 with a `Z` suffix.
pub fn format_instant(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Returns the Sunday that starts the week of `date`, and the Saturday that ends it.
pub fn week_bounds(date: NaiveDate) -> (NaiveDate, NaiveDate) {
    let days_since_sunday = u64::from(date.weekday().num_days_from_sunday());
    let sunday = date - Days::new(days_since_sunday);
    (sunday, sunday + Days::new(6))
}

/// Returns the first instant of the local day after `date` in `zone`. Where a
/// DST change skips midnight, the day starts at the first local time that exists.
pub fn start_of_next_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let next = date + Days::new(1);
    let mut local = next.and_time(NaiveTime::MIN);
    for _ in 0..=4 {
        if let Some(instant) = zone.from_local_datetime(&local).earliest() {
            return instant.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(30);
    }
    // No zone skips more than two hours; fall back to UTC midnight rather than fail.
    Utc.from_utc_datetime(&next.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        parse_date(text).unwrap()
    }

    #[test]
    /// Local dates follow the zone's offset on both sides of UTC and for half-hour offsets.
    fn local_dates_in_extreme_and_half_hour_zones() {
        let instant = at("2026-03-01T10:30:00Z");
        assert_eq!(local_date(instant, chrono_tz::Pacific::Kiritimati), date("2026-03-02"));
        assert_eq!(local_date(instant, chrono_tz::Pacific::Pago_Pago), date("2026-02-28"));
        assert_eq!(local_date(at("2026-03-01T18:29:00Z"), chrono_tz::Asia::Kolkata), date("2026-03-01"));
        assert_eq!(local_date(at("2026-03-01T18:30:00Z"), chrono_tz::Asia::Kolkata), date("2026-03-02"));
    }

    #[test]
    /// The next local midnight across a DST change is 23 or 25 hours away.
    fn next_midnight_across_dst() {
        let la = chrono_tz::America::Los_Angeles;
        assert_eq!(start_of_next_day(date("2026-03-07"), la), at("2026-03-08T08:00:00Z"));
        assert_eq!(start_of_next_day(date("2026-03-08"), la), at("2026-03-09T07:00:00Z"));
        assert_eq!(start_of_next_day(date("2026-10-31"), la), at("2026-11-01T07:00:00Z"));
        assert_eq!(start_of_next_day(date("2026-11-01"), la), at("2026-11-02T08:00:00Z"));
    }

    #[test]
    /// A zone whose DST change skips midnight starts the day at 01:00.
    fn next_midnight_when_midnight_is_skipped() {
        // Chile moves its clocks at local midnight: 2026-09-06 00:00 does not exist.
        let santiago = chrono_tz::America::Santiago;
        let start = start_of_next_day(date("2026-09-05"), santiago);
        assert_eq!(local_date(start, santiago), date("2026-09-06"));
        assert!(start > at("2026-09-06T03:00:00Z") && start <= at("2026-09-06T04:00:00Z"));
    }

    #[test]
    /// Dates format as YYYY-MM-DD and parse back.
    fn format_date_round_trips() {
        assert_eq!(format_date(date("2026-03-08")), "2026-03-08");
        assert_eq!(format_date(date("0999-12-31")), "0999-12-31");
        for text in ["2024-02-29", "2026-12-31", "2000-01-01"] {
            assert_eq!(format_date(date(text)), text);
        }
        // Every day of a few centuries agrees with chrono's own formatting,
        // and years outside 0..=9999 fall back to it.
        for day in date("1899-12-25").iter_days().take(200 * 366) {
            assert_eq!(format_date(day), day.format("%Y-%m-%d").to_string());
        }
        let far = NaiveDate::from_ymd_opt(12026, 1, 2).unwrap();
        assert_eq!(format_date(far), far.format("%Y-%m-%d").to_string());
    }

    #[test]
    /// Impossible dates and other formats are refused.
    fn parse_date_rejects_impossible_dates() {
        assert_eq!(parse_date("2026-02-28"), Some(date("2026-02-28")));
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-2-3"), None);
        assert_eq!(parse_date("20260203"), None);
        assert_eq!(parse_date(""), None);
    }

    proptest! {
        #[test]
        /// Every date lies in its own week, which runs Sunday to Saturday.
        fn week_bounds_contain_the_date(days in 0i64..100_000) {
            let day = date("1970-01-01") + chrono::Duration::days(days);
            let (sunday, saturday) = week_bounds(day);
            prop_assert_eq!(sunday.weekday(), chrono::Weekday::Sun);
            prop_assert_eq!(saturday.weekday(), chrono::Weekday::Sat);
            prop_assert!(sunday <= day && day <= saturday);
        }

        #[test]
        /// The next day starts after every instant of the day and on the following date.
        fn next_day_start_is_the_following_date(seconds in 0i64..2_000_000_000, zone_index in 0usize..5) {
            let zones = [
                chrono_tz::Pacific::Kiritimati,
                chrono_tz::Pacific::Pago_Pago,
                chrono_tz::America::Los_Angeles,
                chrono_tz::Asia::Kolkata,
                chrono_tz::Europe::London,
            ];
            let zone = zones[zone_index];
            let instant = Utc.timestamp_opt(seconds, 0).unwrap();
            let today = local_date(instant, zone);
            let next = start_of_next_day(today, zone);
            prop_assert!(next > instant);
            prop_assert_eq!(local_date(next, zone), today + Days::new(1));
            prop_assert_eq!(local_date(next - chrono::Duration::seconds(1), zone), today);
        }
    }
}
