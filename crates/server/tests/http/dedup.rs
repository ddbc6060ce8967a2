//! `messageId` deduplication: a retried event is acknowledged but stored
//! once, within a window of time, across restarts, per source.

use axum::body::Body;
use axum::http::{header, Method, Request};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::harness::{config, track, without, Key, TestApp};

const WINDOW: i64 = 60_000;

/// Sends a track request on its own task and hands the JSON reply to
/// `then` on that task, as soon as it arrives.
fn spawn_track<T: Send + 'static>(
    app: &TestApp,
    auth: &str,
    body: &str,
    then: impl FnOnce(Value) -> T + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    let router = percorso_server::router(app.state.clone());
    let request = Request::post("/v1/track")
        .header(header::AUTHORIZATION, auth)
        .body(Body::from(body.to_owned()))
        .expect("request");
    tokio::spawn(async move {
        let response = router.oneshot(request).await.expect("router");
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        then(serde_json::from_slice(&bytes).expect("json"))
    })
}

fn windowed_app() -> TestApp {
    let mut config = config();
    config.dedup_window_millis = WINDOW;
    TestApp::with_config(config)
}

fn batch_item(user: &str, message_id: &str, event: &str) -> Value {
    json!({ "type": "track", "userId": user, "event": event, "messageId": message_id })
}

#[tokio::test]
async fn a_repeated_message_id_is_acknowledged_as_duplicate_and_stored_once() {
    let app = TestApp::new();
    let first = track("u-dup", "same-id");
    let reply = app.post("/v1/track", &first).await;
    reply.assert_ok();
    assert_eq!(reply.json["duplicate"], false);

    // A retry, even with a different body, is the same message.
    let mut retry = first.clone();
    retry["properties"] = json!({ "revenue": 99 });
    for path in ["/v1/track", "/v1/identify"] {
        let reply = app.post(path, &retry).await;
        reply.assert_ok();
        assert_eq!(reply.json["duplicate"], true, "{path}: {}", reply.text);
    }
    let events = app.events_of("u-dup").await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["properties"], first["properties"],
        "the first copy is kept"
    );

    let reply = app
        .post(
            "/v1/batch",
            &json!({ "batch": [batch_item("u-dup", "same-id", "Again")] }),
        )
        .await;
    reply.assert_ok();
    assert_eq!(
        (&reply.json["stored"], &reply.json["duplicates"]),
        (&json!(0), &json!(1))
    );
    assert_eq!(app.events_of("u-dup").await.len(), 1);
}

#[tokio::test]
async fn duplicates_within_one_batch_are_stored_once() {
    let app = TestApp::new();
    let batch = json!({ "batch": [
        batch_item("u-batchdup", "a", "First"),
        batch_item("u-batchdup", "b", "Other"),
        batch_item("u-batchdup", "a", "Second"),
    ]});
    let reply = app.post("/v1/batch", &batch).await;
    reply.assert_ok();
    assert_eq!(reply.json["received"], 3);
    assert_eq!(reply.json["stored"], 2);
    assert_eq!(reply.json["duplicates"], 1);
    assert_eq!(reply.json["rejected"], 0);
    let names: Vec<Value> = app
        .events_of("u-batchdup")
        .await
        .iter()
        .map(|e| e["event"].clone())
        .collect();
    assert_eq!(names, ["First", "Other"]);
}

#[tokio::test]
async fn a_message_id_is_new_again_once_it_left_the_window() {
    let app = windowed_app();
    app.post("/v1/track", &track("u-window", "m"))
        .await
        .assert_ok();
    app.clock.advance(WINDOW - 1);
    let reply = app.post("/v1/track", &track("u-window", "m")).await;
    assert_eq!(reply.json["duplicate"], true, "still inside the window");
    app.clock.advance(1);
    let reply = app.post("/v1/track", &track("u-window", "m")).await;
    reply.assert_ok();
    assert_eq!(
        reply.json["duplicate"], false,
        "the window is measured from the first"
    );
    // The new copy opens a new window.
    app.clock.advance(WINDOW - 1);
    let reply = app.post("/v1/track", &track("u-window", "m")).await;
    assert_eq!(reply.json["duplicate"], true);
    assert_eq!(app.events_of("u-window").await.len(), 2);
}

#[tokio::test]
async fn deduplication_survives_a_restart() {
    let app = windowed_app();
    app.post("/v1/track", &track("u-restart", "m1"))
        .await
        .assert_ok();
    app.post("/v1/track", &track("u-restart", "m2"))
        .await
        .assert_ok();
    let refused = without(track("u-restart", "m3"), "event");
    assert_eq!(
        app.post("/v1/track", &refused).await.json["code"],
        "missing_event"
    );
    let events = app.events_of("u-restart").await;
    let quarantined = app.quarantine().await;
    app.clock.advance(WINDOW / 2);
    let app = app.restart();

    assert_eq!(
        app.events_of("u-restart").await,
        events,
        "read back from the log"
    );
    assert_eq!(app.quarantine().await, quarantined);
    let reply = app.post("/v1/track", &track("u-restart", "m1")).await;
    reply.assert_ok();
    assert_eq!(reply.json["duplicate"], true, "remembered from the log");
    assert_eq!(app.events_of("u-restart").await.len(), 2);

    // Restarted past the window, the log no longer makes it a duplicate.
    app.clock.advance(WINDOW / 2);
    let app = app.restart();
    let reply = app.post("/v1/track", &track("u-restart", "m2")).await;
    assert_eq!(reply.json["duplicate"], false, "{}", reply.text);
    assert_eq!(app.events_of("u-restart").await.len(), 3);
}

#[tokio::test]
async fn keys_in_the_state_store_deduplicate_after_a_restart_until_the_window_ends() {
    let app = windowed_app();
    app.post("/v1/track", &track("u-stored", "written"))
        .await
        .assert_ok();
    app.write_state().await;
    app.post("/v1/track", &track("u-stored", "unwritten"))
        .await
        .assert_ok();
    app.clock.advance(WINDOW / 2);
    let app = app.restart();
    // One key is read from the store, the other from the log past what
    // the store covers.
    assert_duplicate(&app, &["written", "unwritten"], true).await;
    app.write_state().await;
    app.clock.advance(WINDOW / 2);
    let app = app.restart();
    assert_duplicate(&app, &["written", "unwritten"], false).await;
    // Two windows on, the slot the first keys were in is reused.
    app.write_state().await;
    app.clock.advance(2 * WINDOW);
    app.post("/v1/track", &track("u-stored", "later"))
        .await
        .assert_ok();
    app.write_state().await;
    assert_duplicate(&app, &["later"], true).await;
    assert_eq!(app.events_of("u-stored").await.len(), 5);
}

/// Sends `u-stored`'s message of each id and checks the answer.
async fn assert_duplicate(app: &TestApp, ids: &[&str], duplicate: bool) {
    for id in ids {
        let reply = app.post("/v1/track", &track("u-stored", id)).await;
        assert_eq!(reply.json["duplicate"], duplicate, "{id}: {}", reply.text);
    }
}

#[tokio::test]
async fn a_rejected_event_does_not_claim_its_message_id() {
    let app = TestApp::new();
    let invalid = without(track("u-claim", "m"), "event");
    let reply = app.post("/v1/track", &invalid).await;
    assert_eq!(reply.json["code"], "missing_event");
    let reply = app.post("/v1/track", &track("u-claim", "m")).await;
    reply.assert_ok();
    assert_eq!(reply.json["duplicate"], false);
    assert_eq!(app.events_of("u-claim").await.len(), 1);
}

#[tokio::test]
async fn the_same_message_id_from_two_sources_is_two_events() {
    let app = TestApp::new();
    let created = app
        .admin(
            Method::POST,
            "/api/v1/sources",
            Some(&json!({ "name": "ios" })),
        )
        .await;
    let other_key = created.json["write_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!other_key.is_empty(), "{}", created.text);

    app.post("/v1/track", &track("u-sources", "shared"))
        .await
        .assert_ok();
    let body = track("u-sources", "shared").to_string().into_bytes();
    let reply = app
        .post_raw("/v1/track", Key::Bearer(&other_key), &[], body)
        .await;
    reply.assert_ok();
    assert_eq!(reply.json["duplicate"], false);
    assert_eq!(app.events_of("u-sources").await.len(), 2);
}

#[tokio::test]
async fn events_without_a_message_id_get_one_and_are_never_duplicates() {
    let app = TestApp::new();
    let body = without(track("u-noid", "unused"), "messageId");
    for _ in 0..2 {
        let reply = app.post("/v1/track", &body).await;
        reply.assert_ok();
        assert_eq!(reply.json["duplicate"], false);
    }
    let ids: Vec<String> = app
        .events_of("u-noid")
        .await
        .iter()
        .map(|e| e["messageId"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.iter().all(|id| !id.is_empty()), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_message_store_it_once() {
    let app = TestApp::new();
    let body = track("u-race", "raced").to_string();
    let auth = format!("Bearer {}", app.write_key());
    let tasks: Vec<_> = (0..8)
        .map(|_| spawn_track(&app, &auth, &body, |reply| reply))
        .collect();
    let mut fresh = 0;
    for task in tasks {
        let reply = task.await.expect("task");
        assert_eq!(reply["success"], true, "{reply}");
        if reply["duplicate"] == false {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one request stored it");
    assert_eq!(app.events_of("u-race").await.len(), 1);
}

/// Regression: a retry that arrived while the first copy was still being
/// fsynced was answered "duplicate" at once; had the first copy then been
/// lost, the retry's acknowledgement would have been a lie. Now a duplicate
/// is only acknowledged once the first copy is durable, so it can be read
/// back the moment the duplicate's answer arrives.
#[tokio::test]
async fn a_duplicate_is_acknowledged_only_after_the_first_copy_is_durable() {
    let app = TestApp::new();
    let auth = format!("Bearer {}", app.write_key());
    for round in 0..40 {
        let user = format!("u-durable-{round}");
        let body = track(&user, &format!("m-{round}")).to_string();
        let tasks: Vec<_> = (0..4)
            .map(|_| {
                let reader = app.state.collector.clone();
                let user = user.clone();
                // Read back right away, before any other copy can finish.
                spawn_track(&app, &auth, &body, move |reply| {
                    let query = percorso_collect::EventQuery {
                        kind: percorso_collect::IdKind::UserId,
                        id: user,
                        limit: 10,
                    };
                    (reply, reader.events(&query).expect("read").total)
                })
            })
            .collect();
        for task in tasks {
            let (reply, readable) = task.await.expect("task");
            assert_eq!(reply["success"], true, "{reply}");
            assert_eq!(readable, 1, "acknowledged ({reply}) but not yet stored");
        }
    }
}
