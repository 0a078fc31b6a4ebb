//! REST through the real Envoy: every path of the contract with exact JSON
//! (field names, number and boolean types, zeros and empty lists printed),
//! each error class with its HTTP status and `{code, message}` body, both
//! credential headers, CORS preflight and the public-profile rate limit.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use xentree::auth::{ApiKeyStore, Scopes, sign_user_token};

use crate::envoy::{Envoy, free_port};
use crate::helpers::*;

/// A credential as a REST client sends it.
#[derive(Clone, Copy)]
enum Credential<'a> {
    None,
    Bearer(&'a str),
    ApiKey(&'a str),
}

/// The test server with Envoy in front and an HTTP/1.1 client.
struct Rest {
    app: TestApp,
    envoy: Envoy,
    client: reqwest::Client,
}

/// A REST reply: status, headers and the body parsed as JSON.
struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Reply {
    /// Asserts a successful reply and returns its body.
    fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        self.body
    }

    /// Asserts an error reply: the status and a JSON body holding the gRPC code
    /// (a number) and a message (a string) that mentions `mentions`.
    fn error(self, status: StatusCode, grpc_code: i64, mentions: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.body);
        let content_type = self.headers.get("content-type").and_then(|value| value.to_str().ok());
        assert!(content_type.is_some_and(|value| value.starts_with("application/json")), "{content_type:?}");
        assert_eq!(self.body["code"], json!(grpc_code), "body: {}", self.body);
        let message = self.body["message"].as_str().unwrap_or_else(|| panic!("message in {}", self.body));
        assert!(message.contains(mentions), "{message:?} should mention {mentions:?}");
        message.to_owned()
    }
}

impl Rest {
    async fn start() -> Rest {
        Rest::start_at("2026-06-10T12:00:00Z").await
    }

    async fn start_at(now: &str) -> Rest {
        let app = spawn_app_at(now).await;
        let envoy = Envoy::start(&app).await;
        Rest { app, envoy, client: reqwest::Client::new() }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        credential: Credential<'_>,
        body: Option<String>,
    ) -> Reply {
        let mut request = self.client.request(method, self.envoy.url(path));
        request = match credential {
            Credential::None => request,
            Credential::Bearer(token) => request.bearer_auth(token),
            Credential::ApiKey(key) => request.header("x-api-key", key),
        };
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.expect("request through envoy");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}"));
        Reply { status, headers, body }
    }

    async fn get(&self, path: &str, credential: Credential<'_>) -> Reply {
        self.send(Method::GET, path, credential, None).await
    }

    async fn post(&self, path: &str, credential: Credential<'_>, body: Value) -> Reply {
        self.send(Method::POST, path, credential, Some(body.to_string())).await
    }

    async fn put(&self, path: &str, credential: Credential<'_>, body: Value) -> Reply {
        self.send(Method::PUT, path, credential, Some(body.to_string())).await
    }

    fn service(&self) -> Credential<'_> {
        Credential::Bearer(&self.app.service_key)
    }

    /// Creates a user over REST.
    async fn create_user(&self, user_id: &str, username: &str, timezone: &str) -> Value {
        let body = json!({
            "username": username,
            "email": format!("{username}@example.org"),
            "display_name": format!("Learner {username}"),
            "timezone": timezone,
        });
        self.put(&format!("/api/users/{user_id}"), self.service(), body).await.ok()
    }

    /// Sends events over REST and asserts they were all accepted.
    async fn ingest(&self, events: Value) {
        let count = events.as_array().expect("events").len();
        let report =
            self.post("/api/activity/events", self.service(), json!({ "events": events })).await.ok();
        assert_eq!(report, json!({"accepted": count, "duplicates": 0, "rejected": []}));
    }
}

/// Ada in Berlin at 2026-06-10 14:00 local: 120 XP of segments and a 30 XP
/// passed quiz today, a 10-minute session, 250 tokens granted, one freeze
/// bought (150 left), and a 2× booster started now for 15 minutes.
async fn seeded() -> (Rest, String) {
    let rest = Rest::start().await;
    rest.create_user("u1", "ada", "Europe/Berlin").await;
    rest.ingest(json!([
        {"event_id": "s1", "user_id": "u1", "type": "learning_session", "occurred_at": "2026-06-10T09:00:00Z", "duration_seconds": 600},
        {"event_id": "e1", "user_id": "u1", "type": "segment_completed", "occurred_at": "2026-06-10T10:00:00Z", "xp": 120},
        {"event_id": "q1", "user_id": "u1", "type": "quiz_completed", "occurred_at": "2026-06-10T11:00:00Z", "xp": 30, "passed": true},
    ]))
    .await;
    let granted =
        rest.post("/api/users/u1/tokens", rest.service(), json!({"amount": 250, "reason": "welcome"})).await;
    assert_eq!(granted.ok(), json!({"token_balance": 250}));
    let token = rest.app.token("u1");
    let bought = rest.post("/api/xp/streak-freezes", Credential::Bearer(&token), json!({})).await;
    assert_eq!(bought.ok(), json!({"freezes_available": 1, "token_balance": 150}));
    let booster = rest
        .post("/api/users/u1/boosters", rest.service(), json!({"multiplier": 2.0, "duration_seconds": 900}))
        .await
        .ok();
    assert_eq!(
        booster,
        json!({"multiplier": 2, "starts_at": "2026-06-10T12:00:00Z", "ends_at": "2026-06-10T12:15:00Z"})
    );
    (rest, token)
}

#[tokio::test]
/// The user upsert prints every field, `public_profile` false included.
async fn upsert_user_prints_every_field() {
    let rest = Rest::start().await;
    let body = json!({"username": "Grace", "email": "", "display_name": "", "timezone": "Asia/Kolkata", "public_profile": false});
    let user = rest.put("/api/users/u2", rest.service(), body).await.ok();
    assert_eq!(
        user,
        json!({"user_id": "u2", "username": "Grace", "email": "", "display_name": "", "timezone": "Asia/Kolkata", "public_profile": false})
    );
}

#[tokio::test]
/// Streak status after one learning day and a freeze purchase, with exact types.
async fn streak_status_body() {
    let (rest, token) = seeded().await;
    let status = rest.get("/api/xp/streak-status", Credential::Bearer(&token)).await.ok();
    assert_eq!(
        status,
        json!({
            "current_streak": 1, "longest_streak": 1, "freezes_available": 1, "freezes_used": 0,
            "last_activity": "2026-06-10", "streak_at_risk": false, "today": "2026-06-10"
        })
    );
}

#[tokio::test]
/// A user who never learned gets zeros, false and "" rather than missing fields.
async fn streak_status_of_a_new_user_prints_zeros() {
    let rest = Rest::start().await;
    rest.create_user("u3", "newcomer", "Pacific/Kiritimati").await;
    let token = rest.app.token("u3");
    let status = rest.get("/api/xp/streak-status", Credential::Bearer(&token)).await.ok();
    assert_eq!(
        status,
        json!({
            "current_streak": 0, "longest_streak": 0, "freezes_available": 0, "freezes_used": 0,
            "last_activity": "", "streak_at_risk": false, "today": "2026-06-11"
        })
    );
}

#[tokio::test]
/// The profile: level arithmetic, tokens, the active booster and today's XP split.
async fn profile_body() {
    let (rest, token) = seeded().await;
    let profile = rest.get("/api/xp/profile", Credential::Bearer(&token)).await.ok();
    assert_eq!(
        profile,
        json!({
            "user_id": "u1", "username": "ada", "display_name": "Learner ada", "timezone": "Europe/Berlin",
            "total_xp": 150, "level": 2, "xp_into_level": 50, "xp_to_next_level": 150, "next_level_xp": 300,
            "current_streak": 1, "longest_streak": 1, "token_balance": 150,
            "active_booster": {"multiplier": 2, "ends_at": "2026-06-10T12:15:00Z"},
            "today_xp": {"segments": 120, "quizzes": 30, "total": 150}
        })
    );

    // Once the booster has ended it is absent, not null.
    rest.app.set_now("2026-06-10T12:15:00Z");
    let later = rest.get("/api/xp/profile", Credential::Bearer(&token)).await.ok();
    assert!(later.get("active_booster").is_none(), "{later}");
}

#[tokio::test]
/// The public profile shows only public-safe fields and needs no credentials.
async fn public_profile_body() {
    let (rest, _) = seeded().await;
    let public = rest.get("/api/xp/public-profile/ada", Credential::None).await.ok();
    assert_eq!(
        public,
        json!({"username": "ada", "display_name": "Learner ada", "total_xp": 150, "level": 2, "current_streak": 1, "longest_streak": 1})
    );
}

#[tokio::test]
/// Unknown and private usernames are the same 404.
async fn public_profile_unknown_or_private_is_404() {
    let rest = Rest::start().await;
    let hidden = json!({"username": "hidden", "email": "", "display_name": "", "timezone": "UTC", "public_profile": false});
    rest.put("/api/users/u9", rest.service(), hidden).await.ok();
    let unknown = rest.get("/api/xp/public-profile/nobody", Credential::None).await;
    unknown.error(StatusCode::NOT_FOUND, 5, "");
    let private = rest.get("/api/xp/public-profile/hidden", Credential::None).await;
    private.error(StatusCode::NOT_FOUND, 5, "");
}

#[tokio::test]
/// The weekly widget: Sunday to Saturday, seven days, zeros printed.
async fn weekly_activity_body() {
    let (rest, token) = seeded().await;
    let weekly = rest.get("/api/xp/weekly-activity", Credential::Bearer(&token)).await.ok();
    let days: Vec<Value> = (7..=13)
        .map(|day| json!({"date": format!("2026-06-{day:02}"), "xp": if day == 10 { 150 } else { 0 }}))
        .collect();
    assert_eq!(
        weekly,
        json!({"week_start": "2026-06-07", "week_end": "2026-06-13", "days": days, "total_xp": 150, "freeze_covered_dates": []})
    );
}

#[tokio::test]
/// The learning pulse: 365 days ending today, empty days at level 0, totals.
async fn learning_pulse_body() {
    let (rest, token) = seeded().await;
    let pulse = rest.get("/api/xp/learning-pulse", Credential::Bearer(&token)).await.ok();
    let days = pulse["days"].as_array().expect("days");
    assert_eq!(days.len(), 365);
    assert_eq!(
        days[0],
        json!({"date": "2025-06-11", "xp_earned": 0, "learning_time": 0, "sessions": 0, "quizzes": 0, "quizzes_passed": 0, "level": 0})
    );
    assert_eq!(
        days[364],
        json!({"date": "2026-06-10", "xp_earned": 150, "learning_time": 600, "sessions": 1, "quizzes": 1, "quizzes_passed": 1, "level": 4})
    );
    let mut totals = pulse.clone();
    totals.as_object_mut().expect("object").remove("days");
    assert_eq!(
        totals,
        json!({"start_date": "2025-06-11", "end_date": "2026-06-10", "total_learning_time": 600, "total_sessions": 1, "total_quizzes": 1, "total_quizzes_passed": 1})
    );
}

#[tokio::test]
/// Analytics speak lowerCamelCase; an empty range prints zeros and an empty list.
async fn learning_time_body_in_camel_case() {
    let (rest, token) = seeded().await;
    let analytics = rest
        .get("/api/analytics/learning-time?from=2026-06-01&to=2026-06-30", Credential::Bearer(&token))
        .await
        .ok();
    assert_eq!(
        analytics,
        json!({
            "totalLearningTime": 600, "totalSessions": 1, "avgSessionLength": 600,
            "dailyBreakdown": [{"date": "2026-06-10", "learningTime": 600, "sessions": 1}]
        })
    );
    let all_time = rest.get("/api/analytics/learning-time", Credential::Bearer(&token)).await.ok();
    assert_eq!(all_time, analytics);
    let empty = rest
        .get("/api/analytics/learning-time?from=2026-01-01&to=2026-01-31", Credential::Bearer(&token))
        .await
        .ok();
    assert_eq!(
        empty,
        json!({"totalLearningTime": 0, "totalSessions": 0, "avgSessionLength": 0, "dailyBreakdown": []})
    );

    let bad_date = rest.get("/api/analytics/learning-time?from=2026-02-30", Credential::Bearer(&token)).await;
    bad_date.error(StatusCode::BAD_REQUEST, 3, "from");
    let reversed = rest
        .get("/api/analytics/learning-time?from=2026-06-30&to=2026-06-01", Credential::Bearer(&token))
        .await;
    reversed.error(StatusCode::BAD_REQUEST, 3, "");
}

#[tokio::test]
/// Daily quests: three of them, completed once for their reward, then 409.
async fn daily_quests_complete_once() {
    let rest = Rest::start().await;
    rest.create_user("u1", "quester", "Europe/Berlin").await;
    let token = rest.app.token("u1");
    let quests = rest.get("/api/xp/daily-quests", Credential::Bearer(&token)).await.ok();
    assert_eq!(quests["date"], json!("2026-06-10"));
    // The next Berlin midnight (CEST, UTC+2).
    let resets_at = quests["resets_at"].as_str().expect("resets_at");
    let resets_at = chrono::DateTime::parse_from_rfc3339(resets_at).expect("RFC 3339");
    assert_eq!(resets_at, at("2026-06-10T22:00:00Z"));
    let list = quests["quests"].as_array().expect("quests");
    assert_eq!(list.len(), 3, "{quests}");
    for quest in list {
        let keys: Vec<&str> = quest.as_object().expect("quest").keys().map(String::as_str).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["metric", "progress", "quest_id", "reward_tokens", "status", "target", "title"]);
        assert!(quest["target"].is_i64() && quest["reward_tokens"].is_i64(), "{quest}");
        assert_eq!((&quest["progress"], &quest["status"]), (&json!(0), &json!("active")), "{quest}");
    }

    // Not ready yet: refused, nothing granted.
    let first_id = list[0]["quest_id"].as_str().expect("quest_id").to_owned();
    let early = rest
        .post(&format!("/api/xp/daily-quests/{first_id}/complete"), Credential::Bearer(&token), json!({}))
        .await;
    early.error(StatusCode::BAD_REQUEST, 9, "");

    // Do enough of every metric to make all three ready.
    let mut events = Vec::new();
    for (index, quest) in list.iter().enumerate() {
        let target = quest["target"].as_i64().expect("target");
        let event = |n: i64, kind: &str, extra: Value| {
            let mut event = json!({"event_id": format!("q{index}-{n}"), "user_id": "u1", "type": kind, "occurred_at": "2026-06-10T10:00:00Z"});
            event.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            event
        };
        match quest["metric"].as_str().expect("metric") {
            "xp" => events.extend(
                (0..(target + 999) / 1000).map(|n| event(n, "segment_completed", json!({"xp": 1000}))),
            ),
            "segments" => events.extend((0..target).map(|n| event(n, "segment_completed", json!({"xp": 1})))),
            "quizzes" | "quizzes_passed" => {
                events.extend(
                    (0..target).map(|n| event(n, "quiz_completed", json!({"xp": 1, "passed": true}))),
                );
            }
            "learning_time" => events.extend(
                (0..(target + 86_399) / 86_400)
                    .map(|n| event(n, "learning_session", json!({"duration_seconds": 86_400}))),
            ),
            "sessions" => events
                .extend((0..target).map(|n| event(n, "learning_session", json!({"duration_seconds": 60})))),
            other => panic!("metric {other:?} is not in the contract"),
        }
    }
    rest.ingest(Value::Array(events)).await;
    let ready = rest.get("/api/xp/daily-quests", Credential::Bearer(&token)).await.ok();
    assert!(
        ready["quests"].as_array().unwrap().iter().all(|quest| quest["status"] == "ready_to_complete"),
        "{ready}"
    );

    let reward = list[0]["reward_tokens"].clone();
    let completed = rest
        .post(&format!("/api/xp/daily-quests/{first_id}/complete"), Credential::Bearer(&token), json!({}))
        .await
        .ok();
    assert_eq!(completed["token_balance"], reward, "{completed}");
    assert_eq!(completed["quest"]["quest_id"], json!(first_id));
    assert_eq!(completed["quest"]["status"], json!("completed"));
    let again = rest
        .post(&format!("/api/xp/daily-quests/{first_id}/complete"), Credential::Bearer(&token), json!({}))
        .await;
    again.error(StatusCode::CONFLICT, 6, "");
    let profile = rest.get("/api/xp/profile", Credential::Bearer(&token)).await.ok();
    assert_eq!(profile["token_balance"], reward, "no second reward");
}

#[tokio::test]
/// Invalid input: 400 naming the field; malformed JSON, wrong types and unknown
/// query parameters are 400 with a JSON body too; nothing is written.
async fn bad_input_is_400_json() {
    let rest = Rest::start().await;
    rest.create_user("u1", "ada", "UTC").await;
    let service = rest.service();

    let bad_zone =
        json!({"username": "bob", "email": "", "display_name": "", "timezone": "Mars/Olympus_Mons"});
    rest.put("/api/users/u2", service, bad_zone).await.error(StatusCode::BAD_REQUEST, 3, "timezone");
    let bad_amount = json!({"amount": 0, "reason": "nothing"});
    rest.post("/api/users/u1/tokens", service, bad_amount).await.error(StatusCode::BAD_REQUEST, 3, "amount");

    let malformed =
        rest.send(Method::POST, "/api/users/u1/tokens", service, Some("{\"amount\": ".into())).await;
    malformed.error(StatusCode::BAD_REQUEST, 3, "");
    let wrong_type = json!({"amount": "lots", "reason": "gift"});
    rest.post("/api/users/u1/tokens", service, wrong_type).await.error(StatusCode::BAD_REQUEST, 3, "");
    let token = rest.app.token("u1");
    let unknown_query = rest.get("/api/xp/streak-status?verbose=1", Credential::Bearer(&token)).await;
    unknown_query.error(StatusCode::BAD_REQUEST, 3, "");

    // FAILED_PRECONDITION is a 400 as well: no tokens for a freeze.
    let broke = rest.post("/api/xp/streak-freezes", Credential::Bearer(&token), json!({})).await;
    broke.error(StatusCode::BAD_REQUEST, 9, "token");

    let stored = rest.app.db().await.query_opt("select 1 from app_user where user_id = 'u2'", &[]).await;
    assert!(stored.expect("query").is_none(), "a refused user was stored");
    assert_eq!(rest.app.stats("u1").await.token_balance, 0);
}

#[tokio::test]
/// A username taken by another user (case-insensitively) is 409.
async fn taken_username_is_409() {
    let rest = Rest::start().await;
    rest.create_user("u1", "ada", "UTC").await;
    let clash = json!({"username": "ADA", "email": "", "display_name": "", "timezone": "UTC"});
    rest.put("/api/users/u2", rest.service(), clash).await.error(StatusCode::CONFLICT, 6, "username");
}

#[tokio::test]
/// No or bad credentials are 401; a missing scope or the wrong kind of caller is 403.
async fn auth_errors_are_401_and_403() {
    let rest = Rest::start().await;
    rest.create_user("u1", "ada", "UTC").await;
    let now = rest.app.clock_now().timestamp();

    rest.get("/api/xp/streak-status", Credential::None).await.error(
        StatusCode::UNAUTHORIZED,
        16,
        "credentials",
    );
    rest.get("/api/xp/streak-status", Credential::Bearer("not.a.jwt")).await.error(
        StatusCode::UNAUTHORIZED,
        16,
        "",
    );
    let expired = sign_user_token(JWT_SECRET, "u1", now - 1, None);
    rest.get("/api/xp/streak-status", Credential::Bearer(&expired)).await.error(
        StatusCode::UNAUTHORIZED,
        16,
        "",
    );
    let unknown_key = "xnt_0000000000000000000000000000000000000000000000000";
    rest.get("/api/xp/streak-status", Credential::ApiKey(unknown_key)).await.error(
        StatusCode::UNAUTHORIZED,
        16,
        "",
    );

    let read_only = sign_user_token(JWT_SECRET, "u1", now + 60, Some("xp:read"));
    let denied = rest.post("/api/xp/streak-freezes", Credential::Bearer(&read_only), json!({})).await;
    denied.error(StatusCode::FORBIDDEN, 7, "quests:write");
    let user_token = rest.app.token("u1");
    let user_on_internal = rest
        .post("/api/users/u1/tokens", Credential::Bearer(&user_token), json!({"amount": 5, "reason": "self"}))
        .await;
    user_on_internal.error(StatusCode::FORBIDDEN, 7, "");
    assert_eq!(rest.app.stats("u1").await.token_balance, 0);
}

#[tokio::test]
/// API keys work as `x-api-key` and as `Authorization: Bearer`, for users and services.
async fn api_keys_in_both_headers() {
    let rest = Rest::start().await;
    rest.create_user("u1", "ada", "UTC").await;
    let keys = ApiKeyStore::new(rest.app.state().db.clone());
    let user_key =
        keys.create("widget", Scopes::parse_list(["xp:read"]).unwrap(), Some("u1")).await.unwrap().secret;

    let via_header = rest.get("/api/xp/streak-status", Credential::ApiKey(&user_key)).await.ok();
    assert_eq!(via_header["today"], json!("2026-06-10"));
    let via_bearer = rest.get("/api/xp/streak-status", Credential::Bearer(&user_key)).await.ok();
    assert_eq!(via_bearer, via_header);

    let service_key = rest.app.service_key.clone();
    let granted = rest
        .post(
            "/api/users/u1/tokens",
            Credential::ApiKey(&service_key),
            json!({"amount": 7, "reason": "gift"}),
        )
        .await;
    assert_eq!(granted.ok(), json!({"token_balance": 7}));
}

#[tokio::test]
/// Unknown paths are a JSON 404 from Envoy, not a leak to the server.
async fn unknown_paths_are_404_json() {
    let rest = Rest::start().await;
    let token = rest.app.token("u1");
    rest.get("/api/nowhere", Credential::Bearer(&token)).await.error(StatusCode::NOT_FOUND, 5, "");
    rest.get("/api/xp/nowhere", Credential::Bearer(&token)).await.error(StatusCode::NOT_FOUND, 5, "");
    rest.get("/", Credential::None).await.error(StatusCode::NOT_FOUND, 5, "");
}

#[tokio::test]
/// A request body over 1 MiB is refused with 413 before reaching the server.
async fn oversized_body_is_413() {
    let rest = Rest::start().await;
    let huge = format!("{{\"events\":[{{\"event_id\":\"{}\"}}]}}", "x".repeat(1_100_000));
    let reply = rest.send(Method::POST, "/api/activity/events", rest.service(), Some(huge)).await;
    reply.error(StatusCode::PAYLOAD_TOO_LARGE, 8, "1048576");
}

#[tokio::test]
/// A burst on public profiles from one address hits the per-address limit: 429 JSON.
async fn public_profile_rate_limit_is_429() {
    let rest = Rest::start().await;
    rest.create_user("u1", "ada", "UTC").await;
    let burst = (0..80).map(|_| rest.get("/api/xp/public-profile/ada", Credential::None));
    let replies = futures::future::join_all(burst).await;
    let (limited, passed): (Vec<Reply>, Vec<Reply>) =
        replies.into_iter().partition(|reply| reply.status == StatusCode::TOO_MANY_REQUESTS);
    // The bucket starts full (30) and refills at 20 per second.
    assert!(passed.len() >= 30, "{} passed", passed.len());
    assert!(!limited.is_empty(), "no request was limited");
    for reply in limited {
        assert_eq!(reply.headers.get("retry-after").map(|value| value.as_bytes()), Some(&b"1"[..]));
        reply.error(StatusCode::TOO_MANY_REQUESTS, 8, "too many requests");
    }
    // Other paths have no such limit.
    let token = rest.app.token("u1");
    rest.get("/api/xp/streak-status", Credential::Bearer(&token)).await.ok();
}

#[tokio::test]
/// With the gRPC server down, REST answers 503 with a JSON body.
async fn upstream_down_is_503() {
    let nothing_there: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let envoy = Envoy::start_for(nothing_there).await;
    let response = reqwest::Client::new()
        .get(envoy.url("/api/xp/streak-status"))
        .bearer_auth("whatever")
        .send()
        .await
        .expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let body: Value = response.json().await.expect("JSON body");
    Reply { status, headers, body }.error(StatusCode::SERVICE_UNAVAILABLE, 14, "service unavailable");
}

#[tokio::test]
/// Envoy answers a browser's CORS preflight for the REST API and tags replies.
async fn cors_preflight_on_envoy() {
    let rest = Rest::start().await;
    let origin = "https://lms.example.org";
    let preflight = rest
        .client
        .request(Method::OPTIONS, rest.envoy.url("/api/xp/profile"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), StatusCode::OK);
    let header = |name: &str| {
        preflight.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert_eq!(header("access-control-allow-origin"), origin);
    assert!(
        header("access-control-allow-methods").contains("GET"),
        "{}",
        header("access-control-allow-methods")
    );
    assert!(header("access-control-allow-headers").contains("authorization"));

    rest.create_user("u1", "ada", "UTC").await;
    let actual = rest
        .client
        .get(rest.envoy.url("/api/xp/streak-status"))
        .header("origin", origin)
        .bearer_auth(rest.app.token("u1"))
        .send()
        .await
        .expect("request");
    assert_eq!(actual.status(), StatusCode::OK);
    assert_eq!(
        actual.headers().get("access-control-allow-origin").map(|value| value.as_bytes()),
        Some(origin.as_bytes())
    );
}
