//! Security: the public profile leaks nothing private, API keys are stored
//! only as hashes, and a user's credentials never reach another user's data
//! or the internal write API.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use tonic::Code;
use xentree::auth::{ApiKeyStore, Scopes, sign_user_token};
use xentree::proto as pb;

use crate::envoy::Envoy;
use crate::helpers::*;
use crate::reliability_input::totals;

/// Two learners with activity, tokens and a booster; the victim's private
/// fields are distinctive so that any leak shows in raw text.
async fn two_learners() -> (TestApp, Envoy) {
    let app = spawn_app().await;
    let envoy = Envoy::start(&app).await;
    app.create_user("attacker-id-1", "mallory", "UTC").await;
    app.users()
        .upsert_user(app.as_service(pb::UpsertUserRequest {
            user_id: "victim-secret-id".into(),
            username: "alice".into(),
            email: "alice.private@example.org".into(),
            display_name: "Alice".into(),
            timezone: "Pacific/Chatham".into(),
            public_profile: None,
        }))
        .await
        .unwrap();
    app.ingest(vec![
        segment("v1", "victim-secret-id", "2026-06-10T09:00:00Z", 77),
        session("v2", "victim-secret-id", "2026-06-10T09:30:00Z", 1234),
        segment("m1", "attacker-id-1", "2026-06-10T09:00:00Z", 5),
    ])
    .await;
    for user_id in ["victim-secret-id", "attacker-id-1"] {
        app.users()
            .grant_tokens(app.as_service(pb::GrantTokensRequest {
                user_id: user_id.into(),
                amount: 4321,
                reason: "secret bonus reason".into(),
            }))
            .await
            .unwrap();
    }
    app.users()
        .start_booster(app.as_service(pb::StartBoosterRequest {
            user_id: "victim-secret-id".into(),
            multiplier: 3.0,
            duration_seconds: 600,
        }))
        .await
        .unwrap();
    (app, envoy)
}

#[tokio::test]
/// The public profile's raw JSON has exactly the public keys and none of the private values.
async fn public_profile_raw_json_has_only_public_fields() {
    let (app, envoy) = two_learners().await;
    let response = reqwest::get(envoy.url("/api/xp/public-profile/ALICE")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let raw = response.text().await.unwrap();
    let body: Value = serde_json::from_str(&raw).unwrap();
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["current_streak", "display_name", "level", "longest_streak", "total_xp", "username"]);
    for private in
        ["victim-secret-id", "alice.private", "Pacific/Chatham", "4321", "1234", "secret bonus", "multiplier"]
    {
        assert!(!raw.contains(private), "{private:?} leaked in {raw}");
    }
    // gRPC shows the same message: no field beyond the public six.
    let public = app.xp().get_public_profile(pb::GetPublicProfileRequest { username: "alice".into() }).await;
    let public = public.unwrap().into_inner();
    assert_eq!((public.username.as_str(), public.total_xp), ("alice", 77));
    let encoded = prost::Message::encode_to_vec(&public);
    assert!(!String::from_utf8_lossy(&encoded).contains("victim-secret-id"));
}

#[tokio::test]
/// API keys are stored as their SHA-256 only: no column holds the key or any part of its secret.
async fn api_keys_are_stored_only_as_hashes() {
    let app = spawn_app().await;
    let keys = ApiKeyStore::new(app.state().db.clone());
    let created = keys.create("widget", Scopes::parse_list(["xp:read"]).unwrap(), Some("u1")).await.unwrap();
    let rows = app.db().await.query("select row(k.*)::text, key_hash from api_key k", &[]).await.unwrap();
    assert_eq!(rows.len(), 2, "the test service key and this one");
    let secret_part = created.secret.trim_start_matches(xentree::auth::KEY_PREFIX);
    let expected_hash = Sha256::digest(created.secret.as_bytes()).to_vec();
    let mut found = false;
    for row in &rows {
        let text: String = row.get(0);
        assert!(!text.contains(secret_part) && !text.contains(&secret_part[..16]), "secret stored: {text}");
        let hash: Vec<u8> = row.get(1);
        assert_eq!(hash.len(), 32);
        found |= hash == expected_hash;
    }
    assert!(found, "the key's SHA-256 is what identifies it");
    // The key still authenticates; a key one character off does not.
    let mut wrong = created.secret.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert!(keys.authenticate(&created.secret).await.unwrap().is_some());
    assert!(keys.authenticate(&wrong).await.unwrap().is_none());
}

/// Sends a REST request with a credential and returns the status and body.
async fn rest(
    envoy: &Envoy,
    method: Method,
    path: &str,
    credential: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, envoy.url(path)).bearer_auth(credential);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
/// With the attacker's token, every read path naming the victim (path, query,
/// header, body) answers the attacker's own data or a 4xx, never the victim's.
async fn a_user_token_never_reads_another_users_data() {
    let (app, envoy) = two_learners().await;
    let token = app.token("attacker-id-1");
    let victim_markers =
        ["victim-secret-id", "alice", "Alice", "Pacific/Chatham", ":1234", ":77", "\"multiplier\""];
    let reads = [
        "/api/xp/profile",
        "/api/xp/streak-status",
        "/api/xp/weekly-activity",
        "/api/xp/learning-pulse",
        "/api/xp/daily-quests",
        "/api/analytics/learning-time",
    ];
    let mut attempts = 0;
    for path in reads {
        for suffix in [
            "",
            "?user_id=victim-secret-id",
            "?username=alice",
            "?sub=victim-secret-id",
            "/victim-secret-id",
            "?user_id=victim-secret-id&user_id=victim-secret-id",
        ] {
            let full = format!("{path}{suffix}");
            let response = reqwest::Client::new()
                .get(envoy.url(&full))
                .bearer_auth(&token)
                .header("x-user-id", "victim-secret-id")
                .header("x-forwarded-user", "victim-secret-id")
                .send()
                .await
                .unwrap();
            let status = response.status();
            let raw = response.text().await.unwrap();
            attempts += 1;
            if status != StatusCode::OK {
                // Refusals may echo the path the caller sent, nothing more.
                assert!(status.is_client_error(), "{full}: {status} {raw}");
                continue;
            }
            for marker in victim_markers {
                assert!(!raw.contains(marker), "{full}: {marker:?} of the victim in {raw}");
            }
            if path == "/api/xp/profile" {
                let body: Value = serde_json::from_str(&raw).unwrap();
                assert_eq!(body["user_id"], json!("attacker-id-1"), "{full}");
            }
        }
    }
    assert_eq!(attempts, 36);

    // Completing a quest acts on the caller's own quests only.
    let before = totals(&app).await;
    let victims_claims = || async {
        let row = app
            .db()
            .await
            .query_one("select count(*) from quest_claim where user_id = 'victim-secret-id'", &[])
            .await;
        row.unwrap().get::<_, i64>(0)
    };
    let claims_before = victims_claims().await;
    let (status, _) = rest(
        &envoy,
        Method::POST,
        "/api/xp/daily-quests/2026-06-10.xp_30/complete?user_id=victim-secret-id",
        &token,
        Some(json!({})),
    )
    .await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(victims_claims().await, claims_before);

    // A token naming the victim but signed with another secret is refused.
    let forged =
        sign_user_token("not-the-real-secret", "victim-secret-id", app.clock_now().timestamp() + 60, None);
    let (status, body) = rest(&envoy, Method::GET, "/api/xp/profile", &forged, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // An unsigned token (alg none) is refused.
    let unsigned = format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        "eyJzdWIiOiJ2aWN0aW0tc2VjcmV0LWlkIiwiZXhwIjo5OTk5OTk5OTk5fQ"
    );
    let (status, body) = rest(&envoy, Method::GET, "/api/xp/profile", &unsigned, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(totals(&app).await, before);
}

#[tokio::test]
/// User credentials (token, scoped token, user-bound key) are refused by every internal write path, over REST and gRPC.
async fn user_credentials_cannot_use_the_internal_write_api() {
    let (app, envoy) = two_learners().await;
    let keys = ApiKeyStore::new(app.state().db.clone());
    let all_scopes =
        Scopes::parse_list(["xp:read", "quests:write", "conversations:read", "events:write", "users:write"])
            .unwrap();
    let bound_key = keys.create("bound", all_scopes, Some("attacker-id-1")).await.unwrap().secret;
    let scoped_token = sign_user_token(
        JWT_SECRET,
        "attacker-id-1",
        app.clock_now().timestamp() + 600,
        Some("events:write users:write xp:read"),
    );
    let credentials = [app.token("attacker-id-1"), scoped_token, bound_key];
    let before = totals(&app).await;

    let writes = [
        (
            Method::PUT,
            "/api/users/victim-secret-id",
            json!({"username": "pwned", "email": "", "display_name": "", "timezone": "UTC"}),
        ),
        (Method::POST, "/api/users/attacker-id-1/tokens", json!({"amount": 1000, "reason": "self-service"})),
        (Method::POST, "/api/users/victim-secret-id/tokens", json!({"amount": -4321, "reason": "theft"})),
        (
            Method::POST,
            "/api/users/attacker-id-1/boosters",
            json!({"multiplier": 10.0, "duration_seconds": 604800}),
        ),
        (
            Method::POST,
            "/api/activity/events",
            json!({"events": [{"event_id": "forged", "user_id": "attacker-id-1", "type": "segment_completed", "occurred_at": "2026-06-10T10:00:00Z", "xp": 1000}]}),
        ),
    ];
    for credential in &credentials {
        for (method, path, body) in &writes {
            let (status, reply) = rest(&envoy, method.clone(), path, credential, Some(body.clone())).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {reply}");
            assert_eq!(reply["code"], json!(7), "{reply}");
        }
        let forged_event = segment("forged-grpc", "attacker-id-1", "2026-06-10T10:00:00Z", 1000);
        let ingest = app
            .activity()
            .ingest_events(with_bearer(pb::IngestEventsRequest { events: vec![forged_event] }, credential))
            .await;
        assert_eq!(ingest.unwrap_err().code(), Code::PermissionDenied);
        let grant = pb::GrantTokensRequest { user_id: "attacker-id-1".into(), amount: 5, reason: "x".into() };
        let granted = app.users().grant_tokens(with_bearer(grant, credential)).await;
        assert_eq!(granted.unwrap_err().code(), Code::PermissionDenied);
    }
    // A service key cannot read as a user either: it has no user to be.
    let profile = app.xp().get_profile(app.as_service(pb::GetProfileRequest {})).await;
    assert_eq!(profile.unwrap_err().code(), Code::PermissionDenied);
    assert_eq!(totals(&app).await, before);
}
