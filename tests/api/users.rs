use tonic::Code;
use xentree::proto as pb;

use crate::helpers::*;

fn upsert(user_id: &str, username: &str, timezone: &str) -> pb::UpsertUserRequest {
    pb::UpsertUserRequest {
        user_id: user_id.into(),
        username: username.into(),
        email: "someone@example.org".into(),
        display_name: "Some One".into(),
        timezone: timezone.into(),
        public_profile: Some(false),
    }
}

#[tokio::test]
/// A user is created, then updated in place; the stored record is returned.
async fn upsert_creates_then_updates() {
    let app = spawn_app().await;
    let created = app
        .users()
        .upsert_user(app.as_service(upsert("u1", "Ada", "Asia/Kolkata")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        created,
        pb::User {
            user_id: "u1".into(),
            username: "Ada".into(),
            email: "someone@example.org".into(),
            display_name: "Some One".into(),
            timezone: "Asia/Kolkata".into(),
            public_profile: false,
        }
    );
    let updated = app
        .users()
        .upsert_user(app.as_service(upsert("u1", "ada_l", "America/Los_Angeles")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((updated.username.as_str(), updated.timezone.as_str()), ("ada_l", "America/Los_Angeles"));
    let count: i64 = app.db().await.query_one("select count(*) from app_user", &[]).await.unwrap().get(0);
    assert_eq!(count, 1);
    assert_eq!(app.stats("u1").await.total_xp, 0);
}

#[tokio::test]
/// A username is unique case-insensitively; a released one can be taken.
async fn username_taken_by_another_user_is_409() {
    let app = spawn_app().await;
    app.create_user("u1", "Grace", "UTC").await;
    let taken = app.users().upsert_user(app.as_service(upsert("u2", "gRACE", "UTC"))).await.unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(taken.message().starts_with("username:"), "{}", taken.message());
    // u1 renames itself; its old name is free again.
    app.users().upsert_user(app.as_service(upsert("u1", "Hopper", "UTC"))).await.unwrap();
    let user =
        app.users().upsert_user(app.as_service(upsert("u2", "grace", "UTC"))).await.unwrap().into_inner();
    assert_eq!(user.username, "grace");
    // Changing only the case of one's own name is fine.
    app.users().upsert_user(app.as_service(upsert("u2", "GRACE", "UTC"))).await.unwrap();
}

#[tokio::test]
/// Each invalid field is rejected with INVALID_ARGUMENT naming it, and nothing is stored.
async fn upsert_validation_names_the_field() {
    let app = spawn_app().await;
    let cases = [
        (upsert("", "valid_name", "UTC"), "user_id"),
        (upsert(&"x".repeat(65), "valid_name", "UTC"), "user_id"),
        (upsert("u1", "ab", "UTC"), "username"),
        (upsert("u1", &"a".repeat(33), "UTC"), "username"),
        (upsert("u1", "bad name", "UTC"), "username"),
        (upsert("u1", "valid_name", "Mars/Olympus_Mons"), "timezone"),
        (upsert("u1", "valid_name", ""), "timezone"),
        (
            pb::UpsertUserRequest { email: "not-an-address".into(), ..upsert("u1", "valid_name", "UTC") },
            "email",
        ),
        (
            pb::UpsertUserRequest { display_name: "x".repeat(101), ..upsert("u1", "valid_name", "UTC") },
            "display_name",
        ),
    ];
    for (request, field) in cases {
        let status = app.users().upsert_user(app.as_service(request)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(status.message().starts_with(&format!("{field}:")), "{field}: {}", status.message());
    }
    let count: i64 = app.db().await.query_one("select count(*) from app_user", &[]).await.unwrap().get(0);
    assert_eq!(count, 0);
}

#[tokio::test]
/// Tokens are granted through the ledger; a balance never goes negative.
async fn token_ledger_never_negative() {
    let app = spawn_app().await;
    app.create_user("u1", "tokens", "UTC").await;
    let grant = |amount: i32| pb::GrantTokensRequest { user_id: "u1".into(), amount, reason: "test".into() };
    let balance =
        app.users().grant_tokens(app.as_service(grant(150))).await.unwrap().into_inner().token_balance;
    assert_eq!(balance, 150);
    let balance =
        app.users().grant_tokens(app.as_service(grant(-100))).await.unwrap().into_inner().token_balance;
    assert_eq!(balance, 50);
    let refused = app.users().grant_tokens(app.as_service(grant(-51))).await.unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(app.stats("u1").await.token_balance, 50);
    let rows = app
        .db()
        .await
        .query("select amount from token_ledger where user_id = 'u1' order by created_at", &[])
        .await
        .unwrap();
    let amounts: Vec<i32> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(amounts, vec![150, -100]);
    let zero = app.users().grant_tokens(app.as_service(grant(0))).await.unwrap_err();
    assert_eq!(zero.code(), Code::InvalidArgument);
    let unknown = app
        .users()
        .grant_tokens(app.as_service(pb::GrantTokensRequest {
            user_id: "nobody".into(),
            amount: 5,
            reason: "x".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
/// Boosters multiply XP by occurred_at, rounding floor(xp·m + 0.5), only inside [start, end).
async fn booster_credits_by_occurred_at() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "boosted", "UTC").await;
    let booster = app
        .users()
        .start_booster(app.as_service(pb::StartBoosterRequest {
            user_id: "u1".into(),
            multiplier: 1.5,
            duration_seconds: 900,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (booster.starts_at.as_str(), booster.ends_at.as_str()),
        ("2026-06-10T12:00:00Z", "2026-06-10T12:15:00Z")
    );
    app.set_now("2026-06-10T12:20:00Z");
    let report = app
        .ingest(vec![
            segment("before", "u1", "2026-06-10T11:59:59Z", 15),   // 15
            segment("start", "u1", "2026-06-10T12:00:00Z", 15),    // 22.5 → 23
            quiz("inside", "u1", "2026-06-10T12:14:59Z", 7, true), // 10.5 → 11
            segment("end", "u1", "2026-06-10T12:15:00Z", 15),      // 15
        ])
        .await;
    assert_eq!(report.accepted, 4);
    assert_eq!(app.stats("u1").await.total_xp, 15 + 23 + 11 + 15);
    let invalid = app
        .users()
        .start_booster(app.as_service(pb::StartBoosterRequest {
            user_id: "u1".into(),
            multiplier: 0.5,
            duration_seconds: 60,
        }))
        .await
        .unwrap_err();
    assert_eq!(invalid.code(), Code::InvalidArgument);
    assert!(invalid.message().starts_with("multiplier:"));
}
