//! Write keys: how a sender proves which source it is.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::harness::{track, Key, Reply, TestApp};

async fn post_as(app: &TestApp, path: &str, key: Key<'_>, body: &Value) -> Reply {
    app.post_raw(path, key, &[], body.to_string().into_bytes())
        .await
}

#[tokio::test]
async fn write_key_as_basic_user_name_with_empty_password_is_accepted() {
    let app = TestApp::new();
    let key = app.write_key().to_owned();
    post_as(&app, "/v1/track", Key::Basic(&key), &track("u-basic", "m1"))
        .await
        .assert_ok();
    // Some libraries put something in the password; only the user name counts.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/track")
        .header(header::AUTHORIZATION, basic(&format!("{key}:ignored")))
        .body(Body::from(track("u-basic", "m2").to_string()))
        .expect("request");
    app.send(request).await.assert_ok();
    assert_eq!(app.events_of("u-basic").await.len(), 2);
}

#[tokio::test]
async fn write_key_as_bearer_token_is_accepted_on_single_and_batch_routes() {
    let app = TestApp::new();
    let key = app.write_key().to_owned();
    post_as(
        &app,
        "/v1/track",
        Key::Bearer(&key),
        &track("u-bearer", "m1"),
    )
    .await
    .assert_ok();
    let mut item = track("u-bearer", "m2");
    item["type"] = json!("track");
    post_as(
        &app,
        "/v1/batch",
        Key::Bearer(&key),
        &json!({ "batch": [item] }),
    )
    .await
    .assert_ok();
    assert_eq!(app.events_of("u-bearer").await.len(), 2);
}

#[tokio::test]
async fn write_key_in_the_body_is_accepted_and_not_stored() {
    let app = TestApp::new();
    let key = app.write_key().to_owned();
    let mut single = track("u-body-key", "m1");
    single["writeKey"] = json!(key);
    post_as(&app, "/v1/track", Key::None, &single)
        .await
        .assert_ok();

    let mut item = track("u-body-key", "m2");
    item["type"] = json!("track");
    // An item may carry a key of its own (some libraries copy it in).
    item["writeKey"] = json!(key);
    let batch = json!({ "writeKey": key, "batch": [item] });
    post_as(&app, "/v1/batch", Key::None, &batch)
        .await
        .assert_ok();

    // Nor is it kept with a refused event.
    let mut refused = json!({ "userId": "u-body-key", "writeKey": key });
    post_as(&app, "/v1/track", Key::None, &refused).await;
    refused["type"] = json!("track");
    let batch = json!({ "writeKey": key, "batch": [refused, 1] });
    post_as(&app, "/v1/batch", Key::None, &batch).await;

    let events = app.events_of("u-body-key").await;
    assert_eq!(events.len(), 2);
    let quarantined = app.quarantine().await;
    assert_eq!(quarantined.len(), 3);
    for kept in events.iter().chain(quarantined.iter().map(|q| &q["event"])) {
        assert!(
            !kept.to_string().contains(&key),
            "a credential is not event data: {kept}"
        );
    }
}

#[tokio::test]
async fn missing_write_key_is_401_and_nothing_is_stored() {
    let app = TestApp::new();
    let reply = post_as(&app, "/v1/track", Key::None, &track("u-nokey", "m1")).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "missing_write_key", "auth");
    let mut item = track("u-nokey", "m2");
    item["type"] = json!("track");
    let reply = post_as(&app, "/v1/batch", Key::None, &json!({ "batch": [item] })).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "missing_write_key", "auth");
    // An empty key is no key.
    let reply = post_as(&app, "/v1/track", Key::Basic(""), &track("u-nokey", "m3")).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "missing_write_key", "auth");
    let mut empty_in_body = track("u-nokey", "m4");
    empty_in_body["writeKey"] = json!("");
    let reply = post_as(&app, "/v1/page", Key::None, &empty_in_body).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "missing_write_key", "auth");

    assert!(app.events_of("u-nokey").await.is_empty());
    assert!(
        app.quarantine().await.is_empty(),
        "unauthenticated data is not kept"
    );
}

#[tokio::test]
async fn unknown_write_key_is_401_however_it_is_sent() {
    let app = TestApp::new();
    let mut with_body_key = track("u-badkey", "m3");
    with_body_key["writeKey"] = json!("not-a-key");
    let attempts = [
        (Key::Basic("not-a-key"), track("u-badkey", "m1")),
        (Key::Bearer("not-a-key"), track("u-badkey", "m2")),
        (Key::None, with_body_key),
    ];
    for (key, body) in attempts {
        let reply = post_as(&app, "/v1/track", key, &body).await;
        reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_write_key", "auth");
    }
    assert!(app.events_of("u-badkey").await.is_empty());
}

#[tokio::test]
async fn header_key_is_checked_before_the_body_key() {
    let app = TestApp::new();
    let key = app.write_key().to_owned();
    // A wrong header key is not rescued by a right body key...
    let mut body = track("u-order", "m1");
    body["writeKey"] = json!(key);
    let reply = post_as(&app, "/v1/track", Key::Bearer("wrong"), &body).await;
    reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_write_key", "auth");
    // ...and a right header key makes a stale body key harmless.
    let mut body = track("u-order", "m2");
    body["writeKey"] = json!("stale");
    post_as(&app, "/v1/track", Key::Basic(&key), &body)
        .await
        .assert_ok();
    let events = app.events_of("u-order").await;
    assert_eq!(events.len(), 1);
    assert!(events[0].get("writeKey").is_none());
    // An empty Basic user name (some proxies add one) is no key at all.
    let mut body = track("u-order", "m3");
    body["writeKey"] = json!(key);
    post_as(&app, "/v1/track", Key::Basic(""), &body)
        .await
        .assert_ok();
    assert_eq!(app.events_of("u-order").await.len(), 2);
}

#[tokio::test]
async fn malformed_authorization_header_is_401_invalid_authorization() {
    let app = TestApp::new();
    let key = app.write_key().to_owned();
    let values = [
        HeaderValue::from_static("Digest username=\"x\""),
        HeaderValue::from_static("Basic %%%not-base64%%%"),
        HeaderValue::from_str(&key).expect("header value"),
        HeaderValue::from_bytes(b"Bearer \xffkey").expect("obs-text header value"),
    ];
    for value in values {
        for path in ["/v1/identify", "/v1/batch"] {
            let request = Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::AUTHORIZATION, value.clone())
                .body(Body::from(track("u-malformed", "m1").to_string()))
                .expect("request");
            let reply = app.send(request).await;
            reply.assert_error(StatusCode::UNAUTHORIZED, "invalid_authorization", "auth");
        }
    }
    assert!(app.events_of("u-malformed").await.is_empty());
}

fn basic(credentials: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}
