//! Derived state survives `kill -9`: profiles, computed traits and segment
//! membership live in the state store, written at checkpoints with the log
//! offsets they reflect, and a restart replays only the log after those.
//! Whatever moment the kill lands on, the state after the restart must be
//! what the log alone gives (`percorso rebuild`): nothing applied twice,
//! nothing skipped.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use super::definitions::{ORDERS_ALL, SPEND};
use super::profiles::stdout_of;
use super::support::{default_write_key, get, percorso, runtime, Server, ADMIN_TOKEN};

const PEOPLE: usize = 60;
const ROUNDS: u64 = 3;

/// Sends orders for everyone until the server dies, from two senders.
fn send_until_killed(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    key: &str,
    round: u64,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..2u64)
        .map(|sender| {
            let (url, key) = (server.url("/v1/batch"), key.to_owned());
            rt.spawn(async move {
                let client = reqwest::Client::new();
                for n in 0u64.. {
                    let batch: Vec<Value> = (0..PEOPLE)
                        .map(|p| {
                            json!({ "type": "track", "event": "Order Completed",
                            "userId": format!("u-{p}"),
                            "messageId": format!("r{round}-s{sender}-n{n}-p{p}"),
                            "properties": { "revenue": (p as u64 * 7 + n) % 90 } })
                        })
                        .collect();
                    let body = json!({ "batch": batch });
                    let sent = client
                        .post(&url)
                        .basic_auth(&key, Some(""))
                        .json(&body)
                        .send()
                        .await;
                    if !sent.is_ok_and(|r| r.status().is_success()) {
                        return; // killed mid-request
                    }
                }
            })
        })
        .collect()
}

fn rebuild_digest(data: &Path, config: &Path, out: &Path) -> BTreeMap<String, Value> {
    let output = percorso()
        .args(["rebuild", "--digest"])
        .arg(out)
        .arg("--config")
        .arg(config)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    stdout_of(&output, "rebuild");
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

#[test]
fn derived_state_after_kill_9_is_what_the_log_alone_gives() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("percorso.toml");
    let rt = runtime();
    // A small cache and frequent checkpoints, so kills land between
    // checkpoints, during them, and while states are read back.
    std::fs::write(
        &config,
        format!(
            "[engine]\ncache_profiles = 100\ncheckpoint_interval = \"30ms\"\n\n{ORDERS_ALL}{SPEND}"
        ),
    )
    .unwrap();
    for round in 0..ROUNDS {
        let server = Server::start_with_config(&data, &config);
        let key = default_write_key(&data);
        if round == 0 {
            let rule =
                json!({ "name": "big", "rule": { "trait": "spend", "greater_or_equal": 2000 } });
            let created = rt.block_on(async {
                reqwest::Client::new()
                    .post(server.url("/api/v1/segments"))
                    .bearer_auth(ADMIN_TOKEN)
                    .json(&rule)
                    .send()
                    .await
                    .unwrap()
                    .status()
            });
            assert!(created.is_success(), "segment: {created}");
        }
        let senders = send_until_killed(&rt, &server, &key, round);
        std::thread::sleep(Duration::from_millis(400 + 250 * round));
        server.kill9();
        for sender in senders {
            rt.block_on(sender).unwrap();
        }
    }
    let server = Server::start_with_config(&data, &config);
    let mut live = BTreeMap::new();
    for p in 0..PEOPLE {
        let profile = get(&server, &format!("/api/v1/profiles?user_id=u-{p}"));
        live.insert(profile["profile_id"].as_str().unwrap().to_owned(), profile);
    }
    let members = get(&server, "/api/v1/segments/big/members?limit=1000");
    assert!(server.terminate(Duration::from_secs(10)));

    let rebuilt = rebuild_digest(&data, &config, &dir.path().join("digest.json"));
    assert_eq!(rebuilt.len(), PEOPLE, "one profile per person");
    let mut recorded_members = Vec::new();
    for (id, digest) in &rebuilt {
        let profile = &live[id];
        assert_eq!(profile["events"], digest["events"], "{id}: events");
        assert_eq!(
            profile["computed_traits"],
            json!(digest["computed"]),
            "{id}: computed traits"
        );
        let big = &digest["segments"]["big"];
        assert_eq!(
            big["qualifies"], big["recorded"][0],
            "{id}: membership recorded as judged"
        );
        if big["recorded"][0] == true {
            recorded_members.push(json!(id));
        }
    }
    assert!(
        !recorded_members.is_empty(),
        "someone spent enough to enter"
    );
    assert_eq!(members["members"], json!(recorded_members));
}
