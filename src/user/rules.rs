//! Validation of user records, boosters and token grants. Pure: no IO.

use chrono_tz::Tz;

use crate::error::ApiError;
use crate::proto as pb;

/// A validated user record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    /// Opaque id from the identity system.
    pub user_id: String,
    /// Unique, case-insensitively.
    pub username: String,
    /// Contact address; never shown publicly.
    pub email: String,
    /// Shown on profiles.
    pub display_name: String,
    /// Where the user's days begin and end.
    pub timezone: Tz,
    /// Whether the public profile is visible.
    pub public_profile: bool,
}

impl NewUser {
    /// Returns the key under which the username is unique.
    pub fn username_key(&self) -> String {
        self.username.to_ascii_lowercase()
    }
}

/// Checks a user id (1 to 64 characters).
pub fn validate_user_id(user_id: &str) -> Result<(), ApiError> {
    if user_id.is_empty() || user_id.chars().count() > 64 {
        return Err(ApiError::invalid("user_id", "must be 1 to 64 characters"));
    }
    Ok(())
}

impl TryFrom<pb::UpsertUserRequest> for NewUser {
    type Error = ApiError;

    fn try_from(request: pb::UpsertUserRequest) -> Result<Self, Self::Error> {
        validate_user_id(&request.user_id)?;
        let username_ok = (3..=32).contains(&request.username.len())
            && request.username.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"_.-".contains(&byte));
        if !username_ok {
            return Err(ApiError::invalid("username", "must be 3 to 32 of A-Z a-z 0-9 _ . -"));
        }
        let email_ok = request.email.is_empty()
            || (request.email.chars().count() <= 254
                && request
                    .email
                    .split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
                && !request.email.chars().any(char::is_whitespace));
        if !email_ok {
            return Err(ApiError::invalid(
                "email",
                "must be an address such as ada@example.org, at most 254 characters",
            ));
        }
        if request.display_name.chars().count() > 100 || request.display_name.chars().any(char::is_control) {
            return Err(ApiError::invalid("display_name", "must be at most 100 printable characters"));
        }
        if request.timezone.is_empty() {
            return Err(ApiError::invalid("timezone", "is required (an IANA name such as Europe/Paris)"));
        }
        let timezone = crate::time::parse_timezone(&request.timezone).ok_or_else(|| {
            ApiError::invalid("timezone", format!("unknown time zone {:?}", truncate(&request.timezone)))
        })?;
        Ok(NewUser {
            user_id: request.user_id,
            username: request.username,
            email: request.email,
            display_name: request.display_name,
            timezone,
            public_profile: request.public_profile.unwrap_or(true),
        })
    }
}

/// A validated booster request.
#[derive(Clone, Copy, Debug)]
pub struct NewBooster {
    /// 1 to 10.
    pub multiplier: f64,
    /// 1 second to 7 days.
    pub duration_seconds: i32,
}

impl TryFrom<&pb::StartBoosterRequest> for NewBooster {
    type Error = ApiError;

    fn try_from(request: &pb::StartBoosterRequest) -> Result<Self, Self::Error> {
        validate_user_id(&request.user_id)?;
        if !(request.multiplier.is_finite() && (1.0..=10.0).contains(&request.multiplier)) {
            return Err(ApiError::invalid("multiplier", "must be 1 to 10"));
        }
        if !(1..=604_800).contains(&request.duration_seconds) {
            return Err(ApiError::invalid("duration_seconds", "must be 1 to 604800 (7 days)"));
        }
        Ok(NewBooster { multiplier: request.multiplier, duration_seconds: request.duration_seconds })
    }
}

/// Checks a token grant: a non-zero amount within ±1,000,000 and a reason.
pub fn validate_grant(request: &pb::GrantTokensRequest) -> Result<(), ApiError> {
    validate_user_id(&request.user_id)?;
    if request.amount == 0 || request.amount.unsigned_abs() > 1_000_000 {
        return Err(ApiError::invalid("amount", "must be non-zero and within ±1000000"));
    }
    let reason_chars = request.reason.chars().count();
    if reason_chars == 0 || reason_chars > 200 {
        return Err(ApiError::invalid("reason", "must be 1 to 200 characters"));
    }
    Ok(())
}

fn truncate(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> pb::UpsertUserRequest {
        pb::UpsertUserRequest {
            user_id: "u1".into(),
            username: "Ada.L-1_x".into(),
            email: "ada@example.org".into(),
            display_name: "Ada".into(),
            timezone: "Asia/Kolkata".into(),
            public_profile: None,
        }
    }

    fn field_of(result: Result<NewUser, ApiError>) -> String {
        match result {
            Err(ApiError::InvalidArgument(message)) => message.split(':').next().unwrap().to_owned(),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    /// A good record passes and public_profile defaults to true.
    fn valid_user() {
        let user = NewUser::try_from(request()).unwrap();
        assert!(user.public_profile);
        assert_eq!(user.username_key(), "ada.l-1_x");
    }

    #[test]
    /// Each bad field is named.
    fn invalid_fields_are_named() {
        assert_eq!(
            field_of(NewUser::try_from(pb::UpsertUserRequest { username: "ab".into(), ..request() })),
            "username"
        );
        assert_eq!(
            field_of(NewUser::try_from(pb::UpsertUserRequest { username: "a b c".into(), ..request() })),
            "username"
        );
        assert_eq!(
            field_of(NewUser::try_from(pb::UpsertUserRequest {
                timezone: "Mars/Olympus".into(),
                ..request()
            })),
            "timezone"
        );
        assert_eq!(
            field_of(NewUser::try_from(pb::UpsertUserRequest { email: "nope".into(), ..request() })),
            "email"
        );
        assert_eq!(
            field_of(NewUser::try_from(pb::UpsertUserRequest { user_id: "x".repeat(65), ..request() })),
            "user_id"
        );
    }
}
