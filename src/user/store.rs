//! SQL for users and the username directory.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::rules::NewUser;
use crate::error::ApiResult;

/// A stored user.
#[derive(Clone, Debug)]
pub struct UserRecord {
    /// Opaque id.
    pub user_id: String,
    /// As registered (case kept).
    pub username: String,
    /// Contact address.
    pub email: String,
    /// Shown on profiles.
    pub display_name: String,
    /// IANA name.
    pub timezone: String,
    /// Whether the public profile is visible.
    pub public_profile: bool,
}

fn from_row(row: &Row) -> UserRecord {
    UserRecord {
        user_id: row.get("user_id"),
        username: row.get("username"),
        email: row.get("email"),
        display_name: row.get("display_name"),
        timezone: row.get("timezone"),
        public_profile: row.get("public_profile"),
    }
}

/// Returns the username a user holds now, locking the user's row.
pub async fn lock_username(client: &impl GenericClient, user_id: &str) -> ApiResult<Option<String>> {
    let statement =
        client.prepare_cached("select username from app_user where user_id = $1 for update").await?;
    Ok(client.query_opt(&statement, &[&user_id]).await?.map(|row| row.get(0)))
}

/// Claims `username_key` for `user_id`; false when another user holds it.
pub async fn claim_username(
    client: &impl GenericClient,
    username_key: &str,
    user_id: &str,
) -> ApiResult<bool> {
    let statement = client
        .prepare_cached(
            "insert into username_claim (username_key, user_id) values ($1, $2) \
             on conflict (username_key) do update set user_id = excluded.user_id \
             where username_claim.user_id = excluded.user_id returning user_id",
        )
        .await?;
    Ok(client.query_opt(&statement, &[&username_key, &user_id]).await?.is_some())
}

/// Gives up a username the user no longer uses.
pub async fn release_username(
    client: &impl GenericClient,
    username_key: &str,
    user_id: &str,
) -> ApiResult<()> {
    let statement =
        client.prepare_cached("delete from username_claim where username_key = $1 and user_id = $2").await?;
    client.execute(&statement, &[&username_key, &user_id]).await?;
    Ok(())
}

/// Inserts or updates the user and makes sure it has a stats row.
pub async fn upsert(client: &impl GenericClient, user: &NewUser) -> ApiResult<UserRecord> {
    let statement = client
        .prepare_cached(
            "insert into app_user (user_id, username, email, display_name, timezone, public_profile) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (user_id) do update set username = excluded.username, email = excluded.email, \
             display_name = excluded.display_name, timezone = excluded.timezone, \
             public_profile = excluded.public_profile, updated_at = now() \
             returning user_id, username, email, display_name, timezone, public_profile",
        )
        .await?;
    let row = client
        .query_one(
            &statement,
            &[
                &user.user_id,
                &user.username,
                &user.email,
                &user.display_name,
                &user.timezone.name(),
                &user.public_profile,
            ],
        )
        .await?;
    let stats = client
        .prepare_cached("insert into user_stats (user_id) values ($1) on conflict (user_id) do nothing")
        .await?;
    client.execute(&stats, &[&user.user_id]).await?;
    Ok(from_row(&row))
}

/// Returns a user by id.
pub async fn find(client: &impl GenericClient, user_id: &str) -> ApiResult<Option<UserRecord>> {
    let statement = client
        .prepare_cached(
            "select user_id, username, email, display_name, timezone, public_profile from app_user where user_id = $1",
        )
        .await?;
    Ok(client.query_opt(&statement, &[&user_id]).await?.as_ref().map(from_row))
}

/// Returns the id of the user holding a username (case-insensitive).
pub async fn find_by_username(client: &impl GenericClient, username: &str) -> ApiResult<Option<String>> {
    let statement =
        client.prepare_cached("select user_id from username_claim where username_key = $1").await?;
    Ok(client.query_opt(&statement, &[&username.to_ascii_lowercase()]).await?.map(|row| row.get(0)))
}
