//! The admin API: reading events and the quarantine, managing sources.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};

use crate::harness::{track, Key, TestApp};

const ADMIN_ROUTES: [(Method, &str); 4] = [
    (Method::GET, "/api/v1/events?user_id=u"),
    (Method::GET, "/api/v1/quarantine"),
    (Method::GET, "/api/v1/sources"),
    (Method::POST, "/api/v1/sources"),
];

#[tokio::test]
async fn admin_routes_need_the_admin_token() {
    let app = TestApp::new();
    let write_key = format!("Bearer {}", app.write_key());
    let cases = [
        (None, "missing_admin_token"),
        (
            Some("Bearer not-the-token".to_owned()),
            "invalid_admin_token",
        ),
        (Some("Bearer ".to_owned()), "missing_admin_token"),
        (Some(write_key), "invalid_admin_token"),
        (
            Some("Basic dGVzdC1hZG1pbi10b2tlbjo=".to_owned()),
            "missing_admin_token",
        ),
    ];
    for (method, path) in ADMIN_ROUTES {
        for (auth, code) in &cases {
            let mut request = Request::builder().method(method.clone()).uri(path);
            if let Some(auth) = auth {
                request = request.header(header::AUTHORIZATION, auth);
            }
            let body = Body::from(json!({ "name": "sneaky" }).to_string());
            let reply = app.send(request.body(body).expect("request")).await;
            reply.assert_error(StatusCode::UNAUTHORIZED, code, "auth");
        }
    }
    let sources = app.admin_get("/api/v1/sources").await;
    assert_eq!(
        sources.json["sources"].as_array().map(Vec::len),
        Some(1),
        "nothing was created"
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_as_for_write_keys() {
    // RFC 9110 §11.1: the scheme of an Authorization header is case-insensitive.
    let app = TestApp::new();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let request = Request::builder()
            .uri("/api/v1/sources")
            .header(
                header::AUTHORIZATION,
                format!("{scheme} {}", crate::harness::ADMIN_TOKEN),
            )
            .body(Body::empty())
            .expect("request");
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{scheme}: {}", reply.text);
        let body = track("u-scheme", scheme).to_string().into_bytes();
        let key = format!("{scheme} {}", app.write_key());
        app.post_raw("/v1/track", Key::None, &[("authorization", &key)], body)
            .await
            .assert_ok();
    }
    assert_eq!(app.events_of("u-scheme").await.len(), 3);
}

#[tokio::test]
async fn events_need_exactly_one_id_and_a_sane_limit() {
    let app = TestApp::new();
    for query in [
        "",
        "?limit=5",
        "?user_id=u&anonymous_id=a",
        "?user_id=u&limit=0",
        "?user_id=u&limit=-1",
        "?user_id=u&limit=ten",
        "?user_id=u&limit=10001",
        "?anonymous_id=a&limit=",
        "?user_id=",
        "?user_id=&anonymous_id=a&anonymous_id=",
    ] {
        let reply = app.admin_get(&format!("/api/v1/events{query}")).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "invalid_request",
        );
    }
    for query in ["?offset=-3", "?offset=x", "?limit=0"] {
        let reply = app.admin_get(&format!("/api/v1/quarantine{query}")).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "invalid_request",
        );
    }
    let reply = app
        .admin_get("/api/v1/events?user_id=nobody&limit=10000")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json, json!({ "events": [], "total": 0 }));
}

#[tokio::test]
async fn the_limit_cuts_the_earliest_events_and_total_counts_all() {
    let app = TestApp::new();
    // Sent newest first; read back oldest first.
    for n in (0..5).rev() {
        let mut body = track("u-limit", &format!("m{n}"));
        body["timestamp"] = json!(format!("2026-01-01T10:0{n}:00Z"));
        app.post("/v1/track", &body).await.assert_ok();
    }
    let reply = app
        .admin_get("/api/v1/events?user_id=u-limit&limit=2")
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["total"], 5);
    let ids: Vec<Value> = reply.json["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["messageId"].clone())
        .collect();
    assert_eq!(ids, ["m0", "m1"]);
    // Without a limit, up to 100.
    let reply = app.admin_get("/api/v1/events?user_id=u-limit").await;
    assert_eq!(reply.json["events"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn quarantine_is_read_in_pages() {
    let app = TestApp::new();
    for n in 0..5 {
        let body = json!({ "userId": "u-page", "messageId": format!("q{n}") });
        let reply = app.post("/v1/track", &body).await;
        assert_eq!(reply.json["code"], "missing_event");
    }
    let first = app.admin_get("/api/v1/quarantine?limit=2").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.json["end"], 5);
    assert_eq!(first.json["nextOffset"], 2);
    let offsets: Vec<&Value> = first.json["items"]
        .as_array()
        .map(|items| items.iter().map(|i| &i["offset"]).collect())
        .unwrap_or_default();
    assert_eq!(offsets, [&json!(0), &json!(1)]);

    let rest = app.admin_get("/api/v1/quarantine?offset=2&limit=100").await;
    let ids: Vec<&Value> = rest.json["items"]
        .as_array()
        .map(|items| items.iter().map(|i| &i["event"]["messageId"]).collect())
        .unwrap_or_default();
    assert_eq!(ids, [&json!("q2"), &json!("q3"), &json!("q4")]);
    assert_eq!(rest.json["nextOffset"], 5);

    let past_end = app.admin_get("/api/v1/quarantine?offset=99").await;
    assert_eq!(past_end.json["items"], json!([]));
    assert_eq!(past_end.json["nextOffset"], 5);
}

#[tokio::test]
async fn a_source_created_through_the_api_can_send_at_once() {
    let app = TestApp::new();
    app.clock.advance(61_000);
    let reply = app
        .admin(
            Method::POST,
            "/api/v1/sources",
            Some(&json!({ "name": "android-app" })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json["name"], "android-app");
    assert_eq!(reply.json["created_at"], "2026-01-01T12:01:01.000Z");
    let key = reply.json["write_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let id = reply.json["id"].as_str().unwrap_or_default().to_owned();
    assert!(!key.is_empty() && !id.is_empty(), "{}", reply.text);
    assert_ne!(key, app.write_key());

    let body = track("u-android", "a1").to_string().into_bytes();
    app.post_raw("/v1/track", Key::Basic(&key), &[], body)
        .await
        .assert_ok();
    assert_eq!(app.events_of("u-android").await.len(), 1);

    let reply = app.admin_get("/api/v1/sources").await;
    assert_eq!(reply.status, StatusCode::OK);
    let listed: Vec<(Value, Value)> = reply.json["sources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| (s["name"].clone(), s["write_key"].clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (json!("web"), json!(app.write_key())),
            (json!("android-app"), json!(key)),
        ]
    );
}

#[tokio::test]
async fn source_names_are_unique_and_checked() {
    let app = TestApp::new();
    let app = &app;
    let create = |name: Value| async move {
        app.admin(
            Method::POST,
            "/api/v1/sources",
            Some(&json!({ "name": name })),
        )
        .await
    };
    let reply = create(json!("web")).await;
    reply.assert_error(StatusCode::CONFLICT, "source_exists", "invalid_request");
    for bad in ["", "has space", "slash/y", &"x".repeat(65)] {
        let reply = create(json!(bad)).await;
        reply.assert_error(
            StatusCode::BAD_REQUEST,
            "invalid_source_name",
            "invalid_request",
        );
    }
    let reply = create(json!(7)).await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_body", "invalid_request");
    let reply = app
        .admin(
            Method::POST,
            "/api/v1/sources",
            Some(&json!({ "name": "ok", "kind": "x" })),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, "invalid_body", "invalid_request");
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/sources")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", crate::harness::ADMIN_TOKEN),
        )
        .body(Body::from("{name: web}"))
        .expect("request");
    app.send(request).await.assert_error(
        StatusCode::BAD_REQUEST,
        "invalid_json",
        "invalid_request",
    );

    let reply = app.admin_get("/api/v1/sources").await;
    assert_eq!(reply.json["sources"].as_array().map(Vec::len), Some(1));
}
