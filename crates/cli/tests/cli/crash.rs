//! Acknowledged events survive `kill -9` at any moment, and retries after a
//! crash are not stored twice.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::support::{default_write_key, events_of, runtime, sql_rows_when, Server};

const SENDERS: usize = 4;
const ROUNDS: usize = 4;

#[test]
fn acknowledged_events_survive_kill_9_and_are_never_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let rt = runtime();
    let client = reqwest::Client::new();
    // messageId → userId of every acknowledged event, over all rounds.
    let acked: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let mut in_flight_at_kill = Vec::new();
    // Small segments, so kills also land around segment rolls; the event
    // index written to the store often, so they land around those writes.
    let config = dir.path().join("percorso.toml");
    std::fs::write(
        &config,
        "[log]\nsegment_bytes = 65536\n[ingest]\nindex_interval = \"40ms\"\n",
    )
    .unwrap();
    for round in 0..ROUNDS {
        let server = Server::start_with_config(&data, &config);
        let key = default_write_key(&data);
        let url = server.url("/v1/batch");
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let (client, url, key, acked) =
                    (client.clone(), url.clone(), key.clone(), acked.clone());
                rt.spawn(async move {
                    let mut sent = Vec::new();
                    for n in 0.. {
                        let user = format!("crash-user-{sender}-{}", n % 5);
                        let batch: Vec<_> = (0..20)
                            .map(|i| {
                                json!({"type": "track", "event": "Crash Test", "userId": user,
                                             "messageId": format!("r{round}-s{sender}-n{n}-i{i}")})
                            })
                            .collect();
                        let body = json!({ "batch": batch });
                        sent.push(body.clone());
                        let Ok(response) = client
                            .post(&url)
                            .basic_auth(&key, Some(""))
                            .json(&body)
                            .send()
                            .await
                        else {
                            break; // the server died mid-request
                        };
                        if !response.status().is_success() {
                            break;
                        }
                        let mut acked = acked.lock().unwrap();
                        for item in &batch {
                            acked.insert(
                                item["messageId"].as_str().unwrap().to_owned(),
                                user.clone(),
                            );
                        }
                    }
                    sent
                })
            })
            .collect();
        // Kill at a different moment each round, while all senders are busy.
        std::thread::sleep(Duration::from_millis(300 + 170 * round as u64));
        server.kill9();
        for sender in senders {
            if let Some(last) = rt.block_on(sender).unwrap().pop() {
                in_flight_at_kill.push(last);
            }
        }
    }
    let server = Server::start_with_config(&data, &config);
    let key = default_write_key(&data);
    // A client retries what it never saw acknowledged: each must land once.
    rt.block_on(async {
        for body in &in_flight_at_kill {
            let response = client
                .post(server.url("/v1/batch"))
                .basic_auth(&key, Some(""))
                .json(body)
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    });
    let acked = acked.lock().unwrap().clone();
    eprintln!(
        "acknowledged {} events over {ROUNDS} kill -9 rounds; {} batches in flight at a kill",
        acked.len(),
        in_flight_at_kill.len()
    );
    let segments = std::fs::read_dir(data.join("events/p0000"))
        .unwrap()
        .count();
    assert!(
        segments > 10,
        "the run should roll many segments, made {segments}"
    );
    assert!(
        acked.len() > 500,
        "too few events acknowledged to mean anything: {}",
        acked.len()
    );
    let users: HashSet<&String> = acked.values().collect();
    let mut stored = HashSet::new();
    for user in users {
        for event in rt.block_on(events_of(&client, &server, user)) {
            let id = event["messageId"].as_str().unwrap().to_owned();
            assert!(stored.insert(id.clone()), "{id} is stored twice");
        }
    }
    let lost: Vec<_> = acked
        .keys()
        .filter(|id| !stored.contains(*id))
        .take(5)
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost after kill -9: {lost:?}"
    );
    for body in &in_flight_at_kill {
        for item in body["batch"].as_array().unwrap() {
            let id = item["messageId"].as_str().unwrap();
            assert!(stored.contains(id), "retried event {id} is missing");
        }
    }
    // The columnar store too, though its compaction was killed with the
    // server each round: the log's events, each once.
    let ids = "SELECT message_id FROM events WHERE event = 'Crash Test'";
    let rows = sql_rows_when(&server, ids, |rows| {
        rows.as_array().is_some_and(|r| r.len() >= stored.len())
    });
    let compacted: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(compacted.len(), stored.len(), "no event compacted twice");
    assert!(
        compacted.iter().all(|id| stored.contains(*id)),
        "only stored events"
    );
}
