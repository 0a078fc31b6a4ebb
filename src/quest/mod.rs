//! Daily quests: three a day per user from the pool, progress from that local
//! day's roll-up, and rewards paid in tokens exactly once. The day's quest
//! state is cached until the user's next local midnight.

pub mod grpc;
pub mod rules;
pub mod store;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use deadpool_postgres::GenericClient;

use crate::activity::store::rollups_between;
use crate::error::{ApiError, ApiResult};
use crate::proto as pb;
use crate::state::AppState;
use crate::time::{format_date, local_date, start_of_next_day};
use rules::Template;

/// Today's quests of a user, with progress and status.
pub async fn daily_quests(state: &AppState, user_id: &str) -> ApiResult<pb::DailyQuests> {
    let now = state.clock.now();
    state
        .cache
        .get_or_load(user_id, "quests", now, || async {
            let client = state.db.get().await?;
            let stats = crate::xp::load_stats(&client, user_id).await?;
            let today = local_date(now, stats.timezone);
            let quests = quests_on(&client, user_id, today).await?;
            let resets_at = start_of_next_day(today, stats.timezone);
            let reply = pb::DailyQuests {
                date: format_date(today),
                resets_at: local_rfc3339(resets_at, stats.timezone),
                quests,
            };
            Ok((reply, resets_at))
        })
        .await
}

/// The quests of `date` with their progress and status.
async fn quests_on(client: &impl GenericClient, user_id: &str, date: NaiveDate) -> ApiResult<Vec<pb::Quest>> {
    let pool = store::templates(client).await?;
    let day = rollups_between(client, user_id, date, date).await?.pop().unwrap_or_default();
    let claimed = store::claimed_on(client, user_id, date).await?;
    Ok(rules::select(&pool, user_id, date)
        .into_iter()
        .map(|template| encode(template, date, &day, claimed.contains(&template.template_id)))
        .collect())
}

fn encode(
    template: &Template,
    date: NaiveDate,
    day: &crate::activity::store::DayRollup,
    claimed: bool,
) -> pb::Quest {
    let (progress, status) = rules::progress(template, day, claimed);
    pb::Quest {
        quest_id: rules::quest_id(date, &template.template_id),
        title: template.title.clone(),
        metric: template.metric_name.clone(),
        target: template.target,
        progress,
        status: status.name().to_owned(),
        reward_tokens: template.reward_tokens,
    }
}

/// Claims the reward of one of today's quests; returns the completed quest and
/// the new token balance. Claims of one user are serialised by the stats row
/// lock, and the claim's primary key makes a second reward impossible.
pub async fn complete(state: &AppState, user_id: &str, quest_id: &str) -> ApiResult<(pb::Quest, i64)> {
    let (date, template_id) = rules::parse_quest_id(quest_id).ok_or_else(|| {
        ApiError::invalid("quest_id", "must look like 2026-06-10.xp_30, as listed by daily-quests")
    })?;
    let outcome = crate::db::retry_transaction(|| async {
        let mut client = state.db.get().await?;
        let tx = client.transaction().await?;
        let stats = crate::streak::store::lock(&tx, user_id)
            .await?
            .ok_or_else(|| ApiError::NotFound("user: unknown user".to_owned()))?;
        let today = local_date(state.clock.now(), stats.timezone);
        if date != today {
            return Err(ApiError::FailedPrecondition(format!(
                "quest_id: quests reset at local midnight; today is {}",
                format_date(today)
            )));
        }
        let pool = store::templates(&tx).await?;
        let template = rules::select(&pool, user_id, today)
            .into_iter()
            .find(|template| template.template_id == template_id)
            .cloned()
            .ok_or_else(|| {
                ApiError::NotFound(format!("quest_id: {quest_id} is not one of today's quests"))
            })?;
        let day = rollups_between(&tx, user_id, today, today).await?.pop().unwrap_or_default();
        let claimed = store::claimed_on(&tx, user_id, today).await?.contains(template_id);
        let (progress, status) = rules::progress(&template, &day, claimed);
        match status {
            rules::Status::Completed => {
                return Err(ApiError::AlreadyExists(format!("quest_id: {quest_id} is already completed")));
            }
            rules::Status::Active => {
                return Err(ApiError::FailedPrecondition(format!(
                    "quest_id: {quest_id} is not ready ({progress} of {})",
                    template.target
                )));
            }
            rules::Status::ReadyToComplete => {}
        }
        if !store::insert_claim(&tx, user_id, today, &template).await? {
            return Err(ApiError::AlreadyExists(format!("quest_id: {quest_id} is already completed")));
        }
        let reason = format!("quest {quest_id}");
        let balance = crate::token::append(&tx, user_id, template.reward_tokens, &reason)
            .await?
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("a positive grant cannot overdraw")))?;
        tx.commit().await?;
        Ok((encode(&template, today, &day, true), balance))
    })
    .await?;
    state.cache.invalidate_user(user_id).await;
    Ok(outcome)
}

/// Formats an instant in the user's zone, so a reset reads as local midnight.
fn local_rfc3339(instant: DateTime<Utc>, zone: Tz) -> String {
    instant.with_timezone(&zone).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
