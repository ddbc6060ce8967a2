//! `percorso profiles`: a person's profile, timeline, identities, merges
//! and segments, asked of a running server.

use std::io::Write;

use clap::{ArgGroup, Args, Subcommand};
use percorso_core::format_millis;
use serde_json::Value;

use crate::admin_client::{array, plain, print_json, AdminClient, ServerArgs};
use crate::config::Config;

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(subcommand)]
    pub command: ProfilesCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// Show a profile, by its id or by any identifier it holds.
    Show(ShowArgs),
    /// Print a profile's events (those of profiles merged into it
    /// included) as JSONL, in time order.
    Events {
        profile_id: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// List a profile's identifiers and the profiles merged into it.
    Identities {
        profile_id: String,
        #[arg(long)]
        json: bool,
    },
    /// List the merges that made a profile, oldest first.
    Merges {
        profile_id: String,
        #[arg(long)]
        json: bool,
    },
    /// List the segments a profile is or was in.
    Segments {
        profile_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Print everything held about a person (profile, identities, merges,
    /// segments, every event) as one JSON document: a data access request.
    Export { profile_id: String },
    /// Erase a person for good: the profile, the profiles merged into it,
    /// their identifiers and every event, from the log and all derived
    /// state. Cannot be undone.
    Delete {
        profile_id: String,
        /// Confirms the erasure.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true)))]
pub struct ShowArgs {
    /// A profile id (one merged away leads to the profile it went into).
    #[arg(group = "who")]
    pub profile_id: Option<String>,
    /// The profile holding this email (case does not matter).
    #[arg(long, group = "who")]
    pub email: Option<String>,
    /// The profile holding this userId.
    #[arg(long, group = "who")]
    pub user_id: Option<String>,
    /// The profile holding this anonymousId.
    #[arg(long, group = "who")]
    pub anonymous_id: Option<String>,
    /// The profile holding this phone number.
    #[arg(long, group = "who")]
    pub phone: Option<String>,
    /// Print the server's JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(config: &Config, args: ProfilesArgs) -> anyhow::Result<()> {
    let client = AdminClient::connect(config, &args.server)?;
    match args.command {
        ProfilesCommand::Show(show) => {
            let json = show.json;
            let profile = fetch_profile(&client, show)?;
            if json {
                print_json(&profile)
            } else {
                print_profile(&profile);
                Ok(())
            }
        }
        ProfilesCommand::Events { profile_id, limit } => {
            let page = client.get(
                &["profiles", &profile_id, "events"],
                &[("limit", limit.to_string())],
            )?;
            let events = array(&page, "events");
            let mut out = std::io::stdout().lock();
            for event in events {
                writeln!(out, "{}", serde_json::to_string(event)?)?;
            }
            out.flush()?;
            eprintln!("{} of {} event(s)", events.len(), plain(&page["total"]));
            Ok(())
        }
        ProfilesCommand::Identities { profile_id, json } => {
            let body = client.get(&["profiles", &profile_id, "identities"], &[])?;
            if json {
                return print_json(&body);
            }
            println!("profile {}", plain(&body["profile_id"]));
            print_identities(array(&body, "identities"));
            let merged = array(&body, "merged_profiles");
            if !merged.is_empty() {
                println!("merged profiles:");
                for id in merged {
                    println!("  {}", plain(id));
                }
            }
            Ok(())
        }
        ProfilesCommand::Merges { profile_id, json } => {
            let body = client.get(&["profiles", &profile_id, "merges"], &[])?;
            if json {
                return print_json(&body);
            }
            let merges = array(&body, "merges");
            println!(
                "profile {}: {} merge(s)",
                plain(&body["profile_id"]),
                merges.len()
            );
            for merge in merges {
                let identifiers: Vec<String> =
                    array(merge, "identifiers").iter().map(plain).collect();
                println!(
                    "  {}  merged {} bringing {} (message {}, source {})",
                    plain(&merge["at"]),
                    plain(&merge["merged_profile"]),
                    identifiers.join(", "),
                    plain(&merge["message_id"]),
                    plain(&merge["source_id"]),
                );
            }
            Ok(())
        }
        ProfilesCommand::Segments { profile_id, json } => {
            let body = client.get(&["profiles", &profile_id, "segments"], &[])?;
            if json {
                return print_json(&body);
            }
            let segments = array(&body, "segments");
            if segments.is_empty() {
                println!("profile {} is in no segment", plain(&body["profile_id"]));
            }
            for s in segments {
                let state = if s["member"].as_bool() == Some(true) {
                    "member since"
                } else {
                    "left at"
                };
                println!(
                    "{:<32} {state} {}",
                    plain(&s["segment"]),
                    plain(&s["since"])
                );
            }
            Ok(())
        }
        ProfilesCommand::Export { profile_id } => {
            print_json(&client.get(&["profiles", &profile_id, "export"], &[])?)
        }
        ProfilesCommand::Delete { profile_id, yes } => delete(&client, &profile_id, yes),
    }
}

fn delete(client: &AdminClient, profile_id: &str, yes: bool) -> anyhow::Result<()> {
    if !yes {
        anyhow::bail!(
            "erasing profile {profile_id} cannot be undone; run again with --yes to confirm"
        );
    }
    let body = client.delete(&["profiles", profile_id])?;
    println!(
        "erased profile {} ({} profile id(s), {} identifier(s), {} event(s), {} quarantined event(s))",
        plain(&body["profile_id"]),
        array(&body, "profiles").len(),
        plain(&body["identifiers"]),
        plain(&body["events"]),
        plain(&body["quarantined"]),
    );
    Ok(())
}

fn fetch_profile(client: &AdminClient, show: ShowArgs) -> anyhow::Result<Value> {
    if let Some(id) = show.profile_id {
        return client.get(&["profiles", &id], &[]);
    }
    let lookup = [
        ("email", show.email),
        ("user_id", show.user_id),
        ("anonymous_id", show.anonymous_id),
        ("phone", show.phone),
    ];
    // clap's group guarantees exactly one is given.
    let query: Vec<(&str, String)> = lookup
        .into_iter()
        .filter_map(|(kind, value)| Some((kind, value?)))
        .collect();
    client.get(&["profiles"], &query)
}

fn print_identities(identities: &[Value]) {
    println!("identities:");
    for i in identities {
        println!("  {:<14} {}", plain(&i["type"]), plain(&i["value"]));
    }
}

fn print_profile(p: &Value) {
    println!("profile    {}", plain(&p["profile_id"]));
    println!("first seen {}", plain(&p["first_seen"]));
    println!("last seen  {}", plain(&p["last_seen"]));
    println!("events     {}", plain(&p["events"]));
    print_identities(array(p, "identities"));

    // `trait_sources` holds [name, {value, updated_at, source, message_id}]
    // pairs: the provenance of each value in `traits`.
    let traits = array(p, "trait_sources");
    println!("traits:{}", if traits.is_empty() { " none" } else { "" });
    for pair in traits {
        let (name, t) = (&pair[0], &pair[1]);
        println!(
            "  {:<20} {:<24} from {} at {}",
            plain(name),
            t["value"].to_string(),
            plain(&t["source"]),
            millis(&t["updated_at"]),
        );
    }

    let computed = p["computed_traits"].as_object().filter(|c| !c.is_empty());
    println!(
        "computed traits:{}",
        if computed.is_none() { " none" } else { "" }
    );
    for (name, value) in computed.into_iter().flatten() {
        println!("  {name:<20} {value}");
    }

    let subscriptions = array(p, "subscriptions");
    println!(
        "subscriptions:{}",
        if subscriptions.is_empty() {
            " none"
        } else {
            ""
        }
    );
    for pair in subscriptions {
        let (channel, s) = (&pair[0], &pair[1]);
        let state = if s["subscribed"].as_bool() == Some(true) {
            "subscribed"
        } else {
            "unsubscribed"
        };
        println!(
            "  {:<10} {state:<12} by {} at {}",
            plain(channel),
            plain(&s["reason"]),
            millis(&s["updated_at"]),
        );
    }

    let segments: Vec<String> = array(p, "segments").iter().map(plain).collect();
    println!(
        "segments:  {}",
        if segments.is_empty() {
            "none".to_owned()
        } else {
            segments.join(", ")
        }
    );
}

/// Epoch milliseconds as the server formats its own timestamps.
fn millis(value: &Value) -> String {
    value.as_i64().map_or_else(|| plain(value), format_millis)
}
