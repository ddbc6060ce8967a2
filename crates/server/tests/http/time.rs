//! `receivedAt` is the server's clock; `timestamp` is corrected for the
//! sender's clock skew using `sentAt`, and the client's reading is kept.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::TestApp;

/// Sends one track event of `user` and reads it back.
async fn stored_after(app: &TestApp, user: &str, extra: Value) -> Value {
    let mut body = json!({ "userId": user, "event": "Clicked" });
    for (key, value) in extra.as_object().cloned().unwrap_or_default() {
        body[key] = value;
    }
    app.post("/v1/track", &body).await.assert_ok();
    let mut events = app.events_of(user).await;
    assert_eq!(events.len(), 1, "{events:?}");
    events.remove(0)
}

#[tokio::test]
async fn timestamp_is_corrected_by_the_skew_between_sent_at_and_received_at() {
    let app = TestApp::new();
    // The client's clock is an hour behind; it sent the event 10 s after recording it.
    let event = stored_after(
        &app,
        "u-skew",
        json!({ "timestamp": "2026-01-01T11:00:00Z", "sentAt": "2026-01-01T11:00:10Z" }),
    )
    .await;
    assert_eq!(event["receivedAt"], "2026-01-01T12:00:00.000Z");
    assert_eq!(event["timestamp"], "2026-01-01T11:59:50.000Z");
    assert_eq!(
        event["originalTimestamp"], "2026-01-01T11:00:00Z",
        "as the client wrote it"
    );
    assert_eq!(event["sentAt"], "2026-01-01T11:00:10Z");
}

#[tokio::test]
async fn a_client_clock_ahead_of_the_server_is_corrected_too() {
    let app = TestApp::new();
    let event = stored_after(
        &app,
        "u-ahead",
        json!({ "timestamp": "2026-01-01T14:30:00+02:00", "sentAt": "2026-01-01T12:35:00.250Z" }),
    )
    .await;
    // Recorded 5 min 0.25 s before it was sent, whatever the client's clock said.
    assert_eq!(event["timestamp"], "2026-01-01T11:54:59.750Z");
    assert_eq!(event["originalTimestamp"], "2026-01-01T14:30:00+02:00");
}

#[tokio::test]
async fn without_sent_at_the_timestamp_is_kept() {
    let app = TestApp::new();
    let event = stored_after(
        &app,
        "u-nosent",
        json!({ "timestamp": "2026-01-01T11:00:00Z" }),
    )
    .await;
    assert_eq!(event["timestamp"], "2026-01-01T11:00:00.000Z");
    assert_eq!(event["originalTimestamp"], "2026-01-01T11:00:00Z");
    assert_eq!(event["receivedAt"], "2026-01-01T12:00:00.000Z");
    assert!(event.get("sentAt").is_none());
}

#[tokio::test]
async fn without_a_timestamp_the_event_happened_when_it_was_received() {
    let app = TestApp::new();
    app.clock.advance(90_500);
    let event = stored_after(&app, "u-nots", json!({ "sentAt": "2020-05-05T00:00:00Z" })).await;
    assert_eq!(event["receivedAt"], "2026-01-01T12:01:30.500Z");
    assert_eq!(event["timestamp"], "2026-01-01T12:01:30.500Z");
    assert!(event.get("originalTimestamp").is_none(), "{event}");
}

#[tokio::test]
async fn original_timestamp_alone_is_the_clients_reading() {
    // RudderStack's libraries send originalTimestamp instead of timestamp.
    let app = TestApp::new();
    let event = stored_after(
        &app,
        "u-rudder",
        json!({ "originalTimestamp": "2026-01-01T06:00:00Z", "sentAt": "2026-01-01T06:00:02Z" }),
    )
    .await;
    assert_eq!(event["timestamp"], "2026-01-01T11:59:58.000Z");
    assert_eq!(event["originalTimestamp"], "2026-01-01T06:00:00Z");
}

#[tokio::test]
async fn received_at_follows_the_server_clock() {
    let app = TestApp::new();
    for (n, step) in [0, 1, 59_999].into_iter().enumerate() {
        app.clock.advance(step);
        let body = json!({ "userId": "u-clock", "event": "E", "messageId": format!("c{n}") });
        app.post("/v1/track", &body).await.assert_ok();
    }
    let received: Vec<Value> = app
        .events_of("u-clock")
        .await
        .iter()
        .map(|e| e["receivedAt"].clone())
        .collect();
    assert_eq!(
        received,
        [
            json!("2026-01-01T12:00:00.000Z"),
            json!("2026-01-01T12:00:00.001Z"),
            json!("2026-01-01T12:01:00.000Z"),
        ]
    );
}

#[tokio::test]
async fn unparseable_times_are_rejected_and_quarantined() {
    let app = TestApp::new();
    for (n, extra) in [
        json!({ "timestamp": "yesterday" }),
        json!({ "sentAt": "2026-13-45T00:00:00Z", "timestamp": "2026-01-01T00:00:00Z" }),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = json!({ "userId": "u-badtime", "event": "E", "messageId": format!("t{n}") });
        for (key, value) in extra.as_object().cloned().unwrap_or_default() {
            body[key] = value;
        }
        let reply = app.post("/v1/track", &body).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_timestamp",
            "invalid_request",
        );
    }
    let numeric = json!({ "userId": "u-badtime", "event": "E", "timestamp": 1_767_225_600 });
    let reply = app.post("/v1/track", &numeric).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_field", "invalid_request");
    assert!(app.events_of("u-badtime").await.is_empty());
    let codes: Vec<Value> = app
        .quarantine()
        .await
        .iter()
        .map(|q| q["code"].clone())
        .collect();
    assert_eq!(
        codes,
        ["invalid_timestamp", "invalid_timestamp", "invalid_field"]
    );
}

#[tokio::test]
async fn when_both_are_sent_original_timestamp_is_the_clients_reading_and_is_kept() {
    let app = TestApp::new();
    let event = stored_after(
        &app,
        "u-both",
        json!({
            "originalTimestamp": "2026-01-01T09:00:00Z",
            "timestamp": "2026-01-01T09:00:05Z",
            "sentAt": "2026-01-01T09:00:10Z"
        }),
    )
    .await;
    assert_eq!(event["originalTimestamp"], "2026-01-01T09:00:00Z");
    assert_eq!(
        event["timestamp"], "2026-01-01T11:59:50.000Z",
        "corrected from originalTimestamp"
    );
}

#[tokio::test]
async fn a_historical_batch_keeps_its_timestamps() {
    let app = TestApp::new();
    let item = json!({
        "type": "track", "userId": "u-history", "event": "Bought",
        "timestamp": "2023-03-01T10:00:00.000Z", "sentAt": "2023-03-01T10:00:02Z"
    });
    app.post("/v1/batch", &json!({ "historical": true, "batch": [item] }))
        .await
        .assert_ok();
    let events = app.events_of("u-history").await;
    assert_eq!(events[0]["timestamp"], "2023-03-01T10:00:00.000Z");
    assert_eq!(events[0]["receivedAt"], "2026-01-01T12:00:00.000Z");
}

#[tokio::test]
async fn a_skew_correction_out_of_range_is_refused() {
    let app = TestApp::new();
    let body = json!({ "userId": "u-far", "event": "E",
        "timestamp": "2026-01-01T00:00:00Z", "sentAt": "9999-12-31T23:59:59Z" });
    let reply = app.post("/v1/track", &body).await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_timestamp",
        "invalid_request",
    );
}
