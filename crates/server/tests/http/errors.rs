//! Bad requests: stable error codes, refused events kept in the quarantine
//! with the reason, and nothing already stored harmed.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::{track, without, Key, Reply, TestApp};

async fn post_text(app: &TestApp, path: &str, body: &str) -> Reply {
    app.post_bytes(path, &[], body.as_bytes().to_vec()).await
}

#[tokio::test]
async fn a_body_that_is_not_json_is_400_invalid_json_and_kept_in_quarantine() {
    let app = TestApp::new();
    let mut sent = Vec::new();
    for path in ["/v1/track", "/v1/batch"] {
        for body in ["{\"userId\": \"u\",", "not json", ""] {
            let reply = post_text(&app, path, body).await;
            reply.assert_error(StatusCode::BAD_REQUEST, "invalid_json", "invalid_request");
            sent.push(body);
        }
    }
    let quarantined = app.quarantine().await;
    let kept: Vec<_> = quarantined
        .iter()
        .map(|q| q["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(kept, sent, "the sender is known, so what it sent is kept");
    assert!(quarantined
        .iter()
        .all(|q| q["code"] == "invalid_json" && q["origin"] == "request"));
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_400_invalid_body() {
    let app = TestApp::new();
    for (path, body) in [
        ("/v1/track", "[1, 2]"),
        ("/v1/identify", "\"text\""),
        ("/v1/batch", "{\"events\": []}"),
        ("/v1/batch", "{\"batch\": {\"type\": \"track\"}}"),
        ("/v1/batch", "{\"batch\": [], \"context\": \"web\"}"),
    ] {
        let reply = post_text(&app, path, body).await;
        reply.assert_error(StatusCode::BAD_REQUEST, "invalid_body", "invalid_request");
    }
}

#[tokio::test]
async fn missing_required_fields_are_400_and_the_event_is_quarantined() {
    let app = TestApp::new();
    let cases = [
        (
            "/v1/track",
            json!({ "event": "No One", "messageId": "q1" }),
            "missing_user_id",
        ),
        (
            "/v1/identify",
            json!({ "userId": "", "anonymousId": null, "messageId": "q2" }),
            "missing_user_id",
        ),
        (
            "/v1/track",
            json!({ "userId": "u-req", "messageId": "q3" }),
            "missing_event",
        ),
        (
            "/v1/track",
            json!({ "userId": "u-req", "event": "  ", "messageId": "q4" }),
            "missing_event",
        ),
        (
            "/v1/group",
            json!({ "userId": "u-req", "messageId": "q5" }),
            "missing_group_id",
        ),
        (
            "/v1/alias",
            json!({ "userId": "u-req", "messageId": "q6" }),
            "missing_previous_id",
        ),
        (
            "/v1/page",
            json!({ "userId": "u-req", "properties": [1], "messageId": "q7" }),
            "invalid_field",
        ),
        (
            "/v1/screen",
            json!({ "userId": { "id": 1 }, "messageId": "q8" }),
            "invalid_field",
        ),
    ];
    for (path, body, code) in &cases {
        let reply = app.post(path, body).await;
        reply.assert_error(StatusCode::BAD_REQUEST, code, "invalid_request");
    }
    assert!(app.events_of("u-req").await.is_empty());

    let quarantined = app.quarantine().await;
    assert_eq!(quarantined.len(), cases.len());
    for (entry, (path, body, code)) in quarantined.iter().zip(&cases) {
        assert_eq!(&entry["code"], code, "{path}");
        assert_eq!(&entry["event"], body, "kept as it was sent");
        assert_eq!(entry["origin"], "request");
        assert_eq!(entry["sourceName"], "web");
        assert_eq!(entry["sourceId"], app.source.id.as_str());
        assert_eq!(entry["receivedAt"], "2026-01-01T12:00:00.000Z");
        assert!(!entry["message"].as_str().unwrap_or_default().is_empty());
    }
}

#[tokio::test]
async fn a_mixed_batch_stores_the_good_items_and_reports_each_bad_one() {
    let app = TestApp::new();
    let items = json!([
        { "type": "track", "userId": "u-mix", "event": "Good", "messageId": "g1" },
        { "userId": "u-mix", "event": "No Type", "messageId": "b1" },
        { "type": "track", "userId": "u-mix", "event": "Retry", "messageId": "g1" },
        "not an object",
        { "type": "purchase", "userId": "u-mix", "messageId": "b2" },
        { "type": "identify", "anonymousId": "a-mix", "traits": { "plan": "free" }, "messageId": "g2" },
        { "type": "page", "name": "No Id", "messageId": "b3" },
    ]);
    let reply = app.post("/v1/batch", &json!({ "batch": items })).await;
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "some items were stored: {}",
        reply.text
    );
    assert_eq!(reply.json["success"], false);
    assert_eq!(reply.json["received"], 7);
    assert_eq!(reply.json["stored"], 2);
    assert_eq!(reply.json["duplicates"], 1);
    assert_eq!(reply.json["rejected"], 4);
    let expected = [
        (1, "missing_type"),
        (3, "invalid_item"),
        (4, "invalid_type"),
        (6, "missing_user_id"),
    ];
    let errors = reply.json["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), expected.len(), "{}", reply.text);
    for (error, (index, code)) in errors.iter().zip(expected) {
        assert_eq!(error["index"], index);
        assert_eq!(error["code"], code);
        assert!(!error["message"].as_str().unwrap_or_default().is_empty());
    }
    assert!(
        reply.json.get("code").is_none(),
        "not an error answer: {}",
        reply.text
    );

    assert_eq!(app.events_of("u-mix").await.len(), 1);
    assert_eq!(app.events_by("anonymous_id", "a-mix").await.len(), 1);
    let quarantined = app.quarantine().await;
    let kept: Vec<(Value, Value, Value)> = quarantined
        .iter()
        .map(|q| (q["origin"].clone(), q["code"].clone(), q["event"].clone()))
        .collect();
    let sent: Vec<(Value, Value, Value)> = expected
        .iter()
        .map(|(i, code)| {
            (
                json!(format!("batch item {i}")),
                json!(code),
                items[*i].clone(),
            )
        })
        .collect();
    assert_eq!(kept, sent);
}

#[tokio::test]
async fn a_batch_item_that_cannot_be_read_is_quarantined_as_text() {
    let app = TestApp::new();
    // Valid JSON syntax, so the batch parses; but no JSON value holds it.
    let body = r#"{"batch": [{"type": "track", "userId": "u-raw", "event": "E"}, 1e999]}"#;
    let reply = post_text(&app, "/v1/batch", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["stored"], 1);
    assert_eq!(reply.json["errors"][0]["index"], 1);
    assert_eq!(reply.json["errors"][0]["code"], "invalid_json");
    let quarantined = app.quarantine().await;
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0]["origin"], "batch item 1");
    assert_eq!(quarantined[0]["event"], "1e999");
    assert_eq!(app.events_of("u-raw").await.len(), 1);
}

#[tokio::test]
async fn a_batch_of_only_invalid_items_is_400_invalid_batch() {
    let app = TestApp::new();
    let items = json!([
        { "userId": "u-allbad", "event": "No Type" },
        { "type": "track", "userId": "u-allbad" },
    ]);
    let reply = app.post("/v1/batch", &json!({ "batch": items })).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_batch", "invalid_request");
    assert_eq!(reply.json["stored"], 0);
    assert_eq!(reply.json["rejected"], 2);
    assert_eq!(reply.json["errors"][0]["code"], "missing_type");
    assert_eq!(reply.json["errors"][1]["code"], "missing_event");
    assert_eq!(app.quarantine().await.len(), 2, "refused, never dropped");

    // All duplicates is not all invalid.
    let good = json!({ "type": "track", "userId": "u-allbad", "event": "E", "messageId": "d" });
    app.post("/v1/batch", &json!({ "batch": [good] }))
        .await
        .assert_ok();
    let reply = app
        .post("/v1/batch", &json!({ "batch": [good, items[0]] }))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    // And an empty batch has nothing wrong in it.
    app.post("/v1/batch", &json!({ "batch": [] }))
        .await
        .assert_ok();
}

#[tokio::test]
async fn bad_requests_do_not_harm_what_was_stored_before() {
    let app = TestApp::new();
    for n in 0..3 {
        app.clock.advance(1_000);
        app.post("/v1/track", &track("u-safe", &format!("keep-{n}")))
            .await
            .assert_ok();
    }
    let before = app.events_of("u-safe").await;
    assert_eq!(before.len(), 3);

    let retry_of_first =
        json!({ "type": "track", "userId": "u-safe", "event": "Changed", "messageId": "keep-0" });
    let bad_item = without(track("u-safe", "new"), "event");
    let key = app.write_key().to_owned();
    let bytes = |value: Value| value.to_string().into_bytes();
    let attempts = [
        ("/v1/track", Key::Basic(&key), b"{oops".to_vec(), 400),
        (
            "/v1/track",
            Key::Basic("wrong"),
            bytes(track("u-safe", "x1")),
            401,
        ),
        ("/v1/track", Key::None, bytes(track("u-safe", "x2")), 401),
        (
            "/v1/track",
            Key::Basic(&key),
            bytes(without(track("u-safe", "x3"), "event")),
            400,
        ),
        (
            "/v1/batch",
            Key::Basic(&key),
            bytes(json!({ "batch": [bad_item] })),
            400,
        ),
        (
            "/v1/batch",
            Key::Basic(&key),
            bytes(json!({ "batch": [retry_of_first] })),
            200,
        ),
        (
            "/v1/track",
            Key::Basic(&key),
            bytes(track("u-safe", "keep-1")),
            200,
        ),
    ];
    for (path, key, body, status) in attempts {
        app.clock.advance(1_000);
        let reply = app.post_raw(path, key, &[], body).await;
        assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    }
    assert_eq!(app.events_of("u-safe").await, before);
}
