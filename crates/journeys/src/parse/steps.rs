//! The `steps` section: one kind per step, and the names of the steps it
//! leads to (`next`, `on_event`/`on_timeout`, `otherwise`, an arm's `next`).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use percorso_profiles::segment::one_kind;

use super::top::{event_match, zone};
use crate::condition::parse_condition;
use crate::definition::{Channel, SplitArm, Step, StepId, StepKind, ZoneChoice};
use crate::problems::{duration, join, object, percent, Problems};
use crate::template::{MessageTemplate, ValueTemplate};

type Object = Map<String, Value>;
type Templates = BTreeMap<String, Arc<MessageTemplate>>;

/// Events the engine states and acts on when read back: a journey that
/// emitted one would be taken for the engine.
pub const RESERVED_EVENTS: [&str; 7] = [
    "Journey Timer Fired",
    "Journey Entry Requested",
    "Message Sent",
    "Message Failed",
    "Message Retry Requested",
    "Segment Entered",
    "Segment Exited",
];

pub const STEP_KINDS: [&str; 10] = [
    "wait",
    "wait_until",
    "wait_for",
    "branch",
    "split",
    "holdout",
    "send",
    "update_profile",
    "emit",
    "exit",
];

/// The start step and every step, or `None` after noting problems.
pub fn steps(
    top: &Object,
    templates: Option<&Templates>,
    problems: &mut Problems,
) -> Option<(StepId, Vec<Step>)> {
    let Some(value) = top.get("steps") else {
        problems.add("", "steps is required");
        return None;
    };
    let all = object(value, "steps", problems)?;
    if all.is_empty() {
        problems.add("steps", "must name at least one step");
        return None;
    }
    let ids: BTreeMap<&str, StepId> = all
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let resolver = Resolver { ids: &ids };
    let start = match top.get("start") {
        None if all.len() == 1 => Some(0),
        None => {
            problems.add("", "start is required (the first step's name)");
            None
        }
        Some(Value::String(s)) => resolver.id(s, "start", problems),
        Some(_) => {
            problems.add("start", "must be a step name");
            None
        }
    };
    let parsed: Vec<Option<Step>> = all
        .iter()
        .map(|(name, body)| {
            let path = format!("steps.{name}");
            let kind = step(body, &path, &resolver, templates, problems)?;
            Some(Step {
                name: name.clone(),
                kind,
            })
        })
        .collect();
    let steps: Option<Vec<Step>> = parsed.into_iter().collect();
    Some((start?, steps?))
}

struct Resolver<'a> {
    ids: &'a BTreeMap<&'a str, StepId>,
}

impl Resolver<'_> {
    fn id(&self, name: &str, path: &str, problems: &mut Problems) -> Option<StepId> {
        let found = self.ids.get(name).copied();
        if found.is_none() {
            problems.add(path, format!("unknown step {name:?}"));
        }
        found
    }

    /// The step named at `node[key]`.
    fn edge(
        &self,
        node: &Object,
        key: &str,
        path: &str,
        problems: &mut Problems,
    ) -> Option<StepId> {
        match node.get(key) {
            Some(Value::String(s)) => self.id(s, &join(path, key), problems),
            Some(_) => {
                problems.add(&join(path, key), "must be a step name");
                None
            }
            None => {
                problems.add(path, format!("{key} is required (the step that follows)"));
                None
            }
        }
    }
}

fn step(
    value: &Value,
    path: &str,
    steps: &Resolver<'_>,
    templates: Option<&Templates>,
    problems: &mut Problems,
) -> Option<StepKind> {
    let node = object(value, path, problems)?;
    let kind = one_kind(node, &STEP_KINDS)
        .map_err(|problem| problems.add(path, problem))
        .ok()?;
    let edges: &[&str] = match kind {
        "wait_for" => &["on_event", "on_timeout"],
        "branch" => &["otherwise"],
        "split" | "exit" => &[],
        _ => &["next"],
    };
    let mut allowed = vec![kind, "description"];
    allowed.extend(edges);
    problems.only_keys(node, &allowed, path);
    let inner = &join(path, kind);
    let body = &node[kind];
    let next = |problems: &mut Problems| steps.edge(node, "next", path, problems);
    match kind {
        "wait" => {
            let millis = duration(body, inner, problems);
            let next = next(problems);
            Some(StepKind::Wait {
                millis: millis?,
                next: next?,
            })
        }
        "wait_until" => {
            let until = wait_until(body, inner, problems);
            let next = next(problems);
            let (time, zone) = until?;
            Some(StepKind::WaitUntil {
                time,
                zone,
                next: next?,
            })
        }
        "wait_for" => {
            let spec = object(body, inner, problems)?;
            problems.only_keys(spec, &["event", "where", "timeout"], inner);
            let event = event_match(spec, inner, problems);
            let timeout = match spec.get("timeout") {
                Some(t) => duration(t, &join(inner, "timeout"), problems),
                None => {
                    problems.add(inner, "timeout is required");
                    None
                }
            };
            let on_event = steps.edge(node, "on_event", path, problems);
            let on_timeout = steps.edge(node, "on_timeout", path, problems);
            Some(StepKind::WaitFor {
                event: event?,
                timeout: timeout?,
                on_event: on_event?,
                on_timeout: on_timeout?,
            })
        }
        "branch" => {
            let Some(list) = body.as_array().filter(|l| !l.is_empty()) else {
                problems.add(inner, "must be a non-empty list of {when, next}");
                return None;
            };
            let arms: Vec<_> = list
                .iter()
                .enumerate()
                .map(|(i, arm)| {
                    let at = format!("{inner}[{i}]");
                    let arm = object(arm, &at, problems)?;
                    problems.only_keys(arm, &["when", "next"], &at);
                    let when = match arm.get("when") {
                        Some(c) => parse_condition(c, &join(&at, "when"), problems),
                        None => {
                            problems.add(&at, "when is required");
                            None
                        }
                    };
                    let next = steps.edge(arm, "next", &at, problems);
                    Some((when?, next?))
                })
                .collect();
            let otherwise = steps.edge(node, "otherwise", path, problems);
            Some(StepKind::Branch {
                arms: arms.into_iter().collect::<Option<_>>()?,
                otherwise: otherwise?,
            })
        }
        "split" => split(body, inner, steps, problems).map(|arms| StepKind::Split { arms }),
        "holdout" => {
            let basis_points = percent(body, inner, problems);
            let next = next(problems);
            Some(StepKind::Holdout {
                basis_points: basis_points?,
                next: next?,
            })
        }
        "send" => {
            let send = send(body, inner, templates, problems);
            let next = next(problems);
            let (channel, template) = send?;
            Some(StepKind::Send {
                channel,
                template,
                next: next?,
            })
        }
        "update_profile" => {
            let spec = object(body, inner, problems)?;
            problems.only_keys(spec, &["set"], inner);
            let set = match spec.get("set").and_then(Value::as_object) {
                Some(set) if !set.is_empty() => set
                    .iter()
                    .map(|(k, v)| {
                        ValueTemplate::compile(v)
                            .map(|t| (k.clone(), t))
                            .map_err(|e| problems.add(&format!("{inner}.set.{k}"), e))
                            .ok()
                    })
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect::<Option<_>>(),
                _ => {
                    problems.add(inner, "set is required: an object of traits to set");
                    None
                }
            };
            let next = next(problems);
            Some(StepKind::UpdateProfile {
                set: set?,
                next: next?,
            })
        }
        "emit" => {
            let spec = object(body, inner, problems)?;
            problems.only_keys(spec, &["event", "properties"], inner);
            let event = problems.text(spec, "event", inner).map(str::to_owned);
            if let Some(name) = event.as_deref().filter(|n| RESERVED_EVENTS.contains(n)) {
                problems.add(
                    &join(inner, "event"),
                    format!("{name:?} is an event Percorso itself records; name yours otherwise"),
                );
            }
            let properties = spec
                .get("properties")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            let properties = if properties.is_object() {
                ValueTemplate::compile(&properties)
                    .map_err(|e| problems.add(&join(inner, "properties"), e))
                    .ok()
            } else {
                problems.add(&join(inner, "properties"), "must be an object");
                None
            };
            let next = next(problems);
            Some(StepKind::Emit {
                event: event?,
                properties: properties?,
                next: next?,
            })
        }
        _ => {
            if body != &Value::Bool(true) {
                problems.add(inner, "must be true");
                return None;
            }
            Some(StepKind::Exit)
        }
    }
}

fn wait_until(
    value: &Value,
    path: &str,
    problems: &mut Problems,
) -> Option<(jiff::civil::Time, ZoneChoice)> {
    let spec = object(value, path, problems)?;
    problems.only_keys(spec, &["time", "time_zone"], path);
    let time = match spec.get("time").and_then(Value::as_str) {
        Some(t) => match jiff::civil::Time::strptime("%H:%M", t) {
            Ok(time) => Some(time),
            Err(_) => {
                problems.add(
                    &join(path, "time"),
                    "must be a time of day as HH:MM (24-hour)",
                );
                None
            }
        },
        None => {
            problems.add(path, "time is required (HH:MM)");
            None
        }
    };
    let zone = match spec.get("time_zone") {
        None => Some(ZoneChoice::Customer),
        Some(Value::String(s)) if s == "customer" => Some(ZoneChoice::Customer),
        Some(other) => zone(other, &join(path, "time_zone"), problems).map(ZoneChoice::Fixed),
    };
    Some((time?, zone?))
}

fn split(
    value: &Value,
    path: &str,
    steps: &Resolver<'_>,
    problems: &mut Problems,
) -> Option<Vec<SplitArm>> {
    let Some(list) = value.as_array().filter(|l| l.len() >= 2) else {
        problems.add(
            path,
            "must be a list of at least two {variant, weight, next}",
        );
        return None;
    };
    let arms: Vec<Option<SplitArm>> = list
        .iter()
        .enumerate()
        .map(|(i, arm)| {
            let at = format!("{path}[{i}]");
            let arm = object(arm, &at, problems)?;
            problems.only_keys(arm, &["variant", "weight", "next"], &at);
            let weight = match arm.get("weight").and_then(Value::as_u64) {
                Some(w) if (1..=1_000_000).contains(&w) => Some(w as u32),
                _ => {
                    problems.add(
                        &join(&at, "weight"),
                        "must be a whole number from 1 to 1000000",
                    );
                    None
                }
            };
            let next = steps.edge(arm, "next", &at, problems);
            let variant = match arm.get("variant") {
                None => arm.get("next").and_then(Value::as_str).map(str::to_owned),
                Some(_) => problems.text(arm, "variant", &at).map(str::to_owned),
            };
            Some(SplitArm {
                variant: variant?,
                weight: weight?,
                next: next?,
            })
        })
        .collect();
    arms.into_iter().collect()
}

fn send(
    value: &Value,
    path: &str,
    templates: Option<&Templates>,
    problems: &mut Problems,
) -> Option<(Channel, String)> {
    let spec = object(value, path, problems)?;
    problems.only_keys(spec, &["channel", "template"], path);
    let channel = match spec
        .get("channel")
        .and_then(Value::as_str)
        .and_then(Channel::from_name)
    {
        Some(c) => Some(c),
        None => {
            let names: Vec<&str> = Channel::ALL.iter().map(|c| c.name()).collect();
            problems.add(
                &join(path, "channel"),
                format!("must be one of {}", names.join(", ")),
            );
            None
        }
    };
    let template = problems.text(spec, "template", path).map(str::to_owned);
    let (channel, template) = (channel?, template?);
    // Without the templates section parsed, their problems are noted already.
    let found = templates?.get(&template);
    let fits = |t: &MessageTemplate| {
        matches!(
            (channel, t),
            (Channel::Email, MessageTemplate::Email { .. })
                | (
                    Channel::Sms | Channel::Push,
                    MessageTemplate::Notification { .. }
                )
                | (Channel::Webhook, MessageTemplate::Webhook { .. })
        )
    };
    match found {
        None => {
            problems.add(
                &join(path, "template"),
                format!("missing template {template:?} (not in templates)"),
            );
            None
        }
        Some(t) if !fits(t) => {
            problems.add(
                &join(path, "template"),
                format!(
                    "template {template:?} is {}, which does not fit channel {}",
                    t.kind(),
                    channel.name()
                ),
            );
            None
        }
        Some(_) => Some((channel, template)),
    }
}
