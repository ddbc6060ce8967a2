//! `percorso journeys`: check journey files and simulate them on a virtual
//! clock, locally (no server needed); the rest asks a running server
//! (`journeys_admin_cmd.rs`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use percorso_core::{format_millis, parse_timestamp_millis};
use percorso_journeys::{
    locate_line, parse_journey, Action, Catalog, ContactPolicy, Content, Journey, PathEvent,
    Simulation, StaticProfile, Status,
};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct JourneysArgs {
    #[command(flatten)]
    pub server: crate::admin_client::ServerArgs,
    #[command(subcommand)]
    pub command: JourneysCommand,
}

#[derive(Debug, Subcommand)]
pub enum JourneysCommand {
    /// Check journey files: every problem with its file, line and field.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run journeys for one customer on a virtual clock and print each
    /// step taken and each message that would be sent (nothing is sent).
    Simulate {
        /// Journey files (all published for the simulation).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The customer: JSON `{"id", "traits", "computed", "segments",
        /// "unsubscribed"}`. Default: an empty profile `prof_simulated`.
        #[arg(long, value_name = "FILE")]
        profile: Option<PathBuf>,
        /// Their events, one JSON object per line, each with a `timestamp`.
        #[arg(long, value_name = "FILE")]
        events: Option<PathBuf>,
        /// Simulate a real customer instead: their profile and recorded
        /// events, read from the running server (the profile as it is now
        /// stands for the whole history).
        #[arg(long, value_name = "PROFILE_ID", conflicts_with_all = ["profile", "events"])]
        recorded: Option<String>,
        /// Enter this journey by request at the start (API triggers).
        #[arg(long, value_name = "JOURNEY")]
        enter: Option<String>,
        /// When the virtual clock starts (default: the first event's time, else now).
        #[arg(long, value_name = "TIME")]
        start: Option<String>,
        /// How long to keep the clock running after the last event, firing timers.
        #[arg(long, default_value = "30d", value_name = "DURATION")]
        until: humantime::Duration,
        /// Print each action as a JSON line instead of a table.
        #[arg(long)]
        json: bool,
    },
    #[command(flatten)]
    Server(crate::journeys_admin_cmd::JourneysAdmin),
}

pub fn run(
    args: JourneysArgs,
    config: impl FnOnce() -> anyhow::Result<crate::config::Config>,
) -> anyhow::Result<()> {
    match args.command {
        JourneysCommand::Server(command) => {
            let client = crate::admin_client::AdminClient::connect(&config()?, &args.server)?;
            crate::journeys_admin_cmd::run(&client, command)
        }
        JourneysCommand::Validate { files } => validate(&files),
        JourneysCommand::Simulate {
            files,
            profile,
            events,
            recorded,
            enter,
            start,
            until,
            json,
        } => {
            let catalog = load_catalog(&files)?;
            let recorded = match recorded {
                Some(id) => {
                    let client =
                        crate::admin_client::AdminClient::connect(&config()?, &args.server)?;
                    Some(recorded_customer(&client, &id)?)
                }
                None => None,
            };
            let profile = match profile {
                Some(path) => serde_json::from_str(&read(&path)?)
                    .with_context(|| format!("{}: not a profile", path.display()))?,
                None => StaticProfile {
                    id: "prof_simulated".into(),
                    ..StaticProfile::default()
                },
            };
            let (profile, events) = match recorded {
                Some((profile, events)) => (profile, events),
                None => (
                    profile,
                    match events {
                        Some(path) => read_events(&path)?,
                        None => Vec::new(),
                    },
                ),
            };
            let start = match start {
                Some(text) => parse_timestamp_millis(&text).context("--start")?,
                None => events
                    .first()
                    .and_then(|e| e["timestamp"].as_str())
                    .and_then(|t| parse_timestamp_millis(t).ok())
                    .unwrap_or_else(|| {
                        percorso_core::Clock::now_millis(&percorso_core::SystemClock)
                    }),
            };
            let mut sim = Simulation::new(catalog, ContactPolicy::default(), profile, start);
            if let Some(journey) = enter {
                sim.enter(&journey, serde_json::json!({}))
                    .with_context(|| format!("entering {journey}"))?;
            }
            for event in events {
                sim.event(event)?;
            }
            let until = sim.now + until.as_millis() as i64;
            sim.run_out(until);
            print_simulation(&sim, json)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Every file's problems as `FILE:LINE: field: message`; an error if any.
pub(crate) fn validate(files: &[PathBuf]) -> anyhow::Result<()> {
    let mut bad = 0;
    for path in files {
        let text = read(path)?;
        match parse_journey(&text) {
            Ok(journey) => println!("{}: ok — {}", path.display(), summary(&journey)),
            Err(problems) => {
                bad += 1;
                for line in located(path, &text, &problems) {
                    println!("{line}");
                }
            }
        }
    }
    if bad > 0 {
        bail!("{bad} of {} journey files have problems", files.len());
    }
    Ok(())
}

fn summary(journey: &Journey) -> String {
    let sends = journey
        .steps
        .iter()
        .filter(|s| matches!(s.kind, percorso_journeys::StepKind::Send { .. }))
        .count();
    format!(
        "journey {:?}, {} steps ({} sends), {} templates",
        journey.name,
        journey.steps.len(),
        sends,
        journey.templates.len()
    )
}

/// Each problem as `FILE:LINE: field: message`.
fn located(path: &Path, text: &str, problems: &percorso_journeys::Problems) -> Vec<String> {
    let file = path.display();
    let line = |p: &percorso_journeys::Problem| locate_line(text, &p.path).unwrap_or(1);
    problems
        .0
        .iter()
        .map(|p| format!("{file}:{}: {p}", line(p)))
        .collect()
}

fn load_catalog(files: &[PathBuf]) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    for path in files {
        let text = read(path)?;
        let journey = parse_journey(&text).map_err(|problems| {
            anyhow::anyhow!("{}", located(path, &text, &problems).join("\n"))
        })?;
        catalog.deploy(journey, Status::Published);
    }
    Ok(catalog)
}

/// Events from JSONL, in time order (a stable sort keeps ties as written).
fn read_events(path: &Path) -> anyhow::Result<Vec<Value>> {
    let text = read(path)?;
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not JSON", path.display(), n + 1))?;
        let at = event["timestamp"]
            .as_str()
            .and_then(|t| parse_timestamp_millis(t).ok())
            .with_context(|| {
                format!(
                    "{}:{}: timestamp: missing or not RFC 3339",
                    path.display(),
                    n + 1
                )
            })?;
        events.push((at, event));
    }
    events.sort_by_key(|(at, _)| *at);
    Ok(events.into_iter().map(|(_, e)| e).collect())
}

fn print_simulation(sim: &Simulation, json: bool) -> anyhow::Result<()> {
    for (at, action) in &sim.actions {
        if json {
            println!(
                "{}",
                serde_json::json!({ "at": format_millis(*at), "action": action })
            );
            continue;
        }
        let line = match action {
            Action::Record(entry) => {
                let what = match &entry.what {
                    PathEvent::Entered { control: true } => {
                        "entered (control group: no messages)".to_owned()
                    }
                    PathEvent::Entered { control: false } => "entered".to_owned(),
                    PathEvent::Took { detail } => detail.clone(),
                    PathEvent::Waiting { until } => {
                        format!("waiting until {}", format_millis(*until))
                    }
                    PathEvent::Sent { .. } => continue, // shown with the message
                    PathEvent::Suppressed { channel, reason } => {
                        format!("{} not sent: {reason:?}", channel.name())
                    }
                    PathEvent::Failed { reason } => format!("failed: {reason}"),
                    PathEvent::Held => "held (journey paused)".to_owned(),
                    PathEvent::Migrated { to_version } => format!("moved to version {to_version}"),
                    PathEvent::Exited { reason } => format!("exited: {reason:?}"),
                };
                let step = entry.step.as_deref().unwrap_or("-");
                format!(
                    "{} v{} #{}  {step:<24} {what}",
                    entry.journey, entry.version, entry.entry
                )
            }
            Action::Send(message) => {
                let content = match &message.content {
                    Content::Email { to, subject, .. } => format!("email to {to}: {subject:?}"),
                    Content::Sms { to, text } => format!("sms to {to}: {text:?}"),
                    Content::Push { to, text, .. } => format!("push to {to}: {text:?}"),
                    Content::Webhook { method, url, .. } => format!("webhook {method} {url}"),
                };
                format!(
                    "{} v{}  {:<24} SEND {content} (key {})",
                    message.journey, message.version, message.step, message.key
                )
            }
            Action::SetTraits { traits, .. } => {
                format!("  set traits {}", Value::Object(traits.clone()))
            }
            Action::Emit {
                event, properties, ..
            } => format!("  emit {event:?} {properties}"),
            Action::ArmTimer { .. } => continue,
        };
        println!("{}  {line}", format_millis(*at));
    }
    let sent = sim.messages().len();
    println!(
        "{sent} message(s) would be sent; clock stopped at {}",
        format_millis(sim.now)
    );
    Ok(())
}

/// A customer as the running server knows them: their profile (traits,
/// computed traits, segments, channels they left) and their events in
/// time order, without the engine's own bookkeeping records.
fn recorded_customer(
    client: &crate::admin_client::AdminClient,
    id: &str,
) -> anyhow::Result<(StaticProfile, Vec<Value>)> {
    let view = client.get(&["profiles", id], &[])?;
    let object = |key: &str| view[key].as_object().cloned().unwrap_or_default();
    let unsubscribed = view["subscriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|pair| pair[1]["subscribed"] == false)
        .filter_map(|pair| pair[0].as_str().map(str::to_owned))
        .collect();
    let profile = StaticProfile {
        id: view["profile_id"].as_str().unwrap_or(id).to_owned(),
        traits: object("traits"),
        computed: object("computed_traits"),
        segments: serde_json::from_value(view["segments"].clone()).unwrap_or_default(),
        unsubscribed,
    };
    let timeline = client.get(
        &["profiles", &profile.id, "events"],
        &[("limit", "10000".into())],
    )?;
    const BOOKKEEPING: [&str; 5] = [
        "Journey Timer Fired",
        "Journey Entry Requested",
        "Message Sent",
        "Message Failed",
        "Message Retry Requested",
    ];
    let events = timeline["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| !BOOKKEEPING.contains(&e["event"].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    Ok((profile, events))
}
