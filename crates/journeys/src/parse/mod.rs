//! Reading a journey file (YAML or JSON) into a checked [`Journey`],
//! naming every problem with its place.

mod steps;
mod templates;
mod top;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::definition::Journey;
use crate::graph::check_graph;
use crate::problems::{object, Problems};

/// Parses and checks a journey; `Err` lists every problem found.
pub fn parse_journey(text: &str) -> Result<Journey, Problems> {
    let mut problems = Problems::default();
    let value: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            problems.add("", format!("not valid YAML or JSON: {e}"));
            return Err(problems);
        }
    };
    let journey = journey(&value, &mut problems);
    match journey {
        Some(j) if problems.is_empty() => {
            check_graph(&j, &mut problems);
            if problems.is_empty() {
                Ok(j)
            } else {
                Err(problems)
            }
        }
        _ => Err(problems),
    }
}

const TOP_KEYS: [&str; 12] = [
    "name",
    "description",
    "trigger",
    "entry_when",
    "re_entry",
    "holdout",
    "goal",
    "exit_when",
    "time_zone",
    "migrate_running",
    "start",
    "steps",
];

fn journey(value: &Value, problems: &mut Problems) -> Option<Journey> {
    let top = object(value, "", problems)?;
    let mut allowed = TOP_KEYS.to_vec();
    allowed.push("templates");
    problems.only_keys(top, &allowed, "");
    let name = top::name(top, problems);
    let description = top::description(top, problems);
    let trigger = top::trigger(top, problems);
    let entry_when = top::entry_when(top, problems);
    let re_entry = top::re_entry(top, problems);
    let holdout = top::holdout(top, problems);
    let goal = top::goal(top, problems);
    let exit_when = top::exit_when(top, problems);
    let time_zone = top::time_zone(top, problems);
    let migrate_running = top::flag(top, "migrate_running", problems);
    let templates = match top.get("templates") {
        None => Some(BTreeMap::new()),
        Some(t) => templates::templates(t, problems),
    };
    let steps = steps::steps(top, templates.as_ref(), problems);
    Some(Journey {
        name: name?,
        description: description?,
        trigger: trigger?,
        entry_when: entry_when?,
        re_entry: re_entry?,
        holdout_basis_points: holdout?,
        goal: goal?,
        exit_when: exit_when?,
        time_zone: time_zone?,
        migrate_running: migrate_running?,
        start: steps.as_ref()?.0,
        steps: steps?.1,
        templates: templates?,
    })
}
