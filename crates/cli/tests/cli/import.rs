//! `percorso import` of JSONL and CSV, and `percorso generate` feeding it.

use std::path::Path;

use super::support::{default_write_key, events_of, percorso, runtime, Server, ADMIN_TOKEN};

/// Three good events, one without `event` (line 2), a blank line, and a
/// line that is not JSON (line 5).
const HISTORY: &str = concat!(
    r#"{"type":"track","userId":"u1","event":"Signed Up","timestamp":"2025-03-01T10:00:00Z","sentAt":"2025-03-01T10:00:03Z"}"#,
    "\n",
    r#"{"type":"track","userId":"u1","timestamp":"2025-03-02T10:00:00Z"}"#,
    "\n",
    "\n",
    r#"{"type":"identify","userId":"u1","traits":{"email":"u1@example.com"},"timestamp":"2025-03-01T09:00:00Z"}"#,
    "\n",
    "not json at all\n",
    r#"{"type":"page","anonymousId":"a9","name":"Home","messageId":"m-page"}"#,
    "\n",
);

fn import(data: &Path, file: &Path, extra: &[&str]) -> serde_json::Value {
    let output = percorso()
        .args(["import", "--json", "--data"])
        .arg(data)
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("summary json")
}

/// `(line, code)` of each rejected line in an import summary.
fn rejected_lines(summary: &serde_json::Value) -> Vec<(u64, serde_json::Value)> {
    summary["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].clone()))
        .collect()
}

fn events(data: &Path, args: &[&str]) -> Vec<serde_json::Value> {
    let output = percorso()
        .arg("events")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "events failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn jsonl_import_reports_rejected_lines_and_stores_nothing_twice_when_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, HISTORY).unwrap();
    let first = import(&data, &file, &[]);
    assert_eq!(first["stored"], 3);
    assert_eq!(first["duplicates"], 0);
    assert_eq!(
        rejected_lines(&first),
        vec![(2, "missing_event".into()), (5, "invalid_json".into())]
    );

    let again = import(&data, &file, &[]);
    assert_eq!(again["stored"], 0, "a re-run stores nothing twice");
    assert_eq!(again["duplicates"], 3);

    let u1 = events(&data, &["--user-id", "u1"]);
    assert_eq!(u1.len(), 2);
    assert_eq!(
        u1[0]["type"], "identify",
        "time order: identify happened first"
    );
    assert_eq!(
        u1[1]["timestamp"], "2025-03-01T10:00:00.000Z",
        "historical timestamps are kept"
    );
    let quarantined = events(&data, &["--quarantine"]);
    assert_eq!(quarantined.len(), 4, "both runs' refusals are kept");
    assert_eq!(quarantined[0]["origin"], "line 2");
    assert_eq!(quarantined[1]["event"], "not json at all");
}

#[test]
fn import_through_a_running_server_matches_a_local_import() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, HISTORY).unwrap();
    let server = Server::start(&data);
    let key = default_write_key(&data);

    let local = percorso()
        .args(["import", "--data"])
        .arg(&data)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        !local.status.success(),
        "the server holds the data directory"
    );
    assert!(String::from_utf8_lossy(&local.stderr).contains("in use by another percorso process"));

    let via_server = ["--url", server.base.as_str(), "--write-key", key.as_str()];
    let first = import(&data, &file, &via_server);
    assert_eq!(first["stored"], 3);
    let lines = rejected_lines(&first);
    assert_eq!(
        lines,
        vec![(2, "missing_event".into()), (5, "invalid_json".into())]
    );
    let again = import(&data, &file, &via_server);
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(3))
    );

    // More than one request's worth (the server takes 500 KB a batch).
    let big = dir.path().join("big.jsonl");
    let padding = "x".repeat(400);
    let lines: Vec<String> = (0..3000)
        .map(|i| format!(r#"{{"type":"track","userId":"bulk","event":"E","properties":{{"i":{i},"pad":"{padding}"}}}}"#))
        .collect();
    std::fs::write(&big, lines.join("\n")).unwrap();
    assert!(std::fs::metadata(&big).unwrap().len() > 1_000_000);
    assert_eq!(import(&data, &big, &via_server)["stored"], 3000);

    let rt = runtime();
    let client = reqwest::Client::new();
    let u1 = rt.block_on(events_of(&client, &server, "u1"));
    let times: Vec<_> = u1
        .iter()
        .map(|e| e["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        ["2025-03-01T09:00:00.000Z", "2025-03-01T10:00:00.000Z"],
        "history keeps its times"
    );
    assert_eq!(rt.block_on(events_of(&client, &server, "bulk")).len(), 3000);
    let quarantine: serde_json::Value = rt
        .block_on(async {
            client
                .get(server.url("/api/v1/quarantine"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await?
                .json()
                .await
        })
        .unwrap();
    let kept: Vec<_> = quarantine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["event"].clone())
        .collect();
    assert!(
        kept.contains(&serde_json::json!("not json at all")),
        "the server keeps the bad line: {kept:?}"
    );
}

#[test]
fn csv_import_maps_columns_and_types_values() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("orders.csv");
    let mut csv = b"customer,action,when,amount,zip,store\n\
         c1,Order Completed,2025-05-01T12:00:00Z,42.5,00123,Milano\n\
         c1,Order Completed,2025-05-02T12:00:00Z,7,20100,Torino\n\
         ,Order Completed,2025-05-03T12:00:00Z,1,1,Roma\n\
         c2,Order Completed\n\
         c1,Order Completed,2025-05-05T12:00:00Z,2,12345678901234567890,Bari\n"
        .to_vec();
    csv.extend_from_slice(b"c3,Order Completed,2025-05-06T12:00:00Z,1,\xff\xfe,Napoli\n");
    std::fs::write(&file, csv).unwrap();
    let args = [
        "--map",
        "userId=customer",
        "--map",
        "event=action",
        "--map",
        "timestamp=when",
        "--map",
        "context.channel=store",
    ];
    let summary = import(&data, &file, &args);
    assert_eq!(summary["stored"], 3);
    let codes = rejected_lines(&summary);
    assert_eq!(
        codes,
        vec![
            (4, "missing_user_id".into()),
            (5, "invalid_row".into()),
            (7, "invalid_row".into())
        ]
    );
    let c1 = events(&data, &["--user-id", "c1"]);
    assert_eq!(c1.len(), 3);
    assert_eq!(
        c1[2]["properties"]["zip"], "12345678901234567890",
        "too long for a number"
    );
    assert_eq!(c1[0]["properties"]["amount"], 42.5);
    assert_eq!(
        c1[0]["properties"]["zip"], "00123",
        "leading zeros stay text"
    );
    assert_eq!(c1[0]["context"]["channel"], "Milano");
    assert_eq!(c1[1]["properties"]["amount"], 7);
    assert_eq!(import(&data, &file, &args)["duplicates"], 3);
}

#[test]
fn generated_journeys_import_cleanly_and_the_generator_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let generate = |name: &str, seed: &str| {
        let path = dir.path().join(name);
        let output = percorso()
            .args([
                "generate",
                "--profiles",
                "50",
                "--days",
                "14",
                "--seed",
                seed,
                "--truths",
                "--output",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let truths: serde_json::Value =
            serde_json::from_slice(&output.stdout).expect("truths json");
        (std::fs::read(&path).unwrap(), truths, path)
    };
    let (a, truths, path) = generate("a.jsonl", "7");
    let (b, _, _) = generate("b.jsonl", "7");
    let (c, _, _) = generate("c.jsonl", "8");
    assert_eq!(a, b, "same seed, same bytes");
    assert_ne!(a, c);
    assert!(truths.is_object());
    let lines = a.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
    let summary = import(&dir.path().join("data"), &path, &[]);
    assert_eq!(
        summary["stored"].as_u64().unwrap() as usize,
        lines,
        "rejected: {}",
        summary["rejected"]
    );
}
