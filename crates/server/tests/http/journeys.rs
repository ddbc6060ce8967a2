//! Journeys through the admin API on a manual clock (no sleeping):
//! schedule triggers on each customer's own clock.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::TestApp;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

const DAILY: &str = r#"
name: daily
trigger:
  schedule: { cron: "0 9 * * *", time_zone: customer, segment: vips }
re_entry: one_at_a_time
start: hello
steps:
  hello:
    emit: { event: Daily Hello, properties: { at: "{{ event.properties.occurrence }}" } }
    next: done
  done:
    exit: true
"#;

async fn entries(app: &TestApp, user: &str) -> Value {
    let profile = app
        .admin_get(&format!("/api/v1/profiles?user_id={user}"))
        .await;
    let id = profile.json["profile_id"].as_str().unwrap().to_owned();
    let journeys = app
        .admin_get(&format!("/api/v1/profiles/{id}/journeys"))
        .await;
    journeys.json["journeys"]["journeys"]["daily"]["entries"].clone()
}

#[tokio::test]
async fn a_schedule_enters_each_member_at_nine_on_their_own_clock() {
    let app = TestApp::new();
    let segment = json!({ "name": "vips", "rule": { "trait": "vip", "equals": true } });
    let created = app
        .admin(Method::POST, "/api/v1/segments", Some(&segment))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    for (user, zone, vip) in [
        ("tokyo", "Asia/Tokyo", true),
        ("newyork", "America/New_York", true),
        ("plain", "Europe/Rome", false),
    ] {
        let identify = json!({ "userId": user, "traits": { "vip": vip, "timezone": zone } });
        app.post("/v1/identify", &identify).await.assert_ok();
    }
    let deployed = app.admin_text("/api/v1/journeys", DAILY).await;
    assert_eq!(deployed.status, StatusCode::CREATED, "{}", deployed.text);
    let engine = &app.state.engine;
    engine.tick().await.unwrap(); // 12:00Z: the schedule starts from now
                                  // 14:00Z is 09:00 in New York (not yet in Tokyo: 23:00).
    app.clock.advance(2 * HOUR + MINUTE);
    engine.tick().await.unwrap();
    assert_eq!(entries(&app, "newyork").await, json!(1));
    assert_eq!(entries(&app, "tokyo").await, Value::Null);
    // 00:00Z is 09:00 in Tokyo; New York already had its day.
    app.clock.advance(10 * HOUR);
    engine.tick().await.unwrap();
    assert_eq!(entries(&app, "tokyo").await, json!(1));
    assert_eq!(entries(&app, "newyork").await, json!(1));
    assert_eq!(
        entries(&app, "plain").await,
        Value::Null,
        "not in the segment"
    );
    // The emitted event names the occurrence on the member's own clock.
    let timeline = app.events_of("tokyo").await;
    let hello: Vec<&Value> = timeline
        .iter()
        .filter(|e| e["event"] == "Daily Hello")
        .collect();
    assert_eq!(hello.len(), 1, "{timeline:?}");
    assert_eq!(hello[0]["properties"]["at"], "2026-01-02T00:00:00.000Z");
    // The next day, again.
    app.clock.advance(DAY_MILLIS);
    engine.tick().await.unwrap();
    assert_eq!(entries(&app, "tokyo").await, json!(2));
}

const DAY_MILLIS: i64 = 24 * HOUR;
