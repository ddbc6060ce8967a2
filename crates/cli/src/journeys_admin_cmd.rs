//! `percorso journeys deploy|list|show|publish|pause|resume|archive|enter|
//! path|dead-letters|retry`: journeys in a running server.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Value};

use crate::admin_client::{plain, print_json, AdminClient};

#[derive(Debug, Subcommand)]
pub enum JourneysAdmin {
    /// Deploy a journey file as the journey's next version (published
    /// unless --draft); running customers stay on their version unless the
    /// file says `migrate_running: true`.
    Deploy {
        file: PathBuf,
        /// Deploy without publishing (nobody enters until `publish`).
        #[arg(long)]
        draft: bool,
        #[arg(long)]
        json: bool,
    },
    /// List journeys with their status and counters.
    List {
        #[arg(long)]
        json: bool,
    },
    /// A journey's status, versions and counters per step.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Publish a draft (customers start entering).
    Publish { name: String },
    /// Stop entries and hold customers where they are.
    Pause { name: String },
    /// Publish a paused journey again (held customers move on).
    Resume { name: String },
    /// End a journey: nobody enters, customers in it leave at their next move.
    Archive { name: String },
    /// Enter one customer (any identifier: --email, --user-id, --profile-id, ...).
    Enter {
        name: String,
        #[arg(long, value_name = "KIND=VALUE", value_parser = parse_identifier)]
        who: (String, String),
        /// The entry's context as JSON (templates read it as `event.properties`).
        #[arg(long, default_value = "{}")]
        context: String,
    },
    /// A profile's journeys: passes in progress and the recent path.
    Path {
        profile_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Messages given up on after their last attempt.
    DeadLetters {
        #[arg(long)]
        json: bool,
    },
    /// Send a dead-lettered message again.
    Retry { key: String },
}

fn parse_identifier(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .ok_or_else(|| {
            "write KIND=VALUE, e.g. email=ada@example.com or profile_id=prof_…".to_owned()
        })
}

pub fn run(client: &AdminClient, command: JourneysAdmin) -> anyhow::Result<()> {
    match command {
        JourneysAdmin::Deploy { file, draft, json } => {
            // Checked here first: every problem, with its line, before sending.
            crate::journeys_cmd::validate(std::slice::from_ref(&file))?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let publish = if draft { "false" } else { "true" };
            let summary = client
                .post_query(
                    &["journeys"],
                    &[("publish", publish.into())],
                    text,
                    "application/yaml",
                )
                .with_context(|| format!("{}: not deployed", file.display()))?;
            if json {
                return print_json(&summary);
            }
            println!(
                "deployed journey '{}' version {} ({})",
                plain(&summary["name"]),
                summary["live_version"],
                plain(&summary["status"])
            );
            Ok(())
        }
        JourneysAdmin::List { json } => {
            let list = client.get(&["journeys"], &[])?;
            if json {
                return print_json(&list);
            }
            println!(
                "{:<28} {:<10} {:>7} {:>8} {:>8} {:>9} {:>8} {:>10}",
                "JOURNEY",
                "STATUS",
                "VERSION",
                "ENTERED",
                "WAITING",
                "CONVERTED",
                "SENT",
                "DELIVERED"
            );
            for j in list["journeys"].as_array().into_iter().flatten() {
                let t = &j["totals"];
                println!(
                    "{:<28} {:<10} {:>7} {:>8} {:>8} {:>9} {:>8} {:>10}",
                    plain(&j["name"]),
                    plain(&j["status"]),
                    n(&j["live_version"]),
                    n(&t["entered"]),
                    n(&t["waiting"]),
                    n(&t["converted"]),
                    n(&t["sent"]),
                    n(&t["delivered"])
                );
            }
            Ok(())
        }
        JourneysAdmin::Show { name, json } => {
            let detail = client.get(&["journeys", &name], &[])?;
            if json {
                return print_json(&detail);
            }
            println!(
                "journey '{}': {}, version {} of {}",
                name,
                plain(&detail["status"]),
                detail["live_version"],
                detail["versions"]
            );
            println!(
                "{:<28} {:>8} {:>8} {:>8} {:>9} {:>6} {:>10} {:>10} {:>9} {:>6}",
                "STEP",
                "ENTERED",
                "WAITING",
                "EXITED",
                "CONVERTED",
                "SENT",
                "DELIVERED",
                "SUPPRESSED",
                "HELD OUT",
                "FAILED"
            );
            for (step, c) in detail["steps"].as_object().into_iter().flatten() {
                let step = if step.is_empty() { "(journey)" } else { step };
                println!(
                    "{step:<28} {:>8} {:>8} {:>8} {:>9} {:>6} {:>10} {:>10} {:>9} {:>6}",
                    n(&c["entered"]),
                    n(&c["waiting"]),
                    n(&c["exited"]),
                    n(&c["converted"]),
                    n(&c["sent"]),
                    n(&c["delivered"]),
                    n(&c["suppressed"]),
                    n(&c["held_out"]),
                    n(&c["failed"])
                );
            }
            Ok(())
        }
        JourneysAdmin::Publish { name } => status(client, &name, "publish"),
        JourneysAdmin::Pause { name } => status(client, &name, "pause"),
        JourneysAdmin::Resume { name } => status(client, &name, "resume"),
        JourneysAdmin::Archive { name } => status(client, &name, "archive"),
        JourneysAdmin::Enter { name, who, context } => {
            let context: Value = serde_json::from_str(&context).context("--context: not JSON")?;
            let body = json!({ who.0: who.1, "context": context });
            let answer = client.post(
                &["journeys", &name, "enter"],
                body.to_string(),
                "application/json",
            )?;
            println!(
                "entry of {} into '{name}' recorded ({})",
                plain(&answer["profile_id"]),
                plain(&answer["message_id"])
            );
            Ok(())
        }
        JourneysAdmin::Path { profile_id, json } => {
            let answer = client.get(&["profiles", &profile_id, "journeys"], &[])?;
            if json {
                return print_json(&answer);
            }
            for entry in answer["path"].as_array().into_iter().flatten() {
                let at = entry["at"]
                    .as_i64()
                    .map(percorso_core::format_millis)
                    .unwrap_or_default();
                let mut detail = entry.as_object().cloned().unwrap_or_default();
                for known in ["at", "journey", "version", "entry", "step", "what"] {
                    detail.remove(known);
                }
                if let Some(until) = detail.get("until").and_then(Value::as_i64) {
                    detail.insert("until".into(), json!(percorso_core::format_millis(until)));
                }
                println!(
                    "{at}  {} v{} #{}  {:<24} {} {}",
                    plain(&entry["journey"]),
                    entry["version"],
                    entry["entry"],
                    plain(&entry["step"]),
                    plain(&entry["what"]),
                    if detail.is_empty() {
                        String::new()
                    } else {
                        Value::Object(detail).to_string()
                    }
                );
            }
            Ok(())
        }
        JourneysAdmin::DeadLetters { json } => {
            let answer = client.get(&["dead-letters"], &[])?;
            if json {
                return print_json(&answer);
            }
            for letter in answer["dead_letters"].as_array().into_iter().flatten() {
                println!(
                    "{}  after {} attempt(s): {}",
                    plain(&letter["item"]["key"]),
                    letter["attempts"],
                    plain(&letter["reason"])
                );
            }
            Ok(())
        }
        JourneysAdmin::Retry { key } => {
            client.post(
                &["dead-letters", &key, "retry"],
                String::new(),
                "application/json",
            )?;
            println!("message {key} is being sent again");
            Ok(())
        }
    }
}

/// A number as text, so the table's widths apply.
fn n(value: &Value) -> String {
    value.to_string()
}

fn status(client: &AdminClient, name: &str, action: &str) -> anyhow::Result<()> {
    let summary = client.post(
        &["journeys", name, action],
        String::new(),
        "application/json",
    )?;
    println!("journey '{name}' is {}", plain(&summary["status"]));
    Ok(())
}
