//! SQL for the quest pool and claims.

use std::collections::HashSet;

use chrono::NaiveDate;
use deadpool_postgres::GenericClient;

use super::rules::{Metric, Template};
use crate::error::ApiResult;

/// Returns the quest pool.
pub async fn templates(client: &impl GenericClient) -> ApiResult<Vec<Template>> {
    let statement = client
        .prepare_cached("select template_id, title, metric, target, reward_tokens from quest_template order by template_id")
        .await?;
    let rows = client.query(&statement, &[]).await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let metric_name: String = row.get(2);
            Some(Template {
                template_id: row.get(0),
                title: row.get(1),
                metric: Metric::parse(&metric_name)?,
                metric_name,
                target: row.get(3),
                reward_tokens: row.get(4),
            })
        })
        .collect())
}

/// Returns the template ids a user has claimed on a date.
pub async fn claimed_on(
    client: &impl GenericClient,
    user_id: &str,
    date: NaiveDate,
) -> ApiResult<HashSet<String>> {
    let statement = client
        .prepare_cached("select template_id from quest_claim where user_id = $1 and local_date = $2")
        .await?;
    let rows = client.query(&statement, &[&user_id, &date]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Records a claim; false when it already existed.
pub async fn insert_claim(
    client: &impl GenericClient,
    user_id: &str,
    date: NaiveDate,
    template: &Template,
) -> ApiResult<bool> {
    let statement = client
        .prepare_cached(
            "insert into quest_claim (user_id, local_date, template_id, reward_tokens) values ($1, $2, $3, $4) \
             on conflict (user_id, local_date, template_id) do nothing",
        )
        .await?;
    let inserted = client
        .execute(&statement, &[&user_id, &date, &template.template_id, &template.reward_tokens])
        .await?;
    Ok(inserted == 1)
}
