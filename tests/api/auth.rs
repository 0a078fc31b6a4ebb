use tonic::Code;
use xentree::auth::{ApiKeyStore, Scopes, sign_user_token};
use xentree::proto as pb;

use crate::helpers::*;

async fn streak_with(app: &TestApp, credential: Option<&str>) -> Result<pb::StreakStatus, tonic::Status> {
    let request = match credential {
        Some(credential) => with_bearer(pb::GetStreakStatusRequest {}, credential),
        None => tonic::Request::new(pb::GetStreakStatusRequest {}),
    };
    app.streaks().get_streak_status(request).await.map(tonic::Response::into_inner)
}

#[tokio::test]
/// None, bad, expired and revoked credentials → 401; missing scope or the
/// wrong kind of credential → 403; good ones pass.
async fn auth_matrix() {
    let app = spawn_app().await;
    app.create_user("u1", "guarded", "UTC").await;
    let now = app.clock_now().timestamp();
    let keys = ApiKeyStore::new(app.state().db.clone());

    assert_eq!(streak_with(&app, None).await.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(streak_with(&app, Some("not.a.jwt")).await.unwrap_err().code(), Code::Unauthenticated);
    let wrong_secret = sign_user_token("another-secret-entirely", "u1", now + 60, None);
    assert_eq!(streak_with(&app, Some(&wrong_secret)).await.unwrap_err().code(), Code::Unauthenticated);
    let expired = sign_user_token(JWT_SECRET, "u1", now - 1, None);
    assert_eq!(streak_with(&app, Some(&expired)).await.unwrap_err().code(), Code::Unauthenticated);
    let unknown_key = "xnt_0000000000000000000000000000000000000000000000000";
    assert_eq!(streak_with(&app, Some(unknown_key)).await.unwrap_err().code(), Code::Unauthenticated);

    let good = sign_user_token(JWT_SECRET, "u1", now + 60, None);
    assert_eq!(streak_with(&app, Some(&good)).await.unwrap().current_streak, 0);
    let narrow = sign_user_token(JWT_SECRET, "u1", now + 60, Some("conversations:read"));
    assert_eq!(streak_with(&app, Some(&narrow)).await.unwrap_err().code(), Code::PermissionDenied);

    // A user-bound key acts as its user; revoked, it is refused.
    let user_key = keys.create("widget", Scopes::parse_list(["xp:read"]).unwrap(), Some("u1")).await.unwrap();
    assert!(streak_with(&app, Some(&user_key.secret)).await.is_ok());
    let mut via_header = tonic::Request::new(pb::GetStreakStatusRequest {});
    via_header.metadata_mut().insert("x-api-key", user_key.secret.parse().unwrap());
    assert!(app.streaks().get_streak_status(via_header).await.is_ok());
    assert!(keys.revoke(user_key.key_id).await.unwrap());
    assert_eq!(streak_with(&app, Some(&user_key.secret)).await.unwrap_err().code(), Code::Unauthenticated);

    // A service key cannot act as a user; a user cannot call the internal API.
    assert_eq!(streak_with(&app, Some(&app.service_key)).await.unwrap_err().code(), Code::PermissionDenied);
    let as_user = app
        .activity()
        .ingest_events(with_bearer(pb::IngestEventsRequest { events: vec![] }, &good))
        .await
        .unwrap_err();
    assert_eq!(as_user.code(), Code::PermissionDenied);
    // A service key without the scope.
    let events_only =
        keys.create("feeder", Scopes::parse_list(["events:write"]).unwrap(), None).await.unwrap();
    let denied = app
        .users()
        .grant_tokens(with_bearer(
            pb::GrantTokensRequest { user_id: "u1".into(), amount: 5, reason: "x".into() },
            &events_only.secret,
        ))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(app.stats("u1").await.token_balance, 0);

    // Keys are stored only as hashes.
    let stored: i64 = app
        .db()
        .await
        .query_one(
            "select count(*) from api_key where position($1::bytea in key_hash) > 0",
            &[&events_only.secret.as_bytes()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);
}

#[tokio::test]
/// Health is SERVING once started; reflection lists the services.
async fn health_and_reflection() {
    let app = spawn_app().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(app.channel.clone());
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);
}

#[tokio::test]
/// A verified API key is trusted for XENTREE_API_KEY_CACHE_MS, then asked again:
/// a revocation takes effect once that time has passed.
async fn revoked_key_is_refused_once_its_cache_time_passes() {
    let app = spawn_app_with("2026-06-10T12:00:00Z", |settings| settings.api_key_cache_ms = 1000).await;
    app.create_user("u1", "cachedkey", "UTC").await;
    let keys = ApiKeyStore::new(app.state().db.clone());
    let key = keys.create("widget", Scopes::parse_list(["xp:read"]).unwrap(), Some("u1")).await.unwrap();
    assert!(streak_with(&app, Some(&key.secret)).await.is_ok());
    assert!(keys.revoke(key.key_id).await.unwrap());
    assert!(streak_with(&app, Some(&key.secret)).await.is_ok(), "trusted from memory within the cache time");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(streak_with(&app, Some(&key.secret)).await.unwrap_err().code(), Code::Unauthenticated);
}
