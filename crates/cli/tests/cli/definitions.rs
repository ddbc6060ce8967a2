//! Computed traits declared in `percorso.toml`, and deleting definitions,
//! against a real server restarted with a changed file.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use std::process::Output;

use super::profiles::{send, stdout_of};
use super::support::{default_write_key, get, percorso, Server, ADMIN_TOKEN};

fn write_config(path: &Path, traits: &str) {
    std::fs::write(
        path,
        format!("[server]\nlisten = \"127.0.0.1:0\"\n\n{traits}"),
    )
    .unwrap();
}

pub(crate) const ORDERS_ALL: &str = "[[computed_traits]]\nname = \"orders\"\nevent = \"Order Completed\"\naggregation = \"count\"\n\n";
const ORDERS_BIG: &str = "[[computed_traits]]\nname = \"orders\"\nevent = \"Order Completed\"\naggregation = \"count\"\nfilters = [{ path = \"properties.revenue\", comparison = \"greater_than\", value = 50 }]\n\n";
pub(crate) const SPEND: &str = "[[computed_traits]]\nname = \"spend\"\nevent = \"Order Completed\"\naggregation = \"sum\"\nproperty = \"properties.revenue\"\n\n";

/// The CLI against `server`, with the token the server was started with.
fn admin(server: &Server, _data: &Path, args: &[&str]) -> Output {
    percorso()
        .args(args)
        .args(["--admin-token", ADMIN_TOKEN, "--url", &server.base])
        .output()
        .unwrap()
}

/// The profile's computed traits once `check` holds (back-fills run in
/// the background), failing after ten seconds.
fn computed_once(server: &Server, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let computed = get(server, "/api/v1/profiles?user_id=u-1")["computed_traits"].clone();
        if check(&computed) || Instant::now() > deadline {
            return computed;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn trait_names(server: &Server) -> Vec<String> {
    let listed = get(server, "/api/v1/computed-traits");
    let traits = listed["computed_traits"].as_array().unwrap();
    traits
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn traits_declared_in_the_config_file_follow_the_file_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("percorso.toml");
    write_config(&config, &format!("{ORDERS_ALL}{SPEND}"));
    let server = Server::start_with_config(&data, &config);
    let key = default_write_key(&data);
    for revenue in [20, 80] {
        let order = json!({ "userId": "u-1", "event": "Order Completed", "properties": { "revenue": revenue } });
        send(&server, &key, "/v1/track", order);
    }
    let computed = computed_once(&server, |c| c["orders"] == 2 && c["spend"] == 100.0);
    assert_eq!(computed, json!({ "orders": 2, "spend": 100.0 }));
    let segment = dir.path().join("repeat.yaml");
    let rule = "name: repeat\nrule: { trait: orders, greater_or_equal: 2 }\n";
    std::fs::write(&segment, rule).unwrap();
    let path = segment.to_str().unwrap();
    stdout_of(
        &admin(&server, &data, &["segments", "create", path]),
        "create",
    );
    let refused = admin(&server, &data, &["traits", "delete", "orders", "--yes"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("declared in the configuration file"),
        "{stderr}"
    );
    assert!(server.terminate(Duration::from_secs(10)));

    // The file changes: orders counts only big orders, spend is gone.
    write_config(&config, ORDERS_BIG);
    let server = Server::start_with_config(&data, &config);
    assert_eq!(trait_names(&server), ["orders"]);
    let computed = computed_once(&server, |c| c["orders"] == 1);
    assert_eq!(computed, json!({ "orders": 1 }), "re-computed over the log");
    let members = get(&server, "/api/v1/segments/repeat/members");
    assert_eq!(members["total"], 0, "left the segment: {members}");
    let history = get(&server, "/api/v1/segments/repeat/history");
    let changes: Vec<&str> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["entered", "exited"], "{history}");

    // A trait declared through the API goes once no segment reads it.
    let visits = dir.path().join("visits.yaml");
    std::fs::write(&visits, "name: visits\naggregation: count\n").unwrap();
    let visits = visits.to_str().unwrap();
    stdout_of(
        &admin(&server, &data, &["traits", "create", visits]),
        "traits create",
    );
    let visitors = dir.path().join("visitors.yaml");
    let rule = "name: visitors\nrule: { trait: visits, greater_or_equal: 1 }\n";
    std::fs::write(&visitors, rule).unwrap();
    let visitors = visitors.to_str().unwrap();
    stdout_of(
        &admin(&server, &data, &["segments", "create", visitors]),
        "create",
    );
    let refused = admin(&server, &data, &["traits", "delete", "visits", "--yes"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("read by segment(s) visitors"), "{stderr}");
    let unconfirmed = admin(&server, &data, &["segments", "delete", "visitors"]);
    assert!(String::from_utf8_lossy(&unconfirmed.stderr).contains("--yes"));
    stdout_of(
        &admin(&server, &data, &["segments", "delete", "visitors", "--yes"]),
        "delete",
    );
    stdout_of(
        &admin(&server, &data, &["traits", "delete", "visits", "--yes"]),
        "delete",
    );
    assert_eq!(trait_names(&server), ["orders"]);

    // A deleted segment is gone for good.
    let deleted = admin(&server, &data, &["segments", "delete", "repeat", "--yes"]);
    assert!(stdout_of(&deleted, "segments delete").contains("deleted segment 'repeat'"));
    let listed = get(&server, "/api/v1/segments");
    assert_eq!(listed["segments"], json!([]));
    // A new segment of the same name starts with its own history.
    stdout_of(
        &admin(&server, &data, &["segments", "create", path]),
        "create again",
    );
    assert!(server.terminate(Duration::from_secs(10)));
    let server = Server::start_with_config(&data, &config);
    let history = get(&server, "/api/v1/segments/repeat/history");
    assert_eq!(
        history["total"], 0,
        "the old incarnation's changes: {history}"
    );

    // A trait the file drops while a segment reads it stops the start.
    assert!(server.terminate(Duration::from_secs(10)));
    write_config(&config, "");
    let output = percorso()
        .arg("--config")
        .arg(&config)
        .args(["serve", "--data"])
        .arg(&data)
        .env("PERCORSO_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("'orders' is no longer in the configuration file")
            && stderr.contains("repeat"),
        "{stderr}"
    );
}
