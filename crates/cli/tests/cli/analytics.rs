//! `percorso report`, `percorso sql` and the analytics API on generated
//! data: the planted drop-off is found, SQL sees every stored event, and
//! bad queries get their reason.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::support::{
    default_write_key, percorso, post, runtime, sql_rows_when, Server, ADMIN_TOKEN,
};

const SHOP: [&str; 5] = [
    "Product Viewed",
    "Product Added",
    "Checkout Started",
    "Payment Info Entered",
    "Order Completed",
];

fn run_ok(args: &[&str], data: &Path) -> Vec<u8> {
    let out = percorso()
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn funnel_args() -> Vec<String> {
    let mut args = vec![
        "report".to_owned(),
        "funnel".into(),
        "--json".into(),
        "--window".into(),
        "31d".into(),
    ];
    for step in SHOP {
        args.push("--step".into());
        // Online orders have a checkout; store purchases do not.
        args.push(if step == "Order Completed" {
            "Order Completed[checkout_id?]".into()
        } else {
            step.into()
        });
    }
    args
}

#[test]
fn the_planted_drop_off_is_where_the_funnel_drops_most() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("journeys.jsonl");
    let out = percorso()
        .args([
            "generate",
            "--profiles",
            "1500",
            "--days",
            "30",
            "--seed",
            "4",
            "--truths",
            "--output",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let truths: Value = serde_json::from_slice(&out.stdout).expect("truths json");
    let imported: Value = serde_json::from_slice(&run_ok(
        &["import", "--json", file.to_str().unwrap()],
        &data,
    ))
    .unwrap();
    let stored = imported["stored"].as_u64().expect("stored count");

    let args = funnel_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report: Value = serde_json::from_slice(&run_ok(&args, &data)).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 5);
    let worst = steps[1..]
        .iter()
        .min_by(|a, b| {
            a["conversion_from_previous"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["conversion_from_previous"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(worst["event"], truths["funnel"]["drop_off_to"], "{report}");
    // The window spans the whole dataset, so each step counts the people
    // the generator walked that far, in order, online.
    let ours: Vec<u64> = steps
        .iter()
        .map(|s| s["people"].as_u64().unwrap())
        .collect();
    let planted: Vec<u64> = truths["funnel"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["realised_profiles"].as_u64().unwrap())
        .collect();
    assert_eq!(ours, planted);

    // Scores of the same shop journey, drilled down by step between the
    // two halves of the month: the steps' parts add up to the change.
    let scores: Value = serde_json::from_slice(&run_ok(
        &[
            "report",
            "scores",
            "--json",
            "--start",
            "Product Viewed",
            "--complete",
            "Order Completed",
            "--stage",
            "Added=Product Added",
            "--stage",
            "Checkout=Checkout Started,Payment Info Entered",
            "--window",
            "7d",
            "--from",
            "2026-01-16",
            "--to",
            "2026-01-31",
            "--compare-from",
            "2026-01-01",
            "--compare-to",
            "2026-01-16",
            "--drill-down",
            "step",
        ],
        &data,
    ))
    .unwrap();
    let drill = &scores["drill_down"];
    let parts: Vec<f64> = drill["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["contribution"].as_f64().unwrap())
        .collect();
    assert_eq!(parts.len(), 3, "{drill}");
    let change = drill["change"].as_f64().unwrap();
    assert!((parts.iter().sum::<f64>() - change).abs() < 1e-9, "{drill}");
    let reached: Vec<u64> = scores["period"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reached"].as_u64().unwrap())
        .collect();
    assert_eq!(reached[0], scores["period"]["instances"].as_u64().unwrap());
    assert_eq!(reached[3], scores["period"]["completed"].as_u64().unwrap());
    assert!(reached.windows(2).all(|w| w[0] >= w[1]), "{reached:?}");

    // SQL sees every stored event, and the same people at step 1.
    let rows: Value = serde_json::from_slice(&run_ok(
        &[
            "sql",
            "--format",
            "json",
            "SELECT count(*) AS n FROM events",
        ],
        &data,
    ))
    .unwrap();
    assert_eq!(rows[0]["n"].as_u64(), Some(stored));
    let sql = "SELECT count(DISTINCT profile_id) AS n FROM events WHERE event = 'Product Viewed'";
    let rows: Value =
        serde_json::from_slice(&run_ok(&["sql", "--format", "json", sql], &data)).unwrap();
    assert_eq!(rows[0]["n"], steps[0]["people"]);

    // The planted channel effects: per channel, identified people exposed
    // (clicked) or not, and how many of each converted online.
    let effects = "SELECT e.event AS exposure, \
            count(DISTINCT CASE WHEN x.profile_id IS NOT NULL THEN p.profile_id END) AS exposed, \
            count(DISTINCT CASE WHEN x.profile_id IS NOT NULL AND p.converted THEN p.profile_id END) AS exposed_converted, \
            count(DISTINCT CASE WHEN x.profile_id IS NULL THEN p.profile_id END) AS unexposed, \
            count(DISTINCT CASE WHEN x.profile_id IS NULL AND p.converted THEN p.profile_id END) AS unexposed_converted \
        FROM (SELECT profile_id, bool_or(event = 'Order Completed' AND channel IN ('web', 'app')) AS converted \
              FROM events GROUP BY profile_id HAVING bool_or(user_id IS NOT NULL)) p \
        CROSS JOIN (SELECT column1 AS event FROM (VALUES ('Email Link Clicked'), ('SMS Link Clicked'), \
                    ('Ad Clicked'), ('Social Post Clicked'))) e \
        LEFT JOIN (SELECT DISTINCT profile_id, event FROM events) x \
          ON x.profile_id = p.profile_id AND x.event = e.event \
        GROUP BY e.event";
    let rows: Value =
        serde_json::from_slice(&run_ok(&["sql", "--format", "json", effects], &data)).unwrap();
    for channel in truths["channel_effects"]["channels"].as_array().unwrap() {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["exposure"] == channel["exposure_event"])
            .expect("a row per exposure event");
        let realised = &channel["realised"];
        for (ours, theirs) in [
            ("exposed", "exposed_profiles"),
            ("exposed_converted", "exposed_converted"),
            ("unexposed", "unexposed_profiles"),
            ("unexposed_converted", "unexposed_converted"),
        ] {
            assert_eq!(
                row[ours], realised[theirs],
                "{ours} of {}",
                channel["channel"]
            );
        }
    }

    // A warehouse export holds the same events.
    let export = dir.path().join("export");
    run_ok(
        &[
            "export",
            "--format",
            "parquet",
            "--output",
            export.to_str().unwrap(),
        ],
        &data,
    );
    let bytes = std::fs::read(export.join("events.parquet")).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");

    // Bad SQL names the problem and fails.
    let out = percorso()
        .args(["sql", "SELECT nope FROM events", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
}

#[test]
fn the_api_answers_funnels_and_sql_within_seconds_of_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = default_write_key(dir.path());
    let mut batch = Vec::new();
    for person in 0..20 {
        let steps = 1 + person % 3;
        for (i, event) in ["Signed Up", "Trial Started", "Subscribed"]
            .iter()
            .take(steps)
            .enumerate()
        {
            batch.push(json!({
                "type": "track", "userId": format!("u{person}"), "event": event,
                "timestamp": format!("2026-03-01T10:0{i}:00Z"),
                "properties": { "plan": if person % 2 == 0 { "pro" } else { "free" } },
            }));
        }
    }
    let sent = batch.len() as u64;
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .post(server.url("/v1/batch"))
            .basic_auth(&key, Some(""))
            .json(&json!({ "batch": batch }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    });
    // The compactor runs about once a second; wait for it to catch up.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = super::support::get(&server, "/api/v1/analytics/status");
        if status["events"].as_u64() == Some(sent) {
            assert!(status["fresh_to"].is_string());
            break;
        }
        assert!(Instant::now() < deadline, "not compacted: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, report) = post(
        &server,
        "/api/v1/analytics/funnel",
        &json!({
            "steps": [{"event": "Signed Up"}, {"event": "Trial Started"}, {"event": "Subscribed"}],
            "window": "1h", "breakdown": "property:plan", "dropped_at": 2,
        }),
    );
    assert_eq!(status, 200, "{report}");
    let people: Vec<u64> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["people"].as_u64().unwrap())
        .collect();
    // person % 3 == 0 did one step, == 1 two, == 2 three: 7, 7, 6 of 20.
    assert_eq!(people, [20, 13, 6]);
    assert_eq!(report["dropped_people"].as_array().unwrap().len(), 7);
    assert!(report["fresh_to"].is_string());
    let plans: Vec<&str> = report["breakdown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["value"].as_str().unwrap())
        .collect();
    assert_eq!(plans.len(), 2, "{plans:?}");

    let (status, rows) = post(
        &server,
        "/api/v1/sql",
        &json!({ "sql": "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event" }),
    );
    assert_eq!(status, 200, "{rows}");
    assert_eq!(rows["rows"][0], json!({ "event": "Signed Up", "n": 20 }));
    let (status, rows) = post(
        &server,
        "/api/v1/sql",
        &json!({ "sql": "SELECT json_get_str(properties, 'plan') AS plan, count(DISTINCT profile_id) AS people FROM events GROUP BY 1 ORDER BY 1" }),
    );
    assert_eq!(status, 200, "{rows}");
    assert_eq!(
        rows["rows"],
        json!([{ "plan": "free", "people": 10 }, { "plan": "pro", "people": 10 }])
    );

    let (status, error) = post(&server, "/api/v1/sql", &json!({ "sql": "SELEC 1" }));
    assert_eq!(status, 400);
    assert_eq!(error["code"], "sql_error", "{error}");
    let (status, error) = post(&server, "/api/v1/analytics/funnel", &json!({ "steps": [] }));
    assert_eq!(status, 400);
    assert_eq!(error["code"], "invalid_query", "{error}");
    let (status, error) = post(
        &server,
        "/api/v1/analytics/funnel",
        &json!({ "steps": [{"event": "A"}], "windw": "1h" }),
    );
    assert_eq!(status, 400, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("windw"),
        "{error}"
    );
}

/// The README's first command: the whole cycle with nothing outside.
#[test]
fn the_demo_runs_the_whole_cycle_and_delivers_to_its_capture_sink() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = percorso()
        .current_dir(dir.path())
        .args(["demo", "--profiles", "150", "--no-serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "== Journey map",
        "== Funnel",
        "== Journey scores",
        "== Messages sent",
    ] {
        assert!(stdout.contains(section), "no {section} in:\n{stdout}");
    }
    let capture = dir.path().join("percorso-demo/demo-capture");
    let emails = std::fs::read_to_string(capture.join("emails.jsonl")).unwrap();
    let emails: Vec<Value> = emails
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(emails.len(), 40, "one welcome email per sign-up");
    assert!(emails
        .iter()
        .all(|e| e["message_id"].as_str().is_some_and(|m| m.contains('@'))));
    let hooks = std::fs::read_to_string(capture.join("webhooks.jsonl")).unwrap();
    let hooks: Vec<Value> = hooks
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        hooks.len(),
        10,
        "one contact-centre webhook per failed payment and call"
    );
    assert!(hooks
        .iter()
        .all(|h| h["body"]["reason"] == "failed_online_payment"));
    assert!(stdout.contains("emails captured: 40"), "{stdout}");
}

/// Sends `batch` to the tracking API with the default source's key.
fn track(server: &Server, key: &str, batch: Vec<Value>) {
    runtime().block_on(async {
        let response = reqwest::Client::new()
            .post(server.url("/v1/batch"))
            .basic_auth(key, Some(""))
            .json(&json!({ "batch": batch }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
    });
}

#[test]
fn profiles_and_segment_membership_are_sql_tables() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let key = default_write_key(dir.path());
    let segment = |method: reqwest::Method, path: &str, body: &str| {
        runtime().block_on(async {
            reqwest::Client::new()
                .request(method, server.url(path))
                .bearer_auth(ADMIN_TOKEN)
                .header("content-type", "application/yaml")
                .body(body.to_owned())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    };
    for plan in ["pro", "free"] {
        let body = format!("name: {plan}s\nrule:\n  trait: plan\n  equals: {plan}\n");
        assert_eq!(
            segment(reqwest::Method::POST, "/api/v1/segments", &body),
            201
        );
    }
    let identify = |user: usize, plan: &str| json!({ "type": "identify", "userId": format!("u{user}"), "traits": { "plan": plan } });
    track(
        &server,
        &key,
        (0..6)
            .map(|u| identify(u, if u % 2 == 0 { "pro" } else { "free" }))
            .collect(),
    );
    let entries = "SELECT count(*) AS n FROM segment_changes WHERE entered AND segment = 'pros'";
    sql_rows_when(&server, entries, |rows| rows[0]["n"] == 3);
    track(&server, &key, vec![identify(0, "free")]);
    let exits = "SELECT count(*) AS n FROM segment_changes WHERE NOT entered";
    sql_rows_when(&server, exits, |rows| rows[0]["n"] == 1);
    let frees = "SELECT count(*) AS n FROM segment_membership WHERE segment = 'frees'";
    sql_rows_when(&server, frees, |rows| rows[0]["n"] == 4);

    let members = "SELECT i.value AS user_id FROM segment_membership m \
                   JOIN identities i ON i.profile_id = m.profile_id AND i.kind = 'user_id' \
                   WHERE m.segment = 'pros' ORDER BY 1";
    let rows = sql_rows_when(&server, members, |_| true);
    assert_eq!(rows, json!([{ "user_id": "u2" }, { "user_id": "u4" }]));
    // The engine's profiles: traits as now, and the segments each is in.
    let plans = "SELECT json_get_str(traits, 'plan') AS plan, count(*) AS n, \
                 sum(CASE WHEN segments LIKE '%\"pros\"%' THEN 1 ELSE 0 END) AS in_pros \
                 FROM profiles GROUP BY 1 ORDER BY 1";
    let rows = sql_rows_when(&server, plans, |_| true);
    assert_eq!(
        rows,
        json!([{ "plan": "free", "n": 4, "in_pros": 0 }, { "plan": "pro", "n": 2, "in_pros": 2 }])
    );
    let agree = "SELECT count(*) AS n FROM profiles p JOIN segment_membership m \
                 ON m.profile_id = p.profile_id AND m.segment = 'pros'";
    assert_eq!(sql_rows_when(&server, agree, |_| true)[0]["n"], 2);

    // `percorso sql` beside the server asks it, so it has `profiles` too.
    let data = dir.path().to_str().unwrap();
    let out = run_ok(
        &[
            "sql",
            "SELECT count(*) AS n FROM profiles",
            "--format",
            "json",
            "--url",
            &server.base,
            "--admin-token",
            ADMIN_TOKEN,
        ],
        dir.path(),
    );
    let rows: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(rows, json!([{ "n": 6 }]), "{data}");

    // A deleted segment states no exits, but has no members any more; its
    // history stays.
    assert_eq!(
        segment(reqwest::Method::DELETE, "/api/v1/segments/pros", ""),
        200
    );
    let by_segment = "SELECT segment, count(*) AS n FROM segment_membership GROUP BY 1 ORDER BY 1";
    let rows = sql_rows_when(&server, by_segment, |rows| rows[0]["segment"] == "frees");
    assert_eq!(rows, json!([{ "segment": "frees", "n": 4 }]));
    let defined = "SELECT name, generation FROM segments";
    let rows = sql_rows_when(&server, defined, |_| true);
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["name"], "frees");
    assert_eq!(
        sql_rows_when(&server, entries, |_| true)[0]["n"],
        3,
        "history kept"
    );
    assert!(server.terminate(Duration::from_secs(20)));

    // Alone, it reads the store and the saved definitions: segments yes,
    // profiles with the reason.
    let out = run_ok(&["sql", by_segment, "--format", "json"], dir.path());
    let rows: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(rows, json!([{ "segment": "frees", "n": 4 }]));
    let out = percorso()
        .args(["sql", "SELECT * FROM profiles", "--data", data])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("percorso serve"), "{stderr}");
}
