//! Every tracking route stores what it is sent, and the admin API gives it
//! back in time order.

use percorso_core::format_millis;
use serde_json::{json, Value};

use crate::harness::TestApp;

const ROUTES: [(&str, &str); 6] = [
    ("/v1/track", "track"),
    ("/v1/identify", "identify"),
    ("/v1/page", "page"),
    ("/v1/screen", "screen"),
    ("/v1/group", "group"),
    ("/v1/alias", "alias"),
];

/// A message carrying every Segment field, plus one Percorso does not know.
fn full_message(user: &str, n: usize, kind: &str, timestamp: &str, sent_at: &str) -> Value {
    json!({
        "type": kind,
        "userId": user,
        "anonymousId": format!("anon-{user}"),
        "messageId": format!("{user}-msg-{n}"),
        "timestamp": timestamp,
        "sentAt": sent_at,
        "context": { "ip": "203.0.113.7", "library": { "name": "analytics-node", "version": "6.0.0" } },
        "integrations": { "All": true, "Mixpanel": false },
        "traits": { "email": "ada@example.com", "plan": "pro" },
        "properties": { "revenue": 19.99, "items": [1, 2, 3] },
        "event": "Order Completed",
        "name": "Checkout",
        "groupId": "acme",
        "previousId": "old-id",
        "x-custom": { "nested": [true, null, "kept"] },
    })
}

/// Asserts the stored event is the sent one, with only what the server
/// owns changed: `type`, `timestamp`, `originalTimestamp`, `receivedAt`.
#[track_caller]
fn assert_kept(sent: &Value, stored: &Value, kind: &str, timestamp: &str, received_at: &str) {
    let sent = sent.as_object().expect("sent an object");
    let stored = stored.as_object().expect("stored an object");
    for (key, value) in sent {
        match key.as_str() {
            "type" => assert_eq!(stored["type"], kind),
            "timestamp" => {
                assert_eq!(stored["timestamp"], timestamp, "corrected timestamp");
                assert_eq!(&stored["originalTimestamp"], value, "client's reading kept");
            }
            _ => assert_eq!(stored.get(key), Some(value), "field {key} kept as sent"),
        }
    }
    assert_eq!(stored["receivedAt"], received_at);
    let mut extra: Vec<&String> = stored.keys().filter(|k| !sent.contains_key(*k)).collect();
    extra.sort();
    assert_eq!(
        extra,
        ["originalTimestamp", "receivedAt"],
        "nothing else is added"
    );
}

#[tokio::test]
async fn every_single_route_keeps_every_field_and_reads_back_in_time_order() {
    let app = TestApp::new();
    // Seconds between the client recording and sending each event; they
    // make the corrected times run in a different order than arrival.
    let delays = [0, 30, 5, 60, 1, 20];
    let mut expected = Vec::new();
    for (n, ((path, kind), delay)) in ROUTES.iter().zip(delays).enumerate() {
        app.clock.advance(1_000);
        let received = app.now();
        // The client's clock is an hour behind.
        let client_sent = received - 3_600_000;
        let client_ts = client_sent - delay * 1_000;
        // The body claims another type; the route decides.
        let body_kind = ROUTES[(n + 1) % ROUTES.len()].1;
        let sent = full_message(
            "u-routes",
            n,
            body_kind,
            &format_millis(client_ts),
            &format_millis(client_sent),
        );
        let reply = app.post(path, &sent).await;
        reply.assert_ok();
        assert_eq!(reply.json["duplicate"], false);
        expected.push((
            received - delay * 1_000,
            sent,
            *kind,
            format_millis(received),
        ));
    }
    expected.sort_by_key(|(ts, ..)| *ts);

    let stored = app.events_of("u-routes").await;
    assert_eq!(stored.len(), ROUTES.len());
    for ((ts, sent, kind, received), stored) in expected.iter().zip(&stored) {
        assert_kept(sent, stored, kind, &format_millis(*ts), received);
    }
    let by_anonymous_id = app.events_by("anonymous_id", "anon-u-routes").await;
    assert_eq!(
        by_anonymous_id, stored,
        "the anonymous id finds the same events"
    );
    assert!(
        app.events_of("anon-u-routes").await.is_empty(),
        "ids are looked up by kind"
    );
}

#[tokio::test]
async fn batch_keeps_every_field_of_items_of_every_type() {
    let app = TestApp::new();
    let client_ts = "2026-01-01T11:59:00.000Z";
    let items: Vec<Value> = ROUTES
        .iter()
        .enumerate()
        .map(|(n, (_, kind))| {
            let mut item = full_message("u-batch", n, kind, client_ts, "");
            if let Some(fields) = item.as_object_mut() {
                fields.remove("sentAt");
            }
            item
        })
        .collect();
    let reply = app.post("/v1/batch", &json!({ "batch": items })).await;
    reply.assert_ok();
    assert_eq!(reply.json["received"], 6);
    assert_eq!(reply.json["stored"], 6);
    assert_eq!(reply.json["rejected"], 0);

    let stored = app.events_of("u-batch").await;
    assert_eq!(stored.len(), 6);
    // Equal timestamps come back in arrival order, which is batch order.
    for ((sent, stored), (_, kind)) in items.iter().zip(&stored).zip(ROUTES) {
        assert_kept(sent, stored, kind, client_ts, "2026-01-01T12:00:00.000Z");
    }
}

#[tokio::test]
async fn short_route_aliases_of_analytics_js_imply_their_type() {
    let app = TestApp::new();
    let short = ["/v1/t", "/v1/i", "/v1/p", "/v1/s", "/v1/g", "/v1/a"];
    for (n, (path, (_, kind))) in short.iter().zip(ROUTES).enumerate() {
        app.clock.advance(1_000);
        let body = full_message("u-short", n, "screen", "", "");
        app.post(path, &body).await.assert_ok();
        let events = app.events_of("u-short").await;
        assert_eq!(
            events.last().map(|e| &e["type"]),
            Some(&json!(kind)),
            "{path}"
        );
    }
    let batch = json!({ "batch": [full_message("u-short", 99, "group", "", "")] });
    app.post("/v1/b", &batch).await.assert_ok();
    assert_eq!(app.events_of("u-short").await.len(), 7);
}

#[tokio::test]
async fn batch_context_and_integrations_are_merged_into_items_and_item_keys_win() {
    let app = TestApp::new();
    let body = json!({
        "context": { "ip": "198.51.100.1", "library": { "name": "batch-lib" }, "locale": "it-IT" },
        "integrations": { "All": false, "Amplitude": true },
        "batch": [
            { "type": "track", "userId": "u-merge", "event": "A", "messageId": "m1",
              "timestamp": "2026-01-01T11:00:00Z",
              "context": { "ip": "203.0.113.9", "page": { "path": "/a" } },
              "integrations": { "All": true } },
            { "type": "identify", "userId": "u-merge", "messageId": "m2",
              "timestamp": "2026-01-01T11:00:01Z", "context": null },
        ],
    });
    let reply = app.post("/v1/batch", &body).await;
    reply.assert_ok();
    let events = app.events_of("u-merge").await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0]["context"],
        json!({ "ip": "203.0.113.9", "page": { "path": "/a" },
                "library": { "name": "batch-lib" }, "locale": "it-IT" })
    );
    assert_eq!(
        events[0]["integrations"],
        json!({ "All": true, "Amplitude": true })
    );
    assert_eq!(
        events[1]["context"], body["context"],
        "an item without context gets the batch's"
    );
    assert_eq!(events[1]["integrations"], body["integrations"]);
}

#[tokio::test]
async fn batch_sent_at_corrects_items_that_have_none_of_their_own() {
    let app = TestApp::new();
    let body = json!({
        "sentAt": "2026-01-01T08:00:30Z",
        "batch": [
            // Recorded 30 s before the batch was sent.
            { "type": "track", "userId": "u-sent", "event": "A", "messageId": "a",
              "timestamp": "2026-01-01T08:00:00Z" },
            // Its own sentAt wins: recorded 5 s before sending.
            { "type": "track", "userId": "u-sent", "event": "B", "messageId": "b",
              "timestamp": "2026-01-01T08:00:00Z", "sentAt": "2026-01-01T08:00:05Z" },
        ],
    });
    app.post("/v1/batch", &body).await.assert_ok();
    let events = app.events_of("u-sent").await;
    let summary: Vec<(&Value, &Value, &Value)> = events
        .iter()
        .map(|e| (&e["event"], &e["timestamp"], &e["sentAt"]))
        .collect();
    assert_eq!(
        summary,
        [
            (
                &json!("A"),
                &json!("2026-01-01T11:59:30.000Z"),
                &json!("2026-01-01T08:00:30Z")
            ),
            (
                &json!("B"),
                &json!("2026-01-01T11:59:55.000Z"),
                &json!("2026-01-01T08:00:05Z")
            ),
        ]
    );
}

#[tokio::test]
async fn numeric_ids_are_stored_as_text_so_they_match_the_same_id_sent_as_a_string() {
    let app = TestApp::new();
    app.post(
        "/v1/track",
        &json!({ "userId": 42, "event": "A", "messageId": "n1" }),
    )
    .await
    .assert_ok();
    app.post(
        "/v1/track",
        &json!({ "userId": "42", "event": "B", "messageId": "n2" }),
    )
    .await
    .assert_ok();
    let events = app.events_of("42").await;
    let ids: Vec<&Value> = events.iter().map(|e| &e["userId"]).collect();
    assert_eq!(ids, [&json!("42"), &json!("42")]);
}

#[tokio::test]
async fn batch_context_is_merged_without_reinterpreting_the_items_context() {
    let app = TestApp::new();
    let item = serde_json::json!({ "type": "track", "userId": "u-ctx-text", "event": "E" });
    // Built as text: a number beyond f64 and a key order serde would sort.
    let item_text = item.to_string().replacen(
        '{',
        r#"{"context":{"z":1,"big":123456789012345678901234567890,"a":{"x":1e400}},"#,
        1,
    );
    let body = format!(r#"{{"context":{{"ip":"203.0.113.1","z":0}},"batch":[{item_text}]}}"#);
    app.post_bytes("/v1/batch", &[], body.into_bytes())
        .await
        .assert_ok();
    let stored = app
        .admin_get("/api/v1/events?user_id=u-ctx-text")
        .await
        .text;
    assert!(
        stored.contains(r#""context":{"z":1,"big":123456789012345678901234567890,"a":{"x":1e400},"ip":"203.0.113.1"}"#),
        "{stored}"
    );
}

#[tokio::test]
async fn identifiers_longer_than_the_limit_are_refused() {
    let app = TestApp::new();
    let long = "u".repeat(percorso_collect::MAX_ID_BYTES + 1);
    let reply = app
        .post(
            "/v1/track",
            &serde_json::json!({ "userId": long, "event": "E" }),
        )
        .await;
    reply.assert_error(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_field",
        "invalid_request",
    );
    assert!(reply.json["message"].as_str().unwrap().contains("userId"));
}
