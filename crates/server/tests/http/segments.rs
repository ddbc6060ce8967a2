//! Segments through the admin API: validation, live entry and exit as
//! events arrive and as time passes (manual clock, no sleeping), members,
//! counts, history, back-fill, and the Segment Entered / Exited events.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{TestApp, DAY};

const BUYERS: &str = "
name: recent_buyers
description: ordered at least twice in the last 7 days
rule:
  event: Order Completed
  at_least: 2
  within_days: 7
";

async fn order(app: &TestApp, user: &str) {
    let body =
        json!({ "userId": user, "event": "Order Completed", "properties": { "revenue": 5 } });
    app.post("/v1/track", &body).await.assert_ok();
}

async fn members(app: &TestApp, segment: &str) -> Vec<String> {
    let reply = app
        .admin_get(&format!("/api/v1/segments/{segment}/members"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    serde_json::from_value(reply.json["members"].clone()).unwrap()
}

async fn profile_of(app: &TestApp, user: &str) -> String {
    let reply = app
        .admin_get(&format!("/api/v1/profiles?user_id={user}"))
        .await;
    reply.json["profile_id"].as_str().unwrap().to_owned()
}

/// The segment events on a user's timeline, as `(event, segment)`.
async fn segment_events(app: &TestApp, user: &str) -> Vec<(String, String)> {
    let id = profile_of(app, user).await;
    let reply = app
        .admin_get(&format!("/api/v1/profiles/{id}/events"))
        .await;
    reply.json["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["event"]
                .as_str()
                .is_some_and(|n| n.starts_with("Segment "))
        })
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_owned(),
                e["properties"]["segment"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn invalid_definitions_are_refused_with_the_offending_part() {
    let app = TestApp::new();
    let bad = "name: x\nrule:\n  all:\n    - event: Order Completed\n      within_days: 0\n";
    for path in ["/api/v1/segments", "/api/v1/segments/validate"] {
        let reply = app.admin_text(path, bad).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_definition",
            "invalid_request",
        );
        assert!(
            reply.json["message"]
                .as_str()
                .unwrap()
                .contains("rule.all[0].within_days"),
            "{}",
            reply.text
        );
    }
    let reply = app
        .admin_text(
            "/api/v1/segments",
            "name: 'has space'\nrule:\n  trait: plan\n  equals: pro\n",
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_definition",
        "invalid_request",
    );
    let valid = app.admin_text("/api/v1/segments/validate", BUYERS).await;
    assert_eq!(
        valid.json,
        json!({ "valid": true, "name": "recent_buyers" })
    );
    assert_eq!(
        app.admin_get("/api/v1/segments").await.json["segments"],
        json!([]),
        "validate creates nothing"
    );
    app.admin_text("/api/v1/segments", BUYERS)
        .await
        .assert_ok_status(StatusCode::CREATED);
    app.admin_text("/api/v1/segments", BUYERS)
        .await
        .assert_error(StatusCode::CONFLICT, "already_exists", "invalid_request");
    app.admin_get("/api/v1/segments/nope/members")
        .await
        .assert_error(StatusCode::NOT_FOUND, "not_found", "invalid_request");
}

#[tokio::test]
async fn people_enter_as_events_arrive_and_leave_as_time_passes() {
    let app = TestApp::new();
    let created = app.admin_text("/api/v1/segments", BUYERS).await;
    created.assert_ok_status(StatusCode::CREATED);
    assert_eq!(created.json["backfill"]["done"], true, "{}", created.text);

    order(&app, "u-a").await;
    assert!(
        members(&app, "recent_buyers").await.is_empty(),
        "one order is not enough"
    );
    app.clock.advance(DAY);
    order(&app, "u-a").await;
    order(&app, "u-b").await;
    let a = profile_of(&app, "u-a").await;
    assert_eq!(
        members(&app, "recent_buyers").await,
        std::slice::from_ref(&a)
    );
    assert_eq!(
        segment_events(&app, "u-a").await,
        [("Segment Entered".to_owned(), "recent_buyers".to_owned())]
    );
    assert_eq!(
        app.admin_get("/api/v1/segments/recent_buyers").await.json["members"],
        1
    );

    // Six days later the first order leaves the 7-day window: u-a exits,
    // driven by the window timer alone.
    app.clock.advance(6 * DAY);
    app.state.engine.tick().await.unwrap();
    assert!(members(&app, "recent_buyers").await.is_empty());
    assert_eq!(
        segment_events(&app, "u-a").await,
        [
            ("Segment Entered".to_owned(), "recent_buyers".to_owned()),
            ("Segment Exited".to_owned(), "recent_buyers".to_owned())
        ]
    );
    let history = app
        .admin_get("/api/v1/segments/recent_buyers/history")
        .await
        .json;
    let changes: Vec<(Value, Value)> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["profile_id"].clone(), c["change"].clone()))
        .collect();
    assert_eq!(
        changes,
        [(json!(a), json!("entered")), (json!(a), json!("exited"))]
    );
    let on_profile = app
        .admin_get(&format!("/api/v1/profiles/{a}/segments"))
        .await
        .json;
    assert_eq!(on_profile["segments"][0]["member"], false);
}

#[tokio::test]
async fn a_new_segment_is_back_filled_over_existing_profiles() {
    let app = TestApp::new();
    for user in ["u-1", "u-2", "u-3"] {
        order(&app, user).await;
    }
    order(&app, "u-1").await;
    order(&app, "u-3").await;
    app.admin_text("/api/v1/segments", BUYERS)
        .await
        .assert_ok_status(StatusCode::CREATED);
    app.state.engine.backfilled().await.unwrap();
    let listed = app.admin_get("/api/v1/segments").await.json;
    assert_eq!(listed["segments"][0]["backfill"], json!({ "done": true }));
    let mut expected = vec![profile_of(&app, "u-1").await, profile_of(&app, "u-3").await];
    expected.sort();
    assert_eq!(members(&app, "recent_buyers").await, expected);
    // Events after the segment was created count once, not twice.
    order(&app, "u-2").await;
    assert_eq!(members(&app, "recent_buyers").await.len(), 3);
    let page = app
        .admin_get("/api/v1/segments/recent_buyers/members?limit=2")
        .await
        .json;
    assert_eq!(page["members"].as_array().unwrap().len(), 2);
    assert_eq!(page["total"], 3);
    let after = page["next_after"].as_str().unwrap();
    let rest = app
        .admin_get(&format!(
            "/api/v1/segments/recent_buyers/members?limit=2&after={after}"
        ))
        .await
        .json;
    assert_eq!(rest["members"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_after"], Value::Null);
}

#[tokio::test]
async fn a_restart_keeps_membership_without_restating_it() {
    let app = TestApp::new();
    app.admin_text("/api/v1/segments", BUYERS)
        .await
        .assert_ok_status(StatusCode::CREATED);
    order(&app, "u-r").await;
    order(&app, "u-r").await;
    let id = profile_of(&app, "u-r").await;
    assert_eq!(
        members(&app, "recent_buyers").await,
        std::slice::from_ref(&id)
    );
    let app = app.restart();
    assert_eq!(members(&app, "recent_buyers").await, [id]);
    assert_eq!(
        segment_events(&app, "u-r").await.len(),
        1,
        "entered once, not again at start"
    );
    assert_eq!(
        app.admin_get("/api/v1/segments").await.json["segments"][0]["name"],
        "recent_buyers"
    );
}

/// `recent_buyers`, a one-order segment and a computed trait all count
/// `Order Completed` over 7 days: one state per profile serves the three,
/// and it outlives whichever of them is deleted first.
#[tokio::test]
async fn definitions_asking_the_same_question_share_its_state() {
    let app = TestApp::new();
    let trait_body = json!({
        "name": "orders_7d", "event": "Order Completed", "aggregation": "count",
        "window_days": 7
    });
    let created = app
        .admin(Method::POST, "/api/v1/computed-traits", Some(&trait_body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    const ONCE: &str =
        "name: buyers_once\nrule: { event: Order Completed, at_least: 1, within_days: 7 }\n";
    for segment in [BUYERS, ONCE] {
        app.admin_text("/api/v1/segments", segment)
            .await
            .assert_ok_status(StatusCode::CREATED);
    }
    order(&app, "u-s").await;
    order(&app, "u-s").await;
    let id = profile_of(&app, "u-s").await;
    assert_eq!(
        members(&app, "recent_buyers").await,
        std::slice::from_ref(&id)
    );
    assert_eq!(
        members(&app, "buyers_once").await,
        std::slice::from_ref(&id)
    );
    let profile = app.admin_get(&format!("/api/v1/profiles/{id}")).await.json;
    assert_eq!(profile["computed_traits"]["orders_7d"], 2);

    // The trait and the first segment go; the count lives on in the
    // state the last reader shares, across a restart, and a new segment
    // asking the same needs no history to be read again to be right.
    for path in [
        "/api/v1/computed-traits/orders_7d",
        "/api/v1/segments/recent_buyers",
    ] {
        let deleted = app.admin(Method::DELETE, path, None).await;
        assert!(deleted.status.is_success(), "{path}: {}", deleted.text);
    }
    let app = app.restart();
    order(&app, "u-s").await;
    const THREE: &str =
        "name: buyers_three\nrule: { event: Order Completed, at_least: 3, within_days: 7 }\n";
    app.admin_text("/api/v1/segments", THREE)
        .await
        .assert_ok_status(StatusCode::CREATED);
    app.state.engine.backfilled().await.unwrap();
    assert_eq!(
        members(&app, "buyers_three").await,
        std::slice::from_ref(&id)
    );
    assert_eq!(
        members(&app, "buyers_once").await,
        std::slice::from_ref(&id)
    );
    // Counted once each, not once per definition: a fourth order makes
    // four, and the window still slides for the shared state.
    let created = app
        .admin(Method::POST, "/api/v1/computed-traits", Some(&trait_body))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    app.state.engine.backfilled().await.unwrap();
    order(&app, "u-s").await;
    let profile = app.admin_get(&format!("/api/v1/profiles/{id}")).await.json;
    assert_eq!(profile["computed_traits"]["orders_7d"], 4);
    app.clock.advance(8 * DAY);
    app.state.engine.tick().await.unwrap();
    assert!(members(&app, "buyers_three").await.is_empty());
    assert!(members(&app, "buyers_once").await.is_empty());
}
