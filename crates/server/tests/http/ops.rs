//! Health, metrics, and what unknown routes and methods answer.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::harness::{Key, Reply, TestApp};

async fn request(app: &TestApp, method: Method, path: &str) -> Reply {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .expect("request");
    app.send(request).await
}

/// The value of the sample of `name` whose labels include all of `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            let rest = line.strip_prefix(name);
            rest.is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
        })
        .filter(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .find_map(|line| line.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn healthz_answers_ok_without_credentials() {
    let app = TestApp::new();
    let reply = request(&app, Method::GET, "/healthz").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({ "status": "ok" }));
}

#[tokio::test]
async fn metrics_count_events_by_source_and_time_fsyncs() {
    let app = TestApp::new();
    assert!(
        percorso_server::install_metrics().is_some(),
        "the recorder is installed"
    );
    // A source of its own, so its counts are exact even with tests running
    // in parallel against the one process-wide recorder.
    let created = app
        .admin(
            Method::POST,
            "/api/v1/sources",
            Some(&json!({ "name": "metrics_probe" })),
        )
        .await;
    let key = created.json["write_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let batch = json!({ "batch": [
        { "type": "track", "userId": "u-metrics", "event": "E", "messageId": "m1" },
        { "type": "track", "userId": "u-metrics", "event": "E", "messageId": "m1" },
        { "type": "track", "userId": "u-metrics", "messageId": "m2" },
    ]});
    let reply = app
        .post_raw(
            "/v1/batch",
            Key::Bearer(&key),
            &[],
            batch.to_string().into_bytes(),
        )
        .await;
    assert_eq!(reply.json["stored"], 1, "{}", reply.text);

    let reply = request(&app, Method::GET, "/metrics").await;
    assert_eq!(reply.status, StatusCode::OK);
    let content_type = reply
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("text/plain; version=0.0.4"));
    let text = &reply.text;
    let probe = [("source", "metrics_probe")];
    assert_eq!(
        sample(text, "percorso_events_received_total", &probe),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(text, "percorso_events_stored_total", &probe),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(text, "percorso_events_duplicate_total", &probe),
        Some(1.0),
        "{text}"
    );
    let rejected = [("source", "metrics_probe"), ("code", "missing_event")];
    assert_eq!(
        sample(text, "percorso_events_rejected_total", &rejected),
        Some(1.0),
        "{text}"
    );

    // A histogram with the configured buckets, not a summary.
    let fsyncs = sample(text, "percorso_log_fsync_seconds_count", &[]).unwrap_or_default();
    assert!(fsyncs >= 1.0, "{text}");
    assert!(
        sample(
            text,
            "percorso_log_fsync_seconds_bucket",
            &[("le", "0.00025")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        sample(text, "percorso_log_group_records_bucket", &[("le", "500")]).is_some(),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_error_shape() {
    let app = TestApp::new();
    for (method, path) in [
        (Method::GET, "/"),
        (Method::POST, "/v1/purchase"),
        (Method::GET, "/api/v1/campaigns"),
        (Method::POST, "/v2/track"),
    ] {
        let reply = request(&app, method, path).await;
        reply.assert_error(StatusCode::NOT_FOUND, "not_found", "invalid_request");
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_in_the_error_shape() {
    let app = TestApp::new();
    for (method, path) in [
        (Method::GET, "/v1/track"),
        (Method::PUT, "/v1/batch"),
        (Method::POST, "/api/v1/events"),
        (Method::DELETE, "/api/v1/sources"),
        (Method::POST, "/healthz"),
    ] {
        let reply = request(&app, method.clone(), path).await;
        reply.assert_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "invalid_request",
        );
        let content_type = reply
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/json"), "{method} {path}");
    }
}
