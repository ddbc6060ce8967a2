//! Body encodings and size limits: 32 KB an event, 500 KB a batch, both
//! measured after gzip is undone.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{gzip, TestApp};

const MAX_EVENT: usize = 32 * 1024;
const MAX_BATCH: usize = 500 * 1024;

/// A track event of `user` whose JSON text is exactly `len` bytes.
fn event_of_len(user: &str, message_id: &str, len: usize) -> Vec<u8> {
    let with_pad = |pad: usize| {
        json!({
            "type": "track",
            "userId": user,
            "event": "Padded",
            "messageId": message_id,
            "properties": { "pad": "x".repeat(pad) },
        })
        .to_string()
        .into_bytes()
    };
    let base = with_pad(0).len();
    assert!(len >= base, "{len} is too small for an event");
    let bytes = with_pad(len - base);
    assert_eq!(bytes.len(), len);
    bytes
}

/// A batch body of `count` small events of `user`.
fn batch_of(user: &str, count: usize) -> Value {
    let items: Vec<Value> = (0..count)
        .map(|i| json!({ "type": "track", "userId": user, "event": "E", "messageId": format!("{user}-{i}") }))
        .collect();
    json!({ "batch": items })
}

#[tokio::test]
async fn gzip_bodies_are_accepted_on_single_and_batch_routes() {
    let app = TestApp::new();
    let single = gzip(
        json!({ "userId": "u-gz", "event": "A", "messageId": "gz1" })
            .to_string()
            .as_bytes(),
    );
    app.post_bytes("/v1/track", &[("content-encoding", "gzip")], single)
        .await
        .assert_ok();
    let batch = gzip(batch_of("u-gz", 3).to_string().as_bytes());
    let reply = app
        .post_bytes("/v1/batch", &[("content-encoding", "GZIP")], batch)
        .await;
    reply.assert_ok();
    assert_eq!(reply.json["stored"], 3);
    let legacy = gzip(
        json!({ "userId": "u-gz", "traits": {}, "messageId": "gz2" })
            .to_string()
            .as_bytes(),
    );
    app.post_bytes("/v1/identify", &[("content-encoding", "x-gzip")], legacy)
        .await
        .assert_ok();
    let identity = json!({ "userId": "u-gz", "name": "Home", "messageId": "gz3" });
    app.post_bytes(
        "/v1/page",
        &[("content-encoding", "identity")],
        identity.to_string().into_bytes(),
    )
    .await
    .assert_ok();
    assert_eq!(app.events_of("u-gz").await.len(), 6);
}

#[tokio::test]
async fn invalid_gzip_is_400_and_unknown_encoding_is_415() {
    let app = TestApp::new();
    let plain = track_bytes("u-enc");
    let mut truncated = gzip(&plain);
    truncated.truncate(truncated.len() / 2);
    for (path, body) in [("/v1/track", plain.clone()), ("/v1/batch", truncated)] {
        let reply = app
            .post_bytes(path, &[("content-encoding", "gzip")], body)
            .await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_gzip", "invalid_request");
    }
    for encoding in ["br", "deflate", "zstd"] {
        let reply = app
            .post_bytes(
                "/v1/track",
                &[("content-encoding", encoding)],
                plain.clone(),
            )
            .await;
        reply.assert_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            "invalid_request",
        );
        assert!(reply.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains(encoding));
    }
    assert!(app.events_of("u-enc").await.is_empty());
}

#[tokio::test]
async fn a_gzip_body_of_several_members_is_read_whole() {
    // RFC 1952 allows a gzip file to be several members one after another
    // (streaming compressors and `cat a.gz b.gz` make them); reading only
    // the first would cut the body short.
    let app = TestApp::new();
    let text = batch_of("u-members", 2).to_string();
    let (head, tail) = text.split_at(text.len() / 2);
    let mut body = gzip(head.as_bytes());
    body.extend(gzip(tail.as_bytes()));
    let reply = app
        .post_bytes("/v1/batch", &[("content-encoding", "gzip")], body)
        .await;
    reply.assert_ok();
    assert_eq!(app.events_of("u-members").await.len(), 2);

    // Bytes after the last member are not gzip, and are not ignored either.
    let mut body = gzip(track_bytes("u-members").as_slice());
    body.extend_from_slice(b"trailing");
    let reply = app
        .post_bytes("/v1/track", &[("content-encoding", "gzip")], body)
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_gzip", "invalid_request");
    assert_eq!(app.events_of("u-members").await.len(), 2);
}

fn track_bytes(user: &str) -> Vec<u8> {
    json!({ "userId": user, "event": "A", "messageId": "enc" })
        .to_string()
        .into_bytes()
}

#[tokio::test]
async fn single_event_is_limited_to_32_kb() {
    let app = TestApp::new();
    app.post_bytes(
        "/v1/track",
        &[],
        event_of_len("u-size", "at-limit", MAX_EVENT),
    )
    .await
    .assert_ok();
    let reply = app
        .post_bytes(
            "/v1/track",
            &[],
            event_of_len("u-size", "over", MAX_EVENT + 1),
        )
        .await;
    reply.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "event_too_large",
        "invalid_request",
    );
    // Compressed it is tiny, but the limit applies to what it expands to.
    let bomb = gzip(&event_of_len("u-size", "gz-over", 200 * 1024));
    assert!(bomb.len() < MAX_EVENT / 10);
    let reply = app
        .post_bytes("/v1/track", &[("content-encoding", "gzip")], bomb)
        .await;
    reply.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "event_too_large",
        "invalid_request",
    );

    let events = app.events_of("u-size").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["messageId"], "at-limit");
}

#[tokio::test]
async fn batch_request_is_limited_to_500_kb() {
    let app = TestApp::new();
    let mut body = batch_of("u-big", 1).to_string().into_bytes();
    let padding = MAX_BATCH + 1 - body.len();
    // Whitespace is valid JSON, so only the size can be wrong.
    body.splice(1..1, std::iter::repeat_n(b' ', padding));
    assert_eq!(body.len(), MAX_BATCH + 1);
    let reply = app.post_bytes("/v1/batch", &[], body.clone()).await;
    reply.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
        "invalid_request",
    );

    let bomb = gzip(&body);
    assert!(bomb.len() < 10 * 1024, "a small body on the wire");
    let reply = app
        .post_bytes("/v1/batch", &[("content-encoding", "gzip")], bomb)
        .await;
    reply.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "batch_too_large",
        "invalid_request",
    );
    assert!(app.events_of("u-big").await.is_empty());

    // One byte less is fine.
    body.remove(1);
    let reply = app.post_bytes("/v1/batch", &[], body).await;
    reply.assert_ok();
    assert_eq!(app.events_of("u-big").await.len(), 1);
}

#[tokio::test]
async fn an_oversized_item_in_a_batch_is_quarantined_and_the_rest_stored() {
    let app = TestApp::new();
    let big: Value =
        serde_json::from_slice(&event_of_len("u-mixed-size", "big", 40 * 1024)).expect("json");
    let mut items = batch_of("u-mixed-size", 2)["batch"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    items.insert(1, big.clone());
    let body = json!({ "batch": items }).to_string();
    assert!(body.len() < MAX_BATCH);

    let reply = app.post_bytes("/v1/batch", &[], body.into_bytes()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["success"], false);
    assert_eq!(
        (&reply.json["stored"], &reply.json["rejected"]),
        (&json!(2), &json!(1))
    );
    assert_eq!(reply.json["errors"][0]["index"], 1);
    assert_eq!(reply.json["errors"][0]["code"], "event_too_large");

    let stored: Vec<Value> = app
        .events_of("u-mixed-size")
        .await
        .iter()
        .map(|e| e["messageId"].clone())
        .collect();
    assert_eq!(stored, [json!("u-mixed-size-0"), json!("u-mixed-size-1")]);
    let quarantined = app.quarantine().await;
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0]["code"], "event_too_large");
    assert_eq!(quarantined[0]["origin"], "batch item 1");
    assert_eq!(quarantined[0]["event"], big, "the event is kept whole");
}

#[tokio::test]
async fn each_batch_item_may_be_32_kb_and_not_a_byte_more() {
    let app = TestApp::new();
    let at_limit = event_of_len("u-item-size", "at-limit", MAX_EVENT);
    let over = event_of_len("u-item-size", "over", MAX_EVENT + 1);
    // Built by hand so each item's text is exactly as long as measured.
    let mut body = b"{\"batch\": [".to_vec();
    body.extend(&at_limit);
    body.extend(b", ");
    body.extend(&over);
    body.extend(b"]}");
    let reply = app.post_bytes("/v1/batch", &[], body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["stored"], 1);
    assert_eq!(reply.json["errors"][0]["index"], 1);
    assert_eq!(reply.json["errors"][0]["code"], "event_too_large");
    let events = app.events_of("u-item-size").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["messageId"], "at-limit");
}
