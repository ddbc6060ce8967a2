//! Privacy requests: export everything held about a person, then erase
//! them from the log and every derived store, for good.

use std::path::Path;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use percorso_collect::IdKind;

use crate::harness::TestApp;
use crate::profiles::{get_ok, send, two_devices};

/// Ada (two devices, a purchase) and Bob (a purchase), both in `buyers`.
async fn ada_and_bob(app: &TestApp) -> String {
    app.admin_text(
        "/api/v1/segments",
        "name: buyers\nrule:\n  event: Order Completed\n",
    )
    .await
    .assert_ok_status(StatusCode::CREATED);
    two_devices(app).await;
    send(
        app,
        "/v1/identify",
        json!({ "userId": "u-bob", "traits": { "email": "bob@example.com" } }),
    )
    .await;
    send(
        app,
        "/v1/track",
        json!({ "userId": "u-bob", "event": "Order Completed" }),
    )
    .await;
    let ada = get_ok(app, "/api/v1/profiles?email=ada@example.com").await;
    ada["profile_id"].as_str().unwrap().to_owned()
}

async fn assert_not_found(app: &TestApp, path: &str) {
    let reply = app.admin_get(path).await;
    assert_eq!(
        reply.status,
        StatusCode::NOT_FOUND,
        "{path}: {}",
        reply.text
    );
}

async fn bob_of(app: &TestApp) -> String {
    let bob = get_ok(app, "/api/v1/profiles?user_id=u-bob").await;
    bob["profile_id"].as_str().unwrap().to_owned()
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

const ADA_TRACES: [&str; 5] = [
    "ada@example.com",
    "Ada@Example.com",
    "u-ada",
    "laptop-1",
    "phone-1",
];

#[tokio::test]
async fn export_holds_everything_about_the_person() {
    let app = TestApp::new();
    let ada = ada_and_bob(&app).await;
    let export = get_ok(&app, &format!("/api/v1/profiles/{ada}/export")).await;
    assert_eq!(export["profile_id"], ada.as_str());
    assert_eq!(export["profile"]["traits"]["email"], "ada@example.com");
    assert_eq!(export["profile"]["traits"]["plan"], "pro");
    let identities = export["identities"].as_array().unwrap();
    assert_eq!(identities.len(), 4, "{identities:?}");
    assert_eq!(export["merged_profiles"].as_array().unwrap().len(), 1);
    assert_eq!(export["merges"].as_array().unwrap().len(), 1);
    assert_eq!(export["segments"][0]["segment"], "buyers");
    let events = export["events"].as_array().unwrap();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().or(e["type"].as_str()).unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "page",
            "page",
            "identify",
            "identify",
            "Order Completed",
            "Segment Entered"
        ]
    );
    let timeline = get_ok(&app, &format!("/api/v1/profiles/{ada}/events")).await;
    assert_eq!(timeline["total"], events.len());
}

#[tokio::test]
async fn erasure_removes_the_person_everywhere_and_nothing_brings_them_back() {
    let app = TestApp::new();
    let ada = ada_and_bob(&app).await;
    let bob = bob_of(&app).await;
    assert_eq!(get_ok(&app, "/api/v1/segments/buyers").await["members"], 2);
    // Refused events are kept in the quarantine: Ada's go with her (one by
    // email, one as text that is not JSON), Bob's stays.
    for (body, code) in [
        (
            json!({ "userId": "u-bob", "messageId": "q-bob" }),
            "missing_event",
        ),
        (
            json!({ "anonymousId": "x-1", "traits": { "email": "Ada@Example.com" }, "event": 5 }),
            "invalid_field",
        ),
    ] {
        let reply = app.post("/v1/track", &body).await;
        assert_eq!(reply.json["code"], code, "{}", reply.text);
    }
    let broken = br#"{"type": "track", "userId": "u-ada", "event": "Order"#.to_vec();
    let reply = app.post_bytes("/v1/batch", &[], broken).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
    let quarantined = get_ok(&app, "/api/v1/quarantine").await["items"].clone();
    assert_eq!(quarantined.as_array().unwrap().len(), 3, "{quarantined}");
    // Her events so far go to the state store's index; the next ones stay
    // in memory: the erasure must take them out of both.
    app.write_state().await;
    send(
        &app,
        "/v1/track",
        json!({ "userId": "u-ada", "event": "Viewed Basket" }),
    )
    .await;
    let filed = |app: &TestApp, profile: &str| {
        app.state
            .collector
            .index_entries(IdKind::Profile, profile)
            .unwrap()
    };
    // 5 in the store, 1 in memory; her phone's first page is filed under
    // the profile merged into hers.
    assert_eq!(filed(&app, &ada), 6);
    // A restart checkpoints the engine: her traits are in its store too.
    let app = app.restart();

    let reply = app
        .admin(Method::DELETE, &format!("/api/v1/profiles/{ada}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["profile_id"], ada.as_str());
    assert_eq!(reply.json["events"], 7, "6 sent + Segment Entered");
    let erased = reply.json["profiles"].as_array().unwrap();
    assert_eq!(erased.len(), 2);
    for profile in erased {
        assert_eq!(filed(&app, profile.as_str().unwrap()), 0, "{profile}");
    }
    assert_eq!(reply.json["quarantined"], 2);
    let left = get_ok(&app, "/api/v1/quarantine").await["items"].clone();
    let left: Vec<&Value> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["event"]["messageId"])
        .collect();
    assert_eq!(left, [&json!("q-bob")]);

    let assert_gone = |app: &TestApp| {
        for trace in ADA_TRACES {
            let files = files_containing(app.dir.path(), trace.as_bytes());
            assert!(files.is_empty(), "{trace} is still in {files:?}");
        }
    };
    assert_gone(&app);
    assert_person_gone(&app, &ada, &bob).await;
    let again = app
        .admin(Method::DELETE, &format!("/api/v1/profiles/{ada}"), None)
        .await;
    again.assert_error(
        StatusCode::NOT_FOUND,
        "profile_not_found",
        "invalid_request",
    );

    // The same device seen again is a new person with a new id.
    send(
        &app,
        "/v1/page",
        json!({ "anonymousId": "laptop-1", "name": "Home" }),
    )
    .await;
    let newcomer = get_ok(&app, "/api/v1/profiles?anonymous_id=laptop-1").await;
    let newcomer = newcomer["profile_id"].as_str().unwrap().to_owned();
    assert_ne!(newcomer, ada);

    let app = app.restart();
    assert_person_gone(&app, &ada, &bob).await;
    let after = get_ok(&app, "/api/v1/profiles?anonymous_id=laptop-1").await;
    assert_eq!(after["profile_id"], newcomer.as_str());
    assert_eq!(after["events"], 1);
    send(
        &app,
        "/v1/page",
        json!({ "anonymousId": "someone-new", "name": "Home" }),
    )
    .await;
    let fresh = get_ok(&app, "/api/v1/profiles?anonymous_id=someone-new").await;
    assert_ne!(
        fresh["profile_id"],
        ada.as_str(),
        "an erased id is never handed out again"
    );

    // Derived state rebuilt from the log equals the live state.
    let live = app.state.engine.digest().await.unwrap();
    let rebuilt = app.rebuilt_digest(app.state.engine.definitions(), &app.partitions());
    assert_eq!(rebuilt, live);
    assert!(!live.contains_key(&ada));
}

async fn assert_person_gone(app: &TestApp, ada: &str, bob: &str) {
    for path in [
        format!("/api/v1/profiles/{ada}"),
        format!("/api/v1/profiles/{ada}/events"),
        format!("/api/v1/profiles/{ada}/export"),
        "/api/v1/profiles?email=ada@example.com".to_owned(),
        "/api/v1/profiles?user_id=u-ada".to_owned(),
    ] {
        assert_not_found(app, &path).await;
    }
    assert!(app.events_of("u-ada").await.is_empty());
    assert!(app.events_by("anonymous_id", "phone-1").await.is_empty());
    let members = get_ok(app, "/api/v1/segments/buyers/members").await;
    assert_eq!(members["members"], json!([bob]));
    let history = get_ok(app, "/api/v1/segments/buyers/history").await;
    let who: Vec<&Value> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["profile_id"])
        .collect();
    assert_eq!(who, [&json!(bob)], "{history}");
    // Bob's own two events; his Segment Entered is not an interaction.
    assert_eq!(
        get_ok(app, "/api/v1/profiles?user_id=u-bob").await["events"],
        2
    );
}

/// A crash after the erasure was recorded but before the log was touched:
/// the next start finishes it.
#[tokio::test]
async fn an_erasure_cut_short_by_a_crash_is_finished_at_the_next_start() {
    let app = TestApp::new();
    let ada = ada_and_bob(&app).await;
    let merged = get_ok(&app, &format!("/api/v1/profiles/{ada}/identities")).await;
    let mut profiles = vec![json!(ada)];
    profiles.extend(
        merged["merged_profiles"]
            .as_array()
            .unwrap()
            .iter()
            .cloned(),
    );
    // Her entries are in the state store's index when the crash comes.
    app.write_state().await;
    let ledger = app.dir.path().join("erased-profiles.jsonl");
    let line = json!({ "profiles": profiles, "next_sequence": 100, "at": app.now() });
    let app = app.restart_after(|| {
        std::fs::write(&ledger, format!("{line}\n")).unwrap();
    });
    assert_not_found(&app, &format!("/api/v1/profiles/{ada}")).await;
    for profile in &profiles {
        let profile = profile.as_str().unwrap();
        let filed = app.state.collector.index_entries(IdKind::Profile, profile);
        assert_eq!(filed.unwrap(), 0, "{profile} still has index entries");
    }
    for trace in ["u-ada", "laptop-1"] {
        let files = files_containing(&app.dir.path().join("events"), trace.as_bytes());
        assert!(files.is_empty(), "{trace} is still in {files:?}");
    }
}

/// The state store's batches are not synced, the key slots are: a crash
/// right after an erasure can lose the batch that deleted the person's
/// stored rows while their shredded keys stay shredded. The next start
/// finds the rows it can no longer read and deletes them with the rest.
/// Bob has no merge trail, so only his unreadable state says he was here.
#[tokio::test]
async fn an_erasure_whose_store_batch_was_lost_leaves_nothing_readable() {
    let app = TestApp::new();
    let ada = ada_and_bob(&app).await;
    let bob = bob_of(&app).await;
    let state = app.dir.path().join("state");
    let before = tempfile::tempdir().unwrap();
    // Stopped, so the store is whole on disk: his engine state, its
    // membership and his identity rows are all in it.
    let app = app.restart_after(|| copy_dir(&state, before.path()));
    let reply = app
        .admin(Method::DELETE, &format!("/api/v1/profiles/{bob}"), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let app = app.restart_after(|| {
        std::fs::remove_dir_all(&state).unwrap();
        copy_dir(before.path(), &state);
    });
    for path in [
        format!("/api/v1/profiles/{bob}"),
        "/api/v1/profiles?user_id=u-bob".to_owned(),
    ] {
        assert_not_found(&app, &path).await;
    }
    let members = get_ok(&app, "/api/v1/segments/buyers/members").await;
    assert_eq!(members["members"], json!([ada]));
    let segment = get_ok(&app, "/api/v1/segments/buyers").await;
    assert_eq!(segment["members"], 1, "{segment}");
    let history = get_ok(&app, "/api/v1/segments/buyers/history").await;
    assert!(!history.to_string().contains(&bob), "{history}");
    for trace in ["bob@example.com", "u-bob"] {
        let files = files_containing(app.dir.path(), trace.as_bytes());
        assert!(files.is_empty(), "{trace} is still in {files:?}");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}
