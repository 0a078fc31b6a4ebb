//! Bad input on every endpoint, over gRPC and through Envoy: a table of
//! malformed requests, each refused with a 4xx naming the field (or, for an
//! invalid event inside a well-formed batch, rejected by index naming the
//! field), none a 5xx, and nothing written. Plus property tests of the event
//! decoder and validation, and random JSON bodies through Envoy.

use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::{Config, TestRunner};
use prost::Message as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tonic::Code;
use xentree::proto as pb;

use crate::envoy::Envoy;
use crate::helpers::*;

/// Counts and sums of every table: no refused request may change any of them.
pub(crate) async fn totals(app: &TestApp) -> Vec<String> {
    let queries = [
        "select count(*)::text from app_user",
        "select count(*)::text from username_claim",
        "select count(*)::text || ' ' || coalesce(sum(total_xp), 0)::text || ' ' || \
         coalesce(sum(current_streak + longest_streak + freezes_available + freezes_used), 0)::text || ' ' || \
         coalesce(sum(token_balance), 0)::text from user_stats",
        "select count(*)::text || ' ' || coalesce(sum(credited_xp), 0)::text from activity_event",
        "select count(*)::text || ' ' || coalesce(sum(xp_segments + xp_quizzes + segments + quizzes + \
         quizzes_passed + sessions), 0)::text || ' ' || coalesce(sum(learning_seconds), 0)::text from daily_rollup",
        "select count(*)::text from freeze_day",
        "select count(*)::text from booster",
        "select count(*)::text || ' ' || coalesce(sum(amount), 0)::text from token_ledger",
        "select count(*)::text from quest_claim",
        "select count(*)::text from api_key",
    ];
    let client = app.db().await;
    let mut values = Vec::new();
    for query in queries {
        values.push(format!("{query}: {}", client.query_one(query, &[]).await.unwrap().get::<_, String>(0)));
    }
    values
}

fn event(overrides: Value) -> Value {
    let mut event = json!({
        "event_id": "bad-1", "user_id": "u1", "type": "segment_completed",
        "occurred_at": "2026-06-10T10:00:00Z", "xp": 10
    });
    event.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
    event
}

fn events_body(overrides: Value) -> String {
    json!({ "events": [event(overrides)] }).to_string()
}

fn user_body(overrides: Value) -> String {
    let mut user =
        json!({"username": "newbie", "email": "n@example.org", "display_name": "N", "timezone": "UTC"});
    user.as_object_mut().unwrap().extend(overrides.as_object().unwrap().clone());
    user.to_string()
}

/// How a REST request must fail.
enum Expect {
    /// An error status whose JSON message mentions the text.
    Error(StatusCode, &'static str),
    /// 200 with every event rejected, the reason naming the field.
    Rejected(&'static str),
}

/// Who sends a REST request.
#[derive(Clone, Copy)]
enum As {
    Service,
    User,
    Nobody,
}

struct Case {
    method: Method,
    path: String,
    caller: As,
    body: Option<String>,
    expect: Expect,
}

fn case(method: Method, path: &str, caller: As, body: Option<String>, expect: Expect) -> Case {
    Case { method, path: path.to_owned(), caller, body, expect }
}

fn rest_cases() -> Vec<Case> {
    use Expect::{Error, Rejected};
    let bad = StatusCode::BAD_REQUEST;
    let events = "/api/activity/events";
    let post = |body: String, expect: Expect| case(Method::POST, events, As::Service, Some(body), expect);
    let put_user =
        |body: String, expect: Expect| case(Method::PUT, "/api/users/u2", As::Service, Some(body), expect);
    let tokens = |body: Value, expect: Expect| {
        case(Method::POST, "/api/users/u1/tokens", As::Service, Some(body.to_string()), expect)
    };
    let boosters = |body: Value, expect: Expect| {
        case(Method::POST, "/api/users/u1/boosters", As::Service, Some(body.to_string()), expect)
    };
    let analytics = |query: &str, expect: Expect| {
        case(Method::GET, &format!("/api/analytics/learning-time?{query}"), As::User, None, expect)
    };
    let complete = |quest_id: &str, expect: Expect| {
        case(
            Method::POST,
            &format!("/api/xp/daily-quests/{quest_id}/complete"),
            As::User,
            Some("{}".into()),
            expect,
        )
    };
    let thousand_and_one: Vec<Value> =
        (0..1001).map(|index| event(json!({"event_id": format!("many-{index}")}))).collect();
    vec![
        // Ingestion: the batch itself.
        post(json!({"events": []}).to_string(), Error(bad, "events")),
        post("{}".into(), Error(bad, "events")),
        post(json!({ "events": thousand_and_one }).to_string(), Error(bad, "events")),
        post(json!({"events": "all of them"}).to_string(), Error(bad, "events")),
        post(json!({"events": [42]}).to_string(), Error(bad, "events")),
        post("{\"events\": [".into(), Error(bad, "")),
        post("not json at all".into(), Error(bad, "")),
        post(json!({"events": [], "extra": true}).to_string(), Error(bad, "events")),
        // Ingestion: wrong types, which Envoy refuses naming the field.
        post(events_body(json!({"xp": "ten"})), Error(bad, "xp")),
        post(events_body(json!({"xp": 1.5})), Error(bad, "xp")),
        post(events_body(json!({"xp": 99_999_999_999_i64})), Error(bad, "xp")),
        post(events_body(json!({"passed": "maybe"})), Error(bad, "passed")),
        post(events_body(json!({"occurred_at": 1_780_000_000})), Error(bad, "occurred_at")),
        // Envoy names the element that held the wrong type.
        post(events_body(json!({"event_id": ["a"]})), Error(bad, "events[0]")),
        post(events_body(json!({"duration_seconds": {}})), Error(bad, "duration_seconds")),
        post(events_body(json!({"xp": true})), Error(bad, "xp")),
        // Ingestion: well-formed events with invalid values, rejected by index.
        post(events_body(json!({"xp": -5})), Rejected("xp")),
        post(events_body(json!({"xp": 1001})), Rejected("xp")),
        post(events_body(json!({"xp": 2_147_483_647})), Rejected("xp")),
        post(events_body(json!({"occurred_at": "2026-02-30T10:00:00Z"})), Rejected("occurred_at")),
        post(events_body(json!({"occurred_at": "2026-06-10 10:00"})), Rejected("occurred_at")),
        post(events_body(json!({"occurred_at": "2036-06-10T10:00:00Z"})), Rejected("occurred_at")),
        post(events_body(json!({"occurred_at": "1999-12-31T23:59:59Z"})), Rejected("occurred_at")),
        post(events_body(json!({"event_id": ""})), Rejected("event_id")),
        post(events_body(json!({"event_id": "e".repeat(129)})), Rejected("event_id")),
        post(events_body(json!({"user_id": "u".repeat(65)})), Rejected("user_id")),
        post(events_body(json!({"user_id": "nobody"})), Rejected("user_id")),
        post(events_body(json!({"type": "lesson_watched"})), Rejected("type")),
        post(
            events_body(json!({"type": "learning_session", "xp": 0, "duration_seconds": 86_401})),
            Rejected("duration_seconds"),
        ),
        post(
            events_body(json!({"type": "learning_session", "xp": 0, "duration_seconds": -60})),
            Rejected("duration_seconds"),
        ),
        post(
            events_body(json!({"type": "learning_session", "xp": 5, "duration_seconds": 60})),
            Rejected("xp"),
        ),
        // Users.
        put_user(user_body(json!({"timezone": "Mars/Olympus_Mons"})), Error(bad, "timezone")),
        put_user(user_body(json!({"timezone": ""})), Error(bad, "timezone")),
        put_user(user_body(json!({"timezone": "T".repeat(10_000)})), Error(bad, "timezone")),
        put_user(user_body(json!({"username": "ab"})), Error(bad, "username")),
        put_user(user_body(json!({"username": "x".repeat(33)})), Error(bad, "username")),
        put_user(user_body(json!({"username": "robert'); drop table app_user;--"})), Error(bad, "username")),
        put_user(user_body(json!({"email": "not-an-address"})), Error(bad, "email")),
        put_user(user_body(json!({"display_name": "d".repeat(101)})), Error(bad, "display_name")),
        put_user(user_body(json!({"public_profile": "sometimes"})), Error(bad, "public_profile")),
        put_user(user_body(json!({"username": {"first": "a"}})), Error(bad, "username")),
        case(
            Method::PUT,
            &format!("/api/users/{}", "u".repeat(65)),
            As::Service,
            Some(user_body(json!({}))),
            Error(bad, "user_id"),
        ),
        // Boosters and tokens.
        boosters(json!({"multiplier": 0.5, "duration_seconds": 60}), Error(bad, "multiplier")),
        boosters(json!({"multiplier": 1e308, "duration_seconds": 60}), Error(bad, "multiplier")),
        boosters(json!({"multiplier": "double", "duration_seconds": 60}), Error(bad, "multiplier")),
        boosters(json!({"multiplier": 2.0, "duration_seconds": -1}), Error(bad, "duration_seconds")),
        boosters(json!({"multiplier": 2.0, "duration_seconds": 604_801}), Error(bad, "duration_seconds")),
        boosters(json!({"multiplier": 2.0}), Error(bad, "duration_seconds")),
        tokens(json!({"amount": 0, "reason": "nothing"}), Error(bad, "amount")),
        tokens(json!({"amount": 1_000_001, "reason": "too much"}), Error(bad, "amount")),
        tokens(json!({"amount": -2_147_483_648_i64, "reason": "too little"}), Error(bad, "amount")),
        tokens(json!({"amount": 99_999_999_999_i64, "reason": "overflow"}), Error(bad, "amount")),
        tokens(json!({"amount": -5, "reason": "overdraw"}), Error(bad, "amount")),
        tokens(json!({"amount": 5}), Error(bad, "reason")),
        tokens(json!({"amount": 5, "reason": "r".repeat(201)}), Error(bad, "reason")),
        // Reads.
        analytics("from=2026-02-30", Error(bad, "from")),
        analytics("to=yesterday", Error(bad, "to")),
        analytics("from=2026-13-01&to=2026-14-01", Error(bad, "from")),
        analytics("from=99999-01-01", Error(bad, "from")),
        analytics("from=2026-06-30&to=2026-06-01", Error(bad, "from")),
        analytics("since=2026-06-01", Error(bad, "since")),
        case(Method::GET, "/api/xp/profile?user_id=u2&verbose=true", As::User, None, Error(bad, "verbose")),
        case(
            Method::GET,
            &format!("/api/xp/public-profile/{}", "n".repeat(300)),
            As::Nobody,
            None,
            Error(StatusCode::NOT_FOUND, "username"),
        ),
        // Quests and freezes.
        complete("garbage", Error(bad, "quest_id")),
        complete("2026-02-30.xp_30", Error(bad, "quest_id")),
        complete(&"q".repeat(5000), Error(bad, "quest_id")),
        complete("2026-06-10.no_such_quest", Error(StatusCode::NOT_FOUND, "quest_id")),
        case(Method::POST, "/api/xp/streak-freezes", As::User, Some("[1, 2]".into()), Error(bad, "")),
        case(
            Method::POST,
            "/api/xp/streak-freezes",
            As::User,
            Some("{}".into()),
            Error(bad, "token_balance"),
        ),
        // Over the size limit.
        post(
            format!("{{\"events\":[{{\"event_id\":\"{}\"}}]}}", "x".repeat(1_100_000)),
            Error(StatusCode::PAYLOAD_TOO_LARGE, "1048576"),
        ),
    ]
}

#[tokio::test]
/// A table of malformed REST requests on every endpoint: each a 4xx (or a
/// per-event rejection) naming the field, no 5xx, no total changed.
async fn malformed_rest_requests_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let envoy = Envoy::start(&app).await;
    app.create_user("u1", "ada", "UTC").await;
    app.ingest(vec![segment("good-1", "u1", "2026-06-10T09:00:00Z", 40)]).await;
    let before = totals(&app).await;
    let client = reqwest::Client::new();
    let token = app.token("u1");
    let cases = rest_cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut failures = Vec::new();
    for Case { method, path, caller, body, expect } in cases {
        let label = format!("{method} {}", &path[..path.len().min(80)]);
        let mut request = client.request(method, envoy.url(&path));
        request = match caller {
            As::Service => request.bearer_auth(&app.service_key),
            As::User => request.bearer_auth(&token),
            As::Nobody => request,
        };
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body);
        }
        let response = request.send().await.expect("request through envoy");
        let status = response.status();
        let text = response.text().await.expect("body");
        let Ok(reply) = serde_json::from_str::<Value>(&text) else {
            failures.push(format!("{label}: {status}, body not JSON: {text}"));
            continue;
        };
        let as_expected = match expect {
            Expect::Error(expected, field) => {
                status == expected && reply["message"].as_str().is_some_and(|message| message.contains(field))
            }
            Expect::Rejected(field) => {
                status == StatusCode::OK
                    && (&reply["accepted"], &reply["duplicates"]) == (&json!(0), &json!(0))
                    && reply["rejected"][0]["reason"]
                        .as_str()
                        .is_some_and(|reason| reason.starts_with(&format!("{field}:")))
            }
        };
        if status.is_server_error() || !as_expected {
            failures.push(format!("{label}: {status} {reply}"));
        }
    }
    assert!(failures.is_empty(), "{} unexpected replies:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(totals(&app).await, before);
}

/// A gRPC call that must fail with a client-error code naming `field`.
async fn refused<T: std::fmt::Debug>(
    call: Result<tonic::Response<T>, tonic::Status>,
    field: &str,
    label: &str,
) {
    let status = call.expect_err(label);
    assert!(
        matches!(
            status.code(),
            Code::InvalidArgument
                | Code::NotFound
                | Code::FailedPrecondition
                | Code::OutOfRange
                | Code::ResourceExhausted
        ),
        "{label}: {status:?}"
    );
    assert!(status.message().contains(field), "{label}: {:?} should name {field:?}", status.message());
}

#[tokio::test]
/// The same kinds of malformed requests over gRPC: refused naming the field, nothing written.
async fn malformed_grpc_requests_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    app.create_user("u1", "ada", "UTC").await;
    app.ingest(vec![segment("good-1", "u1", "2026-06-10T09:00:00Z", 40)]).await;
    let before = totals(&app).await;
    let ok = || segment("bad-1", "u1", "2026-06-10T10:00:00Z", 10);

    // Batches: empty, too many events, over the message size limit.
    let ingest = |events: Vec<pb::ActivityEvent>| {
        let mut activity = app.activity();
        let request = app.as_service(pb::IngestEventsRequest { events });
        async move { activity.ingest_events(request).await }
    };
    refused(ingest(vec![]).await, "events", "empty batch").await;
    let many: Vec<_> =
        (0..1001).map(|index| pb::ActivityEvent { event_id: format!("m{index}"), ..ok() }).collect();
    refused(ingest(many).await, "events", "1001 events").await;
    let huge = vec![pb::ActivityEvent { event_id: "x".repeat(1_100_000), ..ok() }];
    let status = ingest(huge).await.expect_err("oversized message");
    assert!(matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted), "{status:?}");

    // Events with bad values: rejected by index, naming the field.
    let bad_events = [
        (pb::ActivityEvent { xp: -1, ..ok() }, "xp"),
        (pb::ActivityEvent { xp: i32::MAX, ..ok() }, "xp"),
        (pb::ActivityEvent { occurred_at: "2026-02-30T10:00:00Z".into(), ..ok() }, "occurred_at"),
        (pb::ActivityEvent { occurred_at: "\u{0}\u{ffff}".into(), ..ok() }, "occurred_at"),
        (pb::ActivityEvent { event_id: "é".repeat(129), ..ok() }, "event_id"),
        (pb::ActivityEvent { user_id: String::new(), ..ok() }, "user_id"),
        (pb::ActivityEvent { r#type: "SEGMENT_COMPLETED".into(), ..ok() }, "type"),
        (pb::ActivityEvent { passed: true, ..ok() }, "passed"),
        (pb::ActivityEvent { duration_seconds: i32::MIN, ..ok() }, "duration_seconds"),
        (session("s", "u1", "2026-06-10T10:00:00Z", i32::MAX), "duration_seconds"),
    ];
    let count = bad_events.len();
    let report = app.ingest(bad_events.iter().map(|(event, _)| event.clone()).collect()).await;
    assert_eq!((report.accepted, report.duplicates, report.rejected.len()), (0, 0, count), "{report:?}");
    for (rejection, (_, field)) in report.rejected.iter().zip(&bad_events) {
        assert!(rejection.reason.starts_with(&format!("{field}:")), "{rejection:?} should name {field}");
    }

    // Users, boosters, tokens.
    let user = |overrides: fn(&mut pb::UpsertUserRequest)| {
        let mut request = pb::UpsertUserRequest {
            user_id: "u2".into(),
            username: "newbie".into(),
            email: String::new(),
            display_name: String::new(),
            timezone: "UTC".into(),
            public_profile: None,
        };
        overrides(&mut request);
        let mut users = app.users();
        let request = app.as_service(request);
        async move { users.upsert_user(request).await }
    };
    refused(user(|r| r.timezone = "Europe/Atlantis".into()).await, "timezone", "unknown zone").await;
    refused(user(|r| r.timezone = "+05:00".into()).await, "timezone", "offset zone").await;
    refused(user(|r| r.user_id = String::new()).await, "user_id", "empty user id").await;
    refused(user(|r| r.username = "ünïcode".into()).await, "username", "non-ascii username").await;
    refused(user(|r| r.email = "a@b c".into()).await, "email", "email with a space").await;
    refused(user(|r| r.display_name = "bell\u{7}".into()).await, "display_name", "control character").await;

    let booster = |multiplier: f64, duration_seconds: i32| {
        let mut users = app.users();
        let request =
            app.as_service(pb::StartBoosterRequest { user_id: "u1".into(), multiplier, duration_seconds });
        async move { users.start_booster(request).await }
    };
    refused(booster(f64::NAN, 60).await, "multiplier", "NaN multiplier").await;
    refused(booster(f64::INFINITY, 60).await, "multiplier", "infinite multiplier").await;
    refused(booster(-2.0, 60).await, "multiplier", "negative multiplier").await;
    refused(booster(2.0, 0).await, "duration_seconds", "zero duration").await;
    refused(booster(2.0, i32::MAX).await, "duration_seconds", "huge duration").await;

    let grant = |user_id: &str, amount: i32, reason: String| {
        let mut users = app.users();
        let request = app.as_service(pb::GrantTokensRequest { user_id: user_id.into(), amount, reason });
        async move { users.grant_tokens(request).await }
    };
    refused(grant("u1", i32::MIN, "min".into()).await, "amount", "i32::MIN amount").await;
    refused(grant("u1", 0, "zero".into()).await, "amount", "zero amount").await;
    refused(grant("u1", 5, "r".repeat(10_000)).await, "reason", "long reason").await;
    refused(grant("", 5, "no user".into()).await, "user_id", "empty user id").await;
    refused(grant("ghost", 5, "no user".into()).await, "user_id", "unknown user").await;

    // Reads and quests.
    let learning_time = |from: &str, to: &str| {
        let mut analytics = app.analytics();
        let request = app.as_user("u1", pb::GetLearningTimeRequest { from: from.into(), to: to.into() });
        async move { analytics.get_learning_time(request).await }
    };
    refused(learning_time("2026-02-30", "").await, "from", "invalid from").await;
    refused(learning_time("", "2026-06-31").await, "to", "invalid to").await;
    refused(learning_time("-001-01-01", "").await, "from", "negative year").await;
    let complete = |quest_id: String| {
        let mut quests = app.quests();
        let request = app.as_user("u1", pb::CompleteQuestRequest { quest_id });
        async move { quests.complete_quest(request).await }
    };
    refused(complete(String::new()).await, "quest_id", "empty quest id").await;
    refused(complete("2026-02-30.xp_30".into()).await, "quest_id", "invalid date").await;
    refused(complete("2026-06-10.".repeat(1000)).await, "quest_id", "long quest id").await;
    let public =
        app.xp().get_public_profile(pb::GetPublicProfileRequest { username: "\u{0}".repeat(10_000) }).await;
    refused(public, "username", "long username").await;

    assert_eq!(totals(&app).await, before);
}

proptest! {
    #![proptest_config(Config::with_cases(3000))]
    #[test]
    /// Random bytes never panic the event decoder or the validation of what it decodes.
    fn random_protobuf_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(request) = pb::IngestEventsRequest::decode(bytes.as_slice()) {
            let now = at("2026-06-10T12:00:00Z");
            for event in &request.events {
                let _ = xentree::activity::rules::validate(event, now);
            }
        }
    }

    #[test]
    /// Valid messages with arbitrary field values, encoded and decoded, validate without panicking.
    fn arbitrary_events_round_trip_and_validate(
        event_id in ".{0,140}", user_id in ".{0,70}", kind in "(segment_completed|quiz_completed|learning_session|.{0,20})",
        occurred_at in "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})|.{0,40})",
        xp: i32, passed: bool, duration_seconds: i32,
    ) {
        let event = pb::ActivityEvent { event_id, user_id, r#type: kind, occurred_at, xp, passed, duration_seconds };
        let bytes = pb::IngestEventsRequest { events: vec![event.clone()] }.encode_to_vec();
        let decoded = pb::IngestEventsRequest::decode(bytes.as_slice()).unwrap();
        prop_assert_eq!(&decoded.events[0], &event);
        if let Ok(valid) = xentree::activity::rules::validate(&event, at("2026-06-10T12:00:00Z")) {
            prop_assert!((0..=1000).contains(&valid.xp));
        }
    }
}

/// Any JSON value, a few levels deep, biased towards the API's field names.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("events".to_owned()),
        Just("event_id".to_owned()),
        Just("user_id".to_owned()),
        Just("type".to_owned()),
        Just("occurred_at".to_owned()),
        Just("xp".to_owned()),
        Just("passed".to_owned()),
        Just("duration_seconds".to_owned()),
        Just("amount".to_owned()),
        Just("reason".to_owned()),
        Just("multiplier".to_owned()),
        Just("timezone".to_owned()),
        Just("username".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(json!("segment_completed")),
        Just(json!("2026-06-10T10:00:00Z")),
        ".{0,30}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[tokio::test]
/// 200 random JSON bodies (and some random text) on the write endpoints through Envoy never yield a 5xx.
async fn random_json_through_envoy_is_never_a_5xx() {
    let app = spawn_app().await;
    let envoy = Envoy::start(&app).await;
    app.create_user("u1", "ada", "UTC").await;
    let client = reqwest::Client::new();
    let mut runner = TestRunner::deterministic();
    let strategy = prop_oneof![
        4 => json_value().prop_map(|value| value.to_string()),
        1 => ".{0,200}",
    ];
    let targets = [
        (Method::POST, "/api/activity/events"),
        (Method::PUT, "/api/users/u3"),
        (Method::POST, "/api/users/u1/tokens"),
        (Method::POST, "/api/users/u1/boosters"),
    ];
    for index in 0..200 {
        let body = strategy.new_tree(&mut runner).expect("value").current();
        let (method, path) = &targets[index % targets.len()];
        let response = client
            .request(method.clone(), envoy.url(path))
            .bearer_auth(&app.service_key)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .expect("request through envoy");
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "{method} {path} {body:?}: {status} {}",
            response.text().await.unwrap()
        );
    }
}
