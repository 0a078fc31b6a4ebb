//! gRPC-Web straight to the server (HTTP/1.1, no Envoy): a round trip made
//! by a real browser-grade client library (Connect's gRPC-Web transport under
//! Node), a hand-framed call checking the CORS headers a browser needs, and
//! the CORS preflight answered by the server itself.

use std::path::Path;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envoy::descriptor_path;
use crate::helpers::*;

const ORIGIN: &str = "https://app.example.org";

/// Runs `tests/grpc-web/roundtrip.mjs` against the server and parses its JSON.
fn run_node_client(app: &TestApp, token: &str) -> Value {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpc-web");
    assert!(
        dir.join("node_modules/@connectrpc/connect-web").exists(),
        "node dependencies missing: run `npm ci --prefix tests/grpc-web` (scripts/test does)"
    );
    let output = Command::new("node")
        .arg(dir.join("roundtrip.mjs"))
        .arg(format!("http://{}", app.addr()))
        .arg(token)
        .arg(descriptor_path())
        .output()
        .expect("run node (install nodejs; scripts/test does)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "node failed: {}\n{stdout}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| panic!("not JSON: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// A Connect gRPC-Web client reads a known streak, and gets UNAUTHENTICATED
/// without credentials or with a forged token.
async fn grpc_web_round_trip_with_a_real_client() {
    let app = spawn_app_at("2026-06-10T12:00:00Z").await;
    app.create_user("u1", "webby", "America/Los_Angeles").await;
    // Two learning days in Los Angeles: June 9 and June 10 (local).
    app.set_now("2026-06-09T18:00:00Z");
    app.ingest(vec![segment("a", "u1", "2026-06-09T17:00:00Z", 25)]).await;
    app.set_now("2026-06-10T18:00:00Z");
    app.ingest(vec![quiz("b", "u1", "2026-06-10T17:00:00Z", 10, true)]).await;
    let token = app.token("u1");

    // The node process talks to the server that runs on this test's runtime,
    // so wait for it off the runtime's threads.
    let result = tokio::task::block_in_place(|| run_node_client(&app, &token));

    assert_eq!(
        result["with_token"],
        json!({"ok": {
            "current_streak": 2, "longest_streak": 2, "freezes_available": 0, "freezes_used": 0,
            "last_activity": "2026-06-10", "streak_at_risk": false, "today": "2026-06-10"
        }})
    );
    assert_eq!(result["without_credentials"]["error"]["code"], json!("Unauthenticated"), "{result}");
    assert!(
        result["without_credentials"]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("credentials"),
        "{result}"
    );
    assert_eq!(result["forged_token"]["error"]["code"], json!("Unauthenticated"), "{result}");
}

#[tokio::test]
/// A hand-framed gRPC-Web call over HTTP/1.1 carries the CORS headers a
/// browser needs to read the status, and ends with a `grpc-status:0` trailer.
async fn grpc_web_response_exposes_status_to_browsers() {
    let app = spawn_app().await;
    app.create_user("u1", "webby", "UTC").await;
    // An empty GetStreakStatusRequest: flag 0, length 0.
    let frame = vec![0u8, 0, 0, 0, 0];
    let response = reqwest::Client::new()
        .post(format!("http://{}/xentree.v1.StreakService/GetStreakStatus", app.addr()))
        .header("origin", ORIGIN)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(app.token("u1"))
        .body(frame)
        .send()
        .await
        .expect("grpc-web call");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    let header = |name: &str| {
        response.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_owned()
    };
    assert_eq!(header("access-control-allow-origin"), ORIGIN);
    assert!(
        header("access-control-expose-headers").contains("grpc-status"),
        "{}",
        header("access-control-expose-headers")
    );
    assert!(header("content-type").starts_with("application/grpc-web"), "{}", header("content-type"));
    let body = response.bytes().await.expect("body");
    // Data frames (flag 0) first, then the trailer frame (flag 0x80).
    let mut rest = &body[..];
    let mut trailer = None;
    while rest.len() >= 5 {
        let length = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        if rest[0] & 0x80 != 0 {
            trailer = Some(String::from_utf8_lossy(&rest[5..5 + length]).to_string());
        }
        rest = &rest[5 + length..];
    }
    let trailer = trailer.expect("a trailer frame");
    assert!(trailer.contains("grpc-status:0"), "{trailer:?}");
}

#[tokio::test]
/// The server answers a browser's CORS preflight for gRPC-Web itself.
async fn cors_preflight_on_the_grpc_server() {
    let app = spawn_app().await;
    let preflight = reqwest::Client::new()
        .request(Method::OPTIONS, format!("http://{}/xentree.v1.StreakService/GetStreakStatus", app.addr()))
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-grpc-web,authorization")
        .send()
        .await
        .expect("preflight");
    assert_eq!(preflight.status(), StatusCode::OK);
    let header = |name: &str| {
        preflight.headers().get(name).and_then(|value| value.to_str().ok()).unwrap_or_default().to_lowercase()
    };
    assert_eq!(header("access-control-allow-origin"), ORIGIN);
    assert!(
        header("access-control-allow-methods").contains("post"),
        "{}",
        header("access-control-allow-methods")
    );
    let allowed = header("access-control-allow-headers");
    for wanted in ["content-type", "x-grpc-web", "authorization"] {
        assert!(allowed.contains(wanted), "{wanted} not in {allowed}");
    }
}
