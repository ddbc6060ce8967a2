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

const CHECK: &str = r#"
name: check
trigger: { event: Check }
start: route
steps:
  route:
    branch:
      - when: { trait: orders_1d, greater_than: 0 }
        next: had
    otherwise: none
  had:
    emit: { event: Had Orders }
    next: done
  # Keys number moves: this branch's emit must not share one with `had`'s.
  none:
    update_profile: { set: { checked: 1 } }
    next: again
  again:
    update_profile: { set: { checked: 2 } }
    next: say
  say:
    emit: { event: No Orders }
    next: done
  done:
    exit: true
"#;

/// Regression (review): a replay days later read a windowed computed trait
/// with its days already expired at today's date, took the other branch
/// and emitted a second, different event. Records are now applied at their
/// arrival while replaying.
#[tokio::test]
async fn a_replay_days_later_decides_as_live_did() {
    let app = TestApp::new();
    let orders = json!({ "name": "orders_1d", "event": "Order Completed", "aggregation": "count", "window_days": 1 });
    let created = app
        .admin(Method::POST, "/api/v1/computed-traits", Some(&orders))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(
        app.admin_text("/api/v1/journeys", CHECK).await.status,
        StatusCode::CREATED
    );
    app.post(
        "/v1/track",
        &json!({ "userId": "u", "event": "Order Completed" }),
    )
    .await
    .assert_ok();
    app.clock.advance(HOUR);
    app.post("/v1/track", &json!({ "userId": "u", "event": "Check" }))
        .await
        .assert_ok();
    app.state.engine.settle().await.unwrap();
    let outcome = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| {
                e["event"]
                    .as_str()
                    .filter(|n| n.ends_with("Orders"))
                    .map(str::to_owned)
            })
            .collect()
    };
    assert_eq!(outcome(&app.events_of("u").await), ["Had Orders"]);
    // Five days on, the derived state is lost: everything is replayed.
    app.clock.advance(5 * DAY_MILLIS);
    let state = app.dir.path().join("state");
    let app = app.restart_after(|| std::fs::remove_dir_all(&state).unwrap());
    app.state.engine.settle().await.unwrap();
    app.state.engine.tick().await.unwrap();
    assert_eq!(
        outcome(&app.events_of("u").await),
        ["Had Orders"],
        "the replay decided otherwise"
    );
}
