//! SQL for the per-user stats row (totals and streak state) and freeze-covered dates.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rules::StreakState;
use crate::db::Write;
use crate::error::ApiResult;

/// A user's stats row with the time zone needed to read it.
#[derive(Clone, Debug)]
pub struct Stats {
    /// As registered (case kept).
    pub username: String,
    /// Shown on profiles.
    pub display_name: String,
    /// Whether the public profile is visible.
    pub public_profile: bool,
    /// The user's current time zone.
    pub timezone: Tz,
    /// All XP ever credited.
    pub total_xp: i64,
    /// The streak machine's state.
    pub streak: StreakState,
    /// Tokens held.
    pub token_balance: i64,
    /// When the user's last booster ends (none before it matters after it).
    pub boosted_until: Option<DateTime<Utc>>,
}

const SELECT: &str = "select u.username, u.display_name, u.public_profile, u.timezone, s.total_xp, s.current_streak, s.longest_streak, s.last_learning_date, \
     s.settled_through, s.freezes_available, s.freezes_used, s.token_balance, s.boosted_until \
     from user_stats s join app_user u on u.user_id = s.user_id where s.user_id = $1 and u.user_id = $1";

fn from_row(row: &Row) -> Stats {
    let timezone: String = row.get("timezone");
    Stats {
        username: row.get("username"),
        display_name: row.get("display_name"),
        public_profile: row.get("public_profile"),
        // Stored zones were validated on the way in; UTC only guards a manual edit.
        timezone: crate::time::parse_timezone(&timezone).unwrap_or(Tz::UTC),
        total_xp: row.get("total_xp"),
        streak: StreakState {
            current: row.get("current_streak"),
            longest: row.get("longest_streak"),
            last_learning_date: row.get("last_learning_date"),
            settled_through: row.get("settled_through"),
            freezes_available: row.get("freezes_available"),
            freezes_used: row.get("freezes_used"),
        },
        token_balance: row.get("token_balance"),
        boosted_until: row.get("boosted_until"),
    }
}

/// Reads a user's stats without locking; `None` for an unknown user.
pub async fn load(client: &impl GenericClient, user_id: &str) -> ApiResult<Option<Stats>> {
    let statement = client.prepare_cached(SELECT).await?;
    Ok(client.query_opt(&statement, &[&user_id]).await?.as_ref().map(from_row))
}

/// Reads and locks a user's stats row for the rest of the transaction: every
/// write for one user passes here, so writes for one user are serialised.
pub async fn lock(client: &impl GenericClient, user_id: &str) -> ApiResult<Option<Stats>> {
    let statement = client.prepare_cached(&format!("{SELECT} for update of s")).await?;
    Ok(client.query_opt(&statement, &[&user_id]).await?.as_ref().map(from_row))
}

/// The statement that stores the streak state and adds `xp_delta` to the total.
pub fn save(user_id: &str, xp_delta: i64, streak: &StreakState) -> Write {
    Write::new(
        "update user_stats set total_xp = total_xp + $2, current_streak = $3, longest_streak = $4, \
         last_learning_date = $5, settled_through = $6, freezes_available = $7, freezes_used = $8 \
         where user_id = $1",
        vec![
            Box::new(user_id.to_owned()),
            Box::new(xp_delta),
            Box::new(streak.current),
            Box::new(streak.longest),
            Box::new(streak.last_learning_date),
            Box::new(streak.settled_through),
            Box::new(streak.freezes_available),
            Box::new(streak.freezes_used),
        ],
    )
}

/// The statement that records dates a freeze covered (none without dates).
pub fn insert_freeze_days(user_id: &str, dates: &[NaiveDate]) -> Option<Write> {
    (!dates.is_empty()).then(|| {
        Write::new(
            "insert into freeze_day (user_id, local_date) select $1, d from unnest($2::date[]) as d \
             on conflict (user_id, local_date) do nothing",
            vec![Box::new(user_id.to_owned()), Box::new(dates.to_vec())],
        )
    })
}

/// Returns the freeze-covered dates in `[from, to]`, ascending.
pub async fn freeze_days_between(
    client: &impl GenericClient,
    user_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<NaiveDate>> {
    let statement = client
        .prepare_cached(
            "select local_date from freeze_day where user_id = $1 and local_date between $2 and $3 order by local_date",
        )
        .await?;
    let rows = client.query(&statement, &[&user_id, &from, &to]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}
