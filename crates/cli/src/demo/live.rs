//! The demo's live part: example journeys deployed, and new events that
//! walk people into them, so messages reach the capture sink.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use percorso_collect::{DataDir, SourceRegistry};
use serde_json::{json, Value};

use crate::admin_client::AdminClient;
use crate::config::Config;
use crate::demo::capture::Capture;

/// What the live part sent, to check against what arrived.
#[derive(Debug, Default)]
pub struct Sent {
    pub signups: usize,
    pub callers: usize,
    pub last_event_at: i64,
}

const SIGNUPS: usize = 40;
const CALLERS: usize = 10;

/// The server writes its admin token as it starts.
pub fn wait_for_token(
    path: &std::path::Path,
    server: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        if server.is_finished() {
            bail!("the server stopped while starting (is the port in use? try --listen 127.0.0.1:8181)");
        }
        if Instant::now() > deadline {
            bail!("the server did not start within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

pub fn wait_until_up(
    client: &AdminClient,
    server: &std::thread::JoinHandle<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while client.get(&["analytics", "status"], &[]).is_err() {
        if server.is_finished() {
            bail!("the server stopped while starting (is the port in use? try --listen 127.0.0.1:8181)");
        }
        if Instant::now() > deadline {
            bail!("the server did not answer within two minutes");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// The example journeys the demo runs, built into the binary so the demo
/// works from any directory.
const JOURNEYS: [(&str, &str); 2] = [
    (
        "welcome_series",
        include_str!("../../../../examples/journeys/welcome_series.yaml"),
    ),
    (
        "failed_checkout_callback",
        include_str!("../../../../examples/journeys/failed_checkout_callback.yaml"),
    ),
];

fn journey_text(text: &str, capture: &Capture) -> String {
    // The demo cannot wait a quarter of an hour, nor call a real contact centre.
    text.replace("timeout: 15m", "timeout: 5s")
        .replace("http://127.0.0.1:9000", &format!("http://{}", capture.http))
}

fn write_key(config: &Config) -> anyhow::Result<String> {
    let sources = SourceRegistry::open(DataDir::new(&config.data_dir).sources())?;
    let source = sources
        .list()?
        .into_iter()
        .find(|s| s.name == "demo")
        .context("the demo source is missing; run with --fresh")?;
    Ok(source.write_key.clone())
}

fn send(base: &str, key: &str, batch: Vec<Value>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{base}/v1/batch"))
            .basic_auth(key, Some(""))
            .json(&json!({ "batch": batch }))
            .send()
            .await?;
        if !response.status().is_success() {
            bail!("sending live events failed: {}", response.text().await?);
        }
        Ok(())
    })
}

fn lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

pub fn run_live_journeys(
    client: &AdminClient,
    config: &Config,
    base: &str,
    capture: &Capture,
) -> anyhow::Result<Sent> {
    for (name, text) in JOURNEYS {
        client.post(
            &["journeys"],
            journey_text(text, capture),
            "application/yaml",
        )?;
        println!("deployed journey {name}");
    }
    let key = write_key(config)?;
    let (emails_before, webhooks_before) = (lines(&capture.emails), lines(&capture.webhooks));
    let run = jiff::Timestamp::now().as_millisecond();
    let person = |kind: &str, i: usize| format!("demo-{kind}-{run}-{i}");
    let identify = |id: &str, i: usize| {
        json!({ "type": "identify", "userId": id,
                "traits": { "email": format!("{id}@example.com"), "first_name": format!("Guest {i}") } })
    };
    let mut batch = Vec::new();
    for i in 0..SIGNUPS {
        let id = person("new", i);
        batch.push(identify(&id, i));
        batch.push(json!({ "type": "track", "userId": id, "event": "Signed Up", "properties": { "method": "demo" } }));
    }
    for i in 0..CALLERS {
        let id = person("caller", i);
        batch.push(identify(&id, i));
        batch.push(json!({ "type": "track", "userId": id, "event": "Payment Info Entered", "properties": { "value": 99 } }));
    }
    send(base, &key, batch)?;
    println!("sent {SIGNUPS} sign-ups and {CALLERS} failed payments; waiting for the payment timeout (5 s)");
    std::thread::sleep(Duration::from_secs(7));
    let calls = (0..CALLERS)
        .map(|i| json!({ "type": "track", "userId": person("caller", i), "event": "Call Started", "properties": { "reason": "payment_problem" }, "context": { "channel": "call_centre" } }))
        .collect();
    send(base, &key, calls)?;
    let last_event_at = jiff::Timestamp::now().as_millisecond();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let emails = lines(&capture.emails) - emails_before;
        let webhooks = lines(&capture.webhooks) - webhooks_before;
        if emails >= SIGNUPS && webhooks >= CALLERS {
            break;
        }
        if Instant::now() > deadline {
            println!("warning: after a minute {emails} of {SIGNUPS} emails and {webhooks} of {CALLERS} webhooks arrived");
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(Sent {
        signups: SIGNUPS,
        callers: CALLERS,
        last_event_at,
    })
}
