//! `percorso segments` and `percorso traits`: definitions sent to, and
//! membership read from, a running server.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use percorso_engine::DefinitionKind;
use serde_json::Value;

use crate::admin_client::{array, plain, print_json, AdminClient, ServerArgs, ServerError};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct SegmentsArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: SegmentsCommand,
}

#[derive(Debug, Subcommand)]
pub enum SegmentsCommand {
    /// Create a segment from a YAML or JSON definition; existing profiles
    /// are back-filled in the background.
    Create {
        /// The definition file, or `-` for standard input.
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check a definition without creating anything.
    Validate {
        /// The definition file, or `-` for standard input.
        file: PathBuf,
    },
    /// List segments with their member counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a segment's definition, member count and back-fill progress.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Print member profile ids, one per line, in id order.
    Members {
        name: String,
        /// Ids per request (and in all, without --all).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Follow the pages to the last member.
        #[arg(long)]
        all: bool,
    },
    /// Delete a segment with its membership and history (members leave it
    /// without a `Segment Exited` event).
    Delete {
        name: String,
        /// Confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Print the recorded entries and exits, oldest first.
    History {
        name: String,
        /// Skip this many changes.
        #[arg(long, default_value_t = 0)]
        offset: usize,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct TraitsArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: TraitsCommand,
}

#[derive(Debug, Subcommand)]
pub enum TraitsCommand {
    /// Create a computed trait from a JSON or YAML file (fields: name,
    /// event, filters, aggregation, property, window_days).
    Create {
        /// The definition file, or `-` for standard input.
        file: PathBuf,
    },
    /// List computed traits.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a computed trait (refused while a segment reads it, or when
    /// the configuration file declares it).
    Delete {
        name: String,
        /// Confirms the deletion.
        #[arg(long)]
        yes: bool,
    },
}

pub fn run(config: &Config, args: SegmentsArgs) -> anyhow::Result<()> {
    let client = AdminClient::connect(config, &args.server)?;
    match args.command {
        SegmentsCommand::Create { file, json } => {
            let text = read_definition(&file)?;
            // The server reads YAML and JSON alike, and keeps the text as
            // written, so it is sent unchanged.
            let summary = client.post(&["segments"], text, "application/yaml")?;
            if json {
                return print_json(&summary);
            }
            println!("created segment '{}'", plain(&summary["name"]));
            print_summary(&summary);
            Ok(())
        }
        SegmentsCommand::Validate { file } => {
            let text = read_definition(&file)?;
            match client.post(&["segments", "validate"], text, "application/yaml") {
                Ok(answer) => {
                    println!(
                        "{}: valid segment '{}'",
                        shown(&file),
                        plain(&answer["name"])
                    );
                    Ok(())
                }
                Err(e) => match e.downcast_ref::<ServerError>() {
                    Some(refusal) if refusal.status == reqwest::StatusCode::BAD_REQUEST => {
                        bail!("{}: {}", shown(&file), refusal.message)
                    }
                    _ => Err(e),
                },
            }
        }
        SegmentsCommand::List { json } => {
            let body = client.get(&["segments"], &[])?;
            if json {
                return print_json(&body);
            }
            let segments = array(&body, "segments");
            if segments.is_empty() {
                println!("no segments; create one with `percorso segments create FILE`");
                return Ok(());
            }
            println!(
                "{:<32} {:>9}  {:<14} CREATED",
                "NAME", "MEMBERS", "BACKFILL"
            );
            for s in segments {
                println!(
                    "{:<32} {:>9}  {:<14} {}",
                    plain(&s["name"]),
                    plain(&s["members"]),
                    backfill(&s["backfill"]),
                    plain(&s["created_at"]),
                );
            }
            Ok(())
        }
        SegmentsCommand::Show { name, json } => {
            let summary = client.get(&["segments", &name], &[])?;
            if json {
                return print_json(&summary);
            }
            println!("segment     {}", plain(&summary["name"]));
            print_summary(&summary);
            println!("definition:");
            for line in plain(&summary["definition"]).lines() {
                println!("  {line}");
            }
            Ok(())
        }
        SegmentsCommand::Members { name, limit, all } => members(&client, &name, limit, all),
        SegmentsCommand::Delete { name, yes } => {
            delete(&client, DefinitionKind::Segment, &name, yes)
        }
        SegmentsCommand::History {
            name,
            offset,
            limit,
            json,
        } => {
            let query = [("offset", offset.to_string()), ("limit", limit.to_string())];
            let body = client.get(&["segments", &name, "history"], &query)?;
            if json {
                return print_json(&body);
            }
            let changes = array(&body, "changes");
            for c in changes {
                println!(
                    "{}  {:<7} {}",
                    plain(&c["at"]),
                    plain(&c["change"]),
                    plain(&c["profile_id"])
                );
            }
            eprintln!(
                "{} of {} change(s) from offset {offset}",
                changes.len(),
                plain(&body["total"])
            );
            Ok(())
        }
    }
}

pub fn run_traits(config: &Config, args: TraitsArgs) -> anyhow::Result<()> {
    let client = AdminClient::connect(config, &args.server)?;
    match args.command {
        TraitsCommand::Create { file } => {
            let text = read_definition(&file)?;
            // The API takes JSON only; YAML is a superset, so one parser
            // reads either and the server still names unknown fields.
            let definition: Value = serde_yaml::from_str(&text)
                .with_context(|| format!("{} is not valid YAML or JSON", shown(&file)))?;
            let created = client.post(
                &["computed-traits"],
                serde_json::to_string(&definition)?,
                "application/json",
            )?;
            println!("created computed trait '{}'", plain(&created["name"]));
            Ok(())
        }
        TraitsCommand::List { json } => {
            let body = client.get(&["computed-traits"], &[])?;
            if json {
                return print_json(&body);
            }
            let traits = array(&body, "computed_traits");
            if traits.is_empty() {
                println!("no computed traits; create one with `percorso traits create FILE`");
            }
            for t in traits {
                println!("{:<32} {}", plain(&t["name"]), describe_trait(t));
            }
            Ok(())
        }
        TraitsCommand::Delete { name, yes } => {
            delete(&client, DefinitionKind::ComputedTrait, &name, yes)
        }
    }
}

/// Deletes a definition once `--yes` confirms it.
fn delete(client: &AdminClient, kind: DefinitionKind, name: &str, yes: bool) -> anyhow::Result<()> {
    let noun = kind.noun();
    let collection = match kind {
        DefinitionKind::Segment => "segments",
        DefinitionKind::ComputedTrait => "computed-traits",
    };
    if !yes {
        bail!("deleting {noun} '{name}' cannot be undone; run again with --yes to confirm");
    }
    client.delete(&[collection, name])?;
    println!("deleted {noun} '{name}'");
    Ok(())
}

fn members(client: &AdminClient, name: &str, limit: usize, all: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let mut after: Option<String> = None;
    let mut shown = 0usize;
    loop {
        let mut query = vec![("limit", limit.to_string())];
        query.extend(after.take().map(|a| ("after", a)));
        let page = client.get(&["segments", name, "members"], &query)?;
        let ids = array(&page, "members");
        for id in ids {
            writeln!(out, "{}", plain(id))?;
        }
        shown += ids.len();
        after = page["next_after"].as_str().map(str::to_owned);
        if !all || after.is_none() {
            out.flush()?;
            eprintln!("{shown} of {} member(s)", plain(&page["total"]));
            return Ok(());
        }
    }
}

fn read_definition(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the definition from standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// How messages name a definition file; `-` reads standard input.
fn shown(file: &Path) -> String {
    if file == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        file.display().to_string()
    }
}

fn print_summary(s: &Value) {
    if let Some(description) = s["description"].as_str() {
        println!("description {description}");
    }
    println!("members     {}", plain(&s["members"]));
    println!("backfill    {}", backfill(&s["backfill"]));
    println!("created at  {}", plain(&s["created_at"]));
}

fn backfill(progress: &Value) -> String {
    if progress["done"].as_bool() == Some(true) {
        return "done".to_owned();
    }
    format!(
        "{}/{} events",
        plain(&progress["read"]),
        plain(&progress["total"])
    )
}

/// E.g. `sum of properties.revenue over Order Completed, last 30 days`.
fn describe_trait(t: &Value) -> String {
    let mut text = plain(&t["aggregation"]);
    if let Some(property) = t["property"].as_str() {
        text.push_str(&format!(" of {property}"));
    }
    match t["event"].as_str() {
        Some(event) => text.push_str(&format!(" over {event}")),
        None => text.push_str(" over any event"),
    }
    let filters = array(t, "filters").len();
    if filters > 0 {
        text.push_str(&format!(" ({filters} filter(s))"));
    }
    match t["window_days"].as_u64() {
        Some(days) => text.push_str(&format!(", last {days} day(s)")),
        None => text.push_str(", all time"),
    }
    text
}
