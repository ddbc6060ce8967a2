//! A simulation of one customer from journey YAML, and readers for what it did.

use percorso_journeys::{
    parse_journey, Action, Catalog, ContactPolicy, ExitReason, PathEvent, Simulation,
    StaticProfile, Status,
};
use serde_json::{json, Value};

pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;
/// 2026-01-05T10:00:00Z, a Monday.
pub const START: i64 = 1_767_607_200_000;

pub fn catalog(journeys: &[&str]) -> Catalog {
    let mut catalog = Catalog::default();
    for yaml in journeys {
        let journey = parse_journey(yaml).unwrap_or_else(|p| panic!("{p}"));
        catalog.deploy(journey, Status::Published);
    }
    catalog
}

pub fn profile(id: &str, traits: Value) -> StaticProfile {
    StaticProfile {
        id: id.into(),
        traits: traits.as_object().cloned().unwrap_or_default(),
        ..StaticProfile::default()
    }
}

pub fn sim(journeys: &[&str], profile: StaticProfile) -> Simulation {
    Simulation::new(catalog(journeys), ContactPolicy::default(), profile, START)
}

pub fn sim_with(journeys: &[&str], profile: StaticProfile, policy: ContactPolicy) -> Simulation {
    Simulation::new(catalog(journeys), policy, profile, START)
}

/// A track event `name` at `START + offset`.
pub fn event(name: &str, offset: i64, properties: Value) -> Value {
    json!({
        "type": "track",
        "event": name,
        "properties": properties,
        "timestamp": percorso_core::format_millis(START + offset),
    })
}

/// The path as `step:what` strings, for compact assertions.
pub fn path(sim: &Simulation) -> Vec<String> {
    sim.actions
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Record(entry) => {
                let step = entry.step.as_deref().unwrap_or("-");
                let what = match &entry.what {
                    PathEvent::Entered { control } => {
                        format!("entered{}", if *control { " (control)" } else { "" })
                    }
                    PathEvent::Took { detail } => detail.clone(),
                    PathEvent::Waiting { .. } => "waiting".into(),
                    PathEvent::Sent { channel, .. } => format!("sent {}", channel.name()),
                    PathEvent::Suppressed { reason, .. } => format!("suppressed {reason:?}"),
                    PathEvent::Failed { reason } => format!("failed {reason}"),
                    PathEvent::Held => "held".into(),
                    PathEvent::Migrated { to_version } => format!("migrated to {to_version}"),
                    PathEvent::Exited { reason } => format!("exited {reason:?}"),
                };
                Some(format!("{step}:{what}"))
            }
            _ => None,
        })
        .collect()
}

/// How the latest pass through `journey` ended, if it did.
pub fn last_exit(sim: &Simulation, journey: &str) -> Option<ExitReason> {
    sim.actions.iter().rev().find_map(|(_, a)| match a {
        Action::Record(e) if e.journey == journey => match e.what {
            PathEvent::Exited { reason } => Some(reason),
            _ => None,
        },
        _ => None,
    })
}
