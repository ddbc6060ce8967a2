//! Profiles through the admin API: identity across devices, lookups,
//! timelines, merges, consent, computed traits, restarts.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::{TestApp, DAY};

pub(crate) async fn send(app: &TestApp, path: &str, body: Value) {
    app.post(path, &body).await.assert_ok();
}

pub(crate) async fn get_ok(app: &TestApp, path: &str) -> Value {
    let reply = app.admin_get(path).await;
    assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    reply.json
}

/// Browsing on a laptop, logging in there, then the same email on a phone.
pub(crate) async fn two_devices(app: &TestApp) {
    send(
        app,
        "/v1/page",
        json!({ "anonymousId": "laptop-1", "name": "Home" }),
    )
    .await;
    send(
        app,
        "/v1/page",
        json!({ "anonymousId": "phone-1", "name": "Offers" }),
    )
    .await;
    send(app, "/v1/identify", json!({ "anonymousId": "laptop-1", "userId": "u-ada", "traits": { "email": "Ada@Example.com", "plan": "free" } })).await;
    app.clock.advance(60_000);
    send(app, "/v1/identify", json!({ "anonymousId": "phone-1", "traits": { "email": "ada@example.com", "plan": "pro" } })).await;
    send(app, "/v1/track", json!({ "anonymousId": "phone-1", "event": "Order Completed", "properties": { "revenue": 30 } })).await;
}

#[tokio::test]
async fn two_devices_become_one_profile_with_one_timeline() {
    let app = TestApp::new();
    two_devices(&app).await;
    let by_email = get_ok(&app, "/api/v1/profiles?email=ADA@example.com").await;
    let id = by_email["profile_id"].as_str().unwrap().to_owned();
    for query in [
        "user_id=u-ada",
        "anonymous_id=laptop-1",
        "anonymous_id=phone-1",
    ] {
        let found = get_ok(&app, &format!("/api/v1/profiles?{query}")).await;
        assert_eq!(found["profile_id"], id.as_str(), "{query}");
    }
    assert_eq!(
        by_email["traits"]["plan"], "pro",
        "the latest identify wins"
    );
    assert_eq!(by_email["events"], 5);
    let identities: Vec<String> = by_email["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}:{}",
                i["type"].as_str().unwrap(),
                i["value"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        identities,
        [
            "user_id:u-ada",
            "email:ada@example.com",
            "anonymous_id:laptop-1",
            "anonymous_id:phone-1"
        ]
    );

    let timeline_types = |timeline: &Value| -> Vec<String> {
        let events = timeline["events"].as_array().unwrap();
        events
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    let timeline = get_ok(&app, &format!("/api/v1/profiles/{id}/events")).await;
    let types = ["page", "page", "identify", "identify", "track"];
    assert_eq!(timeline_types(&timeline), types);
    assert_eq!(timeline["total"], 5);
    // The same from the state store, after a restart.
    app.write_state().await;
    let app = app.restart();
    let timeline = get_ok(&app, &format!("/api/v1/profiles/{id}/events")).await;
    assert_eq!(timeline_types(&timeline), types, "{timeline}");
    assert_eq!(app.events_by("anonymous_id", "phone-1").await.len(), 3);

    let merges = get_ok(&app, &format!("/api/v1/profiles/{id}/merges")).await;
    let merges = merges["merges"].as_array().unwrap();
    assert_eq!(merges.len(), 1, "{merges:?}");
    assert_eq!(merges[0]["identifiers"], json!(["anonymous_id:phone-1"]));
    let merged_id = merges[0]["merged_profile"].as_str().unwrap();
    assert_ne!(merged_id, id);
    // The merged-away id still leads to the person.
    let via_old = get_ok(&app, &format!("/api/v1/profiles/{merged_id}")).await;
    assert_eq!(via_old["profile_id"], id.as_str());
    let identities = get_ok(&app, &format!("/api/v1/profiles/{id}/identities")).await;
    assert_eq!(identities["merged_profiles"], json!([merged_id]));
}

#[tokio::test]
async fn two_user_ids_sharing_an_email_stay_two_profiles() {
    let app = TestApp::new();
    send(
        &app,
        "/v1/identify",
        json!({ "userId": "u-1", "traits": { "email": "family@example.com" } }),
    )
    .await;
    send(
        &app,
        "/v1/identify",
        json!({ "userId": "u-2", "traits": { "email": "family@example.com" } }),
    )
    .await;
    let one = get_ok(&app, "/api/v1/profiles?user_id=u-1").await;
    let two = get_ok(&app, "/api/v1/profiles?user_id=u-2").await;
    assert_ne!(one["profile_id"], two["profile_id"]);
    assert_eq!(
        get_ok(&app, "/api/v1/profiles?email=family@example.com").await["profile_id"],
        one["profile_id"]
    );
}

/// A shared device: its anonymous id stays with the first user, and the
/// second user's event that carried it is still found by that id (filed
/// under it as a stray, since the graph does not lead it to the second).
#[tokio::test]
async fn a_shared_devices_events_are_all_found_by_its_anonymous_id() {
    let app = TestApp::new();
    for user in ["u-1", "u-2"] {
        send(
            &app,
            "/v1/track",
            json!({ "userId": user, "anonymousId": "kiosk-1", "event": "Product Viewed" }),
        )
        .await;
    }
    let one = get_ok(&app, "/api/v1/profiles?user_id=u-1").await;
    let two = get_ok(&app, "/api/v1/profiles?user_id=u-2").await;
    assert_ne!(one["profile_id"], two["profile_id"]);
    let on_kiosk = app.events_by("anonymous_id", "kiosk-1").await;
    let mut users: Vec<&str> = on_kiosk
        .iter()
        .filter_map(|e| e["userId"].as_str())
        .collect();
    users.sort_unstable();
    assert_eq!(users, ["u-1", "u-2"]);
    let kind = percorso_collect::IdKind::AnonymousId;
    assert_eq!(
        app.state.collector.index_entries(kind, "kiosk-1").unwrap(),
        1
    );
}

#[tokio::test]
async fn unknown_profiles_and_bad_lookups_are_clear_errors() {
    let app = TestApp::new();
    app.admin_get("/api/v1/profiles/prof_nobody")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "profile_not_found",
            "invalid_request",
        );
    app.admin_get("/api/v1/profiles?email=nobody@example.com")
        .await
        .assert_error(
            StatusCode::NOT_FOUND,
            "profile_not_found",
            "invalid_request",
        );
    app.admin_get("/api/v1/profiles").await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_parameter",
        "invalid_request",
    );
    app.admin_get("/api/v1/profiles?email=a@b.c&user_id=u")
        .await
        .assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "invalid_request",
        );
}

#[tokio::test]
async fn consent_and_computed_traits_show_on_the_profile() {
    let app = TestApp::new();
    let created = app
        .admin(
            Method::POST,
            "/api/v1/computed-traits",
            Some(&json!({
                "name": "revenue_30d", "event": "Order Completed", "aggregation": "sum",
                "property": "properties.revenue", "window_days": 30
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let bad = app
        .admin(
            Method::POST,
            "/api/v1/computed-traits",
            Some(&json!({ "name": "x", "aggregation": "sum" })),
        )
        .await;
    bad.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_definition",
        "invalid_request",
    );
    assert!(
        bad.json["message"].as_str().unwrap().contains("property"),
        "{}",
        bad.text
    );
    for revenue in [10, 25] {
        send(&app, "/v1/track", json!({ "userId": "u-c", "event": "Order Completed", "properties": { "revenue": revenue } })).await;
    }
    send(
        &app,
        "/v1/track",
        json!({ "userId": "u-c", "event": "Unsubscribed", "properties": { "channel": "sms" } }),
    )
    .await;
    send(
        &app,
        "/v1/identify",
        json!({ "userId": "u-c", "traits": { "emailSubscribed": true } }),
    )
    .await;
    let profile = get_ok(&app, "/api/v1/profiles?user_id=u-c").await;
    assert_eq!(profile["computed_traits"]["revenue_30d"], 35.0);
    let subscriptions: Vec<(String, bool)> = profile["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1]["subscribed"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        subscriptions,
        [("email".to_owned(), true), ("sms".to_owned(), false)]
    );
    // 31 days later the window is empty, without any new event.
    app.clock.advance(31 * DAY);
    app.state.engine.tick().await.unwrap();
    let later = get_ok(&app, "/api/v1/profiles?user_id=u-c").await;
    assert_eq!(
        later["computed_traits"]["revenue_30d"], 0.0,
        "nothing left in the window"
    );
}

#[tokio::test]
async fn profiles_and_definitions_are_rebuilt_from_the_log_after_a_restart() {
    let app = TestApp::new();
    two_devices(&app).await;
    app.admin(
        Method::POST,
        "/api/v1/computed-traits",
        Some(&json!({ "name": "orders", "event": "Order Completed", "aggregation": "count" })),
    )
    .await
    .assert_ok_status(StatusCode::CREATED);
    app.state.engine.backfilled().await.unwrap();
    let before = get_ok(&app, "/api/v1/profiles?email=ada@example.com").await;
    let app = app.restart();
    let after = get_ok(&app, "/api/v1/profiles?email=ada@example.com").await;
    assert_eq!(before, after);
    assert_eq!(after["computed_traits"]["orders"], 1);
}

/// The whole derived state — identity, traits, consent, computed traits,
/// segment verdicts and recorded membership — rebuilt from the log alone,
/// reading the partitions in the other order, equals the live state.
#[tokio::test]
async fn a_rebuild_from_the_log_equals_the_live_state() {
    let app = TestApp::new();
    for (name, body) in [
        (
            "orders",
            json!({ "name": "orders", "event": "Order Completed", "aggregation": "count" }),
        ),
        (
            "spend_7d",
            json!({ "name": "spend_7d", "event": "Order Completed", "aggregation": "sum", "property": "properties.revenue", "window_days": 7 }),
        ),
        (
            "pages",
            json!({ "name": "pages", "aggregation": "distinct_count", "property": "name" }),
        ),
    ] {
        let reply = app
            .admin(Method::POST, "/api/v1/computed-traits", Some(&body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {}", reply.text);
    }
    let segment = "name: big_spenders\nrule:\n  all:\n    - trait: spend_7d\n      greater_than: 20\n    - not:\n        event: Email Opened\n        within_days: 3\n";
    app.admin_text("/api/v1/segments", segment)
        .await
        .assert_ok_status(StatusCode::CREATED);
    two_devices(&app).await;
    for day in 0..10 {
        for user in ["u-1", "u-2", "u-3"] {
            let revenue = 7 * (day % 3) + user.len();
            send(&app, "/v1/track", json!({ "userId": user, "event": "Order Completed", "properties": { "revenue": revenue } })).await;
            if day % 4 == 0 {
                send(
                    &app,
                    "/v1/track",
                    json!({ "userId": user, "event": "Email Opened" }),
                )
                .await;
            }
        }
        send(
            &app,
            "/v1/page",
            json!({ "anonymousId": format!("visitor-{day}"), "name": format!("P{}", day % 3) }),
        )
        .await;
        send(&app, "/v1/identify", json!({ "anonymousId": format!("visitor-{day}"), "userId": "u-2", "traits": { "day": day } })).await;
        app.clock.advance(DAY + 3_600_000);
        app.state.engine.tick().await.unwrap();
    }
    let live = app.state.engine.digest().await.unwrap();
    let memberships = live
        .values()
        .filter(|d| d["segments"]["big_spenders"]["recorded"].is_array())
        .count();
    assert!(
        memberships > 0,
        "the workload moves people through the segment"
    );

    let reversed: Vec<u16> = app.partitions().into_iter().rev().collect();
    let rebuilt = app.rebuilt_digest(app.state.engine.definitions(), &reversed);
    assert_eq!(rebuilt, live);
    // Live, the engine reads only the parts of events the definitions
    // name; reading them whole gives the same state.
    let mut definitions = app.state.engine.definitions();
    definitions.projection = std::sync::Arc::new(percorso_profiles::Projection::whole());
    assert_eq!(app.rebuilt_digest(definitions, &reversed), live);

    let collector = &app.state.collector;

    // The identity graph comes back from the log's stamps too.
    let before: Vec<Value> = ["laptop-1", "phone-1", "visitor-3"]
        .iter()
        .map(|a| {
            json!(collector
                .identity()
                .graph()
                .profile_of(&percorso_identity::Identifier::new("anonymous_id", a))
                .unwrap())
        })
        .collect();
    let app = app.restart();
    let mut graph = app.state.collector.identity().graph();
    let after: Vec<Value> = ["laptop-1", "phone-1", "visitor-3"]
        .iter()
        .map(|a| {
            json!(graph
                .profile_of(&percorso_identity::Identifier::new("anonymous_id", a))
                .unwrap())
        })
        .collect();
    assert_eq!(before, after);
}
