//! The demo's summary, read through the API like any client would.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

use crate::admin_client::AdminClient;
use crate::demo::capture::Capture;
use crate::demo::live::Sent;
use crate::report_print::{human_ms, print_table};

/// Waits until the columnar store holds every event sent before `at`.
pub fn wait_for_analytics(client: &AdminClient, at: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = client.get(&["analytics", "status"], &[])?;
        let fresh = status["fresh_to"]
            .as_str()
            .and_then(|t| percorso_core::parse_timestamp_millis(t).ok())
            .unwrap_or(0);
        if fresh >= at {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the columnar store did not catch up within five minutes: {status}");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn post(client: &AdminClient, report: &str, query: Value) -> anyhow::Result<Value> {
    client.post(
        &["analytics", report],
        query.to_string(),
        "application/json",
    )
}

fn percent(v: &Value) -> String {
    v.as_f64()
        .map_or("-".into(), |x| format!("{:.1}%", x * 100.0))
}

fn count_lines(path: &std::path::Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

pub fn print(client: &AdminClient, capture: &Capture, sent: &Sent) -> anyhow::Result<()> {
    let status = client.get(&["analytics", "status"], &[])?;
    let people = client.post(
        &["sql"],
        json!({ "sql": "SELECT count(DISTINCT profile_id) AS people FROM events" }).to_string(),
        "application/json",
    )?;
    println!();
    println!(
        "== {} events of {} people in the columnar store (fresh to {})",
        status["events"], people["rows"][0]["people"], status["fresh_to"]
    );

    println!();
    println!("== Journey map: the most common moves between activities");
    let touchpoints = [
        "Ad Clicked",
        "Email Link Clicked",
        "SMS Link Clicked",
        "Social Post Clicked",
        "Product Viewed",
        "Product Added",
        "Checkout Started",
        "Payment Info Entered",
        "Order Completed",
        "Call Started",
        "Ticket Opened",
        "Ticket Resolved",
    ];
    let map = post(client, "journey-map", json!({ "events": touchpoints }))?;
    let rows: Vec<Vec<String>> = map["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .take(10)
        .map(|e| {
            vec![
                format!(
                    "{} → {}",
                    e["from"].as_str().unwrap_or(""),
                    e["to"].as_str().unwrap_or("")
                ),
                e["count"].to_string(),
                e["duration"]["median_ms"]
                    .as_f64()
                    .map_or("-".into(), human_ms),
            ]
        })
        .collect();
    print_table(&["move", "times", "median time"], &rows);

    println!();
    println!("== Funnel: the online shop, 7-day window");
    let steps = [
        "Product Viewed",
        "Product Added",
        "Checkout Started",
        "Payment Info Entered",
        "Order Completed",
    ];
    let funnel = post(
        client,
        "funnel",
        json!({ "steps": steps.map(|s| json!({ "event": s })), "window": "7d" }),
    )?;
    let rows: Vec<Vec<String>> = funnel["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                s["step"].to_string(),
                s["event"].as_str().unwrap_or("").to_owned(),
                s["people"].to_string(),
                percent(&s["conversion_from_previous"]),
            ]
        })
        .collect();
    print_table(&["step", "event", "people", "of previous"], &rows);

    println!();
    println!("== Journey scores: service calls (resolved call = complete), first vs second half");
    let scores = post(
        client,
        "scores",
        json!({
            "start": { "event": "Call Started" },
            "complete": { "event": "Call Ended", "filters": [{ "property": "resolved", "value": true }] },
            "window": "7d",
            "contacts": [{ "event": "Call Started" }, { "event": "Ticket Opened" }],
            "costs": { "call_centre": 6.0, "email": 0.05, "sms": 0.08, "web": 0.5, "app": 0.5 },
            "from": "2026-01-16T00:00:00Z", "to": "2026-02-01T00:00:00Z",
            "compare": { "from": "2026-01-01T00:00:00Z", "to": "2026-01-16T00:00:00Z" },
            "drill_down": "channel",
        }),
    )?;
    let period = &scores["period"];
    let rows = vec![
        vec!["journeys".to_owned(), period["instances"].to_string()],
        vec![
            "completion rate".into(),
            percent(&period["completion_rate"]),
        ],
        vec![
            "first-contact resolution".into(),
            percent(&period["first_contact_resolution"]),
        ],
        vec![
            "contacts per journey".into(),
            format!(
                "{:.2}",
                period["contacts_per_instance"].as_f64().unwrap_or(0.0)
            ),
        ],
        vec![
            "cost to serve per journey".into(),
            format!("{:.2}", period["cost_per_instance"].as_f64().unwrap_or(0.0)),
        ],
        vec![
            "NPS".into(),
            period["nps"]
                .as_f64()
                .map_or("-".into(), |v| format!("{v:.1}")),
        ],
        vec![
            "CSAT".into(),
            period["csat"]
                .as_f64()
                .map_or("-".into(), |v| format!("{v:.1}%")),
        ],
    ];
    print_table(&["score", "second half of January"], &rows);
    let drill = &scores["drill_down"];
    if let Some(change) = drill["change"].as_f64() {
        println!(
            "  completion rate against the first half: {:+.1} points, mostly from channel {}",
            change * 100.0,
            drill["explained_by"].as_str().unwrap_or("-")
        );
    }

    println!();
    println!("== Messages sent by the live journeys (to the built-in capture sink)");
    let journeys = client.get(&["journeys"], &[])?;
    for journey in journeys["journeys"].as_array().into_iter().flatten() {
        println!(
            "  {}: {}",
            journey["name"].as_str().unwrap_or(""),
            journey["totals"]
        );
    }
    println!(
        "  emails captured: {} (for {} sign-ups); webhooks captured: {} (for {} failed payments followed by a call)",
        count_lines(&capture.emails),
        sent.signups,
        count_lines(&capture.webhooks),
        sent.callers
    );
    Ok(())
}
