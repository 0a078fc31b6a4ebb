//! Learning-time analytics: totals and a sparse daily breakdown of learning
//! sessions between two local dates (inclusive), or over all time.

pub mod grpc;

use chrono::{Datelike as _, NaiveDate};

use crate::activity::store::session_months_between;
use crate::error::{ApiError, ApiResult};
use crate::proto as pb;
use crate::state::AppState;
use crate::time::{first_of_month, format_date, parse_date};
use crate::xp::clamp_i32;

/// An inclusive range of local dates; either end may be open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    /// First date, or the beginning of time.
    pub from: Option<NaiveDate>,
    /// Last date, or the end of time.
    pub to: Option<NaiveDate>,
}

impl TryFrom<&pb::GetLearningTimeRequest> for DateRange {
    type Error = ApiError;

    fn try_from(request: &pb::GetLearningTimeRequest) -> Result<Self, Self::Error> {
        let parse = |field: &str, text: &str| -> Result<Option<NaiveDate>, ApiError> {
            if text.is_empty() {
                return Ok(None);
            }
            parse_date(text).map(Some).ok_or_else(|| {
                ApiError::invalid(field, format!("{text:?} is not a date in the form YYYY-MM-DD"))
            })
        };
        let range = DateRange { from: parse("from", &request.from)?, to: parse("to", &request.to)? };
        if let (Some(from), Some(to)) = (range.from, range.to)
            && from > to
        {
            return Err(ApiError::invalid("from", "must not be after to"));
        }
        Ok(range)
    }
}

/// Learning time of a user over `range`: one statement reads the monthly
/// roll-ups of the months it touches.
pub async fn learning_time(state: &AppState, user_id: &str, range: DateRange) -> ApiResult<pb::LearningTime> {
    let client = state.db.get().await?;
    // Roll-ups are stored by local date; open ends become dates no one has.
    let from = range.from.unwrap_or(NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date"));
    let to = range.to.unwrap_or(NaiveDate::from_ymd_opt(9999, 12, 31).expect("valid date"));
    let months = session_months_between(&client, user_id, first_of_month(from), first_of_month(to))
        .await?
        .ok_or_else(crate::xp::unknown_user)?;
    let mut answer = pb::LearningTime {
        daily_breakdown: Vec::with_capacity(months.iter().map(|month| month.sessions.len()).sum()),
        ..Default::default()
    };
    let (mut total_seconds, mut total_sessions) = (0i64, 0i64);
    for month in &months {
        let days = month.month.iter_days().take_while(|date| date.month() == month.month.month());
        for ((date, &seconds), &sessions) in days.zip(&month.learning_seconds).zip(&month.sessions) {
            if sessions == 0 || !(from..=to).contains(&date) {
                continue;
            }
            total_seconds += seconds;
            total_sessions += i64::from(sessions);
            answer.daily_breakdown.push(pb::DailyLearningTime {
                date: format_date(date),
                learning_time: clamp_i32(seconds),
                sessions,
            });
        }
    }
    let average = if total_sessions == 0 { 0 } else { (total_seconds + total_sessions / 2) / total_sessions };
    answer.total_learning_time = clamp_i32(total_seconds);
    answer.total_sessions = clamp_i32(total_sessions);
    answer.avg_session_length = clamp_i32(average);
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(from: &str, to: &str) -> Result<DateRange, ApiError> {
        DateRange::try_from(&pb::GetLearningTimeRequest { from: from.into(), to: to.into() })
    }

    #[test]
    /// Both ends optional and inclusive; bad dates and reversed ranges name the field.
    fn date_range_validation() {
        assert_eq!(range("", "").unwrap(), DateRange { from: None, to: None });
        assert!(range("2026-01-01", "2026-01-01").is_ok());
        assert!(
            matches!(range("2026-02-30", ""), Err(ApiError::InvalidArgument(m)) if m.starts_with("from:"))
        );
        assert!(matches!(range("", "tomorrow"), Err(ApiError::InvalidArgument(m)) if m.starts_with("to:")));
        assert!(
            matches!(range("2026-03-02", "2026-03-01"), Err(ApiError::InvalidArgument(m)) if m.starts_with("from:"))
        );
    }
}
