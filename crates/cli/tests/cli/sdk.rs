//! Unmodified Segment and RudderStack Python SDKs, pointed at `percorso serve`.

use std::collections::HashMap;
use std::process::Command;

use super::support::{default_write_key, events_of, repo_root, runtime, Server};

fn python() -> std::path::PathBuf {
    if let Some(python) = std::env::var_os("PERCORSO_TEST_PYTHON") {
        return python.into();
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run scripts/setup-test-env.sh (scripts/test.sh does) to install the Segment SDK",
        venv.display()
    );
    venv
}

/// Runs `tests/python/sdk_send.py` and returns the messageIds the SDK sent.
fn send_with(sdk: &str, server: &Server, key: &str, prefix: &str, count: usize) -> Vec<String> {
    let output = Command::new(python())
        .arg(repo_root().join("tests/python/sdk_send.py"))
        .args([sdk, &server.base, key, prefix, &count.to_string()])
        .output()
        .expect("run the SDK script");
    assert!(
        output.status.success(),
        "{sdk} SDK script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("script output");
    assert_eq!(
        report["errors"],
        serde_json::json!([]),
        "the {sdk} SDK reported errors"
    );
    report["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_event_sent_by_the_segment_and_rudderstack_sdks_arrives_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let key = default_write_key(&data);
    let rt = runtime();
    let client = reqwest::Client::new();
    for (sdk, prefix) in [("segment", "seg-user"), ("rudderstack", "rud-user")] {
        let sent = send_with(sdk, &server, &key, prefix, 600);
        assert_eq!(sent.len(), 600, "{sdk}");
        let mut stored: HashMap<String, serde_json::Value> = HashMap::new();
        for user in 0..7 {
            for event in rt.block_on(events_of(&client, &server, &format!("{prefix}-{user}"))) {
                let id = event["messageId"].as_str().unwrap().to_owned();
                assert!(
                    stored.insert(id.clone(), event).is_none(),
                    "{sdk}: {id} stored twice"
                );
            }
        }
        assert_eq!(stored.len(), sent.len(), "{sdk}");
        for id in &sent {
            let event = stored
                .get(id)
                .unwrap_or_else(|| panic!("{sdk}: {id} was sent but not stored"));
            assert!(
                event["receivedAt"].is_string() && event["sentAt"].is_string(),
                "{event}"
            );
            assert!(event["originalTimestamp"].is_string(), "{event}");
            assert_eq!(event["context"]["library"]["name"], "analytics-python");
        }
        let by_type = |t: &str| stored.values().filter(|e| e["type"] == t).count();
        for t in ["identify", "track", "page", "screen", "group", "alias"] {
            assert_eq!(by_type(t), 100, "{sdk}: {t} events");
        }
    }
}
